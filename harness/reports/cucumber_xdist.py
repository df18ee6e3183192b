"""Keep pytest-bdd's scenario report alive across the xdist boundary.

pytest-bdd 9.0.1 keeps each report's scenario context in a per-process registry keyed by the
report object (`reporting.test_report_context_registry`). Under xdist the controller receives a
*copy* of the worker's report, finds nothing in its registry and writes `[]` to cucumber.json (and
the gherkin terminal reporter stays silent). The fix (a regression of pytest-bdd 9.0.1 under
xdist"): on the worker, copy the context onto the report as a plain serialisable attribute; on the
controller, put it back into the registry before pytest-bdd's own reporters read it.
"""

from __future__ import annotations

from typing import Any

from pytest_bdd import reporting

#: the report attribute that carries the serialised context from worker to controller
ATTRIBUTE = "harness_bdd_context"


def attach_context(report: Any) -> None:
    """Worker side (after pytest-bdd's makereport ran): copy the context onto the report."""
    context = reporting.test_report_context_registry.get(report)
    if context is not None:
        setattr(report, ATTRIBUTE, {"scenario": context.scenario, "name": context.name})


def restore_context(report: Any) -> None:
    """Controller side: rebuild the registry entry from the attribute, if pytest-bdd lacks it."""
    data = getattr(report, ATTRIBUTE, None)
    if not isinstance(data, dict) or report in reporting.test_report_context_registry:
        return
    reporting.test_report_context_registry[report] = reporting.ReportContext(
        scenario=data["scenario"], name=data["name"]
    )
