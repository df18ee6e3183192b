"""The conformance checks: the good receiver passes everything, each bad one fails what should catch it."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from harness.webhooks.checks import (
    CHECK_IDS,
    FAIL,
    NOT_OBSERVABLE,
    PASS,
    CheckConfig,
    CheckSetupError,
    describe_error,
    overall_ok,
    run_checks_sync,
)
from harness.webhooks.receivers import RECEIVERS, FlakyReceiver, serve

SECRET = "c2VjcmV0LWtleS1mb3ItdGVzdHM="
REJECTIONS = {c for c in CHECK_IDS if c.startswith("reject-")}
NEEDS_VALID = {"valid-ack", "valid-processed", "duplicate", "replay", "late-attempt", "fast-ack", "burst", "burst-processed"}


def config(served, *, observe: bool = True, **overrides) -> CheckConfig:
    # generous budget and settle: a loaded shared machine must not turn latency into a verdict
    options = dict(budget_s=2.0, burst=15, settle_s=0.3, replay_after_s=0.01, fast_ack_samples=3)
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
    assert failed(results) == REJECTIONS, [(r.id, r.observed) for r in results if r.verdict != PASS]
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
    # answers after 0.25 s: over the 0.2 s budget, within the emitter's 0.4 s wait, so the 401 is a real answer
    results, _ = run_against("slow", delay_s=0.25, budget_s=0.2, only=("fast-ack", "reject-missing-signature"))
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


def closed_port_url() -> str:
    """A localhost URL nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/webhook"


def test_unreachable_endpoint_is_a_setup_error_before_any_check():
    seen = []
    with pytest.raises(CheckSetupError, match=r"nothing is listening at --url .*is your app running on 127\.0\.0\.1:"):
        run_checks_sync(CheckConfig(closed_port_url(), SECRET), progress=seen.append)
    assert seen == []


def test_unreachable_observe_url_is_a_setup_error():
    app, _ = RECEIVERS["good"](SECRET)
    with serve(app) as served:
        dead = closed_port_url()
        with pytest.raises(CheckSetupError, match=f"--observe {dead}"):
            run_checks_sync(CheckConfig(served.webhook_url, SECRET, dead, only=("valid-ack",)))


def test_transport_error_is_never_a_rejection():
    with FlakyReceiver(fail_first=1000, mode="reset") as flaky:
        results = run_checks_sync(CheckConfig(flaky.url, SECRET, budget_s=0.5,
                                              only=("reject-forged-signature", "reject-hex-digest")))
    for result in results:
        assert result.verdict == FAIL, result
        assert "no HTTP answer" in result.observed and "rejected" not in result.observed


def slow_observe_app(delay_s: float, fast_calls: int) -> Starlette:
    """Rejects every delivery; its observe GET answers `fast_calls` times, then hangs `delay_s`."""
    calls = 0

    async def webhook(request: Request) -> Response:
        return JSONResponse({"error": "bad signature"}, status_code=401)

    async def observe(request: Request) -> Response:
        nonlocal calls
        calls += 1
        if calls > fast_calls:
            await asyncio.sleep(delay_s)
        return JSONResponse({"message_ids": []})

    return Starlette(routes=[Route("/webhook", webhook, methods=["POST"]), Route("/observe", observe, methods=["GET"])])


def test_observe_timeout_during_a_check_names_the_url_and_the_cause():
    with serve(slow_observe_app(delay_s=0.6, fast_calls=1)) as served:
        results = run_checks_sync(config(served, observe_timeout_s=0.2, only=("reject-forged-signature",)))
    (result,) = results
    assert result.verdict == FAIL
    assert result.observed.startswith("check error: ObserveError: ")
    assert served.observe_url in result.observed and "timed out after 0.2 s" in result.observed
    assert "ReadTimeout" in result.observed and "Fiskil API" in result.observed


def test_slow_observe_url_at_the_start_is_a_setup_error_naming_it():
    with serve(slow_observe_app(delay_s=0.6, fast_calls=0)) as served:
        with pytest.raises(CheckSetupError, match="timed out after 0.2 s") as caught:
            run_checks_sync(config(served, observe_timeout_s=0.2, only=("valid-ack",)))
    assert served.observe_url in str(caught.value)


