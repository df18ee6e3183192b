"""One result per scenario, collected on the controller (works under xdist), with live progress.

The worker attaches what a reader needs to each report (`harness_scenario`: feature, scenario,
failing step, evidence); the controller folds the setup/call/teardown reports of a test into one
`ScenarioResult`, prints a progress line when the test is finished, and writes all results as JSON
at the end of the session. The run CLI builds its summary from that file.
"""

from __future__ import annotations

import json
import re
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest

from harness.redaction import default_redactor

ATTRIBUTE = "harness_scenario"
OUTCOME_LABEL = {"passed": "PASS", "failed": "FAIL", "skipped": "SKIP", "xfailed": "XFAIL", "xpassed": "XPASS"}


@dataclass
class ScenarioResult:
    nodeid: str
    feature: str
    scenario: str
    outcome: str = "passed"              # passed | failed | skipped
    duration: float = 0.0
    failed_step: str | None = None
    message: str = ""                    # the expectation and what was observed (assertion text), redacted
    evidence: list[str] = field(default_factory=list)
    skip_reason: str = ""
    phase: str = ""                      # where it failed: setup | call | teardown
    setup_duration: float = 0.0          # target + subject resets: the harness's own per-scenario overhead
    feature_file: str = ""               # the .feature file (or test module): summaries sort by it, not by finish time
    line: int = 0                        # the scenario's line in it


def describe_item(item: Any) -> dict[str, Any]:
    """Feature and scenario names of a pytest-bdd item; the file and test name for a plain test."""
    from pytest_bdd.scenario import scenario_wrapper_template_registry

    template = scenario_wrapper_template_registry.get(getattr(item, "obj", None))
    if template is None:
        return {"feature": item.location[0], "scenario": item.name, "feature_file": item.location[0],
                "line": (item.location[1] or 0) + 1}
    feature = template.feature
    return {"feature": feature.name or feature.rel_filename, "scenario": scenario_name(template, example_of(item)),
            "feature_file": feature.rel_filename, "line": template.line_number}


def example_of(item: Any) -> dict[str, str]:
    """The Examples row a scenario-outline item runs with (empty for a plain scenario)."""
    return dict(getattr(getattr(item, "callspec", None), "params", {}).get("_pytest_bdd_example") or {})


def scenario_name(template: Any, example: dict[str, str]) -> str:
    """The scenario's name as a reader knows it: an outline's name with its example values filled in,
    or followed by them when the name has no placeholder (so every example has its own name)."""
    if not example:
        return template.name
    try:
        name = template.render(example).name
    except Exception:  # a name we cannot render is still better than none
        name = template.name
    if name == template.name:
        name += " (" + ", ".join(f"{key}: {value}" for key, value in example.items()) + ")"
    return name


def failing_step(bdd_context: dict[str, Any] | None) -> str | None:
    if not bdd_context:
        return None
    for step in bdd_context.get("scenario", {}).get("steps", []):
        if step.get("failed"):
            return f"{step.get('keyword', '').strip()} {step.get('name', '')}".strip()
    return None


def clean_assertion(text: str) -> str:
    """The step's own message (expected, observed) without pytest's assertion introspection: the
    `assert ...` explanation after it (object dumps, repeated values) and "Use -v to get more diff"
    (a run has no -v; pytest.log keeps the full traceback)."""
    lines = text.strip().splitlines()
    if not lines:
        return ""
    kept = [re.sub(r"^(?:AssertionError|Failed): ", "", lines[0])]
    for line in lines[1:]:
        if line.startswith("assert "):
            break  # pytest's explanation always starts here and runs to the end
        if not re.search(r"Use -v+ to get more diff", line):
            kept.append(line[2:] if line.startswith("  ") else line)  # pytest indents a message's later lines
    return "\n".join(kept).rstrip()


def skip_reason(text: str) -> str:
    return re.sub(r"^Skipped: ", "", text.strip())


def crash_message(report: Any) -> str:
    """The assertion's own message (expected vs observed), not the whole traceback."""
    longrepr = report.longrepr
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None and getattr(crash, "message", None):
        text = clean_assertion(crash.message)
    elif isinstance(longrepr, tuple) and len(longrepr) == 3:  # skip: (file, line, reason)
        text = skip_reason(str(longrepr[2]))
    else:
        text = str(longrepr or "")
        text = "\n".join(text.strip().splitlines()[-12:])
    # The kit's assertion messages say "expected ..., observed ..." themselves: the class name is noise.
    text = text.removeprefix("AssertionError: ")
    return default_redactor.redact(text)


