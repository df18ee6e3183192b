"""Conformance checks for a partner's webhook endpoint: does it handle Fiskil deliveries safely?

Each check sends its own deliveries with fresh message_ids and end-user ids, so checks never
interfere, then grades what came back. "Processed" can only be seen through an observe URL whose
GET returns {"message_ids": [...]} (one entry per processing); without it, every check whose
expectation includes "processed once" / "not processed" is NOT OBSERVABLE, never PASS.

Honesty notes (see docs/webhooks.md):
- Fiskil's signature has no timestamp (secondary sources: third-party integrators; Fiskil's guide
  https://docs.fiskil.com/data-api/guides/core-concepts/webhooks was not readable), so a replayed
  request verifies forever; only dedupe on message_id stops it. No replay-window check is pretended.
- The kit cannot make a partner's endpoint fail its first attempts, so "retries" is checked as:
  a first-seen delivery carrying delivery_attempt > 1 is accepted and processed once, plus an
  informational self-test of the kit's own retry schedule against a local flaky endpoint.
- Fiskil's delivery timeout is unknown; the latency budget (default 2 s) is the kit's choice.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlparse

import httpx

from harness.webhooks.emitter import AttemptRecord, DeliveryRecord, Emitter, RetryPolicy
from harness.webhooks.envelope import Envelope, make_envelope
from harness.webhooks.signing import DEFAULT_SCHEME, SignatureScheme, decode_secret

Verdict = Literal["PASS", "FAIL", "NOT OBSERVABLE"]
PASS: Verdict = "PASS"
FAIL: Verdict = "FAIL"
NOT_OBSERVABLE: Verdict = "NOT OBSERVABLE"

#: ASSUMPTION: Fiskil's delivery timeout is undocumented; 2 s is the kit's "ack promptly" budget.
DEFAULT_BUDGET_S = 2.0
DEFAULT_BURST = 100
#: The observe GET gets more time than a delivery: it is the kit's own probe, not graded, and an app
#: busy with the work a webhook triggered (e.g. calling Fiskil) may answer it slowly.
DEFAULT_OBSERVE_TIMEOUT_S = 10.0
#: The pre-flight TCP connect: long enough for a remote host, short enough to fail fast locally.
PREFLIGHT_TIMEOUT_S = 3.0
#: How long processing may take to show on the observe URL, and, once it shows, how much longer a
#: second processing is watched for (an async worker can do a duplicate well after the first).
DEFAULT_SETTLE_S = 1.0
DEFAULT_REPLAY_AFTER_S = 1.0
#: Upper bounds that keep every wait finite and sane (a day; a burst the machine can hold).
MAX_SECONDS = 86_400.0
MAX_TIMEOUT_S = 3_600.0
MAX_BURST = 10_000
#: Between two observe GETs while waiting (shorter for a --settle under 0.5 s).
OBSERVE_POLL_S = 0.05


class CheckSetupError(ValueError):
    """The checks cannot run as configured (bad URL, secret or observe endpoint); says what to fix."""


class ObserveError(RuntimeError):
    """The observe URL did not give a usable answer during a check; the message names the request."""


def describe_error(exc: BaseException) -> str:
    """`Name: text (METHOD URL)`: httpx errors often have an empty text, so never show only the name."""
    text = str(exc) or repr(exc)
    where = ""
    if isinstance(exc, httpx.RequestError):
        try:
            where = f" ({exc.request.method} {exc.request.url})"
        except RuntimeError:  # raised by httpx when the error carries no request
            pass
    return f"{type(exc).__name__}: {text}{where}"


def check_url(url: str, flag: str = "--url") -> str:
    """An http(s) URL with a host and a valid port, or a CheckSetupError naming the option."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or not parsed.hostname:
        raise CheckSetupError(f"{flag} {url!r} is not an http(s) URL: give e.g. http://127.0.0.1:8000/webhooks/fiskil")
    try:
        parsed.port
    except ValueError:
        raise CheckSetupError(f"{flag} {url!r} has an invalid port: give a port from 1 to 65535, "
                              "e.g. http://127.0.0.1:8000/webhooks/fiskil") from None
    return url


