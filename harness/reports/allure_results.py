"""Two gaps of allure-pytest-bdd 2.16.2, closed on the worker that runs the scenario.

1. It writes a result only for scenarios whose body started, so a scenario skipped by its tags (every
   non-@sandbox_safe one on the sandbox target) or broken in set-up is missing from Allure. For
   those the kit schedules the result itself, with the same names, labels and parameters the
   listener would give, every step skipped and the reason; the listener then writes it at teardown
   as usual (it keys results by node id).
2. It lists every argument of a step function as a step parameter, fixtures included (`edge`,
   `faker`, `request` shown as `<... object at 0x…>`). Only the step's own Gherkin parameters (what
   its text says, e.g. `count: 3`) are kept.

Both use the listener's public lifecycle (`update_test_case`, `update_step`); without `--alluredir`
there is no listener and both do nothing.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from harness.redaction import default_redactor


def _listener(config: pytest.Config) -> Any | None:
    for plugin in config.pluginmanager.get_plugins():
        if type(plugin).__name__ == "PytestBDDListener" and hasattr(plugin, "lifecycle"):
            return plugin
    return None


def record_unrun_scenario(item: pytest.Item, report: pytest.TestReport, reason: str) -> None:
    """A scenario that never reached its first step still gets an Allure result (skipped or broken)."""
    listener = _listener(item.config)
    if listener is None or report.when != "setup" or report.passed:
        return
    from allure_commons.model2 import Label, Status, StatusDetails, TestStepResult
    from allure_commons.types import LabelType
    from allure_commons.utils import host_tag, md5, now, platform_label, thread_tag
    from allure_pytest_bdd.storage import save_test_data
    from allure_pytest_bdd.utils import (
        convert_params,
        get_allure_labels,
        get_allure_links,
        get_full_name,
        get_outline_params,
        get_pytest_params,
        get_test_name,
        get_title_path,
    )

    from harness.reports.cucumber_xdist import rendered_scenario

    scenario = rendered_scenario(item)
    if scenario is None:
        return
    uuid = listener.nodeid_to_uuid[item.nodeid]
    with listener.lifecycle.update_test_case(uuid=uuid) as existing:
        if existing is not None:
            return
    feature = scenario.feature
    outline_params, pytest_params = get_outline_params(item), get_pytest_params(item)
    params = {**pytest_params, **outline_params}
    save_test_data(item=item, feature=feature, scenario=scenario, params=params)  # read when it is written
    full_name = get_full_name(feature, scenario)
    stamp = now()
    status = Status.SKIPPED if report.skipped else Status.BROKEN
    trace = None if report.skipped else default_redactor.redact(str(report.longreprtext or ""))
    with listener.lifecycle.schedule_test_case(uuid=uuid) as result:
        result.fullName = full_name
        result.titlePath = get_title_path(SimpleNamespace(config=item.config, node=item), feature)
        result.name = get_test_name(item, scenario, params)
        result.description = scenario.description or None
        result.start = result.stop = stamp
        result.testCaseId = md5(full_name)
        result.status = status
        result.statusDetails = StatusDetails(message=default_redactor.redact(reason), trace=trace)
        result.labels += [Label(name=LabelType.HOST, value=host_tag()), Label(name=LabelType.THREAD, value=thread_tag()),
                          Label(name=LabelType.FRAMEWORK, value="pytest-bdd"),
                          Label(name=LabelType.LANGUAGE, value=platform_label())]
        result.labels.extend(get_allure_labels(item))
        result.links.extend(get_allure_links(item))
        result.parameters.extend(convert_params(outline_params, pytest_params))
        result.steps = [TestStepResult(name=f"{step.keyword} {step.name}", status=Status.SKIPPED, start=stamp, stop=stamp)
                        for step in scenario.steps]


def gherkin_arguments(step: Any, step_func: Any) -> dict[str, str]:
    """What the step's text binds, as written: {'count': '3'} for 'exactly 3 new tokens'."""
    from pytest_bdd.steps import step_function_context_registry

    arguments: dict[str, str] = {}
    for context in list(step_function_context_registry.values()):
        if context.step_func is step_func and context.parser.is_matching(step.name):
            parsed = context.parser.parse_arguments(step.name) or {}
            arguments.update({name: str(value) for name, value in parsed.items()})
    return arguments


def keep_gherkin_parameters(config: pytest.Config, step: Any, step_func: Any) -> None:
    """Replace the parameters allure-pytest-bdd listed for the running step (every argument of the step
    function, fixtures included) with the step's own Gherkin parameters."""
    listener = _listener(config)
    if listener is None:
        return
    from allure_commons.model2 import Parameter
    from allure_pytest_bdd.steps import get_step_uuid

    arguments = gherkin_arguments(step, step_func)
    with listener.lifecycle.update_step(uuid=get_step_uuid(step)) as result:
        if result is not None:
            result.parameters = [Parameter(name=name, value=value) for name, value in arguments.items()]
