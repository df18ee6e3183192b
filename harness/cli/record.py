"""`fiskil-harness record`: run the @sandbox_safe contract features against the sandbox through a
recording edge and store every /v1 exchange, sanitised, one JSON file each (docs/contract.md)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from harness.cli import UsageError, require_wiremock_jar
from harness.contract.capture import capture_contract_traffic
from harness.contract.recording import write_recordings
from harness.contract.sanitise import Sanitiser
from harness.redaction import default_redactor
from harness.target import CLIENT_ID_ENV, CLIENT_SECRET_ENV, DEFAULT_SANDBOX_URL, OptionsError, check_http_url


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
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"--out {out} must be a new or empty directory (recordings are never mixed)")
    client_id, client_secret = os.environ.get(CLIENT_ID_ENV), os.environ.get(CLIENT_SECRET_ENV)
    if not client_id or not client_secret:
        raise UsageError(f"set {CLIENT_ID_ENV} and {CLIENT_SECRET_ENV} to the sandbox credentials")
    default_redactor.add(client_secret)
    require_wiremock_jar()

    print(f"recording the @sandbox_safe contract features against {sandbox_url} ...", flush=True)
    capture = capture_contract_traffic(sandbox_url, env={})
    sanitiser = Sanitiser(extra_secrets=[client_secret])
    files = write_recordings(out, capture.exchanges, sanitiser)
    print(f"wrote {len(files)} sanitised exchanges to {out}")
    if capture.pytest_exit_code not in (0, 5):
        tail = "\n".join(capture.pytest_output.strip().splitlines()[-15:])
        print(f"the contract features failed against {sandbox_url} (pytest exit {capture.pytest_exit_code}):\n"
              f"{sanitiser.sanitise_text(default_redactor.redact(tail))}", file=sys.stderr)
        return 1
    return 0