class ResultsCollector:
    """A pytest plugin object living on the controller."""

    def __init__(self, path: Path | None, progress: IO[str] | None = None, total: int | None = None) -> None:
        self.path = path
        self.progress = progress
        self.results: dict[str, ScenarioResult] = {}
        self.order: list[str] = []
        self.total = total
        self.done = 0
        self.started = time.monotonic()

    def pytest_collection_finish(self, session: Any) -> None:
        self.total = len(session.items)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        self.total = len(ids)  # under xdist the controller collects nothing itself

    def pytest_runtest_logreport(self, report: Any) -> None:
        info = getattr(report, ATTRIBUTE, None) or {}
        result = self.results.get(report.nodeid)
        if result is None:
            result = ScenarioResult(
                nodeid=report.nodeid,
                feature=info.get("feature") or report.location[0],
                scenario=info.get("scenario") or report.nodeid.split("::")[-1],
                feature_file=info.get("feature_file") or report.location[0],
                line=int(info.get("line") or 0),
            )
            self.results[report.nodeid] = result
            self.order.append(report.nodeid)
        result.duration += getattr(report, "duration", 0.0) or 0.0
        if report.when == "call":
            # pytest-bdd resolves step fixtures during the call, so the resets are timed by the plugin
            result.setup_duration = float(info.get("overhead", 0.0))
        if info.get("evidence"):
            result.evidence = list(info["evidence"])
        if report.failed and result.outcome != "failed":
            result.outcome, result.phase = "failed", report.when
            result.message = crash_message(report)
            result.failed_step = info.get("failed_step") or result.failed_step
        elif report.skipped and result.outcome == "passed":
            result.outcome = "xfailed" if hasattr(report, "wasxfail") else "skipped"
            result.skip_reason = crash_message(report)
        if report.when == "teardown":
            self.done += 1
            self._print_progress(result)

    def _print_progress(self, result: ScenarioResult) -> None:
        if self.progress is None:
            return
        total = self.total or "?"
        width = len(str(total))
        line = (
            f"[{self.done:>{width}}/{total}] {OUTCOME_LABEL.get(result.outcome, result.outcome.upper()):<5} "
            f"{result.feature} › {result.scenario} ({result.duration:.1f}s)"
        )
        if result.outcome == "failed" and result.failed_step:
            line += f"\n        failing step: {result.failed_step}"
        if result.outcome in ("skipped", "xfailed") and result.skip_reason:
            line += f"\n        reason: {result.skip_reason.splitlines()[0]}"
        print(line, file=self.progress, flush=True)

    def ordered(self) -> list[ScenarioResult]:
        return [self.results[nodeid] for nodeid in self.order]

    def pytest_sessionfinish(self, session: Any, exitstatus: int | pytest.ExitCode = 0) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "elapsed": time.monotonic() - self.started,
            "total": self.total,
            "interrupted": int(exitstatus) == int(pytest.ExitCode.INTERRUPTED),
            "results": [asdict(r) for r in self.ordered()],
        }
        self.path.write_text(json.dumps(payload, indent=1), encoding="utf-8")


@dataclass
class RunResults:
    """What results.json holds: one result per finished scenario, and how the run ended."""

    results: list[ScenarioResult]
    elapsed: float = 0.0
    total: int | None = None       # scenarios selected; more than len(results) when interrupted
    interrupted: bool = False


def load_run(path: Path) -> RunResults:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    known = set(ScenarioResult.__dataclass_fields__)
    results = [ScenarioResult(**{k: v for k, v in row.items() if k in known}) for row in data.get("results", [])]
    return RunResults(results, float(data.get("elapsed", 0.0)), data.get("total"), bool(data.get("interrupted")))


def load_results(path: Path) -> tuple[list[ScenarioResult], float]:
    run = load_run(path)
    return run.results, run.elapsed


def progress_stream() -> IO[str]:
    """stderr: the run CLI sends pytest's own stdout to a log and shows only these lines."""
    return sys.stderr
