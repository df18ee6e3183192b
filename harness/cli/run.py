"""`fiskil-harness run`: the BDD suites in parallel, with progress, a per-feature summary and reports.

It checks everything it can up front (options, paths, tags, the report folder, Java, the remote
API), then runs pytest in a child process group (so Ctrl-C, SIGINT/SIGTERM sent to this process
alone, crashes and xdist workers stay contained: see harness/cli/processes.py), shows a line per
finished scenario while it runs, then prints the summary and writes `<report-dir>/<run-id>/` with
junit.xml, cucumber.json, allure-results/ (+ allure-report/index.html when Java is present),
results.json, summary.md and pytest.log, and points `<report-dir>/latest` at it. An interrupted run
(exit 130) still gets a partial summary and the latest link.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.cli import UsageError, require_wiremock_jar
from harness.cli.processes import ProcessGroup, forwarded_signals
from harness.cli.run_checks import check_java, check_report_dir, check_sandbox_api, sandbox_credentials
from harness.cli.tags import tags_to_markexpr
from harness.reports.allure import render_html
from harness.reports.results import load_run
from harness.reports.summary import plural, render_markdown, render_terminal, skip_reasons, summarise
from harness.subjects import SubjectSpecError, check_subject_spec, subject_form
from harness.target import SANDBOX_END_USER_ENV, DEFAULT_SANDBOX_URL, OptionsError, reachability_error, resolve_options

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PATHS = [str(PROJECT_ROOT / "features")]
# pytest exit codes (https://docs.pytest.org/en/stable/reference/exit-codes.html)
PYTEST_OK, PYTEST_FAILED, PYTEST_INTERRUPTED, PYTEST_INTERNAL, PYTEST_USAGE, PYTEST_NO_TESTS = range(6)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "run",
        help="run the BDD suites against a target and a subject, with reports",
        description="Run the feature suites (default: features/) in parallel and write reports.",
    )
    parser.add_argument("paths", nargs="*",
                        help=".feature files, folders of them, or test modules (default: all of features/)")
    parser.add_argument("--name", dest="names", action="append", default=[], metavar="TEXT",
                        help="only scenarios whose name contains TEXT (case-insensitive; repeat for any of several)")
    parser.add_argument("--tags", help="Gherkin tag expression, e.g. '@link_and_sync and not @slow'")
    parser.add_argument("-k", dest="keyword",
                        help="pytest's -k expression over test function ids (to select by scenario name use --name)")
    parser.add_argument("-m", dest="markexpr", help="pytest marker expression, e.g. 'network and not slow'")
    parser.add_argument("-n", dest="workers", default="auto", help="parallel workers: a number or 'auto' (default); 0 runs in-process")
    parser.add_argument("--target", default="fake", help="fake (default) or sandbox")
    parser.add_argument("--subject", default="reference", help="reference, package.module:factory or an http(s) adapter URL")
    parser.add_argument("--fake-url", help="reuse a running fake (`fiskil-harness fake`) instead of one per worker; "
                        "it is reset before each scenario, so its state and journal are lost")
    parser.add_argument("--sandbox-url", default=DEFAULT_SANDBOX_URL, help="the real Fiskil API for --target sandbox")
    parser.add_argument("--report-dir", default="reports", help="where reports/<run-id>/ is written (default: reports)")
    parser.add_argument("--no-html", action="store_true", help="skip rendering the Allure HTML report")
    return parser


@dataclass
class RunPlan:
    run_id: str
    run_dir: Path
    command: list[str]
    selection: list[str]   # paths, filters and target/subject options: what decides which scenarios run
    workers: str


def split_paths(given: list[str]) -> tuple[list[str], list[str]]:
    """Split the positional paths into pytest paths and feature selections.

    Scenarios are bound to pytest by the test modules in features/, so a .feature file (or a folder
    holding some) cannot be handed to pytest itself: it becomes a `--harness-feature` filter on features/.
    """
    paths: list[str] = []
    features: list[str] = []
    for path in given:
        file_part = Path(path.split("::")[0])
        if not file_part.exists():
            raise UsageError(f"path {path!r} does not exist; give a .feature file, a folder of features or a test module")
        is_test_module = file_part.is_file() and file_part.suffix == ".py"
        holds_tests = file_part.is_dir() and any(file_part.rglob("test_*.py"))
        holds_features = file_part.is_dir() and any(file_part.rglob("*.feature"))
        if file_part.suffix == ".feature" or (holds_features and not any(file_part.glob("test_*.py"))):
            features.append(str(file_part.resolve()))
        elif is_test_module or holds_tests:
            paths.append(path)
        else:
            raise UsageError(f"{path!r} is not a .feature file or folder of features (nor a test module)")
    if features and not paths:
        paths = list(DEFAULT_PATHS)
    return paths or list(DEFAULT_PATHS), features


def parse_workers(value: str) -> str:
    value = str(value).strip()
    if value == "auto" or (value.isdigit() and int(value) >= 0):
        return value
    raise UsageError(f"-n must be a number of workers (0 or more) or 'auto', got {value!r}")


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


def plan_run(args: argparse.Namespace, run_id: str | None = None) -> RunPlan:
    """Check every input and build the pytest command; raises UsageError saying what to fix."""
    try:
        resolve_options(args.target, args.subject, args.fake_url, args.sandbox_url)
        check_subject_spec(args.subject)
    except (OptionsError, SubjectSpecError) as exc:
        raise UsageError(str(exc)) from None
    paths, features = split_paths(args.paths)
    workers = parse_workers(args.workers)
    markexprs = [expr for expr in (args.markexpr, tags_to_markexpr(args.tags) if args.tags is not None else None) if expr]

    if args.fake_url and workers != "0":
        # One shared fake cannot serve parallel workers: each resets it before every scenario.
        workers = "0"
    selection = [*paths, "--target", args.target, "--subject", args.subject, "--sandbox-url", args.sandbox_url]
    selection += [f"--harness-feature={feature}" for feature in features]
    names = getattr(args, "names", None) or []
    if any(not name.strip() for name in names):
        raise UsageError("--name needs some text of a scenario's name (an empty --name would select everything)")
    selection += [f"--harness-name={name}" for name in names]
    if args.fake_url:
        selection += ["--fake-url", args.fake_url]
    if args.keyword:
        selection += ["-k", args.keyword]
    if markexprs:
        selection += ["-m", " and ".join(f"({expr})" for expr in markexprs)]

    run_id = run_id or new_run_id()
    run_dir = Path(args.report_dir).resolve() / run_id
    command = [
        sys.executable, "-m", "pytest", *selection,
        "-q", "--tb=short",
        f"--junitxml={run_dir / 'junit.xml'}",
        f"--cucumberjson={run_dir / 'cucumber.json'}",
        f"--alluredir={run_dir / 'allure-results'}",
        f"--harness-results={run_dir / 'results.json'}",
        "--harness-progress",
    ]
    command += ["-p", "no:xdist"] if workers == "0" else ["-n", workers]
    return RunPlan(run_id, run_dir, command, selection, workers)


NO_MATCH = "no scenario matched the paths, --name, --tags, -k and -m given"
_COLLECTED = re.compile(r"^(\d+)(?:/\d+)? tests? collected", re.M)


def preflight(plan: RunPlan) -> int:
    """Collect serially with the run's selection before starting anything: a bad -k/-m/--tags or
    option gets pytest's own one-line explanation (under xdist it surfaces as an internal error),
    and a selection matching nothing is reported before a JVM starts. Returns the scenario count."""
    command = [sys.executable, "-m", "pytest", *plan.selection, "--collect-only", "-q",
               "-p", "no:xdist", "-p", "no:cacheprovider"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    output = done.stdout + done.stderr
    if done.returncode == PYTEST_NO_TESTS:
        raise UsageError(NO_MATCH)
    if done.returncode != PYTEST_OK:
        errors = [line for line in output.splitlines() if line.startswith(("ERROR", "E ")) or "Error" in line]
        hint = ""
        if "-k" in plan.selection and any("-k" in line or "Wrong expression" in line for line in errors):
            hint = " (-k is pytest's expression over test function ids; to select by scenario name use --name TEXT)"
        raise UsageError("pytest refused the selection: " + (" / ".join(errors[-3:]) or output.strip()[-800:]) + hint)
    match = _COLLECTED.search(output)
    return int(match.group(1)) if match else 0


def check_reachable(args: argparse.Namespace) -> None:
    """The remote parts a run depends on must answer before any scenario starts."""
    remote = [("the adapter of --subject", args.subject)] if subject_form(args.subject) == "http" else []
    if args.fake_url:
        remote.append(("the fake of --fake-url", args.fake_url))
    if args.target == "sandbox":
        remote.append(("the Fiskil API of --sandbox-url", args.sandbox_url))
    for what, url in remote:
        error = reachability_error(what, url)
        if error:
            raise UsageError(error)
    if args.target == "sandbox":
        client_id, client_secret, end_user_id = sandbox_credentials()
        check_sandbox_api(args.sandbox_url, client_id, client_secret, end_user_id)


def point_latest(report_dir: Path, run_dir: Path) -> Path:
    """`<report-dir>/latest` → this run (a relative symlink, or a text file where links are refused)."""
    latest = report_dir / "latest"
    if latest.is_symlink() or latest.is_file():
        latest.unlink()
    try:
        latest.symlink_to(run_dir.name, target_is_directory=True)
    except OSError:
        latest.write_text(run_dir.name + "\n", encoding="utf-8")
    return latest


def run_pytest(plan: RunPlan) -> tuple[int, bool]:
    """Progress lines (stderr of the child) go to the terminal; pytest's own output to pytest.log.

    Returns pytest's exit code and whether the run was killed at once (second interrupt)."""
    plan.run_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONUNBUFFERED="1", FISKIL_HARNESS_RUN_ID=plan.run_id)
    with (plan.run_dir / "pytest.log").open("w", encoding="utf-8") as log:
        with forwarded_signals(ProcessGroup(plan.command, stdout=log, env=env)) as group:
            code = group.wait()
            return (PYTEST_INTERRUPTED if group.interrupts and code != PYTEST_OK else code), group.killed


