"""Run the reference integration on its own: `python -m examples.reference_integration [--host --port]`.

Configuration comes from the environment (README.md). It prints where it listens, never a secret.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

import uvicorn

from examples.reference_integration.app import build_app
from examples.reference_integration.config import ConfigurationError, Settings
from examples.reference_integration.server import bind_socket, socket_url
from examples.reference_integration.service import ReferenceIntegration


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.reference_integration",
                                     description="Run the reference Fiskil integration.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        sock = bind_socket(args.host, args.port)
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    url = socket_url(sock)
    try:
        # REFERENCE_PUBLIC_URL defaults to where we listen (useful with --port 0).
        settings = Settings.from_env()
        if not os.environ.get("REFERENCE_PUBLIC_URL"):
            settings.public_url = url
    except ConfigurationError as exc:
        sock.close()
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    integration = ReferenceIntegration(settings)
    faults = f" (seeded faults: {', '.join(sorted(settings.faults))})" if settings.faults else ""
    print(f"reference integration listening on {url}{faults}", flush=True)
    try:
        uvicorn.Server(uvicorn.Config(build_app(integration), log_level="warning", lifespan="off")).run(
            sockets=[sock])
    finally:
        integration.close()
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
