"""The helpers behind steps/webhooks.py, without a JVM or a subject."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

import pytest

from harness.redaction import Redactor
from harness.subjects import SubjectConfig
from harness.webhooks.signing import decode_secret
from harness.webhooks.tamper import TAMPER_KINDS
from steps import webhooks as steps
from harness.target import ScenarioContext

VALID_SECRET = base64.b64encode(b"k" * 32).decode()


def test_every_tamper_kind_has_feature_words():
    assert sorted(steps.FLAWS.values()) == sorted(k for k in TAMPER_KINDS if k != "none")


@pytest.mark.parametrize(
    ("failure", "kind", "status", "delay_ms"),
    [("HTTP 503", "http_error", 503, 0), ("a timeout", "http_error", 504, 2000), ("a connection reset", "connection_reset", 500, 0)],
)
def test_failure_words_become_edge_faults_on_the_subject_path(failure, kind, status, delay_ms):
    endpoint = steps.WebhookEndpoint("http://127.0.0.1:1/webhooks", VALID_SECRET)
    fault = steps.failure_fault(failure, 2, endpoint)
    fault.validate()
    assert (fault.kind, fault.status, fault.delay_ms, fault.times, fault.method) == (kind, status, delay_ms, 2, "POST")
    assert fault.url_path_pattern.startswith(steps.SUBJECT_PREFIX)
    if failure == "a timeout":  # the answer must come later than the emitter waits
        assert endpoint.timeout_s * 1000 < fault.delay_ms


def test_unknown_failure_words_say_what_to_use():
    with pytest.raises(ValueError, match="a connection reset"):
        steps.failure_fault("a flood", 1, steps.WebhookEndpoint("http://127.0.0.1:1/", VALID_SECRET))


def test_endpoint_repr_hides_the_secret():
    assert VALID_SECRET not in repr(steps.WebhookEndpoint("http://127.0.0.1:1/", VALID_SECRET))


def test_eventually_retries_until_the_check_passes_and_reraises_when_time_runs_out():
    calls = []

    def passes_third_time():
        calls.append(1)
        assert len(calls) >= 3, "not yet"
        return "done"

    assert steps.eventually(passes_third_time, timeout_s=2, interval_s=0.001) == "done" and len(calls) == 3
    with pytest.raises(AssertionError, match="never"):
        steps.eventually(lambda: (_ for _ in ()).throw(AssertionError("never")), timeout_s=0.05, interval_s=0.01)


class _Admin:
    def __init__(self):
        self.stubs = []

    def add_stub(self, stub):
        self.stubs.append(stub)
        return "id"


@dataclass
class _Edge:
    base_url: str = "http://127.0.0.1:9000"
    admin: _Admin = field(default_factory=_Admin)


def test_route_through_edge_proxies_the_reserved_prefix_to_the_subject():
    edge = _Edge()
    url = steps.route_through_edge(edge, "http://127.0.0.1:5555/webhooks/fiskil")
    assert url == "http://127.0.0.1:9000/__subject/webhooks/fiskil"
    (stub,) = edge.admin.stubs
    assert stub["response"] == {"proxyBaseUrl": "http://127.0.0.1:5555", "proxyUrlPrefixToRemove": "/__subject"}
    assert 1 < stub["priority"] < 10  # under injected faults, over the catch-all proxy


class _FiskilApi:
    def __init__(self, consents):
        self._consents = consents
        self.calls = 0

    def consents(self, end_user_id):
        self.calls += 1
        return self._consents


def test_envelopes_name_the_customer_consent_and_accounts_fiskil_holds():
    ctx = ScenarioContext(end_user_id="eu-1")
    api = _FiskilApi([{"arrangement_id": "old", "active": False, "institution_id": "1"},
                      {"arrangement_id": "c-9", "active": True, "institution_id": "88888", "account_ids": ["a1", "a2"]}])
    consent = steps.envelope_for(ctx, api, "cid", "consent.received")
    transactions = steps.envelope_for(ctx, api, "cid", "banking.transactions.sync.completed")
    assert (consent.end_user_id, consent.consent_id, consent.client_id, consent.account_ids) == ("eu-1", "c-9", "cid", None)
    assert transactions.account_ids == ("a1", "a2") and transactions.message_id != consent.message_id
    assert api.calls == 1  # one look-up per scenario, also for a burst


def test_envelopes_after_revocation_name_the_ended_consent():
    ctx = ScenarioContext(end_user_id="eu-1", ended_consent="c-2")
    api = _FiskilApi([{"arrangement_id": "c-1", "active": False}, {"arrangement_id": "c-2", "active": False}])
    assert steps.envelope_for(ctx, api, "cid", "consent.revoked").consent_id == "c-2"


def test_the_subjects_default_webhook_secret_is_always_valid_base64():
    """Fiskil's scheme keys the HMAC with base64-decode(secret): a URL-safe token would often not decode."""
    for _ in range(200):
        assert decode_secret(SubjectConfig("http://127.0.0.1:1", "cid", "cs").webhook_secret)