def test_describe_error_keeps_the_text_and_the_request():
    request = httpx.Request("GET", "http://127.0.0.1:9/observe")
    assert describe_error(httpx.ReadTimeout("", request=request)) == \
        "ReadTimeout: ReadTimeout('') (GET http://127.0.0.1:9/observe)"
    assert describe_error(ValueError("boom")) == "ValueError: boom"


# --- asynchronous processing: "processed exactly once" watches a whole settle window -------------


@pytest.mark.parametrize("name,job_s,settle_s", [
    ("queued-no-dedupe", 0.5, 10.0),   # one worker, 0.5 s a job: the duplicate is done 0.5 s after the first
    ("queued-no-dedupe", 0.25, None),  # None: the default --settle (1 s) catches it too
    ("delayed-no-dedupe", 0.3, 5.0),   # each delivery processed 0.3 s after its own ack
    ("delayed-no-dedupe", 0.3, None),
])
def test_asynchronous_double_processing_fails_duplicate_and_replay(name, job_s, settle_s):
    app, state = RECEIVERS[name](SECRET, job_s=job_s)
    settle = {} if settle_s is None else {"settle_s": settle_s}
    with serve(app) as served:
        results = run_checks_sync(CheckConfig(served.webhook_url, SECRET, served.observe_url,
                                              only=("duplicate", "replay"), **settle))
        truth = state.processed_ids()
    for result in results:
        assert result.verdict == FAIL, result
        assert result.evidence["processed"] == 2 and "processed 2x" in result.observed
        assert truth.count(result.evidence["message_id"]) == 2
        if settle_s is not None:  # a count above one ends the watch: no waiting out a long --settle
            assert result.duration_s < settle_s


def test_asynchronous_processing_with_dedupe_passes_with_the_default_settle():
    app, state = RECEIVERS["queued"](SECRET)
    with serve(app) as served:
        results = run_checks_sync(CheckConfig(served.webhook_url, SECRET, served.observe_url, burst=10, only=(
            "valid-processed", "duplicate", "replay", "late-attempt", "burst", "burst-processed")))
    assert {r.id: r.verdict for r in results} == dict.fromkeys(
        ["valid-processed", "duplicate", "replay", "late-attempt", "burst", "burst-processed"], PASS)


def scripted_observe_app(script: list[int]) -> Starlette:
    """Acks every delivery; the observe GET lists the last message_id script[n] times on its n-th call after it."""
    received: list[str] = []
    calls = 0

    async def webhook(request: Request) -> Response:
        received.append((await request.json())["message_id"])
        return JSONResponse({"status": "accepted"})

    async def observe(request: Request) -> Response:
        nonlocal calls
        if not received:
            return JSONResponse({"message_ids": []})
        times = script[min(calls, len(script) - 1)]
        calls += 1
        return JSONResponse({"message_ids": [received[-1]] * times})

    return Starlette(routes=[Route("/webhook", webhook, methods=["POST"]), Route("/observe", observe, methods=["GET"])])


def test_a_count_above_one_at_any_time_fails_even_if_the_list_shrinks_later():
    with serve(scripted_observe_app([1, 1, 2, 1])) as served:
        (result,) = run_checks_sync(config(served, settle_s=2.0, only=("valid-processed",)))
    assert result.verdict == FAIL and result.evidence["processed"] == 2


def test_a_second_processing_late_in_the_settle_window_is_still_caught():
    # shown once for ~10 polls (0.5 s), then twice: far beyond the old 0.1 s look, inside a 2 s settle
    with serve(scripted_observe_app([1] * 10 + [2])) as served:
        (result,) = run_checks_sync(config(served, settle_s=2.0, only=("valid-processed",)))
    assert result.verdict == FAIL and "processed 2x" in result.observed


def test_processed_zero_times_says_to_raise_settle_or_check_the_observe_url():
    with serve(scripted_observe_app([0])) as served:
        (result,) = run_checks_sync(config(served, settle_s=0.2, only=("valid-processed",)))
    assert result.verdict == FAIL
    assert "processed 0x" in result.observed and "raise --settle" in result.observed
    assert "observe URL lists one message_id per processing" in result.observed


# --- a rejection only counts when the endpoint accepts a valid delivery ---------------------------


