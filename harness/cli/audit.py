"""`fiskil-harness audit`: best-practice violations in the traffic a partner's own tests sent through the fake.

Reads the WireMock edge's request journal from a running fake (`--fake-url`) or from a saved journal
file (`--journal`, e.g. the one `check --fake-url` saves before it resets the fake), leaves out the
kit's own and the Link page's traffic, runs the rules in harness/audit/rules.py and prints each
violation with the offending requests, redacted. Exit 0 clean, 1 violations found, 2 usage or set-up error.
"""

from __future__ import annotations

import argparse
import os
from datetime import datetime
from pathlib import Path

import httpx

from harness.audit.journal import from_serve_events, load_journal
from harness.audit.report import render_text, write_json
from harness.audit.rules import RULE_IDS, AuditInput, audit
from harness.audit.saved import JournalFileError, fake_webhook_times, load_journal_file
from harness.cli import UsageError
from harness.cli.outputs import check_output_file

FAKE_URL_ENV = "FISKIL_HARNESS_FAKE_URL"


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "audit", help="report best-practice violations in the traffic your tests sent through the fake",
        description="Audit the fake's request journal (docs/best-practices.md lists the rules and thresholds).")
    parser.add_argument("--fake-url", help=f"the fake's base URL (the edge; default ${FAKE_URL_ENV})")
    parser.add_argument("--journal", metavar="FILE",
                        help="audit a saved journal instead of a running fake (check --fake-url saves one before it resets the fake)")
    parser.add_argument("--since", help="only requests from this moment: unix seconds or ISO 8601 (e.g. 2025-01-31T10:00:00+11:00)")
    parser.add_argument("--json", dest="json_path", metavar="FILE", help="also write the findings as JSON")
    parser.add_argument("--rule", action="append", choices=RULE_IDS, metavar="RULE", help="run only this rule (repeatable)")
    return parser


def parse_since(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--since {value!r}: give unix seconds (1738300000) or ISO 8601 (2025-01-31T10:00:00+11:00)") from None
    if moment.tzinfo is None:
        raise UsageError(f"--since {value!r}: add a UTC offset (e.g. +11:00 or Z) so the moment is unambiguous")
    return moment.timestamp()


def _from_file(path: str, since: float | None) -> tuple[list, AuditInput]:
    try:
        saved = load_journal_file(path)
    except JournalFileError as exc:
        raise UsageError(str(exc)) from None
    return from_serve_events(saved.events, since), AuditInput(webhook_times=saved.webhook_times)


def _from_fake(fake_url: str, since: float | None) -> tuple[list, AuditInput]:
    from fakes.wiremock.admin import WireMockAdmin

    with httpx.Client(timeout=10.0) as client:
        try:
            entries = load_journal(WireMockAdmin(fake_url, client), since)
        except Exception as exc:  # any failure to read the journal is a set-up problem, said plainly
            raise UsageError(f"cannot read the request journal at {fake_url}/__admin/requests ({type(exc).__name__}); "
                             "is the fake running there?") from None
        return entries, AuditInput(webhook_times=fake_webhook_times(client, fake_url))


def run(args: argparse.Namespace) -> int:
    if args.json_path:
        check_output_file("--json", Path(args.json_path))  # before reading the journal
    since = parse_since(args.since)
    if args.journal:
        if args.fake_url:
            raise UsageError("give --journal FILE or --fake-url URL, not both")
        entries, given = _from_file(args.journal, since)
    else:
        fake_url = (args.fake_url or os.environ.get(FAKE_URL_ENV) or "").rstrip("/")
        if not fake_url.startswith(("http://", "https://")):
            raise UsageError(f"give the fake's URL with --fake-url (or ${FAKE_URL_ENV}), e.g. --fake-url http://127.0.0.1:8080, "
                             "or a saved journal with --journal FILE")
        entries, given = _from_fake(fake_url, since)
    violations = audit(entries, given, only=args.rule or ())
    print(render_text(violations, len(entries)), end="")
    if args.json_path:
        write_json(args.json_path, violations, len(entries))
        print(f"JSON written to {args.json_path}")
    return 1 if violations else 0
