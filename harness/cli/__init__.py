"""The `fiskil-harness` command: a thin dispatcher over one module per subcommand.

Each subcommand lives in `harness/cli/<module>.py` and exposes
`add_parser(subparsers) -> argparse.ArgumentParser` and `run(args) -> int`.
Modules are imported lazily so a broken or slow subcommand never taxes the others.

Exit codes, for every subcommand: 0 success, 1 the checked thing failed, 2 usage or set-up error.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# subcommand name -> module under harness.cli
SUBCOMMANDS: dict[str, str] = {
    "fake": "fake",
    "run": "run",
    "webhooks": "webhooks",
    "check": "check",
    "audit": "audit",
    "record": "record",
    "drift": "drift",
    "export-mappings": "export_mappings",
}


class UsageError(Exception):
    """Raised by a subcommand for bad input; main prints it and exits 2."""


def check_seed(seed: int) -> int:
    """--seed as the control API's reset accepts it (0..2^63-1), so the two never disagree."""
    from fakes.core.control import MAX_SEED

    if not 0 <= seed <= MAX_SEED:
        raise UsageError(f"--seed must be an integer from 0 to {MAX_SEED} (as POST /__harness/reset accepts), got {seed}")
    return seed


def require_wiremock_jar() -> None:
    """Before a subcommand starts anything that needs the WireMock edge: a missing or wrong jar is a
    one-line set-up error (exit 2) that says how to fix it, not a traceback half-way through."""
    from fakes.wiremock.jar import JarError, resolve_jar

    try:
        resolve_jar()
    except JarError as exc:
        raise UsageError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fiskil-harness",
        description="Test harness and contract-testing kit for Fiskil integrations.",
    )
    from harness import __version__

    parser.add_argument("--version", action="version", version=f"fiskil-harness {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    parser.set_defaults(_parsers={})
    for name, module_name in SUBCOMMANDS.items():
        try:
            module = importlib.import_module(f"harness.cli.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"harness.cli.{module_name}":
                raise
            continue
        sub = module.add_parser(subparsers)
        sub.set_defaults(_run=module.run)
        parser.get_default("_parsers")[name] = sub
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        # argparse hands a subcommand's unknown flags back to the top level, whose usage does not
        # show the subcommand's options: let the subcommand's own parser explain (exit 2).
        sub = parser.get_default("_parsers").get(getattr(args, "command", None) or "", parser)
        sub.error(f"unrecognized arguments: {' '.join(unknown)}")
    if not getattr(args, "_run", None):
        parser.print_help(sys.stderr)
        return 2
    from fakes.wiremock.jar import JarError

    try:
        return int(args._run(args))
    except (UsageError, JarError) as exc:  # JarError: the jar changed after the up-front check
        print(f"fiskil-harness {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fiskil-harness: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