def check_number(value: float, flag: str, *, minimum: float, inclusive: bool = True,
                 maximum: float = MAX_SECONDS, unit: str = "seconds") -> float:
    """A finite number in range, or a CheckSetupError naming the option (nan/inf would hang or crash a wait)."""
    low_ok = value >= minimum if inclusive else value > minimum
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not low_ok or value > maximum:
        bound = ">=" if inclusive else ">"
        raise CheckSetupError(f"{flag} must be a finite number of {unit} {bound} {minimum:g} and <= {maximum:g}, got {value!r}")
    return value


def _host_port(url: str, flag: str = "--url") -> tuple[str, int]:
    parsed = urlparse(check_url(url, flag))
    return parsed.hostname or "", parsed.port or (443 if parsed.scheme == "https" else 80)


async def ensure_listening(url: str, flag: str = "--url", timeout_s: float = PREFLIGHT_TIMEOUT_S) -> None:
    """Pre-flight: a bare TCP connect (no delivery sent), so a dead endpoint is a set-up error, not 16 failures."""
    host, port = _host_port(url, flag)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout_s)
    except (OSError, asyncio.TimeoutError) as exc:
        reason = f"no TCP answer within {timeout_s:g} s" if isinstance(exc, asyncio.TimeoutError) else describe_error(exc)
        raise CheckSetupError(
            f"nothing is listening at {flag} {url} ({reason}): is your app running on {host}:{port}? "
            "Start it (with the Fiskil API URL it is configured with reachable) and try again") from None
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass


@dataclass
class CheckConfig:
    url: str
    secret: str
    observe_url: str | None = None
    budget_s: float = DEFAULT_BUDGET_S
    burst: int = DEFAULT_BURST
    burst_concurrency: int = 20
    fast_ack_samples: int = 5
    settle_s: float = DEFAULT_SETTLE_S   # processing must show within this, then is watched this long more
    observe_timeout_s: float = DEFAULT_OBSERVE_TIMEOUT_S   # per observe GET (deliveries use 2x budget_s)
    replay_after_s: float = DEFAULT_REPLAY_AFTER_S    # real seconds between a delivery and its replay
    event: str = "banking.transactions.sync.completed"
    scheme: SignatureScheme = DEFAULT_SCHEME
    only: tuple[str, ...] = ()     # run only these check ids (empty: all)

    def __repr__(self) -> str:  # never show the secret
        return f"CheckConfig(url={self.url!r}, observe_url={self.observe_url!r}, budget_s={self.budget_s})"

    def validate(self) -> None:
        """Everything checkable without the network; messages name the CLI option to fix."""
        check_url(self.url, "--url")
        if self.observe_url is not None:
            check_url(self.observe_url, "--observe")
        try:
            decode_secret(self.secret, self.scheme)
        except ValueError as exc:
            raise CheckSetupError(str(exc)) from None
        check_number(self.budget_s, "--timeout", minimum=0, inclusive=False, maximum=MAX_TIMEOUT_S)
        check_number(self.observe_timeout_s, "--observe-timeout", minimum=0, inclusive=False, maximum=MAX_TIMEOUT_S)
        check_number(self.settle_s, "--settle", minimum=0)
        check_number(self.replay_after_s, "--replay-after", minimum=0)
        for flag, count in (("--burst", self.burst), ("burst_concurrency", self.burst_concurrency),
                            ("fast_ack_samples", self.fast_ack_samples)):
            if not isinstance(count, int) or isinstance(count, bool):
                raise CheckSetupError(f"{flag} must be a whole number, got {count!r}")
            check_number(count, flag, minimum=1, maximum=MAX_BURST, unit="deliveries")
        unknown = [c for c in self.only if c not in CHECK_IDS]
        if unknown:
            raise CheckSetupError(f"unknown check id(s) {', '.join(unknown)}; known: {', '.join(CHECK_IDS)}")


@dataclass
class CheckResult:
    id: str
    title: str
    expectation: str
    required: bool
    verdict: Verdict
    observed: str
    evidence: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0


@dataclass(frozen=True)
class CheckSpec:
    id: str
    title: str
    expectation: str
    required: bool
    run: Callable[[CheckContext], Awaitable[tuple[Verdict, str, dict[str, Any]]]]
    needs: tuple[str, ...] = ()   # checks that must run first (they produce what this one grades)


