"""`fiskil-harness fake`: run the fake Fiskil API (core + WireMock edge) in the foreground.

For manual exploration and for partners who run their own test runner against a long-lived fake
(`pytest --fake-url <base URL>`). Stops cleanly on Ctrl-C or SIGTERM with exit 0.
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import signal
import socket
import sys
import time
from types import FrameType
from urllib.parse import urlsplit

from harness.cli import UsageError, check_seed, require_wiremock_jar

CLIENT_ID_ENV = "FISKIL_CLIENT_ID"
CLIENT_SECRET_ENV = "FISKIL_CLIENT_SECRET"
READY_LINE = "fiskil-harness fake: ready"
ALIVE_CHECK_SECONDS = 0.5


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "fake",
        help="run the fake Fiskil API (core behind a WireMock edge) until Ctrl-C",
        description="Run the fake Fiskil API in the foreground: a stateful core behind a WireMock edge.",
    )
    parser.add_argument("--port", type=int, default=0, help="the edge's port on 127.0.0.1 (default: any free port)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the fake's generated data (default 0)")
    parser.add_argument("--webhook-url", help="deliver the fake's webhooks to this URL")
    parser.add_argument(
        "--webhook-secret-env",
        metavar="VAR",
        help="name of the environment variable holding the webhook signing secret (never the secret itself)",
    )
    return parser


def _check_args(args: argparse.Namespace) -> str | None:
    """Validate before anything starts; returns the webhook secret when webhooks are asked for."""
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be 1-65535 (or 0 for any free port), got {args.port}")
    check_seed(args.seed)
    if bool(args.webhook_url) != bool(args.webhook_secret_env):
        raise UsageError("--webhook-url and --webhook-secret-env go together: pass both or neither")
    if not args.webhook_url:
        return None
    parts = urlsplit(args.webhook_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"--webhook-url must be an absolute http(s) URL, got {args.webhook_url!r}")
    secret = os.environ.get(args.webhook_secret_env)
    if not secret:
        raise UsageError(
            f"environment variable {args.webhook_secret_env} is not set or empty; "
            "export the webhook secret there (it is read from the environment so it never shows in `ps`)"
        )
    from harness.webhooks.signing import SigningSecretError, decode_secret

    try:
        decode_secret(secret)
    except SigningSecretError as exc:
        raise UsageError(f"the secret in ${args.webhook_secret_env} cannot sign like Fiskil: {exc}") from None
    return secret


def check_port_free(port: int, hint: str = "pick another --port or stop what uses it") -> None:
    """A clear message beats WireMock's BindException stack trace; WireMock's own error still backs this up."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Like the JVM's server socket: TIME_WAIT leftovers of a fake just stopped are no conflict.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise UsageError(f"port {port} on 127.0.0.1 is already in use; {hint}") from exc
            raise UsageError(f"cannot use port {port} on 127.0.0.1: {exc.strerror}") from exc


def _credentials_line() -> str:
    """Where the test credentials come from; never prints the secret."""
    from fakes.core.app import DEFAULT_CLIENT_ID

    if os.environ.get(CLIENT_ID_ENV):
        client_id = f"client id from ${CLIENT_ID_ENV}"
    else:
        client_id = f"client id {DEFAULT_CLIENT_ID} (local default)"
    if os.environ.get(CLIENT_SECRET_ENV):
        secret = f"secret from ${CLIENT_SECRET_ENV}"
    else:
        secret = "secret: the local default, see docs/fake.md"
    return f"{client_id}; {secret}"


def _report_contract_violations() -> None:
    """The core logs each schema violation it turns into a 500 (logger fakes.core.api); show those
    on stderr, where the person running the fake looks."""
    logger = logging.getLogger("fakes.core.api")
    if not any(getattr(handler, "_fiskil_fake", False) for handler in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("fiskil-harness fake: %(message)s"))
        handler.setLevel(logging.WARNING)
        handler._fiskil_fake = True  # type: ignore[attr-defined]
        logger.addHandler(handler)


def _raise_interrupt_once(signum: int, frame: FrameType | None) -> None:
    """First Ctrl-C / SIGTERM starts a clean stop; further ones are ignored so the stop can finish."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    webhook_secret = _check_args(args)
    check_port_free(args.port)
    require_wiremock_jar()

    from fakes.core.app import CoreConfig
    from fakes.core.state import WebhookTarget
    from fakes.stack import FakeStack
    from fakes.wiremock.process import WireMockStartError
    from harness.contract import build_checked_core

    previous = {sig: signal.signal(sig, _raise_interrupt_once) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        # The target is part of the configuration, so it survives POST /__harness/reset.
        target = WebhookTarget(args.webhook_url, webhook_secret) if webhook_secret is not None else None
        _report_contract_violations()
        # the schema hook: every /v1 answer is checked; a violation answers 500 contract_violation
        core = build_checked_core(CoreConfig(seed=args.seed, webhook_target=target))
        with FakeStack(core=core, edge_port=args.port) as stack:
            base = stack.base_url
            print(f"Fiskil API (give this to your integration): {base}", flush=True)
            print(f"  FISKIL_API_URL={base}", flush=True)
            print(f"control API:  {base}/__harness  (see docs/fake.md)", flush=True)
            print(f"WireMock admin: {base}/__admin  (POST /__admin/reset keeps the proxy to the fake)", flush=True)
            assert stack.wiremock is not None
            if not stack.wiremock.guarded:
                print("note: the edge extension is not loaded (javac not found, or switched off): requests WireMock "
                      "cannot parse get its own HTML answers; see docs/fake.md 'Known limits'", flush=True)
            print(f"credentials:  {_credentials_line()}", flush=True)
            if webhook_secret is not None:
                print(f"webhooks to:  {args.webhook_url} (secret from ${args.webhook_secret_env})", flush=True)
            print(f"{READY_LINE} (Ctrl-C to stop)", flush=True)
            while stack.wiremock.is_running():
                time.sleep(ALIVE_CHECK_SECONDS)
            print(
                f"fiskil-harness fake: the WireMock edge exited unexpectedly\n{stack.wiremock.output}",
                file=sys.stderr,
                flush=True,
            )
            return 1
    except KeyboardInterrupt:
        print("fiskil-harness fake: stopped", flush=True)
        return 0
    except WireMockStartError as exc:
        if "Address already in use" in str(exc) or "BindException" in str(exc):
            print(f"fiskil-harness fake: port {args.port} on 127.0.0.1 is already in use; pick another --port", file=sys.stderr)
            return 2
        print(f"fiskil-harness fake: {exc}", file=sys.stderr)
        return 2
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