def test_rejections_are_not_observable_when_valid_deliveries_are_refused_too():
    results, _ = run_against("500-forever")
    verdicts = {r.id: r.verdict for r in results}
    assert verdicts["valid-ack"] == FAIL
    for check in REJECTIONS:
        assert verdicts[check] == NOT_OBSERVABLE, check
        observed = next(r.observed for r in results if r.id == check)
        assert "rejected (500" in observed and "correctly signed delivery was not acknowledged" in observed


def test_rejections_against_a_404_path_are_not_observable():
    app, _ = RECEIVERS["good"](SECRET)
    with serve(app) as served:
        results = run_checks_sync(CheckConfig(served.base_url + "/no-such-path", SECRET, served.observe_url,
                                              settle_s=0.05, only=("reject-forged-signature", "reject-hex-digest")))
    for result in results:
        assert result.verdict == NOT_OBSERVABLE and "rejected (404" in result.observed
        assert result.evidence["valid_delivery"][0]["status"] == 404


def test_a_rejection_check_alone_sends_its_own_valid_delivery_and_passes_a_good_receiver():
    app, state = RECEIVERS["good"](SECRET)
    with serve(app) as served:
        (result,) = run_checks_sync(config(served, only=("reject-wrong-secret",)))
    assert result.verdict == PASS
    assert state.received == 2 and state.rejected == 1   # the tampered one, and one valid control delivery


# --- why a check failed ------------------------------------------------------------------------------


def test_burst_failures_say_why():
    with FlakyReceiver(fail_first=3, mode="reset") as flaky:
        (result,) = run_checks_sync(CheckConfig(flaky.url, SECRET, budget_s=1.0, burst=10, only=("burst",)))
    assert result.verdict == FAIL
    assert result.observed.startswith("7/10 2xx, 7 within budget (3x no HTTP answer (")
    kinds = {a["error_kind"] for f in result.evidence["first_failures"] for a in f["attempts"]}
    assert kinds and kinds <= {"reset", "protocol"}
    assert all(a["error"] for f in result.evidence["first_failures"] for a in f["attempts"])


def test_valid_ack_over_budget_names_the_budget():
    app, _ = RECEIVERS["slow"](SECRET, delay_s=0.3)
    with serve(app) as served:
        (result,) = run_checks_sync(config(served, budget_s=0.2, only=("valid-ack",)))
    assert result.verdict == FAIL
    assert "over the 200 ms budget" in result.observed and "budget 200 ms, --timeout" in result.observed


# --- selection and configuration ---------------------------------------------------------------------


def test_burst_processed_alone_runs_the_burst_it_grades():
    app, _ = RECEIVERS["good"](SECRET)
    with serve(app) as served:
        results = run_checks_sync(config(served, only=("burst-processed",)))
    assert [(r.id, r.verdict) for r in results] == [("burst", PASS), ("burst-processed", PASS)]


@pytest.mark.parametrize("field,value,flag", [
    ("settle_s", float("nan"), "--settle"), ("settle_s", float("inf"), "--settle"), ("settle_s", -1.0, "--settle"),
    ("budget_s", float("nan"), "--timeout"), ("budget_s", 0.0, "--timeout"),
    ("observe_timeout_s", float("nan"), "--observe-timeout"), ("observe_timeout_s", float("-inf"), "--observe-timeout"),
    ("replay_after_s", -5.0, "--replay-after"), ("replay_after_s", float("nan"), "--replay-after"),
    ("burst", 0, "--burst"), ("burst", 10**9, "--burst"),
])
def test_non_finite_or_out_of_range_numbers_are_refused_before_sending(field, value, flag):
    with pytest.raises(CheckSetupError, match=f"^{flag} must be a finite number"):
        run_checks_sync(CheckConfig("http://127.0.0.1:1/x", SECRET, **{field: value}))


def test_an_invalid_port_names_the_option():
    with pytest.raises(CheckSetupError, match=r"^--url 'http://127.0.0.1:99999/hook' has an invalid port"):
        run_checks_sync(CheckConfig("http://127.0.0.1:99999/hook", SECRET))
    with pytest.raises(CheckSetupError, match=r"^--observe .* has an invalid port"):
        run_checks_sync(CheckConfig("http://127.0.0.1:1/hook", SECRET, "http://127.0.0.1:0x1/observe"))
