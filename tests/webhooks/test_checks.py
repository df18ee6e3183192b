"""The conformance checks: the good receiver passes everything, each bad one fails what should catch it."""

from __future__ import annotations

import pytest

from harness.webhooks.checks import (
    CHECK_IDS,
    FAIL,
    NOT_OBSERVABLE,
    PASS,
    CheckConfig,
    CheckSetupError,
    overall_ok,
    run_checks_sync,
)
from harness.webhooks.receivers import RECEIVERS, serve

SECRET = "c2VjcmV0LWtleS1mb3ItdGVzdHM="
REJECTIONS = {c for c in CHECK_IDS if c.startswith("reject-")}
NEEDS_VALID = {"valid-ack", "valid-processed", "duplicate", "replay", "late-attempt", "fast-ack", "burst", "burst-processed"}


def config(served, *, observe: bool = True, **overrides) -> CheckConfig:
    options = dict(budget_s=0.5, burst=15, settle_s=0.05, replay_after_s=0.01, fast_ack_samples=3)
    options.update(overrides)
    return CheckConfig(served.webhook_url, SECRET, served.observe_url if observe else None, **options)


def failed(results) -> set[str]:
    return {r.id for r in results if r.verdict == FAIL}


def run_against(name: str, **overrides):
    app, state = RECEIVERS[name](SECRET, **({"delay_s": overrides.pop("delay_s")} if "delay_s" in overrides else {}))
    with serve(app) as served:
        return run_checks_sync(config(served, **overrides)), state


def test_good_receiver_passes_every_check():
    results, _ = run_against("good")
    assert [r.id for r in results] == list(CHECK_IDS)
    assert {r.id: r.verdict for r in results} == {c: PASS for c in CHECK_IDS}
    assert overall_ok(results)


def test_progress_reports_each_check_as_it_finishes():
    app, _ = RECEIVERS["good"](SECRET)
    seen = []
    with serve(app) as served:
        run_checks_sync(config(served, only=("valid-ack", "reject-forged-signature")), progress=lambda r: seen.append(r.id))
    assert seen == ["valid-ack", "reject-forged-signature"]


def test_accept_any_signature_fails_exactly_the_rejections():
    results, _ = run_against("accept-any")
    assert failed(results) == REJECTIONS
    assert not overall_ok(results)


@pytest.mark.parametrize("name", ["hex", "reserialise", "500-forever"])
def test_receivers_rejecting_valid_deliveries_fail_the_valid_delivery(name):
    results, _ = run_against(name, only=("valid-ack", "valid-processed", "reject-forged-signature", "reject-hex-digest"))
    assert failed(results) == {"valid-ack", "valid-processed"}


def test_compact_reserialiser_is_caught_by_the_whitespace_check():
    results, _ = run_against("reserialise-compact")
    assert failed(results) == {"reject-reserialised"}


def test_no_dedupe_fails_duplicate_and_replay():
    results, state = run_against("no-dedupe")
    assert failed(results) == {"duplicate", "replay"}
    duplicate = next(r for r in results if r.id == "duplicate")
    assert duplicate.evidence["processed"] == 2


def test_slow_receiver_fails_fast_ack():
    results, _ = run_against("slow", delay_s=0.3, budget_s=0.15, only=("fast-ack", "reject-missing-signature"))
    assert {r.id: r.verdict for r in results} == {"fast-ack": FAIL, "reject-missing-signature": PASS}


def test_without_observe_processing_checks_are_not_observable_never_pass():
    app, _ = RECEIVERS["good"](SECRET)
    with serve(app) as served:
        results = run_checks_sync(config(served, observe=False))
    verdicts = {r.id: r.verdict for r in results}
    for check in REJECTIONS | {"valid-processed", "duplicate", "replay", "late-attempt", "burst-processed"}:
        assert verdicts[check] == NOT_OBSERVABLE, check
    assert verdicts["valid-ack"] == verdicts["fast-ack"] == verdicts["burst"] == PASS
    assert not overall_ok(results)


def test_without_observe_an_accepted_forgery_is_still_a_fail():
    app, _ = RECEIVERS["accept-any"](SECRET)
    with serve(app) as served:
        results = run_checks_sync(config(served, observe=False, only=("reject-forged-signature",)))
    assert results[0].verdict == FAIL and "accepted" in results[0].observed


def test_observe_url_that_is_not_an_observe_endpoint_is_a_setup_error():
    app, _ = RECEIVERS["good"](SECRET)
    with serve(app) as served:
        bad = CheckConfig(served.webhook_url, SECRET, served.base_url + "/nowhere", only=("valid-ack",))
        with pytest.raises(CheckSetupError, match="message_ids"):
            run_checks_sync(bad)


@pytest.mark.parametrize("url,secret,message", [
    ("localhost:8000/x", SECRET, "not an http"),
    ("http://127.0.0.1:1/x", "not base64!!", "base64"),
])
def test_bad_configuration_is_refused_before_sending(url, secret, message):
    with pytest.raises(CheckSetupError, match=message):
        run_checks_sync(CheckConfig(url, secret))


def test_config_repr_hides_the_secret():
    assert SECRET not in repr(CheckConfig("http://127.0.0.1:1/", SECRET))
