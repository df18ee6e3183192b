"""Subject factories for `--subject webhook_features.faulty_subjects:<name>`: the reference integration
with one seeded webhook fault each, so a test can show the webhook features catch that mistake."""

from __future__ import annotations

from harness.adapters.reference import ReferenceSubject
from harness.subjects import SubjectConfig


def _reference_with(config: SubjectConfig, fault: str) -> ReferenceSubject:
    return ReferenceSubject(
        config.api_url, config.client_id, config.client_secret, config.webhook_secret, config.work_dir,
        http_timeout=config.http_timeout, backoff_base=config.backoff_base, max_retries=config.max_retries,
        faults=(fault,),
    )


def no_signature_check(config: SubjectConfig) -> ReferenceSubject:
    return _reference_with(config, "no_signature_check")


def no_dedupe(config: SubjectConfig) -> ReferenceSubject:
    return _reference_with(config, "no_dedupe")


def hex_signature(config: SubjectConfig) -> ReferenceSubject:
    return _reference_with(config, "hex_signature")


def reserialised_signature(config: SubjectConfig) -> ReferenceSubject:
    return _reference_with(config, "reserialised_signature")
