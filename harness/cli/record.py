"""`fiskil-harness record`: run the @sandbox_safe contract features against the sandbox through a
recording edge and store every /v1 exchange, sanitised, one JSON file each (docs/contract.md)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from harness.cli import UsageError, require_wiremock_jar
from harness.cli.outputs import check_output_dir
from harness.contract.capture import capture_contract_traffic
from harness.contract.recording import write_recordings
from harness.contract.sanitise import Sanitiser
from harness.redaction import default_redactor
from harness.target import (
    CLIENT_ID_ENV,
    CLIENT_SECRET_ENV,
    DEFAULT_SANDBOX_URL,
    OptionsError,
    check_http_url,
    reachability_error,
)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "record",
        help="record the sandbox's answers to the @sandbox_safe contract features (sanitised)",
        description="Run the @sandbox_safe contract features against the sandbox through a recording "
        "WireMock edge and write one sanitised JSON file per /v1 exchange to --out. Needs "
        f"{CLIENT_ID_ENV} and {CLIENT_SECRET_ENV} in the environment.",
    )
    parser.add_argument("--target", choices=("sandbox",), default="sandbox", help="what to record (only the sandbox)")
    parser.add_argument("--out", required=True, type=Path, help="directory for the recordings (must be empty or new)")
    parser.add_argument("--sandbox-url", default=DEFAULT_SANDBOX_URL, help=f"the API to record (default {DEFAULT_SANDBOX_URL})")
    return parser


def run(args: argparse.Namespace) -> int:
    try:
        sandbox_url = check_http_url("--sandbox-url", args.sandbox_url)
    except OptionsError as exc:
        raise UsageError(str(exc)) from None
    out: Path = args.out
    check_output_dir("--out", out)  # before the run: a bad path must not cost the recordings
    client_id, client_secret = os.environ.get(CLIENT_ID_ENV), os.environ.get(CLIENT_SECRET_ENV)
    if not client_id or not client_secret:
        raise UsageError(f"set {CLIENT_ID_ENV} and {CLIENT_SECRET_ENV} to the sandbox credentials")
    require_wiremock_jar()  # a local set-up problem: said before anything reaches out
    unreachable = reachability_error("the Fiskil API of --sandbox-url", sandbox_url)
    if unreachable:
        raise UsageError(f"{unreachable} Nothing was recorded.")
    default_redactor.add(client_secret)

    print(f"recording the @sandbox_safe contract features against {sandbox_url} ...", flush=True)
    capture = capture_contract_traffic(sandbox_url, env={})
    sanitiser = Sanitiser(extra_secrets=[client_secret])
    files = write_recordings(out, capture.exchanges, sanitiser)
    print(f"wrote {len(files)} sanitised exchanges to {out}")
    code = 0
    if capture.proxy_failures:
        shown = ", ".join(capture.proxy_failures[:5]) + (" ..." if len(capture.proxy_failures) > 5 else "")
        print(f"{len(capture.proxy_failures)} request(s) got no answer from {sandbox_url} (the recorder's proxy "
              f"failed) and were not recorded: {shown}", file=sys.stderr)
        code = 1
    if capture.pytest_exit_code not in (0, 5):
        tail = "\n".join(capture.pytest_output.strip().splitlines()[-15:])
        print(f"the contract features failed against {sandbox_url} (pytest exit {capture.pytest_exit_code}):\n"
              f"{sanitiser.sanitise_text(default_redactor.redact(tail))}", file=sys.stderr)
        code = 1
    return code
