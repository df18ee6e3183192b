"""`fiskil-harness webhooks check|send`: grade a webhook endpoint, or send it one (tampered) delivery.

The signing secret is only ever read from an environment variable (--secret-env), never from the
command line (shell history, process lists), and never printed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from harness.cli import UsageError
from harness.cli.outputs import check_output_file
from harness.redaction import default_redactor
from harness.webhooks.checks import (
    CHECK_IDS,
    DEFAULT_BUDGET_S,
    DEFAULT_BURST,
    DEFAULT_OBSERVE_TIMEOUT_S,
    DEFAULT_REPLAY_AFTER_S,
    DEFAULT_SETTLE_S,
    MAX_TIMEOUT_S,
    NOT_OBSERVABLE,
    PASS,
    CheckConfig,
    CheckSetupError,
    check_number,
    check_url,
    ensure_listening,
    plan,
    run_checks_sync,
)
from harness.webhooks.emitter import send_once_sync
from harness.webhooks.envelope import make_envelope
from harness.webhooks.events import UnknownEventError, event_type
from harness.webhooks.report import progress_line, table, write_junit
from harness.webhooks.signing import DEFAULT_SCHEME, SigningSecretError, decode_secret, secret_forms
from harness.webhooks.tamper import TAMPER_KINDS, prepare

SEND_TIMEOUT_S = 10.0


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("webhooks", help="check a webhook endpoint, or send it a signed delivery")
    actions = parser.add_subparsers(dest="webhooks_command", metavar="ACTION")

    check = actions.add_parser("check", help="run the webhook conformance checks against one endpoint")
    _common(check)
    check.add_argument("--observe", metavar="URL", help='GET URL returning {"message_ids": [...]}, one entry per processing')
    check.add_argument("--timeout", type=float, default=DEFAULT_BUDGET_S, metavar="S",
                       help=f"latency budget per delivery in seconds (default {DEFAULT_BUDGET_S:g}; Fiskil's real timeout is undocumented)")
    check.add_argument("--observe-timeout", type=float, default=DEFAULT_OBSERVE_TIMEOUT_S, metavar="S",
                       help=f"timeout of each --observe GET in seconds (default {DEFAULT_OBSERVE_TIMEOUT_S:g}; not graded)")
    check.add_argument("--junitxml", metavar="FILE", help="also write JUnit XML, one testcase per check")
    check.add_argument("--burst", type=int, default=DEFAULT_BURST, metavar="N", help=f"deliveries in the burst check (default {DEFAULT_BURST})")
    check.add_argument("--settle", type=float, default=DEFAULT_SETTLE_S, metavar="S",
                       help="how long processing may take to show on --observe, and how long after it shows a second "
                            f"processing is watched for (default {DEFAULT_SETTLE_S:g}; raise it above your app's job time)")
    check.add_argument("--replay-after", type=float, default=DEFAULT_REPLAY_AFTER_S, metavar="S",
                       help=f"seconds between a delivery and its replay (default {DEFAULT_REPLAY_AFTER_S:g})")
    check.add_argument("--only", action="append", choices=CHECK_IDS, metavar="CHECK", help="run only this check (repeatable)")
    check.add_argument("--allow-not-observable", action="store_true",
                       help="exit 0 when nothing failed even if some required checks were NOT OBSERVABLE")

    send = actions.add_parser("send", help="send one signed (or deliberately tampered) delivery and show the answer")
    _common(send)
    send.add_argument("--event", required=True, metavar="NAME", help="event name, e.g. consent.received")
    send.add_argument("--end-user-id", metavar="ID")
    send.add_argument("--consent-id", metavar="ID")
    send.add_argument("--tamper", default="none", choices=TAMPER_KINDS, metavar="KIND",
                      help=f"deliberately break the delivery: {', '.join(TAMPER_KINDS)}")
    send.add_argument("--timeout", type=float, default=SEND_TIMEOUT_S, metavar="S",
                      help=f"request timeout in seconds (default {SEND_TIMEOUT_S:g})")
    return parser


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", required=True, help="the webhook endpoint URL")
    parser.add_argument("--secret-env", required=True, metavar="VAR", help="environment variable holding the webhook signing secret")


def _secret(var: str) -> str:
    value = os.environ.get(var)
    if not value:
        raise UsageError(f"environment variable {var} is not set or empty: export {var}=<your Fiskil webhook signing secret>")
    default_redactor.add_all(secret_forms(value))  # also the forms a receiver could echo (trimmed, re-encoded)
    try:
        decode_secret(value, DEFAULT_SCHEME)
    except SigningSecretError as exc:
        raise UsageError(f"{var}: {exc}") from None
    return value


def _url(value: str, flag: str) -> str:
    try:
        return check_url(value, flag)
    except CheckSetupError as exc:
        raise UsageError(default_redactor(str(exc))) from None


def _number(value: float, flag: str, **bounds: float | bool) -> float:
    try:
        return check_number(value, flag, **bounds)  # type: ignore[arg-type]
    except CheckSetupError as exc:
        raise UsageError(str(exc)) from None


def _junit_path(value: str) -> Path:
    """The --junitxml file, checked before any check runs (its folders may be made)."""
    if not value.strip():
        raise UsageError("--junitxml needs a file path, e.g. --junitxml reports/webhooks.xml")
    path = Path(value)
    check_output_file("--junitxml", path)
    return path


def run(args: argparse.Namespace) -> int:
    if args.webhooks_command == "check":
        return _check(args)
    if args.webhooks_command == "send":
        return _send(args)
    raise UsageError("choose an action: `fiskil-harness webhooks check ...` or `fiskil-harness webhooks send ...`")


def _check(args: argparse.Namespace) -> int:
    say = default_redactor
    secret = _secret(args.secret_env)
    config = CheckConfig(
        url=_url(args.url, "--url"),
        secret=secret,
        observe_url=_url(args.observe, "--observe") if args.observe else None,
        budget_s=args.timeout,
        burst=args.burst,
        settle_s=args.settle,
        observe_timeout_s=args.observe_timeout,
        replay_after_s=args.replay_after,
        only=tuple(args.only or ()),
    )
    try:
        config.validate()   # every number finite and in range, before anything is sent
    except CheckSetupError as exc:
        raise UsageError(say(str(exc))) from None
    junit = _junit_path(args.junitxml) if args.junitxml is not None else None
    _, added = plan(config.only)
    for need in added:
        print(f"note: also running {need}: the checks you chose grade its deliveries", file=sys.stderr)
    print(say(f"checking {args.url}" + (f" (observing {args.observe})" if args.observe
                                          else " (no --observe: processing is not observable)")), file=sys.stderr)
    try:
        results = run_checks_sync(config, progress=lambda r: print(progress_line(r), file=sys.stderr, flush=True))
    except CheckSetupError as exc:
        raise UsageError(say(str(exc))) from None
    print(table(results, observing=bool(args.observe)))
    if junit is not None:
        try:
            write_junit(results, junit, allow_not_observable=args.allow_not_observable)
        except OSError as exc:  # checked up front; only a race (folder removed meanwhile) gets here
            print(say(f"fiskil-harness webhooks: could not write --junitxml {junit}: {exc}"), file=sys.stderr)
            return 2
        print(f"JUnit XML written to {junit}", file=sys.stderr)
    required = [r for r in results if r.required]
    if any(r.verdict not in (PASS, NOT_OBSERVABLE) for r in required):
        return 1
    if any(r.verdict == NOT_OBSERVABLE for r in required) and not args.allow_not_observable:
        hint = "see why in the table" if args.observe else "add --observe"
        print(f"exit 1: required checks were NOT OBSERVABLE ({hint}, or --allow-not-observable to accept that)",
              file=sys.stderr)
        return 1
    return 0


def _send(args: argparse.Namespace) -> int:
    secret = _secret(args.secret_env)
    url = _url(args.url, "--url")
    try:
        kind = event_type(args.event)
    except UnknownEventError as exc:
        raise UsageError(str(exc)) from None
    timeout_s = _number(args.timeout, "--timeout", minimum=0, inclusive=False, maximum=MAX_TIMEOUT_S)
    try:  # pre-flight: a dead endpoint is a set-up problem, not an answer to grade
        asyncio.run(ensure_listening(url, "--url"))
    except CheckSetupError as exc:
        raise UsageError(default_redactor(str(exc))) from None
    envelope = make_envelope(args.event, end_user_id=args.end_user_id, consent_id=args.consent_id)
    signed = prepare(envelope.body(1), secret, args.tamper)
    say = default_redactor
    print(say(f"POST {url}"))
    print("Content-Type: application/json")
    # the signature is derived from the secret but does not reveal it: fine to show
    print(f"{DEFAULT_SCHEME.header}: {signed.signature}" if signed.signature is not None else f"({DEFAULT_SCHEME.header} omitted)")
    print()
    print(say(signed.body.decode("utf-8")))
    if kind.source != "primary":
        print(f"note: {args.event} is known from {kind.source} sources only", file=sys.stderr)
    record = send_once_sync(url, secret, envelope, tamper=args.tamper, timeout_s=timeout_s)
    attempt = record.attempts[0]
    print()
    answer = str(attempt.status) if attempt.status is not None else f"no HTTP answer ({attempt.error_kind}: {attempt.error})"
    # the request's own time (the emitter times the POST alone, not setting up its client)
    print(say(f"answer: {answer} in {attempt.latency_s * 1000:.0f} ms"))
    if attempt.body_excerpt:
        print(say(f"body: {attempt.body_excerpt}"))
    expected_ok = args.tamper == "none"
    # a transport error is no answer at all: never count it as the rejection a tampered delivery expects
    verdict = attempt.status is not None and attempt.ok == expected_ok
    print(f"expected {'2xx' if expected_ok else 'non-2xx (tampered: ' + args.tamper + ')'}: {'as expected' if verdict else 'NOT as expected'}"
          + ("" if attempt.status is not None else " (no HTTP answer)"))
    return 0 if verdict else 1
