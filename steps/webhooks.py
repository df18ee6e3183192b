"""Steps for the webhook features: the kit plays Fiskil's webhook sender towards the subject's endpoint,
or the fake sends its own webhooks when a customer links or a consent ends.

Every scenario asserts on two things: what the subject's endpoint answered (the emitter's
DeliveryRecords, or the fake's delivery log: status and latency) and what it did with the delivery
(`subject.processed_webhooks()`, one message_id per processing, and its stored state).

Fiskil facts used (SECONDARY sources, docs/webhooks.md and docs/sources.md §10): the signature header
and scheme, the envelope, retries with the same message_id for up to 5 attempts. Fiskil's advice to
ack fast, dedupe on message_id and verify signatures is primary
(https://docs.fiskil.com/data-api/guides/resources/best-practices).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pytest
from pytest_bdd import given, parsers, then, when

from fakes.control_client import ControlError
from fakes.wiremock.edge import Fault
from harness.webhooks.emitter import DeliveryRecord, Emitter, RetryPolicy
from harness.webhooks.envelope import Envelope, make_envelope
from harness.webhooks.events import event_type
from steps.common import active_subject
from steps.data import consent_inactive, no_live_data, stored_matches_target

T = TypeVar("T")

#: Compressed clock for the kit's emitter: a 60 s retry wait takes 6 ms, a 1 hour replay 0.36 s.
TIME_SCALE = 0.0001
#: The emitter waits twice the longest budget a scenario states, so a slow answer shows its real latency.
DEFAULT_ATTEMPT_TIMEOUT_S = 4.0
#: How long a Then step waits for asynchronous processing before it calls a webhook lost.
PROCESSING_WAIT_S = 10.0
#: After the awaited processing shows up (and for "not processed"), how long to keep watching: an
#: integration that processes asynchronously may do a duplicate, or a rejected delivery, well after.
WATCH_S = 1.0
POLL_INTERVAL_S = 0.05

#: The edge path prefix reserved for deliveries to the subject (routed by a proxy stub to its base URL).
SUBJECT_PREFIX = "/__subject"
SUBJECT_PROXY_PRIORITY = 5   # above the proxy stubs (10), below injected faults (1)

#: Business words in the feature text -> harness.webhooks.tamper kinds.
FLAWS: dict[str, str] = {
    "a forged signature": "forged-signature",
    "no signature header": "missing-signature",
    "a signature made with the wrong secret": "wrong-secret",
    "a body changed after signing": "body-changed",
    "its JSON re-serialised with whitespace": "reserialised",
    "its JSON keys reordered": "reordered",
    "a hex digest instead of base64": "hex-digest",
}

#: The events a burst cycles through: each one tells the integration there is data to fetch.
BURST_EVENTS = (
    "consent.received",
    "banking.accounts.sync.completed",
    "banking.balances.sync.completed",
    "banking.transactions.sync.completed",
)


# --- the kit's sender, per scenario ------------------------------------------------------------------


@dataclass
class WebhookEndpoint:
    """Where and how the kit delivers to the subject in this scenario (the secret is never printed)."""

    url: str
    secret: str = field(repr=False)
    timeout_s: float = DEFAULT_ATTEMPT_TIMEOUT_S
    time_scale: float = TIME_SCALE

    def run(self, operation: Callable[[Emitter], Awaitable[T]]) -> T:
        """Run one emitter operation from a (sync) step on a private event loop; the client is closed after."""

        async def go() -> T:
            async with Emitter(self.url, self.secret, policy=RetryPolicy(), timeout_s=self.timeout_s,
                               time_scale=self.time_scale) as emitter:
                return await operation(emitter)

        return asyncio.run(go())


def webhook_secret_of(subject: Any) -> str:
    """The signing secret the subject was configured with (the plugin keeps it on `harness_config`)."""
    config = getattr(subject, "harness_config", None)
    secret = getattr(config, "webhook_secret", None)
    if not secret:
        pytest.fail("the subject has no harness_config.webhook_secret: the harness plugin builds subjects with one; "
                    "build this subject through the plugin's --subject option")
    return secret


def route_through_edge(edge: Any, webhook_url: str) -> str:
    """Add a proxy stub so `<edge>/__subject/<path>` reaches the subject; return the edge URL to post to.

    Going through WireMock lets the edge's own fault injection (Edge.inject) break the first attempts.
    The stub is dropped by the edge reset before the next scenario.
    """
    parts = urlsplit(webhook_url)
    edge.admin.add_stub({
        "priority": SUBJECT_PROXY_PRIORITY,
        "request": {"method": "ANY", "urlPathPattern": f"{SUBJECT_PREFIX}/.*"},
        "response": {"proxyBaseUrl": f"{parts.scheme}://{parts.netloc}", "proxyUrlPrefixToRemove": SUBJECT_PREFIX},
        "metadata": {"harness_subject_proxy": True},
    })
    return f"{edge.base_url}{SUBJECT_PREFIX}{parts.path or '/'}"


def failure_fault(failure: str, times: int, endpoint: WebhookEndpoint) -> Fault:
    """The edge fault for a failure named in the feature text; a timeout also shortens the emitter's wait."""
    path = f"{SUBJECT_PREFIX}/.*"
    if failure.startswith("HTTP "):
        status = int(failure.split()[1])
        return Fault("http_error", "POST", path, times=times, status=status, body=f"injected HTTP {status}")
    if failure == "a timeout":
        endpoint.timeout_s = 1.0     # per-attempt wait; the answer comes only after twice that
        return Fault("http_error", "POST", path, times=times, status=504, delay_ms=2000)
    if failure == "a connection reset":
        return Fault("connection_reset", "POST", path, times=times)
    raise ValueError(f"unknown delivery failure {failure!r}: use 'HTTP <status>', 'a timeout' or 'a connection reset'")


