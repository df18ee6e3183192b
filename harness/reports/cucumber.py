"""cucumber.json with every scenario and every step, in Cucumber's own terms.

pytest-bdd 9.0.1's writer reports only scenarios whose body ran, marks a scenario skipped at run
time as passed (with only the steps that started), and marks the steps after a failing one as
failed although they never ran. This writer replaces it (same `--cucumberjson` option) and builds
each scenario from the steps as planned (carried by `cucumber_xdist`, so it works under xdist):

- a step that ran and passed: passed; the failing step: failed, with the error;
- the step that skipped the scenario: skipped, with the reason; every step after a failed or
  skipped one: skipped (it never ran);
- a scenario skipped or broken before its first step (a tag skipped on the sandbox target, a
  set-up error): every step skipped; the reason on the first step, a set-up error as a failed
  `before` hook.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from harness.redaction import default_redactor
from harness.reports.cucumber_xdist import ATTRIBUTE
from harness.reports.results import crash_message

SETUP_HOOK = "fiskil-harness set-up (fixtures)"
TEARDOWN_HOOK = "fiskil-harness teardown (fixtures)"


def _ns(seconds: float) -> int:
    return math.floor((10**9) * (seconds or 0.0))


def _result(status: str, seconds: float = 0.0, message: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"status": status, "duration": _ns(seconds)}
    if message:
        result["error_message"] = default_redactor.redact(message)
    return result


def _longrepr(report: Any) -> str:
    return str(getattr(report, "longreprtext", "") or report.longrepr or "")


def step_results(planned: list[dict[str, Any]], ran: list[dict[str, Any]], report: Any) -> list[dict[str, Any]]:
    """One Cucumber result per planned step, from pytest-bdd's reports of the steps that started."""
    results: list[dict[str, Any]] = []
    stopped = report.when != "call"          # nothing ran when set-up skipped or failed
    reason = crash_message(report) if report.skipped else ""
    first_skip_noted = False
    for index, _step in enumerate(planned):
        started = ran[index] if index < len(ran) and not stopped else None
        if started is None:
            note = reason if (report.skipped and not first_skip_noted) else None
            first_skip_noted = first_skip_noted or bool(note)
            results.append(_result("skipped", message=note))
        elif started.get("failed"):
            results.append(_result("failed", started.get("duration", 0.0), _longrepr(report) or "failed"))
            stopped = True
        elif report.skipped and index == len(ran) - 1:
            results.append(_result("skipped", started.get("duration", 0.0), reason))
            first_skip_noted = stopped = True
        else:
            results.append(_result("passed", started.get("duration", 0.0)))
    failed_outside_steps = report.when == "call" and report.failed and not any(r["status"] == "failed" for r in results)
    if failed_outside_steps and len(ran) < len(planned):
        # the step after the last one that started never began: its definition is missing or broke
        results[len(ran)] = _result("failed", message=_longrepr(report) or "failed")
    return results


def _tags(item: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"name": tag, "line": item["line_number"] - 1} for tag in item.get("tags", [])]


def _feature(feature: dict[str, Any]) -> dict[str, Any]:
    return {
        "keyword": feature["keyword"],
        "uri": feature["rel_filename"],
        "name": feature["name"] or feature["rel_filename"],
        "id": feature["rel_filename"].lower().replace(" ", "-"),
        "line": feature["line_number"],
        "description": feature["description"],
        "language": feature["language"],
        "tags": _tags(feature),
        "elements": [],
    }


class CucumberReport:
    """A pytest plugin object on the controller; writes the file at the end of the session."""

    def __init__(self, path: str | Path) -> None:
        self.logfile = str(Path(path).expanduser().resolve())
        self.features: dict[str, dict[str, Any]] = {}
        self.elements: dict[str, dict[str, Any]] = {}

    def pytest_runtest_logreport(self, report: Any) -> None:
        data = getattr(report, ATTRIBUTE, None)
        if not isinstance(data, dict) or not data.get("planned"):
            return  # not a pytest-bdd scenario
        if report.when == "call" or (report.when == "setup" and not report.passed):
            self._add(report, data)
        elif report.when == "teardown" and report.failed and report.nodeid in self.elements:
            self.elements[report.nodeid]["after"] = [
                {"match": {"location": TEARDOWN_HOOK}, "result": _result("failed", report.duration, _longrepr(report))}
            ]

    def _add(self, report: Any, data: dict[str, Any]) -> None:
        planned = data["planned"]
        ran = (data.get("scenario") or {}).get("steps", [])
        results = step_results(planned["steps"], ran, report)
        element: dict[str, Any] = {
            "keyword": planned["keyword"],
            "id": data.get("name") or report.nodeid.split("::")[-1],
            "name": planned["name"],
            "line": planned["line_number"],
            "description": planned["description"],
            "tags": _tags(planned),
            "type": "scenario",
            "steps": [
                {"keyword": step["keyword"], "name": step["name"], "line": step["line_number"],
                 "match": {"location": ""}, "result": result}
                for step, result in zip(planned["steps"], results)
            ],
        }
        if report.when == "setup" and report.failed:
            element["before"] = [{"match": {"location": SETUP_HOOK}, "result": _result("failed", report.duration, _longrepr(report))}]
        elif report.when == "call" and report.failed and not any(r["status"] == "failed" for r in results):
            # the scenario failed outside its steps (a scenario hook): say so rather than show it green
            element["after"] = [{"match": {"location": TEARDOWN_HOOK}, "result": _result("failed", 0.0, _longrepr(report))}]
        feature = planned["feature"]
        self.features.setdefault(feature["filename"], _feature(feature))["elements"].append(element)
        self.elements[report.nodeid] = element

    def pytest_sessionfinish(self) -> None:
        """Features by file, scenarios by line: the same suite gives the same file whatever finished first."""
        features = sorted(self.features.values(), key=lambda f: f["uri"])
        for feature in features:
            feature["elements"].sort(key=lambda e: (e["line"], e["name"]))
        Path(self.logfile).parent.mkdir(parents=True, exist_ok=True)
        Path(self.logfile).write_text(json.dumps(features), encoding="utf-8")


def install(config: Any) -> None:
    """Swap pytest-bdd's cucumber writer (registered for --cucumberjson) for this one."""
    theirs = getattr(config, "_bddcucumberjson", None)
    if theirs is None or isinstance(theirs, CucumberReport):
        return
    ours = CucumberReport(theirs.logfile)
    config.pluginmanager.unregister(theirs)
    config.pluginmanager.register(ours, "fiskil-harness-cucumber")
    config._bddcucumberjson = ours  # pytest-bdd's unconfigure unregisters whatever is here
