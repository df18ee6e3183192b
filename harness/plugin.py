"""The fiskil-harness pytest plugin (registered through the `pytest11` entry point).

It gives every xdist worker its own target stack (core + WireMock edge) and subject, resets both
before each scenario, seeds Faker per test, wires webhooks only where a scenario asks for them,
keeps the sandbox target safe, and fixes pytest-bdd's cucumber report under xdist.

The fixtures are the ones docs/architecture.md lists ("pytest plugin fixtures"); steps are written
against those names. Heavy imports (the fake, the subject) happen inside fixtures, so loading the
plugin costs nothing for tests that do not use them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.redaction import Redactor, default_redactor
from harness.reports import allure_results, cucumber, cucumber_xdist
from harness.reports.junit_names import JunitNames
from harness.reports.results import ATTRIBUTE as RESULT_ATTRIBUTE
from harness.reports.results import ResultsCollector, crash_message, describe_item, failing_step, progress_stream
from harness.subjects import SubjectConfig, SubjectSpecError, build_subject, check_subject_spec
from harness.target import (
    DEFAULT_SANDBOX_URL,
    NEEDS_CONTROL_API,
    NEEDS_PERSON,
    HarnessOptions,
    OptionsError,
    ScenarioContext,
    Target,
    resolve_options,
)
from harness.webhooks.signing import secret_forms

log = logging.getLogger("harness.plugin")

#: fixtures that mean "this test drives a target"; the sandbox guard applies to such tests only
TARGET_FIXTURES = {"target", "subject", "fake_stack", "edge", "control", "fiskil_api"}
OPTIONS_KEY = pytest.StashKey[HarnessOptions]()
#: seconds the harness spent resetting state for this test (the bench's "overhead per scenario")
OVERHEAD_KEY = pytest.StashKey[float]()
#: the scenario's ctx, subject and edge, kept on the test item for the failure evidence: pytest-bdd
#: requests them through getfixturevalue, which leaves them out of `item.funcargs`
EVIDENCE_FIXTURES_KEY = pytest.StashKey[dict[str, Any]]()
EVIDENCE_LIMIT = 12
#: libraries whose DEBUG/INFO chatter (connection pools, every HTTP request, step lookups) would bury
#: the kit's and the subject's own log lines in reports; they log warnings and errors only
QUIET_LOGGERS = ("httpcore", "httpx", "hpack", "pytest_bdd", "faker", "asyncio", "urllib3", "selenium", "uvicorn")


# --- options -------------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("fiskil-harness", "Fiskil test harness")
    group.addoption(
        "--target", choices=("fake", "sandbox"), default="fake",
        help="the Fiskil API the scenarios run against (default: fake; sandbox needs "
        "FISKIL_CLIENT_ID and FISKIL_CLIENT_SECRET in the environment)",
    )
    group.addoption("--sandbox-url", default=DEFAULT_SANDBOX_URL, help="base URL of the real Fiskil API (https)")
    group.addoption(
        "--subject", default="reference",
        help="the integration under test: 'reference', 'package.module:factory' or an http(s) adapter URL",
    )
    group.addoption("--fake-url", default=None, help="reuse a running fake (its edge URL) instead of one per worker")
    group.addoption("--harness-results", default=None, help="write per-scenario results as JSON to this path")
    group.addoption("--harness-progress", action="store_true", help="print a line per finished scenario")
    group.addoption(
        "--harness-feature", dest="harness_features", action="append", default=[], metavar="PATH",
        help="only scenarios from this .feature file or folder of features (repeatable)",
    )
    group.addoption(
        "--harness-name", dest="harness_names", action="append", default=[], metavar="TEXT",
        help="only scenarios whose name contains TEXT, case-insensitive (repeatable: any of them)",
    )


def _interrupt_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def pytest_configure(config: pytest.Config) -> None:
    # A terminated run (CI cancelling a job) tears down like Ctrl-C: fixtures reap JVMs and servers.
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _interrupt_on_sigterm)
    try:
        options = resolve_options(
            target=config.getoption("target"),
            subject=config.getoption("subject"),
            fake_url=config.getoption("fake_url"),
            sandbox_url=config.getoption("sandbox_url"),
        )
        check_subject_spec(options.subject)
    except (OptionsError, SubjectSpecError) as exc:
        raise pytest.UsageError(str(exc)) from None
    workers = config.getoption("numprocesses", default=None) if config.pluginmanager.hasplugin("xdist") else None
    if options.fake_url and workers not in (None, 0):
        raise pytest.UsageError(
            "--fake-url shares one running fake, which every worker would reset under the others' feet: "
            "run with -n 0 (fiskil-harness run does so itself)")
    config.stash[OPTIONS_KEY] = options
    if options.client_secret:
        default_redactor.add(options.client_secret)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    results_path = config.getoption("harness_results")
    is_controller = not hasattr(config, "workerinput")
    if is_controller and (results_path or config.getoption("harness_progress")):
        collector = ResultsCollector(
            Path(results_path) if results_path else None,
            progress=progress_stream() if config.getoption("harness_progress") else None,
        )
        config.pluginmanager.register(collector, "fiskil-harness-results")
    if is_controller and getattr(config.option, "xmlpath", None):
        config.pluginmanager.register(JunitNames(config.option.xmlpath), "fiskil-harness-junit-names")


class RedactingFormatter(logging.Formatter):
    """Wraps a log formatter so the captured log in reports (Allure, JUnit, pytest.log) holds no secret."""

    def __init__(self, inner: logging.Formatter | None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        return default_redactor.redact(self.inner.format(record))


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    cucumber.install(config)  # every scenario and step in cucumber.json, also skipped ones
    logging_plugin = config.pluginmanager.get_plugin("logging-plugin")
    handler = getattr(logging_plugin, "report_handler", None)
    # Only the report copy is redacted: `caplog` keeps the raw text, so steps can still find a leak.
    if handler is not None and not isinstance(handler.formatter, RedactingFormatter):
        handler.setFormatter(RedactingFormatter(handler.formatter))


# --- sandbox guard -------------------------------------------------------------------------------


def scenario_feature_file(item: pytest.Item) -> Path | None:
    """The .feature file a pytest-bdd scenario item came from (None for a plain test)."""
    from pytest_bdd.scenario import scenario_wrapper_template_registry

    template = scenario_wrapper_template_registry.get(getattr(item, "obj", None))
    return Path(template.feature.filename).resolve() if template is not None else None


def _select_names(config: pytest.Config, items: list[pytest.Item]) -> None:
    """--harness-name TEXT: keep the scenarios whose readable name (outline values filled in) contains TEXT."""
    wanted = [text.casefold() for text in config.getoption("harness_names") if text]
    if not wanted:
        return
    selected, deselected = [], []
    for item in items:
        name = describe_item(item)["scenario"].casefold()
        (selected if any(text in name for text in wanted) else deselected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


def _select_features(config: pytest.Config, items: list[pytest.Item]) -> None:
    """--feature PATH: keep the scenarios whose feature file is PATH or lies under it."""
    wanted = [Path(path).resolve() for path in config.getoption("harness_features")]
    if not wanted:
        return
    selected, deselected = [], []
    for item in items:
        feature = scenario_feature_file(item)
        keep = feature is not None and any(feature == path or path in feature.parents for path in wanted)
        (selected if keep else deselected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


def title_keywords(title: str) -> set[str]:
    """What `-k` may match in a scenario's title: the title itself and its words joined by `_`
    ("pre-selected" -> "pre_selected"), so `-k pre_selected` or `-k pre-selected` finds the scenario
    even though pytest-bdd's test name drops the hyphen."""
    joined = re.sub(r"[^0-9a-z]+", "_", title.lower()).strip("_")
    return {title, joined} - {""}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Scenario titles become -k keywords (before pytest's own -k deselection runs), then --harness-feature."""
    for item in items:
        if scenario_feature_file(item) is not None:
            item.extra_keyword_matches.update(title_keywords(describe_item(item)["scenario"]))
    _select_features(config, items)
    _select_names(config, items)
    options = config.stash.get(OPTIONS_KEY, None)
    if options is None or options.is_fake:
        return
    for item in items:
        is_scenario = "_pytest_bdd_example" in getattr(item, "fixturenames", ())  # every pytest-bdd scenario
        if not (is_scenario or TARGET_FIXTURES.intersection(getattr(item, "fixturenames", ()))):
            continue
        if item.get_closest_marker("needs_person"):
            item.add_marker(pytest.mark.skip(reason=NEEDS_PERSON))
        elif item.get_closest_marker("fake_only") or not item.get_closest_marker("sandbox_safe"):
            item.add_marker(pytest.mark.skip(reason=NEEDS_CONTROL_API))


# --- report plumbing (cucumber under xdist, per-scenario results) ---------------------------------


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    # tryfirst makes this wrapper the outermost, so pytest-bdd's own makereport has already run.
    cucumber_xdist.attach_context(report, item)
    if report.when == "setup" and not report.passed:
        allure_results.record_unrun_scenario(item, report, crash_message(report))
    info = describe_item(item)
    info["overhead"] = item.stash.get(OVERHEAD_KEY, 0.0)
    if report.failed:
        bdd = getattr(report, cucumber_xdist.ATTRIBUTE, None)
        info["failed_step"] = failing_step(bdd)
        ctx = _funcarg(item, "ctx")
        evidence = list(getattr(ctx, "evidence", []) or []) if ctx is not None else []
        evidence.extend(_failure_evidence(item))
        info["evidence"] = [default_redactor.redact(text) for text in evidence[:EVIDENCE_LIMIT]]
    setattr(report, RESULT_ATTRIBUTE, info)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # Controller side of the cucumber fix: runs before pytest-bdd's cucumber/gherkin reporters.
    cucumber_xdist.restore_context(report)


@pytest.hookimpl(trylast=True)
def pytest_bdd_before_step_call(request: pytest.FixtureRequest, step: Any, step_func: Any) -> None:
    # trylast: after allure-pytest-bdd listed every argument, fixtures included, as step parameters
    allure_results.keep_gherkin_parameters(request.config, step, step_func)


def _funcarg(item: pytest.Item, name: str) -> Any:
    value = getattr(item, "funcargs", {}).get(name)
    return value if value is not None else item.stash.get(EVIDENCE_FIXTURES_KEY, {}).get(name)


def _keep_for_evidence(request: pytest.FixtureRequest, name: str, value: Any) -> None:
    request.node.stash.setdefault(EVIDENCE_FIXTURES_KEY, {})[name] = value


def _failure_evidence(item: pytest.Item) -> list[str]:
    """What a QA engineer needs next to a failed assertion: the subject's view and the traffic."""
    evidence: list[str] = []
    ctx, subject, edge = _funcarg(item, "ctx"), _funcarg(item, "subject"), _funcarg(item, "edge")
    end_user_id = ctx.get("end_user_id") if ctx is not None else None
    if subject is not None and end_user_id:
        with contextlib.suppress(Exception):
            state = subject.snapshot(end_user_id)
            evidence.append(f"subject stored: {state}")
    if edge is not None:
        with contextlib.suppress(Exception):
            from steps.traffic import describe_journal

            # the newest requests: the summary shows 12 lines of each piece of evidence
            evidence.append("edge journal (subject traffic):\n" + describe_journal(edge.requests(), limit=11))
    return evidence


# --- session fixtures (one per xdist worker) -------------------------------------------------------


@pytest.fixture(scope="session")
def harness_options(pytestconfig: pytest.Config) -> HarnessOptions:
    return pytestconfig.stash[OPTIONS_KEY]


@pytest.fixture(scope="session")
def http_client() -> Iterator[httpx.Client]:
    """The worker's one shared client (a new client per call costs 25-31 ms, measured)."""
    with httpx.Client(timeout=httpx.Timeout(10.0), follow_redirects=False) as client:
        yield client


@pytest.fixture(scope="session")
def redactor(harness_options: HarnessOptions) -> Redactor:
    default_redactor.add(harness_options.client_secret)
    return default_redactor


def _credentials(options: HarnessOptions) -> tuple[str, str]:
    if options.client_id and options.client_secret:
        return options.client_id, options.client_secret
    from fakes.core.app import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

    return DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET


def open_stack(options: HarnessOptions, client: httpx.Client | None = None) -> contextlib.AbstractContextManager[Any]:
    """The worker's FakeStack: its own core + edge, attached to --fake-url, or proxying the sandbox."""
    from fakes.stack import FakeStack

    if options.fake_url:
        return FakeStack.attach(options.fake_url, client=client)
    if not options.is_fake:
        return FakeStack(target_url=options.sandbox_url, client=client)
    from fakes.core.app import CoreConfig

    client_id, client_secret = _credentials(options)
    return FakeStack(CoreConfig(client_id=client_id, client_secret=client_secret), client=client)


@pytest.fixture(scope="session")
def fake_stack(harness_options: HarnessOptions, redactor: Redactor, http_client: httpx.Client) -> Iterator[Any]:
    with open_stack(harness_options, http_client) as stack:
        if stack.core is not None:
            redactor.add(stack.core.config.client_secret)
        yield stack


@pytest.fixture(scope="session")
def _session_target(fake_stack: Any, harness_options: HarnessOptions, redactor: Redactor) -> Target:
    client_id, client_secret = _credentials(harness_options)
    redactor.add(client_secret)
    return Target(
        base_url=fake_stack.base_url,
        is_fake=harness_options.is_fake,
        edge=fake_stack.edge,
        control=fake_stack.control if harness_options.is_fake else None,
        client_id=client_id,
        client_secret=client_secret,
        name=harness_options.target,
        core=fake_stack.core,
        sandbox_end_user_id=harness_options.sandbox_end_user_id,
    )


@pytest.fixture(scope="session")
def _session_subject(
    harness_options: HarnessOptions, _session_target: Target, tmp_path_factory: pytest.TempPathFactory, redactor: Redactor
) -> Iterator[Any]:
    config = SubjectConfig(
        api_url=_session_target.base_url,
        client_id=_session_target.client_id,
        client_secret=_session_target.client_secret,
        work_dir=tmp_path_factory.mktemp("subject"),
    )
    redactor.add_all(secret_forms(config.webhook_secret))  # also the forms a receiver may echo
    try:
        subject = build_subject(harness_options.subject, config)
    except SubjectSpecError as exc:
        pytest.exit(str(exc), returncode=4)
    subject.harness_config = config  # the kit reads the webhook secret from here
    try:
        yield subject
    finally:
        subject.close()


# --- per-scenario fixtures -----------------------------------------------------------------------


def _install_schema_hook(core: Any) -> None:
    """The contract layer's response check, on every scenario served by an in-process core."""
    if core is None:
        return
    from harness.contract import install_schema_hook

    install_schema_hook(core)  # idempotent


def _add_overhead(request: pytest.FixtureRequest, started: float) -> None:
    node = request.node
    node.stash[OVERHEAD_KEY] = node.stash.get(OVERHEAD_KEY, 0.0) + (time.perf_counter() - started)


@pytest.fixture
def target(_session_target: Target, fake_stack: Any, request: pytest.FixtureRequest) -> Iterator[Target]:
    """The target with its state reset: edge faults and journal cleared, core state fresh."""
    started = time.perf_counter()
    if _session_target.is_fake:
        fake_stack.reset()
        _install_schema_hook(fake_stack.core)
    else:
        fake_stack.edge.reset()
    _add_overhead(request, started)
    yield _session_target


@pytest.fixture
def edge(target: Target, request: pytest.FixtureRequest) -> Any:
    _keep_for_evidence(request, "edge", target.edge)
    return target.edge


@pytest.fixture
def control(target: Target) -> Any:
    if target.control is None:
        pytest.skip(NEEDS_CONTROL_API)
    return target.control


@pytest.fixture
def fiskil_api(target: Target, http_client: httpx.Client, redactor: Redactor) -> Iterator[Any]:
    from harness.fiskil_client import FiskilClient

    client = FiskilClient(http_client, target.base_url, target.client_id, target.client_secret, redactor=redactor)
    yield client
    if not target.is_fake:  # the sandbox keeps what we create: tidy up (go-live checklist: delete unused end users)
        for end_user_id in client.created_end_users:
            with contextlib.suppress(Exception):
                client.delete_end_user(end_user_id)


@pytest.fixture
def link_browser(http_client: httpx.Client) -> Any:
    from fakes.link_browser import LinkBrowser

    return LinkBrowser(http_client)


@pytest.fixture
def ctx(request: pytest.FixtureRequest) -> ScenarioContext:
    context = ScenarioContext()
    _keep_for_evidence(request, "ctx", context)
    return context


@pytest.fixture
def subject(_session_subject: Any, target: Target, ctx: ScenarioContext, request: pytest.FixtureRequest) -> Iterator[Any]:
    """The worker's subject, reset; end users it creates on the sandbox are deleted afterwards."""
    started = time.perf_counter()
    ctx.subject_was_reset = bool(_session_subject.reset())
    ctx.created_end_users = []
    _keep_for_evidence(request, "subject", _session_subject)
    # No webhook target is registered here: the fake delivers its own webhooks only after a scenario
    # says so ("Fiskil sends its webhooks to the integration"); elsewhere a webhook-triggered
    # background sync would race the journal assertions of the flow under test.
    _add_overhead(request, started)
    yield _session_subject
    if not target.is_fake and ctx.created_end_users:
        _delete_end_users(request, target, ctx.created_end_users)


def _delete_end_users(request: pytest.FixtureRequest, target: Target, end_user_ids: list[str]) -> None:
    from harness.fiskil_client import FiskilClient

    http = request.getfixturevalue("http_client")
    client = FiskilClient(http, target.base_url, target.client_id, target.client_secret)
    for end_user_id in end_user_ids:
        try:
            client.delete_end_user(end_user_id)
        except Exception as exc:  # clean-up must not hide the scenario's own result
            log.warning("could not delete sandbox end user %s: %s", end_user_id, default_redactor.redact(str(exc)))


@pytest.fixture(autouse=True)
def faker_seed(request: pytest.FixtureRequest) -> int:
    """Per-test Faker seed from the node id (crc32: stable across processes, unlike hash())."""
    return zlib.crc32(request.node.nodeid.encode("utf-8"))


def worker_id() -> str:
    """`gw0`… under xdist, `main` otherwise (the `worker_id` fixture only exists with xdist loaded)."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


__all__ = ["HarnessOptions", "Target", "ScenarioContext", "worker_id"]
