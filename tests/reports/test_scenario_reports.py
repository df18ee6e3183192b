"""cucumber.json, Allure results and junit.xml list every scenario in the reader's terms, under xdist.

One small suite runs once (two workers) with a scenario of each kind: passed, failed mid-way, skipped
at run time by a step, skipped by its tag before it starts (as the sandbox target skips
non-@sandbox_safe scenarios), and an outline; the tests read what each report made of it.
"""

from __future__ import annotations

import glob
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

FEATURE = """\
Feature: Tiny
  Scenario: adds up
    Given a number 2
    Then doubled it is 4

  Scenario: fails on purpose
    Given a number 2
    Then doubled it is 5
    And tripled it is 6

  Scenario: skips at run time
    Given a number 2
    And the rest does not apply here
    Then doubled it is 4

  @skipme
  Scenario: skipped by its tag
    Given a number 2
    Then doubled it is 4

  Scenario Outline: <n> doubled
    Given a number <n>
    Then doubled it is <m>

    Examples:
      | n | m |
      | 1 | 2 |
      | 3 | 6 |
"""

TEST_MODULE = """\
import logging

import pytest
from pytest_bdd import given, parsers, scenarios, then

scenarios("tiny.feature")


class Gadget:
    pass


@pytest.fixture
def gadget():
    return Gadget()


@given(parsers.parse("a number {n:d}"), target_fixture="n")
def number(n, gadget, request, caplog):
    caplog.set_level(logging.DEBUG)
    logging.getLogger("httpcore.connection").debug("connect_tcp.started host='noise'")
    logging.getLogger("pytest_bdd").debug("Matching steps noise")
    logging.getLogger("harness.tiny").info("kit line: number %s, Authorization: Bearer abcdefghijklmnop123", n)
    return n


@given("the rest does not apply here")
def not_applicable():
    pytest.skip("the tiny target has no such thing")


@then(parsers.parse("doubled it is {m:d}"))
def doubled(n, m, gadget):
    assert n * 2 == m, f"expected {m}, observed {n * 2}"


@then(parsers.parse("tripled it is {m:d}"))
def tripled(n, m):
    assert n * 3 == m
"""

CONFTEST = """\
import pytest


def pytest_collection_modifyitems(items):
    for item in items:
        if item.get_closest_marker("skipme"):
            item.add_marker(pytest.mark.skip(reason="sandbox target: needs the fake's control API (not @sandbox_safe)"))
"""

