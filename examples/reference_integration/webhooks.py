"""The webhook endpoint's logic: verify the raw body, dedupe on message_id, ack fast, process later.

Fiskil's best practices (https://docs.fiskil.com/data-api/guides/resources/best-practices): validate
signatures before processing, return 2xx promptly, process asynchronously, use `message_id` for
idempotency, log failed processing. The signature scheme lives in `harness.webhooks.signing`
(secondary sources, docs/sources.md §10: Base64(HMAC-SHA256(Base64-decoded secret, raw body))).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from harness.webhooks.signing import SIGNATURE_HEADER, SigningSecretError, verify

from examples.reference_integration.config import Settings
from examples.reference_integration.store import Store

log = logging.getLogger("reference_integration.webhooks")

#: Events that mean "there is (different) data to fetch" for the end user; all lead to a sync.
SYNC_EVENTS_EXACT = frozenset({"consent.received", "consent.updated", "consent.revoked"})
SLOW_WEBHOOK_SECONDS = 10.0


@dataclass(frozen=True)
class WebhookJob:
    message_id: str
    event: str
    end_user_id: str | None


def triggers_sync(event: str) -> bool:
    """consent.* and banking.*.sync.completed events make us pull the end user's data again."""
    return event in SYNC_EVENTS_EXACT or (event.startswith("banking.") and event.endswith(".sync.completed"))


class WebhookProcessor:
    """Receives deliveries (`handle`) and processes them on one worker thread."""

    def __init__(self, settings: Settings, store: Store, sync: Callable[[str], object],
                 *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.store = store
        self._sync = sync
        self._sleep = sleep
        self._queue: queue.Queue[WebhookJob | None] = queue.Queue()
        self._worker = threading.Thread(target=self._run, name="reference-webhook-worker", daemon=True)
        self._worker.start()

    # -- receiving ------------------------------------------------------------------------------

    def handle(self, raw_body: bytes, headers: Mapping[str, str]) -> int:
        """Answer one delivery with a status code; processing happens later on the worker."""
        if self.settings.has_fault("slow_webhook"):
            self._sleep(SLOW_WEBHOOK_SECONDS)   # seeded fault: blocks the sender before answering
        signature = _header(headers, SIGNATURE_HEADER)
        try:
            if not self._signature_ok(raw_body, signature):
                log.warning("webhook rejected: %s signature", "missing" if signature is None else "invalid")
                return 401
        except SigningSecretError as exc:
            log.error("webhook signing secret misconfigured: %s", exc)
            return 500
        try:
            payload = json.loads(raw_body)
            message_id = str(payload["message_id"])
            data = payload.get("data") or {}
            event = str(data.get("event") or "")
            end_user_id = data.get("end_user_id")
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("webhook rejected: body is not a Fiskil webhook envelope")
            return 400
        first_delivery = self.store.claim_message(message_id, event, end_user_id)
        if not first_delivery and not self.settings.has_fault("no_dedupe"):
            # Fiskil retries deliveries with the same message_id: acknowledge, do not redo the work.
            log.info("webhook %s (%s) is a duplicate delivery; acknowledged, not reprocessed", message_id, event)
            return 200
        self._queue.put(WebhookJob(message_id, event, str(end_user_id) if end_user_id else None))
        log.info("webhook %s (%s) accepted for end user %s", message_id, event, end_user_id)
        return 200

    def _signature_ok(self, raw_body: bytes, signature: str | None) -> bool:
        secret = self.settings.webhook_secret
        if self.settings.has_fault("no_signature_check"):
            return True
        if self.settings.has_fault("hex_signature"):
            # Seeded fault: hex digest keyed by the raw secret string (the scheme integrators call wrong).
            expected = hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()
            return signature is not None and hmac.compare_digest(expected, signature.strip().lower())
        if self.settings.has_fault("reserialised_signature"):
            # Seeded fault: verifies what the JSON parser gives back, not the bytes that were signed.
            try:
                body = json.dumps(json.loads(raw_body), separators=(",", ":")).encode()
            except ValueError:
                return False
            return verify(body, signature, secret)
        return verify(raw_body, signature, secret)

    # -- processing -----------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            try:
                if job is None:
                    return
                self._process(job)
            finally:
                self._queue.task_done()

    def _process(self, job: WebhookJob) -> None:
        status, detail = "ignored", "event does not change data we keep"
        try:
            if triggers_sync(job.event) and job.end_user_id:
                result = self._sync(job.end_user_id)
                status = getattr(result, "status", "ok")
                detail = getattr(result, "message", "")
        except Exception as exc:  # noqa: BLE001 - a failed processing is logged, never kills the worker
            status, detail = "error", f"{type(exc).__name__}: {exc}"
        if status == "error":
            log.error("webhook %s (%s) processing failed: %s", job.message_id, job.event, detail)
        self.store.record_processing(job.message_id, job.event, status, detail)

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait (bounded) until every accepted delivery has been processed; True if it got there."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def close(self, timeout: float = 5.0) -> None:
        if self._worker.is_alive():
            self._queue.put(None)
            self._worker.join(timeout)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup that works for plain dicts and Starlette's Headers."""
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        for key, candidate in headers.items():
            if key.lower() == lowered:
                return candidate
    return value