class Observer:
    """Reads the observe URL: how many times each message_id was processed."""

    def __init__(self, url: str | None, client: httpx.AsyncClient, settle_s: float,
                 timeout_s: float = DEFAULT_OBSERVE_TIMEOUT_S) -> None:
        self.url = url
        self._client = client
        self.settle_s = settle_s
        self.timeout_s = timeout_s
        # at least ~10 looks per window, however short a --settle is given
        self._poll_s = min(OBSERVE_POLL_S, max(settle_s / 10, 0.005))

    @property
    def available(self) -> bool:
        return self.url is not None

    async def message_ids(self) -> list[str]:
        """One GET of the observe URL; any failure is an ObserveError naming the URL and the likely cause."""
        assert self.url is not None
        try:
            response = await self._client.get(self.url, timeout=self.timeout_s)
        except httpx.TimeoutException as exc:
            raise ObserveError(
                f"GET {self.url} (observe URL) timed out after {self.timeout_s:g} s ({type(exc).__name__}): "
                "the app must answer the observe URL quickly; it may be busy, e.g. retrying calls to a "
                "Fiskil API that is not running (raise --observe-timeout if it is just slow)") from None
        except httpx.HTTPError as exc:
            raise ObserveError(f"GET {self.url} (observe URL) failed: {describe_error(exc)}") from None
        if response.status_code != 200:
            raise ObserveError(f"GET {self.url} (observe URL) answered {response.status_code}: {response.text[:200]!r}")
        try:
            payload = response.json()
        except ValueError:
            payload = None
        ids = payload.get("message_ids") if isinstance(payload, dict) else None
        if not isinstance(ids, list):
            raise ObserveError(f'GET {self.url} (observe URL) must answer {{"message_ids": [...]}}, '
                               f"got {response.text[:200]!r}")
        return [str(i) for i in ids]

    async def preflight(self) -> None:
        try:
            await self.message_ids()
        except ObserveError as exc:
            raise CheckSetupError(f'the observe URL must answer GET with {{"message_ids": [...]}}: {exc}; check the '
                                  "URL (e.g. the reference integration serves GET /webhook-events) or leave --observe out") from None

    async def counts(self, ids: list[str], *, expect_each: bool) -> dict[str, int]:
        """The highest processing count of each of `ids` seen while watching the observe URL.

        expect_each ("processed exactly once"): poll until every id shows up (within settle_s), then
        keep watching a full settle_s more: an app that processes asynchronously (as Fiskil advises)
        may do a duplicate well after the first shows, e.g. a queue worker busy with the first job.
        Any count above 1 ends the watch at once. Otherwise ("not processed"): watch the whole
        settle_s for any appearance.
        """
        highest = dict.fromkeys(ids, 0)
        deadline = time.monotonic() + self.settle_s
        holding = False   # every id has shown up; now watching for a second processing
        while True:
            tally = Counter(await self.message_ids())
            for i in ids:
                highest[i] = max(highest[i], tally[i])
            if expect_each:
                if any(c > 1 for c in highest.values()):
                    return highest
                if not holding and all(highest.values()):
                    holding = True
                    deadline = time.monotonic() + self.settle_s
            elif any(highest.values()):
                return highest
            left = deadline - time.monotonic()
            if left <= 0:
                return highest
            await asyncio.sleep(min(self._poll_s, left))


@dataclass
class CheckContext:
    config: CheckConfig
    emitter: Emitter
    observer: Observer
    burst_gate: asyncio.Semaphore
    burst_ids: list[str] | None = None   # set by the burst check for burst-processed
    valid_record: DeliveryRecord | None = None   # a correct delivery: did this endpoint accept it?

    def envelope(self, check_id: str) -> Envelope:
        """A fresh event for one check: new message_id, end user and consent ids."""
        tag = uuid.uuid4().hex[:10]
        return make_envelope(self.config.event, end_user_id=f"eu-check-{check_id}-{tag}",
                             consent_id=f"consent-check-{tag}")

    def in_budget(self, record: DeliveryRecord) -> bool:
        return all(a.ok and a.latency_s <= self.config.budget_s for a in record.attempts)

    async def valid_delivery(self) -> DeliveryRecord:
        """valid-ack's delivery, or (when it did not run) one correct delivery of our own, sent once."""
        if self.valid_record is None:
            self.valid_record = await self.emitter.send_once(self.envelope("valid-control"))
        return self.valid_record