def _logged(message_id: str, *attempts: tuple[int | None, float, str | None]) -> dict:
    return {"message_id": message_id, "event": "consent.received",
            "delivered": any(s is not None and 200 <= s < 300 for s, _, _ in attempts),
            "attempts": [{"attempt": n, "status": s, "latency_ms": ms, "error": e}
                         for n, (s, ms, e) in enumerate(attempts, start=1)]}


def test_delivery_log_filters_to_the_scenarios_messages_and_describes_attempts():
    """The same reader serves the in-process dispatcher and an attached fake's control API."""
    log = {"deliveries": [_logged("m-1", (503, 12.0, "status"), (200, 30.0, None)), _logged("other", (200, 1.0, None))],
           "pending": 0, "skipped": 0, "errors": []}
    reader = steps.FiskilDeliveryLog(lambda: log)
    assert list(reader.deliveries(["m-1"])) == ["m-1"] and len(reader.deliveries()) == 2
    assert steps.describe_logged(log["deliveries"][0]) == "consent.received m-1 -> #1:503 0.012s #2:200 0.030s"
    assert steps.describe_logged(_logged("m-2", (None, 2000.0, "timeout (ReadTimeout)"))).endswith(
        "#1:timeout (ReadTimeout) 2.000s")
    assert steps.attempt_ok({"status": 204}) and not steps.attempt_ok({"status": None})


def test_delivery_log_waits_for_pending_deliveries_and_gives_up_in_time():
    pending = iter([2, 1, 0])
    reader = steps.FiskilDeliveryLog(lambda: {"deliveries": [], "pending": next(pending, 0)})
    assert reader.wait_idle(2.0)
    busy = steps.FiskilDeliveryLog(lambda: {"deliveries": [], "pending": 1})
    assert not busy.wait_idle(0.1)


def test_the_attempt_count_message_names_each_attempt_and_what_it_got():
    from harness.webhooks.emitter import AttemptRecord, DeliveryRecord

    record = DeliveryRecord("msg_1", "consent.received", "http://127.0.0.1:1/", attempts=[
        AttemptRecord(1, 503, 0.01, "status"), AttemptRecord(2, None, 2.0, "timeout"), AttemptRecord(3, 200, 0.01, None)])
    assert steps._attempts(record) == "attempt 1 → 503, attempt 2 → timeout, attempt 3 → 200"
    assert steps._attempts(DeliveryRecord("m", "e", "u")) == "no attempt"


class ScriptedSubject:
    """processed_webhooks() answers from a script, one entry per call (the last one repeats)."""

    def __init__(self, script: list[list[str]]) -> None:
        self.script = script
        self.calls = 0

    def processed_webhooks(self) -> list[str]:
        answer = self.script[min(self.calls, len(self.script) - 1)]
        self.calls += 1
        return answer


def test_a_second_processing_long_after_the_first_still_fails_exactly_once():
    # seen once for ~0.5 s of polling, then twice: an async worker doing the duplicate late
    subject = ScriptedSubject([["m1"]] * 10 + [["m1", "m1"]])
    with pytest.raises(AssertionError, match="processed more than once"):
        steps.assert_processed_once(subject, ["m1"], timeout_s=1.0)
    assert subject.calls == 11   # stopped watching at the first double


def test_exactly_once_watches_the_whole_window_before_passing():
    subject = ScriptedSubject([["m1"]])
    steps.assert_processed_once(subject, ["m1"], timeout_s=1.0)
    assert subject.calls >= 3   # kept looking over the window, not one look and done


def test_watch_for_not_processed_stops_at_the_first_appearance():
    subject = ScriptedSubject([[]] * 8 + [["m1"]])
    assert steps.watch(subject, ["m1"], stop_above=0)["m1"] == 1
    assert subject.calls == 9
