"""Capture the traffic of the @sandbox_safe contract features, the way `record` and `export-mappings`
both need it.

A *recording edge* (a WireMock JVM of our own, proxying everything to the API being recorded) sits
between the pytest run and that API: the run is started with `--target sandbox --sandbox-url
<recording edge>`, so the plugin's usual edge proxies to ours and ours proxies on. Afterwards our
edge's request journal (request + full response, in order) becomes the exchanges. This is more
reliable than WireMock's snapshot API, which de-duplicates identical requests and loses the order.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from harness.contract.recording import exchanges_from_serve_events, proxy_failures

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONTRACT_FEATURES = PROJECT_ROOT / "features" / "test_contract.py"
PYTEST_TIMEOUT_SECONDS = 600


@dataclass
class Capture:
    exchanges: list[dict[str, Any]]
    pytest_exit_code: int
    pytest_output: str
    recorder_url: str
    proxy_failures: list[str] = field(default_factory=list)  # requests the recorder could not pass on


def run_contract_features(api_url: str, env: dict[str, str], *, extra_args: list[str] | None = None) -> tuple[int, str]:
    """Run the @sandbox_safe contract features against `api_url` in a child pytest."""
    command = [
        sys.executable, "-m", "pytest", str(CONTRACT_FEATURES), "-m", "sandbox_safe", "-p", "no:xdist", "-q",
        "--target", "sandbox", "--sandbox-url", api_url, *(extra_args or []),
    ]
    child_env = {**os.environ, **env}
    proc = subprocess.run(command, cwd=PROJECT_ROOT, env=child_env, capture_output=True, text=True,
                          timeout=PYTEST_TIMEOUT_SECONDS, stdin=subprocess.DEVNULL)
    return proc.returncode, proc.stdout + proc.stderr


def capture_contract_traffic(api_url: str, env: dict[str, str], *, extra_args: list[str] | None = None,
                             on_recorder_ready: Callable[[str], None] | None = None) -> Capture:
    """Start a recording edge in front of `api_url`, run the features through it, read its journal.

    `on_recorder_ready(url)` runs before the features: a local fake uses it to hand out links
    (links.next, auth_url) on the recorder's address, so follow-up requests are recorded too. The
    real API's links point at itself and bypass the recorder (docs/contract.md, known gaps).
    """
    from fakes.wiremock.edge import Edge
    from fakes.wiremock.process import WireMockProcess

    with WireMockProcess(extra_args=["--max-request-journal-entries", "20000"]) as wiremock, httpx.Client(timeout=30) as client:
        recorder = Edge(wiremock.base_url, client)
        recorder.proxy_to(api_url)
        if on_recorder_ready is not None:
            on_recorder_ready(wiremock.base_url)
        code, output = run_contract_features(wiremock.base_url, env, extra_args=extra_args)
        events = recorder.admin.serve_events()
        recorder_url = wiremock.base_url
    return Capture(exchanges_from_serve_events(events), code, output, recorder_url, proxy_failures(events))
