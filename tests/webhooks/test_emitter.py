"""The emitter: retries on a compressed clock against endpoints that really fail (5xx, timeout, TCP reset)."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from harness.webhooks.emitter import Emitter, RetryPolicy, deliver_sync, send_once_sync
from harness.webhooks.envelope import make_envelope
from harness.webhooks.receivers import FlakyReceiver, good_receiver, serve
from harness.webhooks.signing import SIGNATURE_HEADER, verify

SECRET = "c2VjcmV0LWtleS1mb3ItdGVzdHM="
FAST = 0.0002   # 900 Fiskil seconds of backoff -> 0.18 s


@pytest.mark.parametrize("mode,kind", [("500", "status"), ("timeout", "timeout"), ("reset", "reset")])
def test_retries_until_success_with_same_message_id(mode, kind):
    envelope = make_envelope("consent.received")
    with FlakyReceiver(fail_first=2, mode=mode, hang_s=0.5) as flaky:
        record = deliver_sync(flaky.url, SECRET, envelope, time_scale=FAST, timeout_s=0.15)
        bodies = list(flaky.requests)
    assert record.delivered and [a.attempt for a in record.attempts] == [1, 2, 3]
    assert [a.error_kind for a in record.attempts] == [kind, kind, None]
    sent = [json.loads(b) for b in bodies]
    assert {s["message_id"] for s in sent} == {envelope.message_id}
    assert [s["delivery_attempt"] for s in sent] == [1, 2, 3]


def test_gives_up_after_max_attempts_and_records_each():
    with FlakyReceiver(fail_first=99, mode="500") as flaky:
        record = deliver_sync(flaky.url, SECRET, make_envelope("consent.revoked"), time_scale=FAST)
    assert not record.delivered
    assert [a.status for a in record.attempts] == [503] * 5
    assert all("try later" in a.body_excerpt for a in record.attempts)


def test_backoff_follows_the_policy_on_the_compressed_clock():
    policy = RetryPolicy(max_attempts=4, first_delay_s=100, max_delay_s=400, multiplier=2)
    assert policy.schedule() == [100, 200, 400]
    with FlakyReceiver(fail_first=3, mode="500") as flaky:
        started = time.perf_counter()
        record = deliver_sync(flaky.url, SECRET, make_envelope("consent.received"), policy=policy, time_scale=0.0005)
        elapsed = time.perf_counter() - started
    assert record.delivered and len(record.attempts) == 4
    assert elapsed >= 700 * 0.0005      # 0.35 s of scaled waits


def test_default_policy_is_five_attempts_within_one_to_ten_minutes():
    policy = RetryPolicy()
    assert policy.max_attempts == 5
    assert all(60 <= d <= 600 for d in policy.schedule())


def test_bad_policy_and_url_and_secret_are_refused():
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="must start with http"):
        Emitter("ftp://x", SECRET)
    with pytest.raises(ValueError, match="base64"):
        Emitter("http://127.0.0.1:1/", "not base64!!")


def test_connection_refused_is_a_connect_error():
    record = deliver_sync("http://127.0.0.1:9/x", SECRET, make_envelope("consent.received"),
                          policy=RetryPolicy(max_attempts=2), time_scale=FAST)
    assert [a.error_kind for a in record.attempts] == ["connect", "connect"]


def test_signed_body_verifies_at_a_real_receiver_and_modes_work():
    app, state = good_receiver(SECRET)
    seen: list[tuple[bytes, str]] = []

    async def spy(scope, receive, send):   # records raw bytes + header, then hands to the good receiver
        if scope["type"] == "http" and scope["method"] == "POST":
            chunks = []
            message = await receive()
            chunks.append(message.get("body", b""))
            body = b"".join(chunks)
            header = dict(scope["headers"]).get(SIGNATURE_HEADER.lower().encode(), b"").decode()
            seen.append((body, header))

            async def replay_receive():
                return {"type": "http.request", "body": body, "more_body": False}

            return await app(scope, replay_receive, send)
        return await app(scope, receive, send)

    with serve(spy) as served:
        async def scenario():
            async with Emitter(served.webhook_url, SECRET, time_scale=FAST, concurrency=4) as emitter:
                burst = await emitter.burst([make_envelope("consent.received") for _ in range(12)], concurrency=4)
                received, revoked = make_envelope("consent.received"), make_envelope("consent.revoked")
                ordered = await emitter.out_of_order([received, revoked])
                duplicate = await emitter.duplicate(make_envelope("consent.updated"))
                replay = await emitter.replay(received, after_s=600)
                return emitter, burst, ordered, duplicate, replay, received

        emitter, burst, ordered, duplicate, replay, received = asyncio.run(scenario())

    assert all(r.delivered for r in burst) and len({r.message_id for r in burst}) == 12
    assert [r.event for r in ordered] == ["consent.revoked", "consent.received"]
    assert duplicate[0].message_id == duplicate[1].message_id and duplicate[1].attempts[0].attempt == 2
    assert replay.message_id == received.message_id
    assert all(verify(body, header, SECRET) for body, header in seen)
    # the replay is byte-for-byte the original delivery
    originals = [body for body, _ in seen if json.loads(body)["message_id"] == received.message_id]
    assert len(originals) == 2 and originals[0] == originals[1]
    assert len(emitter.records) == 12 + 2 + 2 + 1
    # good receiver: processed each message once, deduped the duplicate and the replay
    assert sorted(state.processed_ids()) == sorted({r.message_id for r in emitter.records})


def test_burst_respects_the_concurrency_cap():
    in_flight, peak = 0, 0

    async def counting(scope, receive, send):
        nonlocal in_flight, peak
        if scope["type"] != "http":
            return
        await receive()
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.02)
        in_flight -= 1
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    with serve(counting) as served:
        async def go():
            async with Emitter(served.webhook_url, SECRET) as emitter:
                return await emitter.burst([make_envelope("consent.received") for _ in range(15)], concurrency=3)

        records = asyncio.run(go())
    assert all(r.delivered for r in records) and 1 <= peak <= 3


def test_send_once_does_not_retry_and_records_tamper():
    with FlakyReceiver(fail_first=5, mode="500") as flaky:
        record = send_once_sync(flaky.url, SECRET, make_envelope("consent.received"), tamper="forged-signature")
        assert len(flaky.requests) == 1
    assert record.tamper == "forged-signature" and len(record.attempts) == 1


def test_repr_hides_the_secret():
    emitter = Emitter("http://127.0.0.1:1/", SECRET)
    try:
        assert SECRET not in repr(emitter)
    finally:
        asyncio.run(emitter.aclose())
