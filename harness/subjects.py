"""Build the subject (the integration under test) from the `--subject` spec.

Three forms:
- `reference`: the bundled reference integration, in-process;
- `package.module:factory`: a Python callable taking a `SubjectConfig` and returning a `Subject`;
- `http(s)://...`: a partner app behind the HTTP adapter contract (docs/adapter-contract.md).

`SUBJECT_BUILDERS` maps a form to its builder so the HTTP adapter can be plugged in without
touching the plugin.
"""

from __future__ import annotations

import base64
import importlib
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from harness.adapters.protocol import Subject


#: The backoff base (seconds) the kit runs the reference integration with, in-process and as a process.
#: With equal jitter its retries wait at least 1.5x the kit's floor of 100 ms per retry
#: (harness/audit/backoff.py; tests/audit/test_backoff.py proves it for every retry count).
KIT_BACKOFF_BASE_S = 0.2


class SubjectSpecError(ValueError):
    """The `--subject` value cannot be turned into a subject; the message says what to fix."""


@dataclass(frozen=True)
class SubjectConfig:
    """What the kit tells an integration about the target it must use."""

    api_url: str                       # the edge: every Fiskil call goes through it
    client_id: str
    client_secret: str = field(repr=False)
    webhook_secret: str = field(repr=False, default_factory=lambda: base64.b64encode(secrets.token_bytes(32)).decode())
    work_dir: Path = Path(".")         # where the subject may keep files (its SQLite database)
    # A short timeout keeps the network-fault scenarios fast; the backoff base keeps the reference's
    # waits comfortably above the kit's backoff floor (harness/audit/backoff.py).
    http_timeout: float = 1.0
    backoff_base: float = KIT_BACKOFF_BASE_S
    max_retries: int = 4
    faults: tuple[str, ...] = ()

    def as_env(self) -> dict[str, str]:
        """The reference integration's documented environment (docs/architecture.md)."""
        return {
            "FISKIL_API_URL": self.api_url,
            "FISKIL_CLIENT_ID": self.client_id,
            "FISKIL_CLIENT_SECRET": self.client_secret,
            "FISKIL_WEBHOOK_SECRET": self.webhook_secret,
            "REFERENCE_DB": str(self.work_dir / "reference.sqlite3"),
            "REFERENCE_HTTP_TIMEOUT": str(self.http_timeout),
            "REFERENCE_BACKOFF_BASE": str(self.backoff_base),
            "REFERENCE_MAX_RETRIES": str(self.max_retries),
            "REFERENCE_FAULTS": ",".join(self.faults),
        }


def reference_faults_from_env(env: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Seeded faults a tester switched on by hand: `REFERENCE_FAULTS=no_token_renewal make run`."""
    from examples.reference_integration.faults import UnknownFaultError, parse_faults

    value = (os.environ if env is None else env).get("REFERENCE_FAULTS", "")
    try:
        return tuple(sorted(parse_faults(value)))
    except UnknownFaultError as exc:
        raise SubjectSpecError(str(exc)) from None


def build_reference_subject(spec: str, config: SubjectConfig) -> Subject:
    from harness.adapters.reference import ReferenceSubject

    if not config.faults:
        config = replace(config, faults=reference_faults_from_env())
    return ReferenceSubject(
        config.api_url, config.client_id, config.client_secret, config.webhook_secret, config.work_dir,
        http_timeout=config.http_timeout, backoff_base=config.backoff_base, max_retries=config.max_retries,
        faults=config.faults,
    )


def build_python_subject(spec: str, config: SubjectConfig) -> Subject:
    attr = spec.partition(":")[2]
    subject = _load_factory(spec)(config)
    if not isinstance(subject, Subject):
        raise SubjectSpecError(
            f"--subject {spec!r}: {attr}() returned {type(subject).__name__}, which does not implement "
            "harness.adapters.protocol.Subject (see that module for the methods it needs)"
        )
    return subject


_HTTP_SUBJECT_SECRETS: dict[str, str] = {}


def build_http_subject(spec: str, config: SubjectConfig | None) -> Subject:
    """A partner app behind the HTTP adapter contract (harness/adapters/http.py).

    `config` is None when only the spec is being checked (check_subject_spec). The partner app keeps
    its own credentials, so a reconfigured copy (e.g. a wrong client secret) cannot be built.
    """
    from harness.adapters.http import HttpSubject, check_adapter_url

    try:
        check_adapter_url(spec)
        if config is None:
            return None  # type: ignore[return-value]
        # The first build of a URL fixes the credentials the kit believes the app uses (per process).
        first_secret = _HTTP_SUBJECT_SECRETS.setdefault(spec, config.client_secret)
        if config.client_secret != first_secret:
            raise SubjectSpecError(
                f"--subject {spec!r}: an HTTP adapter subject cannot be reconfigured with other credentials "
                "(the partner app holds its own); this scenario needs an in-process subject"
            )
        return HttpSubject.from_env(spec)
    except ValueError as exc:
        if isinstance(exc, SubjectSpecError):
            raise
        raise SubjectSpecError(f"--subject {spec!r}: {exc}") from None


#: form name → builder(spec, config); the HTTP adapter replaces the "http" entry.
SUBJECT_BUILDERS: dict[str, Callable[[str, SubjectConfig], Subject]] = {
    "reference": build_reference_subject,
    "python": build_python_subject,
    "http": build_http_subject,
}


def subject_form(spec: str) -> str:
    spec = spec.strip()
    if spec == "reference":
        return "reference"
    if spec.startswith(("http://", "https://")):
        return "http"
    if ":" in spec:
        return "python"
    raise SubjectSpecError(
        f"--subject {spec!r} is not understood: use 'reference', 'package.module:factory' or an http(s) adapter URL"
    )


def check_subject_spec(spec: str) -> None:
    """Fail early (at option parsing) on a spec no builder can handle."""
    form = subject_form(spec)
    if form == "http" and SUBJECT_BUILDERS["http"] is build_http_subject:
        build_http_subject(spec, None)  # type: ignore[arg-type]
    if form == "reference":
        reference_faults_from_env()  # an unknown fault name is a usage error, not 80 failing scenarios
    if form == "python":
        _load_factory(spec.strip())


def _load_factory(spec: str) -> Callable[[SubjectConfig], Subject]:
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise SubjectSpecError(f"--subject {spec!r}: write a Python factory as 'package.module:factory'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SubjectSpecError(f"--subject {spec!r}: cannot import {module_name!r} ({exc}); is it on PYTHONPATH?") from None
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise SubjectSpecError(f"--subject {spec!r}: {module_name} has no callable {attr!r}")
    return factory


def build_subject(spec: str, config: SubjectConfig) -> Subject:
    return SUBJECT_BUILDERS[subject_form(spec)](spec.strip(), config)
