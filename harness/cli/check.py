"""`fiskil-harness check`: grade a partner's integration over the HTTP adapter contract (docs/partner-guide.md).

1. Start one fake (or reuse `--fake-url`) and print what the partner's app must be configured with,
   BEFORE anything runs: with `--port` the URL is known in advance, so the app can be started first.
   A reused fake is reset before every scenario, so its request journal is saved to the report dir
   first (`audit --journal FILE` audits the partner's earlier traffic from it).
2. Wait (bounded) until the app answers the adapter contract at `--adapter`.
3. Run the integration features (and the webhook features with `--webhook-url`) serially against the
   app: pytest with `--subject <adapter> --fake-url <fake> -p no:xdist`, JUnit + Allure results.
4. With `--webhook-url`, run the webhook conformance checks; with `--log-file`, drive one flow and
   scan the app's log for the tokens it was issued.
5. Print the graded report (feature, scenario, verdict, evidence); exit 0 only if every required
   scenario and check passed, 1 otherwise, 2 on usage or set-up errors.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from harness.adapters.http import WEBHOOK_SECRET_ENV, WEBHOOK_URL_ENV, check_adapter_url
from harness.cli import UsageError, require_wiremock_jar
from harness.cli.fake import check_port_free
from harness.redaction import default_redactor

PROJECT_ROOT = Path(__file__).resolve().parents[2]
INTEGRATION_FEATURES = PROJECT_ROOT / "features" / "test_integration.py"   # binds features/integration
WEBHOOK_FEATURES = PROJECT_ROOT / "features" / "test_webhooks.py"           # binds features/webhooks
#: Scenarios that need an in-process subject (they rebuild it with another client secret and read
#: its Python logs); over HTTP the partner app keeps its own configuration.
NOT_OVER_HTTP = ("wrong_client_secret",)
DEFAULT_WAIT_S = 60.0
#: How many lines of a failed scenario's message the report shows (a failed sync quotes 10 requests).
MESSAGE_LINES = 14


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "check", help="grade a partner integration over the HTTP adapter contract",
        description="Run the integration (and webhook) scenarios against your app and print a graded report.")
    parser.add_argument("--adapter", help="base URL of your app's adapter endpoints (docs/adapter-contract.md)")
    parser.add_argument("--webhook-url", help="your app's Fiskil webhook endpoint (adds the webhook scenarios and checks)")
    parser.add_argument("--webhook-secret-env", metavar="VAR", help="environment variable holding the webhook signing secret your app verifies with")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--fake-url", help="reuse a running fake (its base URL) instead of starting one")
    where.add_argument("--port", type=int, help="start the fake on this port, so its URL is known before your app starts")
    parser.add_argument("--wait", type=float, default=DEFAULT_WAIT_S, metavar="S", help=f"how long to wait for your app to answer (default {DEFAULT_WAIT_S:g} s)")
    parser.add_argument("--log-file", help="your app's log file: checked for leaked tokens and secrets after one flow")
    parser.add_argument("-k", dest="keyword",
                        help="only scenarios matching this pytest -k expression: test names or title words joined by _ (e.g. pre_selected)")
    parser.add_argument("--report-dir", default="reports/check", help="where junit.xml, allure-results/ and results.json go")
    parser.add_argument("--selftest", action="store_true",
                        help="instead: run the seeded-fault self-test against the reference integration and print the detection table")
    parser.add_argument("--faults", help="with --selftest: only these seeded faults (comma-separated)")
    return parser


@dataclass
class Grade:
    """One row of the graded report."""

    feature: str
    scenario: str
    verdict: str            # PASS | FAIL | SKIP | NOT OBSERVABLE
    required: bool = True
    evidence: list[str] = field(default_factory=list)


# --- inputs ---------------------------------------------------------------------------------------


def _webhook_secret(args: argparse.Namespace) -> str | None:
    if not args.webhook_url:
        if args.webhook_secret_env:
            raise UsageError("--webhook-secret-env needs --webhook-url (the endpoint the secret is for)")
        return None
    if not args.webhook_secret_env:
        raise UsageError("--webhook-url needs --webhook-secret-env VAR naming the variable that holds your signing secret")
    secret = os.environ.get(args.webhook_secret_env)
    if not secret:
        raise UsageError(f"environment variable {args.webhook_secret_env} is empty: export it with your webhook signing secret")
    from harness.webhooks.signing import secret_forms

    default_redactor.add_all(secret_forms(secret))  # also the trimmed and re-encoded forms a receiver may echo
    return secret


def validate(args: argparse.Namespace) -> tuple[str, str | None]:
    if not args.adapter:
        raise UsageError("give --adapter URL: the base URL of your app's adapter endpoints (see docs/adapter-contract.md)")
    try:
        adapter = check_adapter_url(args.adapter)
        if args.webhook_url:
            check_adapter_url(args.webhook_url)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.port is not None and not 0 < args.port < 65536:
        raise UsageError(f"--port must be 1-65535, got {args.port}")
    if args.wait <= 0:
        raise UsageError("--wait must be more than 0 seconds")
    return adapter, _webhook_secret(args)


# --- the fake ------------------------------------------------------------------------------------


@contextlib.contextmanager
def open_fake(fake_url: str | None, port: int | None) -> Iterator[Any]:
    """A running fake: attached (nothing to reap) or our own core + edge (reaped on exit)."""
    from fakes.stack import FakeStack

    if fake_url:
        try:
            stack = FakeStack.attach(fake_url)
        except ConnectionError as exc:
            raise UsageError(str(exc)) from None
        try:
            yield stack
        finally:
            stack.close_client()
        return
    from fakes.core.app import CoreConfig

    config = CoreConfig(client_id=os.environ.get("FISKIL_CLIENT_ID") or _defaults()[0],
                        client_secret=os.environ.get("FISKIL_CLIENT_SECRET") or _defaults()[1])
    default_redactor.add(config.client_secret)
    require_wiremock_jar()
    from harness.contract import build_checked_core

    try:
        # the schema hook holds every answer the partner's app gets to the modelled contract
        stack = FakeStack(core=build_checked_core(config), edge_port=port or 0).__enter__()   # closes its client itself on failure
    except Exception as exc:  # the JVM, the jar or the port: a set-up problem, said in one line
        raise UsageError(f"could not start the fake: {type(exc).__name__}: {exc}") from None
    try:
        yield stack
    finally:
        stack.stop()


def save_existing_journal(stack: Any, fake_url: str, run_dir: Path) -> Path | None:
    """Before the first reset of a reused fake: keep the traffic it already holds (redacted) and say where."""
    from harness.audit.journal import from_serve_events
    from harness.audit.saved import fake_webhook_times, save_journal

    events = stack.edge.admin.serve_events()
    requests = len(from_serve_events(events))
    if not requests:
        return None
    path = save_journal(run_dir / "journal-before-check.json", events,
                        webhook_times=fake_webhook_times(stack.client, fake_url.rstrip("/")), source=fake_url)
    print(f"The fake at {fake_url} held {requests} requests from your integration; check resets the fake before "
          f"every scenario, so they were saved first to {path}\n"
          f"  audit them with: fiskil-harness audit --journal {path}", flush=True)
    return path


def _defaults() -> tuple[str, str]:
    from fakes.core.app import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

    return DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET


def print_configuration(fake_url: str, client_id: str, adapter: str) -> None:
    print(f"Fake Fiskil API: {fake_url}")
    print("Configure your app (test build) with:")
    print(f"  FISKIL_API_URL={fake_url}")
    print(f"  FISKIL_CLIENT_ID={client_id}")
    print("  FISKIL_CLIENT_SECRET=<the fake's client secret: $FISKIL_CLIENT_SECRET if you set it, else the default in docs/partner-guide.md>")
    print(f"Then serve the adapter contract at {adapter} (docs/adapter-contract.md).", flush=True)


def wait_for_adapter(adapter: str, wait_s: float) -> None:
    """Until GET /webhook-events answers (any status: the app is up); bounded by `wait_s`."""
    deadline = time.monotonic() + wait_s
    announced = False
    with httpx.Client(timeout=2.0) as client:
        while True:
            try:
                client.get(f"{adapter}/webhook-events")
                return
            except httpx.TransportError:
                pass
            if time.monotonic() >= deadline:
                raise UsageError(f"nothing answered at {adapter} within {wait_s:g} s: start your app (configured as above) "
                                 "and check that --adapter is its base URL")
            if not announced:
                print(f"waiting up to {wait_s:g} s for your app at {adapter} ...", flush=True)
                announced = True
            time.sleep(0.25)


# --- the scenarios -------------------------------------------------------------------------------


def scenario_paths(with_webhooks: bool) -> list[str]:
    paths = [str(INTEGRATION_FEATURES)]
    if with_webhooks and WEBHOOK_FEATURES.exists() and (PROJECT_ROOT / "steps" / "webhooks.py").exists():
        paths.append(str(WEBHOOK_FEATURES))
    return [p.replace(str(PROJECT_ROOT) + os.sep, "") for p in paths]


def pytest_command(adapter: str, fake_url: str, run_dir: Path, paths: list[str], keyword: str | None) -> list[str]:
    expression = " and ".join(f"not {name}" for name in NOT_OVER_HTTP)
    if keyword:
        expression = f"({keyword}) and {expression}"
    return [
        sys.executable, "-m", "pytest", *paths, "-q", "--tb=short", "-p", "no:xdist",
        "--subject", adapter, "--fake-url", fake_url, "-k", expression,
        f"--junitxml={run_dir / 'junit.xml'}", f"--alluredir={run_dir / 'allure-results'}",
        f"--harness-results={run_dir / 'results.json'}", "--harness-progress",
    ]


def run_scenarios(command: list[str], run_dir: Path, env_extra: dict[str, str]) -> int:
    run_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **env_extra, "PYTHONUNBUFFERED": "1"}
    with (run_dir / "pytest.log").open("w", encoding="utf-8") as log:
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=log, stderr=None, env=env)
        try:
            return process.wait()
        except KeyboardInterrupt:
            process.wait(timeout=30)
            raise


def grades_from_results(path: Path) -> list[Grade]:
    if not path.exists():
        return []
    payload = json.loads(path.read_text(encoding="utf-8"))
    grades = []
    for r in payload.get("results", []):
        verdict = {"passed": "PASS", "failed": "FAIL", "xpassed": "FAIL"}.get(r["outcome"], "SKIP")
        evidence = []
        if verdict == "FAIL":
            if r.get("failed_step"):
                evidence.append(f"failing step: {r['failed_step']}")
            # the expectation, what was observed and the traffic the step quoted (e.g. a failed sync's requests)
            evidence += [line for line in (r.get("message") or "").splitlines()[:MESSAGE_LINES] if line.strip()]
            # one-line evidence (the subject's stored state); a block's heading alone says nothing
            evidence += [e.splitlines()[0] for e in r.get("evidence", [])[:2] if e and not e.splitlines()[0].endswith(":")]
        elif verdict == "SKIP" and r.get("skip_reason"):
            evidence.append(r["skip_reason"].splitlines()[0])
        grades.append(Grade(r["feature"], r["scenario"], verdict, True, [default_redactor.redact(e) for e in evidence]))
    return grades


# --- webhook checks and log hygiene --------------------------------------------------------------


def webhook_grades(webhook_url: str, secret: str, adapter: str, run_dir: Path, only: tuple[str, ...] = ()) -> list[Grade]:
    from harness.webhooks.checks import PASS, CheckConfig, run_checks_sync
    from harness.webhooks.report import write_junit

    config = CheckConfig(url=webhook_url, secret=secret, observe_url=f"{adapter}/webhook-events", only=only)
    results = run_checks_sync(config)
    write_junit(results, run_dir / "webhooks-junit.xml")
    return [Grade("webhook conformance", f"{r.id}: {r.title}", "PASS" if r.verdict == PASS else r.verdict, r.required,
                  [default_redactor.redact(f"expected {r.expectation}; observed {r.observed}")])
            for r in results]


def log_hygiene_grade(stack: Any, adapter: str, log_file: Path) -> Grade:
    """Drive one link + sync, then look for the tokens the app was issued (and the client secret) in its log."""
    from fakes.link_browser import LinkBrowser
    from harness.adapters.http import HttpSubject
    from harness.audit.rules import bearer

    stack.reset()
    with HttpSubject(adapter) as subject, httpx.Client(timeout=10.0) as browser_client:
        subject.reset()
        end_user = subject.create_end_user("log.check@example.com", "Log Check")
        result = LinkBrowser(browser_client).complete(subject.start_link(end_user))
        subject.land(result.final_url)
        subject.sync(end_user)
    tokens = {t for e in stack.edge.requests() if (t := bearer(e))}
    secrets = set(tokens)
    if stack.core is not None:
        secrets.add(stack.core.config.client_secret)
    text = log_file.read_text(encoding="utf-8", errors="replace") if log_file.exists() else ""
    leaked = sorted({s for s in secrets if s and s in text})
    name = "log hygiene: no token or secret in the app's log"
    if not tokens:
        return Grade("log hygiene", name, "NOT OBSERVABLE", True, ["the probe flow sent no bearer token through the fake"])
    if leaked:
        return Grade("log hygiene", name, "FAIL", True,
                     [f"{len(leaked)} of {len(secrets)} issued tokens/secrets appear in {log_file} (values not shown)"])
    return Grade("log hygiene", name, "PASS", True, [f"{len(tokens)} issued token(s) searched for in {log_file}: none found"])


# --- report --------------------------------------------------------------------------------------


def render(grades: list[Grade]) -> str:
    lines = ["", "feature › scenario  —  verdict"]
    for g in grades:
        mark = "" if g.required else " (informational)"
        lines.append(f"{g.verdict:<6} {g.feature} › {g.scenario}{mark}")
        if g.verdict not in ("PASS",):
            lines.extend(f"         {e}" for e in g.evidence[:MESSAGE_LINES + 3])
    required = [g for g in grades if g.required and g.verdict != "SKIP"]
    failed = [g for g in required if g.verdict != "PASS"]
    skipped = sum(g.verdict == "SKIP" for g in grades)
    lines.append("")
    lines.append(f"{len(required) - len(failed)}/{len(required)} required passed, {len(failed)} failed, {skipped} skipped (not applicable)")
    lines.append("RESULT: " + ("CONFORMANT" if not failed and required else "NOT CONFORMANT"))
    return "\n".join(lines) + "\n"


def passed(grades: list[Grade]) -> bool:
    required = [g for g in grades if g.required and g.verdict != "SKIP"]
    return bool(required) and all(g.verdict == "PASS" for g in required)


def run(args: argparse.Namespace) -> int:
    if args.selftest:
        from harness.selftest.runner import run_selftest_cli

        return run_selftest_cli(args)
    adapter, secret = validate(args)
    run_dir = Path(args.report_dir).resolve() / time.strftime("%Y%m%d-%H%M%S")
    if args.port:
        check_port_free(args.port, "pick another --port, or leave --port out: check then starts the fake on a free "
                                   "port and prints its URL before it waits for your app")
    with open_fake(args.fake_url, args.port) as stack:
        if args.fake_url:
            save_existing_journal(stack, args.fake_url, run_dir)
        client_id = stack.core.config.client_id if stack.core is not None else (os.environ.get("FISKIL_CLIENT_ID") or _defaults()[0])
        print_configuration(stack.base_url, client_id, adapter)
        wait_for_adapter(adapter, args.wait)
        paths = scenario_paths(with_webhooks=bool(args.webhook_url))
        env = {WEBHOOK_URL_ENV: args.webhook_url or "", WEBHOOK_SECRET_ENV: secret or ""}
        print(f"running {', '.join(paths)} against {adapter} (reports: {run_dir})", flush=True)
        code = run_scenarios(pytest_command(adapter, stack.base_url, run_dir, paths, args.keyword), run_dir, env)
        if code == 5:
            raise UsageError(f"no scenario matched -k {args.keyword!r}; nothing was graded. -k matches test names and "
                             "scenario titles, words joined by _ (e.g. -k pre_selected, -k token_expires), "
                             "combined with and/or/not")
        if code in (2, 3, 4) or not (run_dir / "results.json").exists():
            tail = (run_dir / "pytest.log").read_text(encoding="utf-8", errors="replace").splitlines()[-20:]
            print(default_redactor.redact("\n".join(tail)), file=sys.stderr)
            raise UsageError(f"the scenario run stopped (pytest exit {code}); full log: {run_dir / 'pytest.log'}")
        grades = grades_from_results(run_dir / "results.json")
        if args.webhook_url and secret:
            print("running the webhook conformance checks ...", flush=True)
            grades += webhook_grades(args.webhook_url, secret, adapter, run_dir)
        if args.log_file:
            grades.append(log_hygiene_grade(stack, adapter, Path(args.log_file)))
    report = render(grades)
    print(report, end="")
    (run_dir / "report.txt").write_text(report, encoding="utf-8")
    print(f"JUnit: {run_dir / 'junit.xml'}  Allure results: {run_dir / 'allure-results'}")
    return 0 if passed(grades) else 1