def envelope_for(ctx: Any, fiskil_api: Any, client_id: str, event: str) -> Envelope:
    """A fresh webhook about the scenario's customer, with the consent and accounts Fiskil holds for them."""
    consents = ctx.get("_consents_for_webhooks")
    if consents is None:
        consents = fiskil_api.consents(ctx.end_user_id)
        ctx._consents_for_webhooks = consents
    chosen = next((c for c in consents if c.get("active")), None)
    if chosen is None:
        ended = ctx.get("ended_consent")
        chosen = next((c for c in consents if str(c.get("arrangement_id")) == ended), consents[0] if consents else None)
    kind = event_type(event)
    options: dict[str, Any] = {"end_user_id": ctx.end_user_id, "client_id": client_id}
    if chosen is not None:
        options["consent_id"] = str(chosen.get("arrangement_id"))
        options["institution_id"] = str(chosen.get("institution_id") or "88888")
        if kind.carries_account_ids:
            options["account_ids"] = [str(a) for a in chosen.get("account_ids") or []]
    return make_envelope(event, **options)


def remember(ctx: Any, envelopes: list[Envelope], records: list[DeliveryRecord]) -> None:
    ctx.__dict__.setdefault("envelopes", []).extend(envelopes)
    ctx.__dict__.setdefault("deliveries", []).extend(records)
    for record in records:
        ctx.note(f"delivery: {record.summary()}")