def _outcome(a: AttemptRecord) -> str:
    return str(a.status) if a.status is not None else f"no HTTP answer ({a.error or '?'}, {a.error_kind or '?'})"


def _describe(record: DeliveryRecord, budget_s: float | None = None) -> str:
    """Each attempt's answer and latency; with a budget, a late attempt says it is over it."""
    parts = []
    for a in record.attempts:
        late = budget_s is not None and a.latency_s > budget_s
        parts.append(f"{_outcome(a)} in {a.latency_s * 1000:.0f} ms"
                     + (f" (over the {budget_s * 1000:.0f} ms budget)" if late else ""))
    return ", ".join(parts)


def _answered(record: DeliveryRecord) -> bool:
    """Every attempt got an HTTP status: only then can a non-2xx count as a rejection."""
    return all(a.status is not None for a in record.attempts)


def _attempts_evidence(record: DeliveryRecord) -> list[dict[str, Any]]:
    return [{"attempt": a.attempt, "status": a.status, "latency_s": round(a.latency_s, 4),
             "error_kind": a.error_kind, "error": a.error, "body_excerpt": a.body_excerpt} for a in record.attempts]


def _not_shown_hint(ctx: CheckContext) -> str:
    return (f"not seen on the observe URL within --settle {ctx.config.settle_s:g} s: raise --settle if processing "
            "takes longer, or check that the observe URL lists one message_id per processing")


# ---- the checks ---------------------------------------------------------------------------------

async def _valid_ack(ctx: CheckContext) -> tuple[Verdict, str, dict[str, Any]]:
    record = await ctx.emitter.send_once(ctx.envelope("valid-ack"))
    ctx.valid_record = record   # the reject-* checks read whether a valid delivery is accepted
    verdict = PASS if ctx.in_budget(record) else FAIL
    observed = _describe(record, ctx.config.budget_s)
    if verdict == FAIL and record.delivered:
        observed += f" (budget {ctx.config.budget_s * 1000:.0f} ms, --timeout)"
    return verdict, observed, {"message_id": record.message_id, "attempts": _attempts_evidence(record)}


async def _valid_processed(ctx: CheckContext) -> tuple[Verdict, str, dict[str, Any]]:
    record = await ctx.emitter.send_once(ctx.envelope("valid-processed"))
    evidence: dict[str, Any] = {"message_id": record.message_id, "attempts": _attempts_evidence(record)}
    if not record.delivered:
        return FAIL, f"not accepted ({_describe(record)})", evidence
    return await _processed_exactly_once(ctx, record.message_id, _describe(record), evidence)


def _rejection(tamper: str) -> Callable[[CheckContext], Awaitable[tuple[Verdict, str, dict[str, Any]]]]:
    async def check(ctx: CheckContext) -> tuple[Verdict, str, dict[str, Any]]:
        record = await ctx.emitter.send_once(ctx.envelope(tamper), tamper=tamper)
        evidence: dict[str, Any] = {"message_id": record.message_id, "tamper": tamper,
                                    "attempts": _attempts_evidence(record)}
        answer = _describe(record)
        if record.delivered:
            return FAIL, f"accepted: {answer}", evidence
        if not _answered(record):  # refused/reset/timed out: the endpoint decided nothing
            return FAIL, f"{answer}: a rejection must be an HTTP non-2xx answer", evidence
        if ctx.observer.available:
            count = (await ctx.observer.counts([record.message_id], expect_each=False))[record.message_id]
            evidence["processed"] = count
            if count:
                return FAIL, f"rejected ({answer}) but processed {count}x", evidence
        # a rejection proves signature checking only if the same endpoint accepts a correct delivery
        valid = await ctx.valid_delivery()
        if not valid.delivered:
            evidence["valid_delivery"] = _attempts_evidence(valid)
            return NOT_OBSERVABLE, (f"rejected ({answer}), but a correctly signed delivery was not acknowledged with "
                                    f"2xx either ({_describe(valid)}): the rejection proves nothing until valid-ack "
                                    "passes (check --url)"), evidence
        if not ctx.observer.available:
            return NOT_OBSERVABLE, f"rejected ({answer}); whether it was processed anyway needs --observe", evidence
        return PASS, f"rejected ({answer}); not processed", evidence

    return check


