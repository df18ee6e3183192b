"""The dispatcher: core events become signed deliveries, in the background, to the configured target."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass

import pytest

from fakes import webhook_dispatch
from fakes.webhook_dispatch import WebhookDispatcher
from harness.webhooks.receivers import FlakyReceiver, good_receiver, serve

SECRET = "c2VjcmV0LWtleS1mb3ItdGVzdHM="


@dataclass
class Target:
    url: str
    secret: str


class FakeCore:
    """Just the two members the dispatcher uses (docs/architecture.md, Core)."""

    def __init__(self) -> None:
        self.webhook_target: Target | None = None
        self.callbacks = []

    def on_event(self, callback) -> None:
        self.callbacks.append(callback)

    def fire(self, **fields) -> dict:
        record = {"message_id": fields.pop("message_id", f"m-{len(self.callbacks)}-{id(fields)}"),
                  "event": "consent.received", "end_user_id": "eu-1", "consent_id": "c-1",
                  "institution_id": "88888", "client_id": "cid", "created_at": "2026-01-01T00:00:00Z", **fields}
        for callback in self.callbacks:
            callback(record)
        return record


def test_delivers_each_event_to_the_target():
    core = FakeCore()
    app, state = good_receiver(SECRET)
    with serve(app) as served, WebhookDispatcher(core, time_scale=0.0002) as dispatcher:
        core.webhook_target = Target(served.webhook_url, SECRET)
        sent = [core.fire(message_id=f"m-{n}") for n in range(5)]
        assert dispatcher.wait_idle(5)
        records = dispatcher.records
    assert sorted(r.message_id for r in records) == sorted(s["message_id"] for s in sent)
    assert all(r.delivered for r in records)
    assert sorted(state.processed_ids()) == sorted(s["message_id"] for s in sent)


def test_events_without_target_are_skipped_not_sent():
    core = FakeCore()
    with WebhookDispatcher(core) as dispatcher:
        core.fire()
        assert dispatcher.wait_idle(1)
        assert dispatcher.skipped == 1 and dispatcher.records == []


def test_retries_in_background_and_records_queryable():
    core = FakeCore()
    with FlakyReceiver(fail_first=2, mode="500") as flaky, WebhookDispatcher(core, time_scale=0.0002) as dispatcher:
        core.webhook_target = Target(flaky.url, SECRET)
        core.fire(message_id="m-retry", event="banking.accounts.sync.completed", account_ids=["a1"])
        assert dispatcher.wait_idle(5)
        bodies = [json.loads(b) for b in flaky.requests]
    [record] = dispatcher.records_for(message_id="m-retry")
    assert [a.status for a in record.attempts] == [503, 503, 200]
    assert [b["delivery_attempt"] for b in bodies] == [1, 2, 3]
    assert bodies[0]["data"]["account_ids"] == ["a1"]
    assert dispatcher.records_for(event="consent.received") == []


def test_callback_never_blocks_the_core():
    core = FakeCore()
    with FlakyReceiver(fail_first=0, mode="timeout", hang_s=0.3) as slow, WebhookDispatcher(core) as dispatcher:
        core.webhook_target = Target(slow.url, SECRET)
        started = time.perf_counter()
        core.fire()
        assert time.perf_counter() - started < 0.05
        dispatcher.wait_idle(2)


def test_bad_record_is_reported_not_raised():
    core = FakeCore()
    with WebhookDispatcher(core) as dispatcher:
        core.webhook_target = Target("http://127.0.0.1:9/", SECRET)
        core.fire(consent_id="")
        assert dispatcher.wait_idle(2)
        assert dispatcher.errors and "consent_id" in dispatcher.errors[0]
        assert SECRET not in " ".join(dispatcher.errors)


def test_stop_reaps_the_thread_and_later_events_are_ignored():
    core = FakeCore()
    before = {t.ident for t in threading.enumerate()}
    dispatcher = WebhookDispatcher(core)
    dispatcher.start()
    dispatcher.stop()
    assert not [t for t in threading.enumerate() if t.name == "webhook-dispatcher" and t.ident not in before]
    core.webhook_target = Target("http://127.0.0.1:9/", SECRET)
    core.fire()
    assert dispatcher.records == [] and dispatcher.wait_idle(0.1)


def test_with_the_real_core():
    core_app = pytest.importorskip("fakes.core.app")
    from fakes.core.state import Consent, WebhookTarget

    core = core_app.build_core()
    app, state = good_receiver(SECRET)
    with serve(app) as served, WebhookDispatcher(core, time_scale=0.0002) as dispatcher:
        core.state.webhook_target = WebhookTarget(served.webhook_url, SECRET)
        consent = Consent("arr-1", "eu-1", "88888", [], ["acc-1"], core.clock.now(), 3600)
        with core.lock:
            record = core.emit("consent.received", consent)
        core.flush_events()
        assert dispatcher.wait_idle(5)
    [delivery] = dispatcher.records
    assert delivery.delivered and delivery.message_id == record["message_id"]
    assert state.processed_ids() == [record["message_id"]]


def test_log_is_the_console_style_json_without_url_or_secret():
    """GET /__harness/webhook-deliveries serves this: attempts, status, latency; never where or how it signs."""
    core = FakeCore()
    with FlakyReceiver(fail_first=1, mode="500") as flaky, WebhookDispatcher(core, time_scale=0.0002) as dispatcher:
        core.webhook_target = Target(flaky.url + "?token=query-secret", SECRET)
        core.fire(message_id="m-log")
        assert dispatcher.wait_idle(5)
        log = dispatcher.log()
    assert log["pending"] == 0 and log["skipped"] == 0 and log["errors"] == []
    [delivery] = log["deliveries"]
    assert delivery["message_id"] == "m-log" and delivery["event"] == "consent.received" and delivery["delivered"]
    assert [(a["attempt"], a["status"], a["error"]) for a in delivery["attempts"]] == [(1, 503, "status"), (2, 200, None)]
    assert all(isinstance(a["latency_ms"], float) for a in delivery["attempts"])
    text = json.dumps(log)
    assert SECRET not in text and "query-secret" not in text and "127.0.0.1" not in text


def test_log_counts_pending_deliveries_and_keeps_a_bounded_history():
    core = FakeCore()
    with FlakyReceiver(fail_first=1, mode="timeout", hang_s=0.5) as slow, \
            WebhookDispatcher(core, time_scale=0.0002) as dispatcher:
        core.webhook_target = Target(slow.url, SECRET)
        core.fire()
        assert dispatcher.log()["pending"] == 1
        assert dispatcher.wait_idle(5) and dispatcher.log()["pending"] == 0
    assert dispatcher._records.maxlen == webhook_dispatch.MAX_RECORDS