def eventually(check: Callable[[], T], timeout_s: float, interval_s: float = POLL_INTERVAL_S) -> T:
    """Call `check` until it stops raising AssertionError or `timeout_s` passes (then re-raise the last)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() >= deadline:
                raise
        time.sleep(interval_s)


def processing_counts(subject: Any, message_ids: list[str]) -> Counter[str]:
    wanted = set(message_ids)
    return Counter(m for m in subject.processed_webhooks() if m in wanted)


def watch(subject: Any, message_ids: list[str], seconds: float = WATCH_S, *, stop_above: int) -> Counter[str]:
    """The highest processing count of each message seen while polling for `seconds`.

    Returns at once when a count goes above `stop_above`: that is already the failure.
    """
    highest: Counter[str] = Counter()
    deadline = time.monotonic() + seconds
    while True:
        for message_id, count in processing_counts(subject, message_ids).items():
            highest[message_id] = max(highest[message_id], count)
        if any(n > stop_above for n in highest.values()) or time.monotonic() >= deadline:
            return highest
        time.sleep(POLL_INTERVAL_S)


def assert_processed_once(subject: Any, message_ids: list[str], timeout_s: float = PROCESSING_WAIT_S) -> None:
    """Each message processed exactly once: wait (bounded) until all show up, then watch WATCH_S more."""
    unique = list(dict.fromkeys(message_ids))

    def all_seen() -> None:
        counts = processing_counts(subject, unique)
        missing = [m for m in unique if counts[m] == 0]
        assert not missing, (f"expected the integration to process every webhook, observed {len(missing)} of "
                             f"{len(unique)} not processed after {timeout_s:g} s (first: {missing[:3]})")

    eventually(all_seen, timeout_s)
    counts = watch(subject, unique, stop_above=1)
    doubled = {m: n for m, n in counts.items() if n > 1}
    assert not doubled, (f"expected each webhook processed exactly once, observed {len(doubled)} processed more "
                         f"than once: {dict(list(doubled.items())[:3])}")


# --- the fake's own webhooks (dispatcher) -------------------------------------------------------------


@dataclass
class FiskilDeliveryLog:
    """Fiskil's own deliveries to the integration, read like the Console's Webhook Logs.

    `read` returns the JSON of GET /__harness/webhook-deliveries: straight from the in-process
    dispatcher, or over the control API of an attached fake (`--fake-url`, `fiskil-harness check`),
    so the same steps grade both.
    """

    read: Callable[[], dict[str, Any]]

    def deliveries(self, message_ids: list[str] | None = None) -> dict[str, dict[str, Any]]:
        """message_id -> delivery, optionally only those messages (a shared fake logs other scenarios too)."""
        wanted = None if message_ids is None else set(message_ids)
        return {d["message_id"]: d for d in self.read()["deliveries"]
                if wanted is None or d["message_id"] in wanted}

    def errors(self) -> list[str]:
        return list(self.read().get("errors", []))

    def wait_idle(self, timeout_s: float) -> bool:
        """Poll (bounded) until no delivery is in flight."""
        deadline = time.monotonic() + timeout_s
        while self.read()["pending"] > 0:
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL_INTERVAL_S)
        return True


def attempt_ok(attempt: dict[str, Any]) -> bool:
    status = attempt.get("status")
    return status is not None and 200 <= status < 300


def describe_logged(delivery: dict[str, Any]) -> str:
    """One logged delivery in a line: event, message_id, each attempt's status (or error) and latency."""
    attempts = " ".join(f"#{a['attempt']}:{a['status'] if a['status'] is not None else a['error']}"
                        f" {a['latency_ms'] / 1000:.3f}s" for a in delivery["attempts"])
    return f"{delivery['event']} {delivery['message_id']} -> {attempts or 'no attempts'}"


@pytest.fixture
def fake_webhooks(fake_stack: Any, target: Any) -> Iterator[FiskilDeliveryLog]:
    """The fake's own delivery log: the in-process dispatcher, or an attached fake's control API.

    Drained after the scenario so no late delivery reaches the next one's (reset) subject.
    """
    dispatcher = getattr(fake_stack, "webhooks", None)
    if dispatcher is not None:
        dispatcher.clear()
        log = FiskilDeliveryLog(dispatcher.log)
    elif target.control is not None:
        log = FiskilDeliveryLog(target.control.webhook_deliveries)
        try:
            log.read()
        except ControlError as error:
            pytest.skip(f"the attached fake shows no webhook delivery log ({error}); "
                        "run a fiskil-harness fake that serves GET /__harness/webhook-deliveries")
    else:
        pytest.skip("Fiskil's own webhooks need the fake (its control API), not the sandbox")
    try:
        yield log
    finally:
        log.wait_idle(5.0)
        if dispatcher is not None:
            dispatcher.clear()


# --- Given -------------------------------------------------------------------------------------------


@given("the integration's webhook endpoint is registered with Fiskil")
def endpoint_registered(ctx, subject, target) -> None:
    """The kit's emitter plays Fiskil's sender; the fake's event-driven deliveries stay off, so only the
    scenario's own deliveries reach the endpoint."""
    subj = active_subject(ctx, subject)
    if not subj.webhook_url:
        pytest.skip("the subject exposes no webhook endpoint (webhook_url is None)")
    secret = webhook_secret_of(subj)
    if target.control is not None:
        target.control.clear_webhook()
    ctx.webhook = WebhookEndpoint(subj.webhook_url, secret)


