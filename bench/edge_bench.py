"""Benchmark the WireMock edge: start-up, proxied latency and throughput, against the core directly
and against a static WireMock stub. Prints figures next to their goals; writes reports/bench/edge.json.

    .venv/bin/python bench/edge_bench.py [--requests 500] [--warmup 100]

Figures come from one client on one thread (the way a subject talks to the fake), so req/s is
1 / mean latency, not the server's saturation throughput.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from fakes.stack import FakeStack  # noqa: E402
from fakes.wiremock.process import WireMockProcess  # noqa: E402

GOAL_STARTUP_S = 2.0
GOAL_PROXIED_P50_MS = 5.0
GOAL_RATIO = 3.0
PROBE_PATH = "/__harness/info"  # the same cheap core route, reached directly and through the edge
STATIC_PATH = "/__bench/static"


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def measure(call: Callable[[], httpx.Response], requests: int, warmup: int) -> dict[str, float]:
    for _ in range(warmup):
        call().raise_for_status()
    latencies_ms: list[float] = []
    started = time.perf_counter()
    for _ in range(requests):
        t0 = time.perf_counter()
        call().raise_for_status()
        latencies_ms.append((time.perf_counter() - t0) * 1000)
    elapsed = time.perf_counter() - started
    return {
        "p50_ms": round(statistics.median(latencies_ms), 3),
        "p99_ms": round(percentile(latencies_ms, 99), 3),
        "mean_ms": round(statistics.fmean(latencies_ms), 3),
        "req_per_s": round(requests / elapsed, 1),
        "requests": requests,
    }


def verdict(ok: bool) -> str:
    return "pass" if ok else "MISS"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "reports" / "bench" / "edge.json")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    with WireMockProcess():
        edge_startup_s = time.perf_counter() - t0  # a bare JVM to healthy, nothing else

    with httpx.Client(timeout=10) as client:
        t0 = time.perf_counter()
        with FakeStack(client=client) as stack:
            stack_startup_s = time.perf_counter() - t0
            assert stack.core_url is not None
            stack.edge.admin.add_stub(
                {"priority": 1, "request": {"method": "GET", "url": STATIC_PATH},
                 "response": {"status": 200, "jsonBody": {"static": True}, "headers": {"Content-Type": "application/json"}}}
            )
            proxied = measure(lambda: client.get(f"{stack.base_url}{PROBE_PATH}"), args.requests, args.warmup)
            direct = measure(lambda: client.get(f"{stack.core_url}{PROBE_PATH}"), args.requests, args.warmup)
            static = measure(lambda: client.get(f"{stack.base_url}{STATIC_PATH}"), args.requests, args.warmup)

    ratio = proxied["p50_ms"] / static["p50_ms"] if static["p50_ms"] else float("inf")
    goals = {
        "edge_startup": {"value_s": round(edge_startup_s, 3), "goal_s": GOAL_STARTUP_S, "ok": edge_startup_s <= GOAL_STARTUP_S},
        "proxied_p50": {"value_ms": proxied["p50_ms"], "goal_ms": GOAL_PROXIED_P50_MS, "ok": proxied["p50_ms"] <= GOAL_PROXIED_P50_MS},
        "proxied_static_ratio": {"value": round(ratio, 2), "goal": GOAL_RATIO, "ok": ratio <= GOAL_RATIO},
    }
    result = {
        "edge_startup_s": round(edge_startup_s, 3),
        "stack_startup_s": round(stack_startup_s, 3),
        "proxied": proxied,
        "core_direct": direct,
        "static_stub": static,
        "goals": goals,
    }

    print(f"edge start-up (JVM to healthy): {edge_startup_s:7.3f} s   goal <= {GOAL_STARTUP_S} s  {verdict(goals['edge_startup']['ok'])}")
    print(f"stack start-up (core + edge):   {stack_startup_s:7.3f} s")
    for name, figures in (("proxied via edge", proxied), ("core directly", direct), ("static WireMock stub", static)):
        print(f"{name:22} p50 {figures['p50_ms']:7.3f} ms  p99 {figures['p99_ms']:7.3f} ms  {figures['req_per_s']:8.1f} req/s")
    print(f"proxied p50 goal <= {GOAL_PROXIED_P50_MS} ms: {verdict(goals['proxied_p50']['ok'])}")
    print(f"proxied/static p50 ratio {ratio:.2f}, goal <= {GOAL_RATIO}: {verdict(goals['proxied_static_ratio']['ok'])}")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out.relative_to(PROJECT_ROOT) if args.out.is_relative_to(PROJECT_ROOT) else args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
