"""Connects the fake core's event log to the emitter: each event becomes a signed delivery.

The core calls `on_event` callbacks from its request handlers, so the callback only hands the record
to a background thread running its own event loop; deliveries (with retries on a compressed clock)
never slow the core's responses down. The target is read when the event happens, as Fiskil would
deliver to the endpoint configured at publish time.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Protocol

from harness.webhooks.emitter import DEFAULT_ATTEMPT_TIMEOUT_S, DeliveryRecord, Emitter, RetryPolicy
from harness.webhooks.envelope import Envelope
from harness.webhooks.signing import DEFAULT_SCHEME, SignatureScheme

#: The fake's default compression: the 900 s retry schedule of RetryPolicy() takes 0.9 s.
DEFAULT_TIME_SCALE = 0.001
#: Deliveries kept for inspection: a long `fiskil-harness fake` session keeps only the newest ones
#: (an attached fake's reset does not reach the dispatcher, so this is what bounds its memory).
MAX_RECORDS = 2000


class EventSource(Protocol):
    """The two members of `fakes.core.app.Core` the dispatcher needs."""

    webhook_target: Any          # None, or an object with .url and .secret (or a (url, secret) pair)

    def on_event(self, callback: Callable[[dict], None]) -> None: ...


def _target_parts(target: Any) -> tuple[str, str]:
    if hasattr(target, "url") and hasattr(target, "secret"):
        return str(target.url), str(target.secret)
    url, secret = target
    return str(url), str(secret)


class WebhookDispatcher:
    """Delivers the core's events to `core.webhook_target`. Use as a context manager."""

    def __init__(
        self,
        core: EventSource,
        *,
        policy: RetryPolicy | None = None,
        time_scale: float = DEFAULT_TIME_SCALE,
        timeout_s: float = DEFAULT_ATTEMPT_TIMEOUT_S,
        scheme: SignatureScheme = DEFAULT_SCHEME,
    ) -> None:
        self._core = core
        self._policy = policy or RetryPolicy()
        self._time_scale = time_scale
        self._timeout_s = timeout_s
        self._scheme = scheme
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pending = 0
        self._records: deque[DeliveryRecord] = deque(maxlen=MAX_RECORDS)
        self._errors: list[str] = []
        self.skipped = 0                      # events that arrived while no target was set
        self._emitters: dict[tuple[str, str], Emitter] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._subscribed = False
        self._running = False

    # lifecycle -----------------------------------------------------------------------------------
    def __enter__(self) -> WebhookDispatcher:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        if self._running:
            return
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()

        self._thread = threading.Thread(target=run, name="webhook-dispatcher", daemon=True)
        self._thread.start()
        if not ready.wait(5):
            raise RuntimeError("the webhook dispatcher's event loop did not start within 5 s")
        self._loop = loop
        self._running = True
        if not self._subscribed:  # the core has no unsubscribe: subscribe once, ignore events when stopped
            self._core.on_event(self._on_event)
            self._subscribed = True

    def stop(self, drain_timeout_s: float = 2.0) -> None:
        """Let in-flight deliveries finish for up to `drain_timeout_s`, then cancel them and close."""
        if not self._running or self._loop is None:
            return
        self._running = False
        self.wait_idle(drain_timeout_s)
        loop = self._loop

        async def shutdown() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for emitter in self._emitters.values():
                await emitter.aclose()
            self._emitters.clear()

        try:
            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(timeout=5)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            if self._thread is not None:
                self._thread.join(timeout=5)
            loop.close()
            self._loop = None
            with self._lock:
                self._pending = 0
                self._idle.notify_all()

    # delivery ------------------------------------------------------------------------------------
    def _on_event(self, record: dict) -> None:
        """Called by the core (any thread): schedule, never block."""
        if not self._running or self._loop is None:
            return
        target = getattr(self._core, "webhook_target", None)
        if target is None:
            with self._lock:
                self.skipped += 1
            return
        with self._lock:
            self._pending += 1
        future = asyncio.run_coroutine_threadsafe(self._deliver(dict(record), _target_parts(target)), self._loop)
        future.add_done_callback(self._done)

    async def _deliver(self, record: dict, target: tuple[str, str]) -> None:
        envelope = Envelope.from_record(record)
        emitter = self._emitters.get(target)
        if emitter is None:
            url, secret = target
            emitter = Emitter(url, secret, scheme=self._scheme, policy=self._policy,
                              timeout_s=self._timeout_s, time_scale=self._time_scale)
            self._emitters[target] = emitter
        delivery = await emitter.deliver(envelope)
        with self._lock:
            self._records.append(delivery)

    def _done(self, future: Future) -> None:
        with self._lock:
            if not future.cancelled() and future.exception() is not None:
                # never include the target (it holds the secret); the exception text is ours
                self._errors.append(f"{type(future.exception()).__name__}: {future.exception()}")
            self._pending = max(0, self._pending - 1)
            if self._pending == 0:
                self._idle.notify_all()

    # inspection ----------------------------------------------------------------------------------
    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Block until every scheduled delivery has finished (True) or `timeout` passed (False)."""
        with self._lock:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)

    @property
    def records(self) -> list[DeliveryRecord]:
        with self._lock:
            return list(self._records)

    @property
    def errors(self) -> list[str]:
        """Events that could not be delivered at all (e.g. a malformed record)."""
        with self._lock:
            return list(self._errors)

    def records_for(self, *, message_id: str | None = None, event: str | None = None) -> list[DeliveryRecord]:
        return [r for r in self.records
                if (message_id is None or r.message_id == message_id) and (event is None or r.event == event)]

    def log(self) -> dict[str, Any]:
        """The deliveries as JSON, like Fiskil Console's Webhook Logs: served by the control API
        (GET /__harness/webhook-deliveries) so a harness attached over HTTP can read them too.
        No URL, secret or response body: they could carry the target's secrets."""
        with self._lock:
            records, pending = list(self._records), self._pending
            errors, skipped = list(self._errors), self.skipped
        return {"deliveries": [delivery_json(r) for r in records], "pending": pending,
                "skipped": skipped, "errors": errors}

    def clear(self) -> None:
        """Forget recorded deliveries (between scenarios)."""
        with self._lock:
            self._records.clear()
            self._errors.clear()
            self.skipped = 0


def delivery_json(record: DeliveryRecord) -> dict[str, Any]:
    """One delivery as the control API shows it: what was sent and how each attempt went."""
    return {
        "message_id": record.message_id,
        "event": record.event,
        "delivered": record.delivered,
        "attempts": [
            {"attempt": a.attempt, "status": a.status, "latency_ms": round(a.latency_s * 1000, 1),
             "error": None if a.ok else (f"{a.error_kind} ({a.error})" if a.error else a.error_kind)}
            for a in record.attempts
        ],
    }