async def _duplicate(ctx: CheckContext) -> tuple[Verdict, str, dict[str, Any]]:
    first, second = await ctx.emitter.duplicate(ctx.envelope("duplicate"))
    evidence: dict[str, Any] = {"message_id": first.message_id,
                                "first": _attempts_evidence(first), "second": _attempts_evidence(second)}
    answer = f"1st {_describe(first)}; again as attempt {second.attempts[0].attempt}: {_describe(second)}"
    if not (first.delivered and second.delivered):
        return FAIL, f"{answer} (a duplicate must still get 2xx, or Fiskil keeps retrying)", evidence
    return await _processed_exactly_once(ctx, first.message_id, answer, evidence)


async def _replay(ctx: CheckContext) -> tuple[Verdict, str, dict[str, Any]]:
    envelope = ctx.envelope("replay")
    original = await ctx.emitter.send_once(envelope)
    # identical bytes and signature: Fiskil's scheme has no timestamp to expire
    await asyncio.sleep(ctx.config.replay_after_s)
    replayed = await ctx.emitter.send_once(envelope)
    evidence: dict[str, Any] = {"message_id": envelope.message_id, "replay_after_s": ctx.config.replay_after_s,
                                "original": _attempts_evidence(original), "replay": _attempts_evidence(replayed)}
    answer = f"original {_describe(original)}; replay after {ctx.config.replay_after_s:g} s: {_describe(replayed)}"
    if not original.delivered:
        return FAIL, f"{answer} (the original was not accepted)", evidence
    return await _processed_exactly_once(ctx, envelope.message_id, answer, evidence)


async def _processed_exactly_once(ctx: CheckContext, message_id: str, answer: str,
                                  evidence: dict[str, Any]) -> tuple[Verdict, str, dict[str, Any]]:
    """The verdict of a delivered message_id: PASS when processed once, never PASS when unobservable."""
    if not ctx.observer.available:
        return NOT_OBSERVABLE, f"{answer}; processing count needs --observe", evidence
    count = (await ctx.observer.counts([message_id], expect_each=True))[message_id]
    evidence["processed"] = count
    if count == 0:
        return FAIL, f"{answer}; processed 0x ({_not_shown_hint(ctx)})", evidence
    return (PASS if count == 1 else FAIL), f"{answer}; processed {count}x", evidence


async def _late_attempt(ctx: CheckContext) -> tuple[Verdict, str, dict[str, Any]]:
    envelope = ctx.envelope("late-attempt")
    record = await ctx.emitter.send_once(envelope, attempt=3)
    evidence: dict[str, Any] = {"message_id": envelope.message_id, "attempts": _attempts_evidence(record)}
    answer = f"delivery_attempt=3 first seen: {_describe(record)}"
    if not record.delivered:
        return FAIL, answer, evidence
    return await _processed_exactly_once(ctx, envelope.message_id, answer, evidence)


async def _emitter_retry_selftest(ctx: CheckContext) -> tuple[Verdict, str, dict[str, Any]]:
    """The kit's own retry behaviour, against a local endpoint failing twice (not the partner's)."""
    from harness.webhooks.receivers import FlakyReceiver  # local import: only this check needs sockets

    policy = RetryPolicy()
    with FlakyReceiver(fail_first=2, mode="500") as flaky:
        async with Emitter(flaky.url, ctx.config.secret, scheme=ctx.config.scheme, policy=policy,
                           time_scale=0.0002, timeout_s=2.0) as emitter:
            record = await emitter.deliver(ctx.envelope("retry-selftest"))
        bodies = list(flaky.requests)
    sent = [json.loads(b) for b in bodies]
    same_id = len({s["message_id"] for s in sent}) == 1
    numbered = [s["delivery_attempt"] for s in sent] == list(range(1, len(sent) + 1))
    ok = record.delivered and len(record.attempts) == 3 and same_id and numbered
    observed = (f"{_describe(record)}; same message_id: {same_id}; delivery_attempt "
                f"{[s['delivery_attempt'] for s in sent]}; schedule (Fiskil s) {policy.schedule()}")
    return (PASS if ok else FAIL), observed, {"attempts": _attempts_evidence(record)}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