@contextmanager
def interrupt_on_signals() -> Iterator[None]:
    """Outside the pytest run (checks, collection, HTML), SIGINT and SIGTERM stop the CLI like Ctrl-C,
    so `subprocess.run` reaps its child on the way out; also when SIGINT was ignored at start (a
    background job of a non-interactive shell), since a supervisor sending it means stop."""
    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = {signum: signal.signal(signum, handler) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def start_notes(args: argparse.Namespace, plan: RunPlan) -> list[str]:
    """What the reader should know before the run starts: what will be skipped, what will be lost."""
    notes = []
    if args.target == "sandbox" and not os.environ.get(SANDBOX_END_USER_ENV):
        notes.append(f"{SANDBOX_END_USER_ENV} is not set, so the scenarios that need a consented end user "
                     "will be skipped (completing a real Link flow needs a person)")
    if args.fake_url:
        notes.append(f"resets the fake at {args.fake_url} before each scenario: its state and journal will be lost")
    if plan.workers != args.workers:
        notes.append("--fake-url shares one fake, so scenarios run one at a time (-n 0)")
    return notes


def needs_edge(args: argparse.Namespace) -> bool:
    """Every run starts a WireMock edge (in front of the fake or the sandbox) unless it attaches to one."""
    return not args.fake_url


def run(args: argparse.Namespace) -> int:
    with interrupt_on_signals():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    plan = plan_run(args)
    check_report_dir(args.report_dir)
    check_java(needs_edge(args))
    check_reachable(args)
    if not args.fake_url:  # the workers start WireMock edges (the fake's, or one in front of the sandbox)
        require_wiremock_jar()
    count = preflight(plan)
    for note in start_notes(args, plan):
        print(f"note: {note}")
    faults = os.environ.get("REFERENCE_FAULTS", "").strip() if args.subject == "reference" else ""
    subject = f"{args.subject} (seeded faults: {faults})" if faults else args.subject
    print(f"fiskil-harness run {plan.run_id}: {plural(count, 'scenario')}, target={args.target} subject={subject} "
          f"workers={plan.workers}")
    print(f"reports: {plan.run_dir}", flush=True)
    started = time.monotonic()
    code, killed = run_pytest(plan)
    elapsed = time.monotonic() - started
    log_path = plan.run_dir / "pytest.log"

    if killed:
        point_latest(plan.run_dir.parent, plan.run_dir)
        print(f"fiskil-harness run: stopped at once; no summary (partial reports in {plan.run_dir})", file=sys.stderr)
        return 130
    if code == PYTEST_INTERRUPTED and not (plan.run_dir / "results.json").exists():
        point_latest(plan.run_dir.parent, plan.run_dir)
        print(f"fiskil-harness run: interrupted before any result was written; log: {log_path}", file=sys.stderr)
        return 130
    if code in (PYTEST_USAGE, PYTEST_INTERNAL) or not (plan.run_dir / "results.json").exists():
        tail = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-25:]
        print("\n".join(tail), file=sys.stderr)
        if code == PYTEST_USAGE:
            raise UsageError("pytest rejected the options (see above)")
        print(f"fiskil-harness run: pytest stopped with exit code {code}; full log: {log_path}", file=sys.stderr)
        point_latest(plan.run_dir.parent, plan.run_dir)
        return code or 1

    outcome = load_run(plan.run_dir / "results.json")
    interrupted = code == PYTEST_INTERRUPTED or outcome.interrupted
    summaries = summarise(outcome.results)
    details = dict(skipped=skip_reasons(outcome.results), interrupted=interrupted, total=outcome.total or count)
    print(render_terminal(summaries, elapsed=elapsed, **details), end="")
    (plan.run_dir / "summary.md").write_text(
        render_markdown(summaries, run_id=plan.run_id, elapsed=elapsed, **details), encoding="utf-8")
    latest = point_latest(plan.run_dir.parent, plan.run_dir)
    if interrupted:
        print("Allure HTML not rendered: the run was interrupted (allure-results/ holds what finished)")
    elif not args.no_html:
        _, note = render_html(plan.run_dir / "allure-results", plan.run_dir / "allure-report")
        print(note)
    print(f"summary: {plan.run_dir / 'summary.md'}  (latest run: {latest})")

    if interrupted:
        return 130
    if code == PYTEST_NO_TESTS:
        raise UsageError(NO_MATCH)
    return 0 if code == PYTEST_OK else 1
