"""`fiskil-harness export-mappings`: WireMock mapping files that answer the @sandbox_safe contract
requests for a seeded data set, without the Python core (docs/contract.md)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import httpx

from harness.cli import UsageError, check_seed, require_wiremock_jar
from harness.cli.outputs import check_output_dir
from harness.contract.capture import capture_contract_traffic
from harness.contract.export import EXPORTED_TOKEN, build_mappings, write_mappings
from harness.contract.replay import Replayer, link_consented_end_user
from harness.target import CLIENT_ID_ENV, CLIENT_SECRET_ENV, SANDBOX_END_USER_ENV


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "export-mappings",
        help="write WireMock mappings answering the @sandbox_safe contract requests (no Python core needed)",
        description="Run the @sandbox_safe contract features against a fresh seeded fake, record the "
        "answers and write them as plain WireMock 3 mappings under DIR/mappings (start WireMock with "
        "--root-dir DIR). DIR/export.json says which end user id and credentials to run against them.",
    )
    parser.add_argument("dir", type=Path, help="output directory (WireMock root dir; must be new or empty)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fake's data set (default 0)")
    return parser


def run(args: argparse.Namespace) -> int:
    from fakes.core.app import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, CoreConfig, build_core
    from fakes.core.server import CoreServer

    check_seed(args.seed)
    out: Path = args.dir
    check_output_dir("DIR", out)  # before the run: a bad path must not cost the export
    require_wiremock_jar()
    # The documented local test credentials, never the environment's: they end up in the mappings.
    config = CoreConfig(client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_CLIENT_SECRET, seed=args.seed)
    core = build_core(config)
    with CoreServer(core) as server, httpx.Client(timeout=15) as http:
        # a consented end user plays the sandbox's pre-consented one (FISKIL_SANDBOX_END_USER_ID)
        end_user_id = link_consented_end_user(Replayer(http, server.url, config.client_id, config.client_secret))
        env = {CLIENT_ID_ENV: config.client_id, CLIENT_SECRET_ENV: config.client_secret, SANDBOX_END_USER_ENV: end_user_id}
        print(f"recording the @sandbox_safe contract features against a fresh fake (seed {args.seed}) ...", flush=True)
        capture = capture_contract_traffic(server.url, env, on_recorder_ready=core.set_public_base_url)
        mappings = build_mappings(capture.exchanges, recorded_base=capture.recorder_url)
    files = write_mappings(out, mappings)
    (out / "export.json").write_text(json.dumps({
        "seed": args.seed, "mappings": len(files), "token": EXPORTED_TOKEN,
        "env": {SANDBOX_END_USER_ENV: end_user_id, CLIENT_ID_ENV: config.client_id, CLIENT_SECRET_ENV: config.client_secret},
    }, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {len(files)} WireMock mappings to {out / 'mappings'}")
    print(f"run them: java -jar wiremock-standalone-3.13.2.jar --root-dir {out}; then the @sandbox_safe contract "
          f"features with --target sandbox --sandbox-url <that WireMock> and the env in {out / 'export.json'}")
    if capture.pytest_exit_code not in (0, 5):
        tail = "\n".join(capture.pytest_output.strip().splitlines()[-15:])
        print(f"the contract features failed against the fake (pytest exit {capture.pytest_exit_code}):\n{tail}", file=sys.stderr)
        return 1
    return 0
