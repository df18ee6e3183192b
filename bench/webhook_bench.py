"""Webhook emitter throughput: signed deliveries per second to a fast local receiver, against a raw
httpx POST loop in the same run (so the ratio shows what signing + envelope + records cost).

    .venv/bin/python bench/webhook_bench.py [--n 2000] [--concurrency 20] [--out reports/bench/webhooks.json]

Goals: >= 1,000 signed deliveries/s and >= 0.5 of the raw loop's rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from harness.webhooks.emitter import Emitter, RetryPolicy
from harness.webhooks.envelope import make_envelope

SECRET = "YmVuY2gtb25seS1zZWNyZXQ="   # base64 of a bench-only key, not a real secret
GOAL_PER_S = 1000.0
GOAL_RATIO = 0.5


async def fast_receiver(scope, receive, send):  # type: ignore[no-untyped-def]
    """Reads the body and answers 204: the cheapest possible endpoint."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


@contextmanager
def receiver_process() -> Iterator[str]:
    """The fast receiver under uvicorn in its own process (sharing our GIL would halve both sides); always reaped."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "uvicorn", "bench.webhook_bench:fast_receiver", "--host", "127.0.0.1",
               "--port", str(port), "--log-level", "error", "--no-access-log", "--lifespan", "off"]
    process = subprocess.Popen(command, cwd=Path(__file__).resolve().parent.parent,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}/webhook"
        deadline = time.monotonic() + 10
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"receiver exited: {process.stderr.read().decode(errors='replace')[-500:]}")
            try:
                httpx.post(url, content=b"{}", timeout=0.5)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError("receiver did not start within 10 s") from None
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


async def raw_loop(url: str, n: int, concurrency: int) -> float:
    body = make_envelope("consent.received").body()
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits) as client:
        async def one() -> None:
            async with gate:
                response = await client.post(url, content=body, headers={"Content-Type": "application/json"})
                response.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(n)))
        return n / (time.perf_counter() - started)


async def signed_loop(url: str, n: int, concurrency: int) -> tuple[float, int]:
    envelopes = [make_envelope("banking.transactions.sync.completed") for _ in range(n)]
    async with Emitter(url, SECRET, policy=RetryPolicy(max_attempts=1), concurrency=concurrency) as emitter:
        started = time.perf_counter()
        records = await emitter.burst(envelopes, concurrency=concurrency)
        rate = n / (time.perf_counter() - started)
    return rate, sum(r.delivered for r in records)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--out", default="reports/bench/webhooks.json")
    args = parser.parse_args()

    with receiver_process() as url:
        asyncio.run(raw_loop(url, 100, args.concurrency))            # warm up both paths
        asyncio.run(signed_loop(url, 100, args.concurrency))
        raw = asyncio.run(raw_loop(url, args.n, args.concurrency))
        signed, delivered = asyncio.run(signed_loop(url, args.n, args.concurrency))

    ratio = signed / raw if raw else 0.0
    result = {
        "n": args.n, "concurrency": args.concurrency,
        "signed_per_s": round(signed, 1), "raw_per_s": round(raw, 1), "ratio": round(ratio, 3),
        "delivered": delivered,
        "goals": {"signed_per_s": GOAL_PER_S, "ratio": GOAL_RATIO},
        "met": {"signed_per_s": signed >= GOAL_PER_S, "ratio": ratio >= GOAL_RATIO, "all_delivered": delivered == args.n},
        "python": platform.python_version(), "machine": platform.machine(),
        "note": "the receiver runs in its own process but shares the machine's cores with the emitter; figures are a floor",
    }
    print(f"signed deliveries: {signed:,.0f}/s (goal >= {GOAL_PER_S:,.0f}/s) {'met' if result['met']['signed_per_s'] else 'MISSED'}")
    print(f"raw httpx POSTs:   {raw:,.0f}/s")
    print(f"ratio:             {ratio:.2f} (goal >= {GOAL_RATIO}) {'met' if result['met']['ratio'] else 'MISSED'}")
    print(f"delivered:         {delivered}/{args.n}")
    if raw < GOAL_PER_S:
        print(f"note: the raw httpx loop itself reaches {raw:,.0f}/s here, below the {GOAL_PER_S:,.0f}/s goal: "
              "the ceiling is one async httpx client on this machine, not signing or the envelope (see the ratio)")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written {out}")
    return 0 if all(result["met"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
