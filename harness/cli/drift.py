"""`fiskil-harness drift`: replay recorded exchanges against the fake and report how Fiskil's answers
differ from the fake's (docs/contract.md). Exit 1 on breaking drift, 0 on none or additive only."""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import httpx

from harness.cli import UsageError, check_seed
from harness.cli.outputs import check_output_file
from harness.contract.drift import format_table
from harness.contract.drift_run import run_drift, write_report
from harness.contract.recording import RecordingError, read_recordings
from harness.contract.replay import Replayer, ReplayCredentialsError
from harness.target import CLIENT_ID_ENV, CLIENT_SECRET_ENV, OptionsError, check_http_url

DEFAULT_REPORT = Path("reports") / "drift.json"


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "drift",
        help="compare recorded sandbox answers with the fake's (status, headers, shapes, error names)",
        description="Replay the recorded requests in DIR, in order, against a fresh fake (or --fake-url, "
        "which is reset first) and report drift. Exit 1 on breaking drift, 0 otherwise.",
    )
    parser.add_argument("dir", type=Path, help="a directory written by `fiskil-harness record`")
    parser.add_argument("--fake-url", default=None, help="a running fake (reset before the replay) instead of a fresh one")
    parser.add_argument("--json", type=Path, default=DEFAULT_REPORT, help=f"where to write the JSON report (default {DEFAULT_REPORT})")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fresh fake (default 0)")
    return parser


@contextlib.contextmanager
def _fake(fake_url: str | None, seed: int, http: httpx.Client) -> Iterator[tuple[str, str, str]]:
    """(base URL, client id, client secret) of a fake with fresh state."""
    from fakes.core.app import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

    client_id = os.environ.get(CLIENT_ID_ENV) or DEFAULT_CLIENT_ID
    client_secret = os.environ.get(CLIENT_SECRET_ENV) or DEFAULT_CLIENT_SECRET
    if fake_url:
        try:
            http.post(f"{fake_url}/__harness/reset", json={"seed": seed}).raise_for_status()
        except httpx.HTTPError as exc:
            raise UsageError(f"no fiskil-harness fake answers at {fake_url}/__harness/reset ({type(exc).__name__})") from None
        yield fake_url, client_id, client_secret
        return
    from fakes.core.app import CoreConfig
    from fakes.core.server import CoreServer
    from harness.contract import build_checked_core

    # the fake the recording is compared with must itself keep the contract
    core = build_checked_core(CoreConfig(client_id=client_id, client_secret=client_secret, seed=seed))
    with CoreServer(core) as server:
        yield server.url, client_id, client_secret


def _check_credentials(replayer: Replayer) -> None:
    """The replay needs a token from the fake: refused credentials are a usage error, named up front."""
    try:
        replayer.fake_token()
    except ReplayCredentialsError as exc:
        raise UsageError(str(exc)) from None
    except httpx.HTTPError as exc:
        raise UsageError(f"the fake at {replayer.base_url} did not answer POST /v1/token ({type(exc).__name__})") from None


def run(args: argparse.Namespace) -> int:
    try:
        exchanges = read_recordings(args.dir)
        fake_url = check_http_url("--fake-url", args.fake_url) if args.fake_url else None
    except (RecordingError, OptionsError) as exc:
        raise UsageError(str(exc)) from None
    check_output_file("--json", args.json)  # before the replay: the report must have somewhere to go
    check_seed(args.seed)
    with httpx.Client(timeout=15) as http, _fake(fake_url, args.seed, http) as (base_url, client_id, client_secret):
        _check_credentials(Replayer(http, base_url, client_id, client_secret))
        try:
            result = run_drift(exchanges, base_url, http, client_id=client_id, client_secret=client_secret)
        except ReplayCredentialsError as exc:
            raise UsageError(str(exc)) from None
    print(format_table(result.findings))
    report = write_report(result, args.json)
    print(f"replayed {result.replayed} exchanges; report: {report}")
    if result.breaking:
        print(f"BREAKING drift: {len(result.breaking)} finding(s) — the fake no longer matches Fiskil; update the fake or the integration")
        return 1
    if result.additive:
        print(f"warning: {len(result.additive)} additive finding(s) — Fiskil sends more than the fake models")
    return 0