@given("the deliveries to the integration pass through the network edge")
def through_edge(ctx, edge) -> None:
    ctx.webhook.url = route_through_edge(edge, ctx.webhook.url)
    ctx.note(f"webhook deliveries routed through the edge: {ctx.webhook.url}")


@given(parsers.re(r"the first (?P<times>\d+) deliveries to the integration fail with (?P<failure>.+)$"))
def first_deliveries_fail(ctx, edge, times: str, failure: str) -> None:
    fault = failure_fault(failure, int(times), ctx.webhook)
    edge.inject(fault)
    ctx.note(f"injected delivery fault: {fault.kind} status={fault.status} delay_ms={fault.delay_ms} times={fault.times}")


@given("Fiskil sends its webhooks to the integration")
def fiskil_sends_webhooks(ctx, subject, control, fake_webhooks) -> None:
    subj = active_subject(ctx, subject)
    if not subj.webhook_url:
        pytest.skip("the subject exposes no webhook endpoint (webhook_url is None)")
    secret = webhook_secret_of(subj)
    control.set_webhook(subj.webhook_url, secret)
    ctx.dispatcher = fake_webhooks


# --- When: the kit delivers ------------------------------------------------------------------------------


EVENT = r'"(?P<event>[a-z]+(?:\.[a-z]+)+)"'


@when(parsers.re(rf"Fiskil delivers a signed {EVENT} webhook for the customer$"))
def deliver_signed(ctx, target, fiskil_api, event: str) -> None:
    envelope = envelope_for(ctx, fiskil_api, target.client_id, event)
    record = ctx.webhook.run(lambda emitter: emitter.send_once(envelope))
    remember(ctx, [envelope], [record])


@when(parsers.re(rf"Fiskil delivers a signed {EVENT} webhook for the customer, retrying until acknowledged$"))
def deliver_with_retries(ctx, target, fiskil_api, event: str) -> None:
    envelope = envelope_for(ctx, fiskil_api, target.client_id, event)
    record = ctx.webhook.run(lambda emitter: emitter.deliver(envelope))
    remember(ctx, [envelope], [record])


@when(parsers.re(rf"an? {EVENT} webhook for the customer arrives with (?P<flaw>.+)$"))
def deliver_tampered(ctx, target, fiskil_api, event: str, flaw: str) -> None:
    assert flaw in FLAWS, f"unknown webhook flaw {flaw!r}: use one of {sorted(FLAWS)}"
    envelope = envelope_for(ctx, fiskil_api, target.client_id, event)
    record = ctx.webhook.run(lambda emitter: emitter.send_once(envelope, tamper=FLAWS[flaw]))
    remember(ctx, [envelope], [record])


@when("Fiskil delivers the same webhook again as its next delivery attempt")
def deliver_again(ctx) -> None:
    envelope, previous = ctx.envelopes[-1], ctx.deliveries[-1]
    next_attempt = previous.attempts[-1].attempt + 1
    record = ctx.webhook.run(lambda emitter: emitter.send_once(envelope, attempt=next_attempt))
    remember(ctx, [], [record])


@when(parsers.re(r"the very same delivery is replayed (?P<hours>\d+) hours? later"))
def replay_later(ctx, hours: str) -> None:
    envelope, previous = ctx.envelopes[-1], ctx.deliveries[-1]
    same_attempt = previous.attempts[-1].attempt   # same attempt number: byte-for-byte the same request
    record = ctx.webhook.run(lambda emitter: emitter.replay(envelope, after_s=int(hours) * 3600.0, attempt=same_attempt))
    remember(ctx, [], [record])


@when(parsers.re(rf'Fiskil delivers {EVENT.replace("event", "first")} and then {EVENT.replace("event", "second")} for the customer'))
def deliver_in_order(ctx, target, fiskil_api, first: str, second: str) -> None:
    envelopes = [envelope_for(ctx, fiskil_api, target.client_id, name) for name in (first, second)]
    records = ctx.webhook.run(lambda emitter: emitter.out_of_order(envelopes, order=[0, 1]))
    remember(ctx, envelopes, records)