INI = """\
[pytest]
markers =
    skipme: skipped before it starts
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiny")
    (folder / "tiny.feature").write_text(FEATURE)
    (folder / "test_tiny.py").write_text(TEST_MODULE)
    (folder / "conftest.py").write_text(CONFTEST)
    (folder / "pytest.ini").write_text(INI)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "-p", "no:cacheprovider", "--cucumberjson=cucumber.json",
         "--alluredir=allure", "--junitxml=junit.xml", "--harness-results=results.json", "--harness-progress"],
        cwd=folder, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-2000:]
    (folder / "progress.txt").write_text(done.stderr)
    return folder


def _cucumber(run: Path) -> dict[str, dict[str, Any]]:
    features = json.loads((run / "cucumber.json").read_text())
    assert len(features) == 1, features
    return {element["name"]: element for element in features[0]["elements"]}


def _statuses(element: dict[str, Any]) -> list[str]:
    return [step["result"]["status"] for step in element["steps"]]


def test_cucumber_lists_every_scenario_with_every_step(run: Path) -> None:
    scenarios = _cucumber(run)
    assert set(scenarios) == {"adds up", "fails on purpose", "skips at run time", "skipped by its tag",
                              "1 doubled", "3 doubled"}
    assert _statuses(scenarios["adds up"]) == ["passed", "passed"]
    assert _statuses(scenarios["1 doubled"]) == _statuses(scenarios["3 doubled"]) == ["passed", "passed"]


def test_cucumber_marks_the_steps_after_a_failing_step_skipped(run: Path) -> None:
    element = _cucumber(run)["fails on purpose"]
    assert _statuses(element) == ["passed", "failed", "skipped"]
    assert "expected 5, observed 4" in element["steps"][1]["result"]["error_message"]


def test_cucumber_shows_a_scenario_skipped_at_run_time_as_skipped_with_the_reason(run: Path) -> None:
    element = _cucumber(run)["skips at run time"]
    assert _statuses(element) == ["passed", "skipped", "skipped"]
    assert element["steps"][1]["result"]["error_message"] == "the tiny target has no such thing"


def test_cucumber_shows_a_scenario_skipped_by_its_tag_with_every_step_skipped(run: Path) -> None:
    element = _cucumber(run)["skipped by its tag"]
    assert _statuses(element) == ["skipped", "skipped"]
    assert "needs the fake's control API" in element["steps"][0]["result"]["error_message"]
    assert [tag["name"] for tag in element["tags"]] == ["skipme"]


def _allure(run: Path) -> dict[str, dict[str, Any]]:
    results = [json.loads(Path(path).read_text()) for path in glob.glob(str(run / "allure" / "*-result.json"))]
    return {result["name"]: result for result in results}


def test_allure_has_a_result_for_every_scenario_also_one_skipped_by_its_tag(run: Path) -> None:
    results = _allure(run)
    assert len(results) == 6, sorted(results)
    assert {name: r["status"] for name, r in results.items()} == {
        "adds up": "passed", "fails on purpose": "failed", "skips at run time": "skipped",
        "skipped by its tag": "skipped", "1 doubled": "passed", "3 doubled": "passed"}
    tagged = results["skipped by its tag"]
    assert "needs the fake's control API" in tagged["statusDetails"]["message"]
    assert [(s["name"], s["status"]) for s in tagged["steps"]] == [
        ("Given a number 2", "skipped"), ("Then doubled it is 4", "skipped")]
    assert {"name": "feature", "value": "Tiny"} in tagged["labels"]


def test_allure_step_parameters_are_the_gherkin_ones_only(run: Path) -> None:
    steps = {step["name"]: step for step in _allure(run)["adds up"]["steps"]}
    assert steps["Given a number 2"]["parameters"] == [{"name": "n", "value": "2"}]
    assert steps["Then doubled it is 4"]["parameters"] == [{"name": "m", "value": "4"}]


def test_allure_log_attachments_hold_the_kit_lines_redacted_and_no_library_debug(run: Path) -> None:
    result = _allure(run)["adds up"]
    [log] = [a for a in result["attachments"] if a["name"] == "log"]
    text = (run / "allure" / log["source"]).read_text()
    assert "kit line: number 2" in text
    assert "abcdefghijklmnop123" not in text and "«redacted»" in text
    assert "noise" not in text, text


def test_junit_names_a_testcase_after_its_scenario_and_groups_it_by_feature(run: Path) -> None:
    cases = ET.parse(run / "junit.xml").getroot().iter("testcase")
    names = {(case.get("classname"), case.get("name")) for case in cases}
    assert names == {("Tiny", "adds up"), ("Tiny", "fails on purpose"), ("Tiny", "skips at run time"),
                     ("Tiny", "skipped by its tag"), ("Tiny", "1 doubled"), ("Tiny", "3 doubled")}


def test_results_carry_the_skip_reasons_without_pytest_prefixes(run: Path) -> None:
    rows = {row["scenario"]: row for row in json.loads((run / "results.json").read_text())["results"]}
    assert rows["skips at run time"]["skip_reason"] == "the tiny target has no such thing"
    assert rows["skipped by its tag"]["skip_reason"] == "sandbox target: needs the fake's control API (not @sandbox_safe)"
    assert rows["fails on purpose"]["message"] == "expected 5, observed 4"


def test_the_progress_line_of_a_skipped_scenario_gives_the_reason(run: Path) -> None:
    progress = (run / "progress.txt").read_text()
    assert "SKIP  Tiny › skips at run time (" in progress
    assert "        reason: the tiny target has no such thing" in progress
    assert "        reason: sandbox target: needs the fake's control API (not @sandbox_safe)" in progress