async def _fast_ack(ctx: CheckContext) -> tuple[Verdict, str, dict[str, Any]]:
    records = [await ctx.emitter.send_once(ctx.envelope("fast-ack")) for _ in range(ctx.config.fast_ack_samples)]
    latencies = [r.attempts[0].latency_s for r in records]
    statuses = [r.attempts[0].status for r in records]
    p95 = _percentile(latencies, 0.95)
    ok = all(r.delivered for r in records) and p95 <= ctx.config.budget_s
    observed = (f"{sum(r.delivered for r in records)}/{len(records)} 2xx; p50 {_percentile(latencies, 0.5) * 1000:.0f} ms, "
                f"p95 {p95 * 1000:.0f} ms (budget {ctx.config.budget_s * 1000:.0f} ms)")
    return (PASS if ok else FAIL), observed, {"latencies_s": [round(x, 4) for x in latencies], "statuses": statuses}


async def _burst(ctx: CheckContext) -> tuple[Verdict, str, dict[str, Any]]:
    envelopes = [ctx.envelope("burst") for _ in range(ctx.config.burst)]
    started = time.perf_counter()
    records = await asyncio.gather(*(_one_shot(ctx, e) for e in envelopes))
    elapsed = time.perf_counter() - started
    ctx.burst_ids = [e.message_id for e in envelopes]
    acked = sum(r.delivered for r in records)
    failing = [r for r in records if not ctx.in_budget(r)]
    latencies = [r.attempts[0].latency_s for r in records]
    observed = (f"{acked}/{len(records)} 2xx, {len(records) - len(failing)} within budget"
                + (f" ({_failure_summary(failing, ctx.config.budget_s)})" if failing else "")
                + f"; p95 {_percentile(latencies, 0.95) * 1000:.0f} ms; "
                f"{len(records) / elapsed:.0f}/s at concurrency {ctx.config.burst_concurrency}")
    failures = [{"message_id": r.message_id, "attempts": _attempts_evidence(r)} for r in failing][:5]
    return (PASS if not failing else FAIL), observed, {"first_failures": failures}


def _failure_summary(records: list[DeliveryRecord], budget_s: float) -> str:
    """Why deliveries failed, most common first: e.g. `4x no HTTP answer (ReadError, reset), 1x 503`."""
    reasons: Counter[str] = Counter()
    for record in records:
        for a in record.attempts:
            if not a.ok:
                reasons[_outcome(a)] += 1
            elif a.latency_s > budget_s:
                reasons[f"{a.status} over the {budget_s * 1000:.0f} ms budget"] += 1
    return ", ".join(f"{n}x {reason}" for reason, n in reasons.most_common())


async def _one_shot(ctx: CheckContext, envelope: Envelope) -> DeliveryRecord:
    async with ctx.burst_gate:
        return await ctx.emitter.send_once(envelope)


async def _burst_processed(ctx: CheckContext) -> tuple[Verdict, str, dict[str, Any]]:
    ids = ctx.burst_ids
    if ids is None:  # run_checks always runs burst first; only a direct call gets here
        return NOT_OBSERVABLE, "the burst check did not run first (it sends the messages this check counts)", {}
    if not ctx.observer.available:
        return NOT_OBSERVABLE, f"{len(ids)} sent; losses and doubles need --observe", {}
    counts = await ctx.observer.counts(ids, expect_each=True)
    lost = [i for i, c in counts.items() if c == 0]
    doubled = [i for i, c in counts.items() if c > 1]
    observed = f"{len(ids) - len(lost)}/{len(ids)} processed; {len(lost)} lost, {len(doubled)} processed more than once"
    if lost:
        observed += f" ({_not_shown_hint(ctx)})"
    return (PASS if not lost and not doubled else FAIL), observed, {"lost": lost[:10], "doubled": doubled[:10]}


