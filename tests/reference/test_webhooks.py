"""The webhook endpoint: signature on the raw body, fast ack, async processing, persistent dedupe."""

from __future__ import annotations

import json
import threading

from examples.reference_integration.service import ReferenceIntegration
from examples.reference_integration.webhooks import triggers_sync
from harness.webhooks.signing import SIGNATURE_HEADER, sign
from tests.reference.conftest import WEBHOOK_SECRET


def envelope(message_id: str, event: str = "consent.received", end_user_id: str = "eu-1") -> bytes:
    return json.dumps({"delivery_attempt": 1, "message_id": message_id,
                       "data": {"event": event, "end_user_id": end_user_id}}, separators=(",", ":")).encode()


def signed(body: bytes) -> dict[str, str]:
    return {SIGNATURE_HEADER: sign(body, WEBHOOK_SECRET)}


def test_valid_signature_accepted_and_processed(integration, fiskil):
    user = integration.create_end_user("w@example.com", "W")
    fiskil.add_consent(user, accounts=1, transactions_per_account=3)
    body = envelope("m-1", end_user_id=user)
    assert integration.handle_webhook(body, signed(body)) == 200
    assert integration.processed_webhooks() == ["m-1"]
    assert integration.snapshot(user).transactions == 3


def test_missing_or_wrong_signature_rejected_with_401(integration):
    body = envelope("m-2")
    assert integration.handle_webhook(body, {}) == 401
    assert integration.handle_webhook(body, signed(envelope("other"))) == 401
    assert integration.handle_webhook(body, {"x-fiskil-signature": "bm90LWEtc2lnbmF0dXJl"}) == 401
    assert integration.processed_webhooks() == []


def test_signature_checked_on_raw_bytes_not_reparsed_json(integration):
    spaced = b'{"message_id": "m-3", "data": {"event": "energy.usage.sync.completed", "end_user_id": "eu-1"}}'
    assert integration.handle_webhook(spaced, signed(spaced)) == 200
    assert integration.processed_webhooks() == ["m-3"]


def test_header_name_is_case_insensitive(integration):
    body = envelope("m-4", event="energy.usage.sync.completed")
    assert integration.handle_webhook(body, {"x-fiskil-signature": sign(body, WEBHOOK_SECRET)}) == 200


def test_duplicate_message_processed_once(integration):
    body = envelope("m-5", event="energy.usage.sync.completed")
    assert integration.handle_webhook(body, signed(body)) == 200
    assert integration.handle_webhook(body, signed(body)) == 200     # still acknowledged
    assert integration.processed_webhooks() == ["m-5"]


def test_dedupe_survives_a_restart(make_integration):
    body = envelope("m-6", event="energy.usage.sync.completed")
    first = make_integration()
    assert first.handle_webhook(body, signed(body)) == 200
    assert first.processed_webhooks() == ["m-6"]
    first.close()
    second = make_integration()      # same SQLite file
    assert second.handle_webhook(body, signed(body)) == 200
    assert second.processed_webhooks() == ["m-6"]


def test_ack_comes_before_processing(integration):
    release = threading.Event()
    started = threading.Event()

    def slow_sync(end_user_id: str):
        started.set()
        release.wait(5)

    integration.webhooks._sync = slow_sync
    body = envelope("m-7")
    assert integration.handle_webhook(body, signed(body)) == 200   # returns while the sync is blocked
    assert started.wait(2)
    assert integration.store.processed_message_ids() == []
    release.set()
    assert integration.processed_webhooks() == ["m-7"]


def test_failed_processing_is_logged_and_recorded(integration, caplog):
    def broken(end_user_id: str):
        raise RuntimeError("database on fire")

    integration.webhooks._sync = broken
    body = envelope("m-8")
    integration.handle_webhook(body, signed(body))
    assert integration.processed_webhooks() == ["m-8"]
    assert "m-8" in caplog.text and "database on fire" in caplog.text
    assert WEBHOOK_SECRET not in caplog.text


def test_not_an_envelope_is_a_400(integration):
    body = b"not json"
    assert integration.handle_webhook(body, signed(body)) == 400


def test_which_events_trigger_a_sync():
    assert triggers_sync("consent.received") and triggers_sync("consent.revoked")
    assert triggers_sync("banking.transactions.sync.completed")
    assert not triggers_sync("energy.usage.sync.completed")
    assert not triggers_sync("banking.transactions.sync.failed")


def test_revocation_webhook_soft_deletes_data(integration: ReferenceIntegration, fiskil):
    user = integration.create_end_user("r@example.com", "R")
    fiskil.add_consent(user, "arr-r", accounts=1, transactions_per_account=2)
    integration.sync(user)
    fiskil.revoke("arr-r")
    body = envelope("m-9", event="consent.revoked", end_user_id=user)
    integration.handle_webhook(body, signed(body))
    integration.processed_webhooks()
    state = integration.snapshot(user)
    assert state.transactions == 0 and [c.active for c in state.consents] == [False]