@when(parsers.re(r"Fiskil delivers a burst of (?P<count>\d+) signed webhooks for the customer"))
def deliver_burst(ctx, target, fiskil_api, count: str) -> None:
    envelopes = [envelope_for(ctx, fiskil_api, target.client_id, BURST_EVENTS[n % len(BURST_EVENTS)])
                 for n in range(int(count))]
    records = ctx.webhook.run(lambda emitter: emitter.burst(envelopes))
    remember(ctx, envelopes, records)
    # Each event makes the reference sync once, one after another: allow for that, still bounded.
    ctx.processing_wait_s = PROCESSING_WAIT_S + 0.1 * len(envelopes)


# --- Then: what the endpoint answered ---------------------------------------------------------------------


def _attempts(record: DeliveryRecord) -> str:
    """'attempt 1 → 503, attempt 2 → timeout, attempt 3 → 200' (what each delivery attempt got back)."""
    return ", ".join(f"attempt {a.attempt} → {a.status if a.status is not None else a.error_kind}"
                     for a in record.attempts) or "no attempt"


def _describe(record: DeliveryRecord) -> str:
    return record.summary() + " latencies " + ", ".join(f"{s:.3f}s" for s in record.latencies)


@then(parsers.re(r"the integration acknowledges every delivery with a 2xx status within (?P<seconds>[\d.]+) seconds?"))
def every_delivery_acknowledged(ctx, seconds: str) -> None:
    budget = float(seconds)
    records: list[DeliveryRecord] = ctx.deliveries
    assert records, "expected deliveries to check, observed none (an earlier When step must deliver)"
    bad = [r for r in records if not r.attempts or not all(a.ok and a.latency_s <= budget for a in r.attempts)]
    assert not bad, (f"expected every delivery acknowledged with 2xx within {budget:g} s, observed {len(bad)} of "
                     f"{len(records)} not: " + "; ".join(_describe(r) for r in bad[:5]))


@then(parsers.re(r"the integration acknowledges the last attempt with a 2xx status within (?P<seconds>[\d.]+) seconds?"))
def last_attempt_acknowledged(ctx, seconds: str) -> None:
    record: DeliveryRecord = ctx.deliveries[-1]
    last = record.attempts[-1]
    assert last.ok and last.latency_s <= float(seconds), (
        f"expected the last attempt acknowledged with 2xx within {seconds} s, observed {_describe(record)}")


@then("the integration rejects the delivery with a non-2xx status")
def delivery_rejected(ctx) -> None:
    record: DeliveryRecord = ctx.deliveries[-1]
    attempt = record.attempts[-1]
    assert attempt.status is not None, (
        f"expected an HTTP answer refusing the delivery, observed no answer ({attempt.error_kind}: {attempt.error})")
    assert not attempt.ok, (f"expected the {record.tamper} delivery to be refused with a non-2xx status, "
                            f"observed {attempt.status}: the integration accepted it")


@then(parsers.re(r"Fiskil made (?P<count>\d+) delivery attempts of the same message, numbered 1 to (?P<last>\d+)"))
def attempts_made(ctx, edge, count: str, last: str) -> None:
    record: DeliveryRecord = ctx.deliveries[-1]
    numbers = [a.attempt for a in record.attempts]
    assert numbers == list(range(1, int(last) + 1)) and len(numbers) == int(count), (
        f"expected {count} delivery attempts of one message (attempt 1 to attempt {last}, the last one acknowledged), "
        f"observed {len(numbers)}: {_attempts(record)}")
    assert record.attempts[-1].ok and not any(a.ok for a in record.attempts[:-1]), (
        f"expected the first attempts to fail and the last to be acknowledged, observed {_describe(record)}")
    # What reached the subject through the edge: only the acknowledged attempt, with the same message_id.
    forwarded = [json.loads(e.body) for e in edge.requests("POST", f"{SUBJECT_PREFIX}/.*") if 200 <= e.status < 300]
    seen = [(b.get("message_id"), b.get("delivery_attempt")) for b in forwarded]
    assert seen == [(record.message_id, int(last))], (
        f"expected the subject to receive message {record.message_id} as attempt {last} only, observed {seen}")


# --- Then: what the integration did ---------------------------------------------------------------------


