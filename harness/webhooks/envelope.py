"""The delivery envelope: what a Fiskil webhook POST body looks like, built from a core event record.

Shape from SECONDARY sources (docs/sources.md §10 [S-DIGEST], agreed by [S-WHLIB] fixtures):
    {"delivery_attempt": 1..5, "publish_time": RFC3339, "message_id": "...",
     "data": {"event", "end_user_id", "client_id", "institution_id", "consent_id", "account_ids"?, "payee_ids"?}}
Bodies are compact JSON (no whitespace): the guide's OpenSSL example reportedly strips newlines and
spaces before hashing, so a receiver must verify the raw bytes, never a re-serialisation.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from harness.webhooks.events import event_type

REQUIRED_RECORD_FIELDS = ("message_id", "event", "end_user_id", "consent_id", "institution_id", "client_id")


class EnvelopeError(ValueError):
    """An event record that cannot become an envelope (says which field to fix)."""


def rfc3339(moment: float | str | datetime | None) -> str:
    """An RFC3339 UTC timestamp with milliseconds, from unix seconds, an ISO string or a datetime."""
    if moment is None:
        when = datetime.now(timezone.utc)
    elif isinstance(moment, datetime):
        when = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    elif isinstance(moment, (int, float)):
        when = datetime.fromtimestamp(float(moment), timezone.utc)
    else:
        try:
            when = datetime.fromisoformat(str(moment).replace("Z", "+00:00"))
        except ValueError:
            raise EnvelopeError(f"created_at {moment!r} is neither unix seconds nor an ISO-8601 time") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def compact_json(value: Any) -> bytes:
    """JSON with no whitespace, keys in insertion order, UTF-8: the exact bytes that get signed."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class Envelope:
    """One event to deliver; `body(n)` is the payload of delivery attempt n (message_id never changes)."""

    message_id: str
    event: str
    end_user_id: str
    client_id: str
    institution_id: str
    consent_id: str
    publish_time: str
    account_ids: tuple[str, ...] | None = None
    payee_ids: tuple[str, ...] | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)   # unknown record fields, kept aside

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Envelope:
        """Build from an event record as the core logs it (docs/architecture.md "Core")."""
        if not isinstance(record, dict):
            raise EnvelopeError(f"an event record must be a JSON object, got {type(record).__name__}")
        missing = [name for name in REQUIRED_RECORD_FIELDS if not record.get(name)]
        if missing:
            raise EnvelopeError(f"event record is missing {', '.join(missing)}: every record needs {', '.join(REQUIRED_RECORD_FIELDS)}")
        known = set(REQUIRED_RECORD_FIELDS) | {"account_ids", "payee_ids", "created_at"}
        return cls(
            message_id=str(record["message_id"]),
            event=str(record["event"]),
            end_user_id=str(record["end_user_id"]),
            client_id=str(record["client_id"]),
            institution_id=str(record["institution_id"]),
            consent_id=str(record["consent_id"]),
            publish_time=rfc3339(record.get("created_at")),
            account_ids=_ids(record, "account_ids"),
            payee_ids=_ids(record, "payee_ids"),
            extra={k: v for k, v in record.items() if k not in known},
        )

    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "event": self.event,
            "end_user_id": self.end_user_id,
            "client_id": self.client_id,
            "institution_id": self.institution_id,
            "consent_id": self.consent_id,
        }
        if self.account_ids is not None:
            data["account_ids"] = list(self.account_ids)
        if self.payee_ids is not None:
            data["payee_ids"] = list(self.payee_ids)
        return data

    def to_dict(self, delivery_attempt: int = 1) -> dict[str, Any]:
        if delivery_attempt < 1:
            raise EnvelopeError(f"delivery_attempt starts at 1, got {delivery_attempt}")
        return {
            "delivery_attempt": delivery_attempt,
            "publish_time": self.publish_time,
            "message_id": self.message_id,
            "data": self.data(),
        }

    def body(self, delivery_attempt: int = 1) -> bytes:
        """The compact JSON bytes of attempt `delivery_attempt`."""
        return compact_json(self.to_dict(delivery_attempt))


def _ids(record: dict[str, Any], name: str) -> tuple[str, ...] | None:
    value = record.get(name)
    if value is None:
        return None
    if not isinstance(value, (list, tuple)):
        raise EnvelopeError(f"{name} must be a list of ids, got {type(value).__name__}")
    return tuple(str(v) for v in value)


def new_message_id() -> str:
    return str(uuid.uuid4())


def make_envelope(
    event: str,
    *,
    end_user_id: str | None = None,
    client_id: str = "harness-client-id",
    institution_id: str = "88888",
    consent_id: str | None = None,
    message_id: str | None = None,
    publish_time: float | str | None = None,
    account_ids: list[str] | None = None,
    payee_ids: list[str] | None = None,
) -> Envelope:
    """A fresh envelope for a catalogued event (checks and `webhooks send` use it); ids default to new UUIDs.

    Events that carry account_ids / payee_ids get one generated id when none are given.
    """
    kind = event_type(event)
    if account_ids is None and kind.carries_account_ids:
        account_ids = [f"acc-{uuid.uuid4().hex[:12]}"]
    if payee_ids is None and kind.carries_payee_ids:
        payee_ids = [f"payee-{uuid.uuid4().hex[:12]}"]
    return Envelope(
        message_id=message_id or new_message_id(),
        event=event,
        end_user_id=end_user_id or f"eu-{uuid.uuid4().hex[:16]}",
        client_id=client_id,
        institution_id=institution_id,
        consent_id=consent_id or f"consent-{uuid.uuid4().hex[:16]}",
        publish_time=rfc3339(publish_time),
        account_ids=tuple(account_ids) if account_ids is not None else None,
        payee_ids=tuple(payee_ids) if payee_ids is not None else None,
    )
