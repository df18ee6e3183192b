"""The kit's stand-in for Fiskil's webhook sender: signed POSTs, retries on a compressed clock, records.

Fiskil facts used (SECONDARY sources, docs/sources.md §10 [S-DIGEST] [S-WHLIB]): a delivery that gets a
non-2xx answer or cannot reach the endpoint is retried, up to 5 attempts, with 1–10 minute backoff,
then discarded. The exact schedule, the per-attempt timeout and how 3xx is treated are NOT documented:
they are the named assumptions in `RetryPolicy` and `Emitter` below. message_id staying the same
across retries is implied by Fiskil's dedupe advice (https://docs.fiskil.com/data-api/guides/resources/best-practices).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import httpx

from harness.webhooks.envelope import Envelope
from harness.webhooks.signing import DEFAULT_SCHEME, SignatureScheme, decode_secret
from harness.webhooks.tamper import prepare

#: ASSUMPTION: Fiskil's per-attempt timeout is unknown (docs/sources.md §10 "Not found anywhere").
DEFAULT_ATTEMPT_TIMEOUT_S = 5.0
BODY_EXCERPT_CHARS = 200


@dataclass(frozen=True)
class RetryPolicy:
    """When to try again. Delays are in Fiskil seconds; the emitter's time_scale compresses them.

    ASSUMPTION: exponential from 1 minute doubling, capped at 10 minutes (60, 120, 240, 480 s) —
    sources only say "up to 5 attempts, 1–10 minute backoff".
    """

    max_attempts: int = 5
    first_delay_s: float = 60.0
    max_delay_s: float = 600.0
    multiplier: float = 2.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if self.first_delay_s < 0 or self.max_delay_s < self.first_delay_s or self.multiplier < 1:
            raise ValueError("RetryPolicy needs 0 <= first_delay_s <= max_delay_s and multiplier >= 1")

    def delay_before(self, attempt: int) -> float:
        """Fiskil seconds to wait before attempt `attempt` (2..max_attempts); 0 before the first."""
        if attempt <= 1:
            return 0.0
        return min(self.max_delay_s, self.first_delay_s * self.multiplier ** (attempt - 2))

    def schedule(self) -> list[float]:
        """The waits before attempts 2..N, for docs and reports."""
        return [self.delay_before(n) for n in range(2, self.max_attempts + 1)]


@dataclass
class AttemptRecord:
    """One POST: what came back (or what went wrong) and how long it took."""

    attempt: int
    status: int | None
    latency_s: float
    error_kind: str | None          # None on 2xx; "status", "timeout", "connect", "reset", "protocol", "transport"
    body_excerpt: str = ""
    error: str = ""                 # exception type for transport errors

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class DeliveryRecord:
    """Everything about delivering one message: every attempt, in order."""

    message_id: str
    event: str
    url: str
    tamper: str = "none"
    attempts: list[AttemptRecord] = field(default_factory=list)

    @property
    def delivered(self) -> bool:
        return any(a.ok for a in self.attempts)

    @property
    def final_status(self) -> int | None:
        return self.attempts[-1].status if self.attempts else None

    @property
    def latencies(self) -> list[float]:
        return [a.latency_s for a in self.attempts]

    def summary(self) -> str:
        parts = [f"#{a.attempt}:{a.status if a.status is not None else a.error_kind}" for a in self.attempts]
        return f"{self.event} {self.message_id} -> {' '.join(parts) or 'no attempts'}"


def _error_kind(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        return "connect"
    if isinstance(exc, (httpx.ReadError, httpx.WriteError)):
        return "reset"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "protocol"
    return "transport"


class Emitter:
    """Delivers envelopes to one URL, signed with one secret. Use as `async with Emitter(...) as e:`.

    `time_scale` multiplies every retry/replay wait: 1.0 is Fiskil's real pace, 0.0002 runs a whole
    5-attempt schedule (900 Fiskil seconds) in 0.18 s.
    """

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        scheme: SignatureScheme = DEFAULT_SCHEME,
        policy: RetryPolicy | None = None,
        timeout_s: float = DEFAULT_ATTEMPT_TIMEOUT_S,
        time_scale: float = 1.0,
        concurrency: int = 20,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"webhook URL {url!r} must start with http:// or https://")
        decode_secret(secret, scheme)  # fail now, with the fix, rather than on the first delivery
        if time_scale < 0 or timeout_s <= 0 or concurrency < 1:
            raise ValueError("Emitter needs time_scale >= 0, timeout_s > 0 and concurrency >= 1")
        self.url = url
        self._secret = secret
        self.scheme = scheme
        self.policy = policy or RetryPolicy()
        self.timeout_s = timeout_s
        self.time_scale = time_scale
        self.concurrency = concurrency
        self.records: list[DeliveryRecord] = []
        # ASSUMPTION: redirects are not followed (a 3xx is a failed attempt); Fiskil's handling is unknown.
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=False,
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            transport=transport,
        )

    def __repr__(self) -> str:  # never show the secret
        return f"Emitter(url={self.url!r}, policy={self.policy!r}, time_scale={self.time_scale})"

    async def __aenter__(self) -> Emitter:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _sleep(self, fiskil_seconds: float) -> None:
        if fiskil_seconds > 0 and self.time_scale > 0:
            await asyncio.sleep(fiskil_seconds * self.time_scale)

    async def post(self, body: bytes, signature: str | None, attempt: int = 1) -> AttemptRecord:
        """One POST of exactly these bytes with this signature header (None: no header)."""
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers[self.scheme.header] = signature
        started = time.perf_counter()
        try:
            response = await self._client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return AttemptRecord(attempt, None, time.perf_counter() - started, _error_kind(exc), error=type(exc).__name__)
        latency = time.perf_counter() - started
        ok = 200 <= response.status_code < 300
        excerpt = response.text[:BODY_EXCERPT_CHARS] if response.content else ""
        return AttemptRecord(attempt, response.status_code, latency, None if ok else "status", excerpt)

    async def send_once(self, envelope: Envelope, attempt: int = 1, *, tamper: str = "none") -> DeliveryRecord:
        """Exactly one attempt (no retry), optionally tampered; recorded like any delivery."""
        signed = prepare(envelope.body(attempt), self._secret, tamper, self.scheme)
        record = DeliveryRecord(envelope.message_id, envelope.event, self.url, tamper)
        record.attempts.append(await self.post(signed.body, signed.signature, attempt))
        self.records.append(record)
        return record

    async def deliver(self, envelope: Envelope, *, first_attempt: int = 1) -> DeliveryRecord:
        """Deliver with retries: stop at the first 2xx or after policy.max_attempts attempts."""
        record = DeliveryRecord(envelope.message_id, envelope.event, self.url)
        self.records.append(record)
        for attempt in range(first_attempt, self.policy.max_attempts + 1):
            await self._sleep(self.policy.delay_before(attempt) if attempt > first_attempt else 0.0)
            signed = prepare(envelope.body(attempt), self._secret, "none", self.scheme)
            result = await self.post(signed.body, signed.signature, attempt)
            record.attempts.append(result)
            if result.ok:
                break
        return record

    async def burst(self, envelopes: Iterable[Envelope], concurrency: int | None = None) -> list[DeliveryRecord]:
        """Deliver many at once, at most `concurrency` in flight; results in input order."""
        gate = asyncio.Semaphore(concurrency or self.concurrency)

        async def one(envelope: Envelope) -> DeliveryRecord:
            async with gate:
                return await self.deliver(envelope)

        return list(await asyncio.gather(*(one(e) for e in envelopes)))

    async def duplicate(self, envelope: Envelope) -> list[DeliveryRecord]:
        """Deliver, then deliver the same message again as the next attempt (Fiskil re-sending after a lost ack)."""
        first = await self.deliver(envelope)
        next_attempt = min(len(first.attempts) + 1, max(self.policy.max_attempts, 2))
        second = await self.send_once(envelope, attempt=next_attempt)
        return [first, second]

    async def out_of_order(self, envelopes: Sequence[Envelope], order: Sequence[int] | None = None) -> list[DeliveryRecord]:
        """Deliver one by one in `order` (indexes into envelopes; default reversed), e.g. revoked before received."""
        indexes = list(order) if order is not None else list(range(len(envelopes) - 1, -1, -1))
        if sorted(indexes) != list(range(len(envelopes))):
            raise ValueError("order must be a permutation of the envelopes' indexes")
        return [await self.deliver(envelopes[i]) for i in indexes]

    async def replay(self, envelope: Envelope, after_s: float = 3600.0, attempt: int = 1) -> DeliveryRecord:
        """Re-send the very bytes of an earlier delivery `after_s` Fiskil seconds later (a captured-request replay).

        The signature is identical because Fiskil's scheme signs only the body (no timestamp).
        """
        await self._sleep(after_s)
        return await self.send_once(envelope, attempt=attempt)


def run_sync(coroutine_factory, *args, **kwargs):  # type: ignore[no-untyped-def]
    """Run an async emitter operation from sync code (steps, threads) on a private event loop."""
    return asyncio.run(coroutine_factory(*args, **kwargs))


def deliver_sync(url: str, secret: str, envelope: Envelope, **emitter_options: object) -> DeliveryRecord:
    """Deliver one envelope with retries from sync code; the emitter and its client are closed on return."""

    async def go() -> DeliveryRecord:
        async with Emitter(url, secret, **emitter_options) as emitter:  # type: ignore[arg-type]
            return await emitter.deliver(envelope)

    return asyncio.run(go())


def send_once_sync(url: str, secret: str, envelope: Envelope, *, tamper: str = "none", **emitter_options: object) -> DeliveryRecord:
    """One attempt, optionally tampered, from sync code."""

    async def go() -> DeliveryRecord:
        async with Emitter(url, secret, **emitter_options) as emitter:  # type: ignore[arg-type]
            return await emitter.send_once(envelope, tamper=tamper)

    return asyncio.run(go())