@then("the integration processes each webhook exactly once")
def processed_once(ctx, subject) -> None:
    assert_processed_once(active_subject(ctx, subject), [e.message_id for e in ctx.envelopes],
                          ctx.get("processing_wait_s", PROCESSING_WAIT_S))


@then("the integration does not process the webhook")
def not_processed(ctx, subject) -> None:
    subj = active_subject(ctx, subject)
    message_id = ctx.envelopes[-1].message_id
    counts = watch(subj, [message_id], stop_above=0)
    assert counts[message_id] == 0, (
        f"expected the rejected webhook not to be processed, observed it processed {counts[message_id]} time(s)")


# --- Then: the fake's own webhooks ------------------------------------------------------------------------


def _customer_events(control: Any, end_user_id: str, event: str | None = None) -> list[dict]:
    return [e for e in control.events()
            if e.get("end_user_id") == end_user_id and (event is None or e.get("event") == event)]


@then(parsers.re(rf"the integration receives {EVENT} from Fiskil"))
def receives_from_fiskil(ctx, subject, control, event: str) -> None:
    emitted = _customer_events(control, ctx.end_user_id, event)
    published = [e["event"] for e in _customer_events(control, ctx.end_user_id)]
    assert emitted, f"expected Fiskil to publish {event} for the customer, observed only {published}"
    message_ids = [e["message_id"] for e in emitted]
    deliveries: FiskilDeliveryLog = ctx.dispatcher

    def delivered() -> None:
        logged = deliveries.deliveries(message_ids)
        assert len(logged) == len(message_ids) and all(d["delivered"] for d in logged.values()), (
            f"expected {event} delivered to the integration with a 2xx, observed "
            f"{[describe_logged(d) for d in logged.values()] or 'no delivery yet'}; "
            f"dispatcher errors {deliveries.errors()}")

    eventually(delivered, PROCESSING_WAIT_S)
    assert_processed_once(active_subject(ctx, subject), message_ids)


@then(parsers.re(r"every webhook Fiskil sent was acknowledged at the first attempt within (?P<seconds>[\d.]+) seconds?"))
def fiskil_deliveries_acknowledged(ctx, control, seconds: str) -> None:
    deliveries: FiskilDeliveryLog = ctx.dispatcher
    assert deliveries.wait_idle(PROCESSING_WAIT_S), (
        f"expected Fiskil's deliveries to finish within {PROCESSING_WAIT_S:g} s")
    emitted = _customer_events(control, ctx.end_user_id)
    logged = deliveries.deliveries([e["message_id"] for e in emitted])
    lost = [e["event"] for e in emitted if e["message_id"] not in logged]
    assert not lost, f"expected every event Fiskil published to be delivered, observed {lost} never sent"
    budget_ms = float(seconds) * 1000
    bad = [d for d in logged.values()
           if len(d["attempts"]) != 1 or not attempt_ok(d["attempts"][0]) or d["attempts"][0]["latency_ms"] > budget_ms]
    assert not bad, (f"expected each delivery acknowledged at the first attempt within {seconds} s, observed: "
                     + "; ".join(describe_logged(d) for d in bad[:5]))


#: Assertions from other step modules that may need time when webhooks drive the integration.
EVENTUAL_CHECKS: dict[str, Callable[..., None]] = {
    "the integration stores the same accounts and transactions as Fiskil holds":
        lambda ctx, subject, fiskil_api: stored_matches_target(ctx, subject, fiskil_api),
    "the integration stores the consent as inactive": lambda ctx, subject, fiskil_api: consent_inactive(ctx, subject),
    "the integration keeps no live accounts or transactions for the customer":
        lambda ctx, subject, fiskil_api: no_live_data(ctx, subject),
}


@given(parsers.re(r"within (?P<seconds>\d+) seconds (?P<check>the integration .+)$"))
@then(parsers.re(r"within (?P<seconds>\d+) seconds (?P<check>the integration .+)$"))
def within_seconds(ctx, subject, fiskil_api, seconds: str, check: str) -> None:
    assert check in EVENTUAL_CHECKS, f"no eventual check {check!r}; known: {sorted(EVENTUAL_CHECKS)}"
    eventually(lambda: EVENTUAL_CHECKS[check](ctx, subject, fiskil_api), float(seconds), interval_s=0.1)