_REJECT = "non-2xx and not processed"
CHECKS: tuple[CheckSpec, ...] = (
    CheckSpec("valid-ack", "valid delivery is acknowledged", "2xx within the budget", True, _valid_ack),
    CheckSpec("valid-processed", "valid delivery is processed once", "2xx and processed exactly once", True, _valid_processed),
    CheckSpec("reject-forged-signature", "forged signature", _REJECT, True, _rejection("forged-signature")),
    CheckSpec("reject-missing-signature", "missing X-Fiskil-Signature", _REJECT, True, _rejection("missing-signature")),
    CheckSpec("reject-wrong-secret", "signed with another secret", _REJECT, True, _rejection("wrong-secret")),
    CheckSpec("reject-body-changed", "body changed after signing", _REJECT, True, _rejection("body-changed")),
    CheckSpec("reject-reserialised", "JSON re-serialised (whitespace)", _REJECT, True, _rejection("reserialised")),
    CheckSpec("reject-reordered", "JSON re-serialised (key order)", _REJECT, True, _rejection("reordered")),
    CheckSpec("reject-hex-digest", "hex digest instead of base64", _REJECT, True, _rejection("hex-digest")),
    CheckSpec("duplicate", "duplicate delivery (same message_id, next attempt)", "2xx both times, processed once", True, _duplicate),
    CheckSpec("replay", "replay of an earlier message later", "processed once (message_id dedupe; the signature has no timestamp)", True, _replay),
    CheckSpec("late-attempt", "retried delivery seen first (delivery_attempt=3)", "2xx and processed once", True, _late_attempt),
    CheckSpec("emitter-retries", "kit self-test: retry schedule", "local endpoint failing twice: 3 attempts, same message_id, delivery_attempt 1..3", False, _emitter_retry_selftest),
    CheckSpec("fast-ack", "fast acknowledgement", "p95 latency within the budget", True, _fast_ack),
    CheckSpec("burst", "burst of deliveries", "all 2xx within the budget", True, _burst),
    CheckSpec("burst-processed", "burst: none lost", "every burst message processed exactly once", True, _burst_processed,
              needs=("burst",)),
)
CHECK_IDS: tuple[str, ...] = tuple(c.id for c in CHECKS)


def plan(only: tuple[str, ...] = ()) -> tuple[list[CheckSpec], list[str]]:
    """The checks to run, in suite order: `only` (empty: all) plus their prerequisites, and which were added."""
    wanted = set(only or CHECK_IDS)
    added = []
    for spec in reversed(CHECKS):   # a prerequisite always comes earlier in CHECKS
        if spec.id in wanted:
            for need in spec.needs:
                if need not in wanted:
                    wanted.add(need)
                    added.append(need)
    return [c for c in CHECKS if c.id in wanted], added


async def run_checks(config: CheckConfig, progress: Callable[[CheckResult], None] | None = None) -> list[CheckResult]:
    """Run the suite (or `config.only`) against one endpoint; raises CheckSetupError before sending anything if misconfigured."""
    config.validate()
    selected, _ = plan(config.only)
    await ensure_listening(config.url, "--url")
    if config.observe_url:
        await ensure_listening(config.observe_url, "--observe")
    async with httpx.AsyncClient(timeout=config.observe_timeout_s) as observe_client, Emitter(
        config.url, config.secret, scheme=config.scheme, timeout_s=config.budget_s * 2,
        concurrency=config.burst_concurrency, policy=RetryPolicy(max_attempts=1),
    ) as emitter:
        observer = Observer(config.observe_url, observe_client, config.settle_s, config.observe_timeout_s)
        if observer.available:
            await observer.preflight()
        ctx = CheckContext(config, emitter, observer, asyncio.Semaphore(config.burst_concurrency))
        results = []
        for spec in selected:
            started = time.perf_counter()
            try:
                verdict, observed, evidence = await spec.run(ctx)
            except CheckSetupError:
                raise
            except Exception as exc:  # a check that crashes is a failed check, with the reason
                verdict, observed, evidence = FAIL, f"check error: {describe_error(exc)}", {}
            result = CheckResult(spec.id, spec.title, spec.expectation, spec.required, verdict, observed,
                                 evidence, time.perf_counter() - started)
            results.append(result)
            if progress:
                progress(result)
        return results


def run_checks_sync(config: CheckConfig, progress: Callable[[CheckResult], None] | None = None) -> list[CheckResult]:
    return asyncio.run(run_checks(config, progress))


def overall_ok(results: list[CheckResult]) -> bool:
    """True only if every required check passed (NOT OBSERVABLE is not a pass)."""
    return all(r.verdict == PASS for r in results if r.required)
