"""Keep pytest-bdd's scenario report alive across the xdist boundary, with the steps it planned.

pytest-bdd 9.0.1 keeps each report's scenario context in a per-process registry keyed by the
report object (`reporting.test_report_context_registry`). Under xdist the controller receives a
*copy* of the worker's report, finds nothing in its registry and writes `[]` to cucumber.json (and
the gherkin terminal reporter stays silent). The fix (a regression of pytest-bdd 9.0.1 under
xdist): on the worker, copy the context onto the report as a plain serialisable attribute; on the
controller, put it back into the registry before pytest-bdd's own reporters read it.

pytest-bdd's context holds only the steps that started, and nothing at all for a scenario skipped
before its first step (a tag skipped on the sandbox target). The attribute therefore also carries
the scenario as planned (every step, from the feature file), so the kit's cucumber report
(`harness.reports.cucumber`) can list each scenario with every step.
"""

from __future__ import annotations

from typing import Any

from pytest_bdd import reporting

#: the report attribute that carries the serialised context from worker to controller
ATTRIBUTE = "harness_bdd_context"


def rendered_scenario(item: Any) -> Any | None:
    """The pytest-bdd Scenario an item runs (an outline rendered with its example), or None."""
    known = reporting.scenario_reports_registry.get(item)
    if known is not None:
        return known.scenario
    from pytest_bdd.scenario import scenario_wrapper_template_registry

    from harness.reports.results import example_of

    template = scenario_wrapper_template_registry.get(getattr(item, "obj", None))
    if template is None:
        return None
    try:
        return template.render(example_of(item))
    except Exception:  # an unrenderable outline is reported by pytest-bdd itself
        return None


def planned_scenario(item: Any) -> dict[str, Any] | None:
    """The scenario as written: pytest-bdd's serialised shape, with every step and no results."""
    scenario = rendered_scenario(item)
    if scenario is None:
        return None
    planned = dict(reporting.ScenarioReport(scenario).serialize())
    planned["steps"] = [
        {"keyword": step.keyword, "name": step.name, "line_number": step.line_number, "type": step.type}
        for step in scenario.steps
    ]
    return planned


def attach_context(report: Any, item: Any = None) -> None:
    """Worker side (after pytest-bdd's makereport ran): copy the context onto the report."""
    context = reporting.test_report_context_registry.get(report)
    data: dict[str, Any] = {"scenario": context.scenario, "name": context.name} if context is not None else {}
    if item is not None and (report.when == "call" or not report.passed):
        planned = planned_scenario(item)
        if planned is not None:
            data.setdefault("name", item.name)
            data["planned"] = planned
    if data:
        setattr(report, ATTRIBUTE, data)


def restore_context(report: Any) -> None:
    """Controller side: rebuild the registry entry from the attribute, if pytest-bdd lacks it."""
    data = getattr(report, ATTRIBUTE, None)
    if not isinstance(data, dict) or not data.get("scenario") or report in reporting.test_report_context_registry:
        return
    reporting.test_report_context_registry[report] = reporting.ReportContext(
        scenario=data["scenario"], name=data["name"]
    )
