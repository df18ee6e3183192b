"""The cucumber.json fix: under xdist pytest-bdd 9.0.1 alone writes `[]`; with the kit's plugin the
report holds every scenario, with its steps and the failing step marked."""

from __future__ import annotations

import json

import pytest

pytest_plugins = ["pytester"]

FEATURE = """\
Feature: Tiny
  Scenario: adds up
    Given a number 2
    Then doubled it is 4

  Scenario: fails on purpose
    Given a number 2
    Then doubled it is 5
"""

TEST_MODULE = """\
from pytest_bdd import given, then, parsers, scenarios

scenarios("tiny.feature")

@given(parsers.parse("a number {n:d}"), target_fixture="n")
def number(n):
    return n

@then(parsers.parse("doubled it is {m:d}"))
def doubled(n, m):
    assert n * 2 == m, f"expected {m}, observed {n * 2}"
"""


def _run(pytester: pytest.Pytester, *args: str) -> list[dict]:
    pytester.makefile(".feature", tiny=FEATURE)
    pytester.makepyfile(test_tiny=TEST_MODULE)
    result = pytester.runpytest_subprocess("-n", "2", "--cucumberjson=cucumber.json", "-p", "no:cacheprovider", *args)
    result.assert_outcomes(passed=1, failed=1)
    return json.loads((pytester.path / "cucumber.json").read_text())


def test_cucumber_json_is_complete_under_xdist(pytester: pytest.Pytester) -> None:
    features = _run(pytester)
    assert len(features) == 1, f"expected one feature in cucumber.json, observed {features!r}"
    scenarios = {element["name"]: element for element in features[0]["elements"]}
    assert set(scenarios) == {"adds up", "fails on purpose"}
    failed = [s["result"]["status"] for s in scenarios["fails on purpose"]["steps"]]
    assert failed == ["passed", "failed"]
    assert [s["result"]["status"] for s in scenarios["adds up"]["steps"]] == ["passed", "passed"]


def test_without_the_fix_pytest_bdd_writes_an_empty_report(pytester: pytest.Pytester) -> None:
    """Guards the test above: if pytest-bdd ever fixes itself, this tells us the kit's fix can go."""
    features = _run(pytester, "-p", "no:fiskil_harness")
    assert features == []
