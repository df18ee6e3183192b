"""The event catalogue and the envelope built from core event records."""

from __future__ import annotations

import json

import pytest

from harness.webhooks.envelope import Envelope, EnvelopeError, make_envelope, rfc3339
from harness.webhooks.events import EVENTS, UnknownEventError, event_names, event_type

RECORD = {
    "message_id": "msg-1", "event": "banking.accounts.sync.completed", "end_user_id": "eu-1",
    "consent_id": "c-1", "institution_id": "88888", "client_id": "client-1",
    "account_ids": ["a-1", "a-2"], "created_at": 1767225600.0,   # 2026-01-01T00:00:00Z
}


def test_catalogue_holds_primary_names_from_fiskils_guide():
    for name in ("consent.received", "consent.updated", "consent.revoked", "common.identity.sync.completed",
                 "energy.der.sync.completed", "banking.transactions.basic.sync.completed"):
        assert EVENTS[name].source == "primary"


def test_secondary_and_unverified_names_are_marked():
    assert event_type("banking.payees.sync.completed").source == "secondary"
    assert event_type("energy.balances.sync.completed").source == "secondary"
    assert event_type("banking.transactions.sync.failed").source == "unverified"
    assert "banking.transactions.sync.failed" not in event_names()
    assert "banking.transactions.sync.failed" in event_names(include_unverified=True)


def test_which_events_carry_ids():
    with_accounts = {e.name for e in EVENTS.values() if e.carries_account_ids}
    assert with_accounts == {
        "banking.accounts.sync.completed", "energy.accounts.sync.completed", "banking.balances.sync.completed",
        "energy.balances.sync.completed", "banking.transactions.sync.completed",
        "banking.transactions.basic.sync.completed",
    }
    assert [e.name for e in EVENTS.values() if e.carries_payee_ids] == ["banking.payees.sync.completed"]


def test_unknown_event_lists_known_names():
    with pytest.raises(UnknownEventError, match="known events: .*consent.received"):
        event_type("consent.granted")


def test_envelope_from_core_record_is_compact_json_in_fiskil_order():
    body = Envelope.from_record(RECORD).body(2)
    assert b" " not in body and b"\n" not in body
    value = json.loads(body)
    assert list(value) == ["delivery_attempt", "publish_time", "message_id", "data"]
    assert value["delivery_attempt"] == 2
    assert value["publish_time"] == "2026-01-01T00:00:00.000Z"
    assert value["message_id"] == "msg-1"
    assert value["data"] == {"event": "banking.accounts.sync.completed", "end_user_id": "eu-1", "client_id": "client-1",
                             "institution_id": "88888", "consent_id": "c-1", "account_ids": ["a-1", "a-2"]}


def test_ids_lists_only_when_the_record_has_them():
    record = {k: v for k, v in RECORD.items() if k != "account_ids"} | {"event": "consent.received"}
    data = json.loads(Envelope.from_record(record).body())["data"]
    assert "account_ids" not in data and "payee_ids" not in data


def test_message_id_and_publish_time_stay_across_attempts():
    envelope = Envelope.from_record(RECORD)
    first, third = json.loads(envelope.body(1)), json.loads(envelope.body(3))
    assert (first["message_id"], first["publish_time"]) == (third["message_id"], third["publish_time"])
    assert (first["delivery_attempt"], third["delivery_attempt"]) == (1, 3)


def test_missing_record_fields_are_named():
    with pytest.raises(EnvelopeError, match="missing consent_id, client_id"):
        Envelope.from_record({k: v for k, v in RECORD.items() if k not in ("consent_id", "client_id")})


@pytest.mark.parametrize("value,expected", [
    ("2026-01-01T10:00:00+10:00", "2026-01-01T00:00:00.000Z"),
    ("2026-01-01T00:00:00.5Z", "2026-01-01T00:00:00.500Z"),
    (0, "1970-01-01T00:00:00.000Z"),
])
def test_created_at_formats(value, expected):
    assert rfc3339(value) == expected


def test_bad_created_at_says_what_is_expected():
    with pytest.raises(EnvelopeError, match="unix seconds nor an ISO-8601"):
        Envelope.from_record(RECORD | {"created_at": "yesterday"})


def test_make_envelope_generates_fresh_ids_and_required_lists():
    a, b = make_envelope("banking.payees.sync.completed"), make_envelope("banking.payees.sync.completed")
    assert a.message_id != b.message_id and a.end_user_id != b.end_user_id
    assert a.payee_ids and a.account_ids is None
    with pytest.raises(UnknownEventError):
        make_envelope("nope")
