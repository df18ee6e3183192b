"""junit.xml in the reader's terms: a scenario's testcase is named after the scenario and grouped by
its feature.

pytest names a testcase after the Python function (`test_banking_resource_are_listed_…[transactions-
/v1/banking/…]`) and groups it by module (`features.test_integration` holds six features). On the
controller (so it works under xdist) this collects each scenario's feature and readable name from
the reports and, once pytest has written the file, rewrites `classname` to the feature and `name`
to the scenario (an outline's with its example values). Plain tests keep pytest's names.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from harness.reports.results import ATTRIBUTE


def pytest_address(nodeid: str) -> tuple[str, str]:
    """The (classname, name) pytest's junitxml gives a node id."""
    from _pytest.junitxml import mangle_test_address

    names = mangle_test_address(nodeid)
    return ".".join(names[:-1]), names[-1]


class JunitNames:
    """A plugin object on the controller; `path` is the --junitxml file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.names: dict[tuple[str, str], tuple[str, str]] = {}

    def pytest_runtest_logreport(self, report: Any) -> None:
        info = getattr(report, ATTRIBUTE, None) or {}
        if str(info.get("feature_file", "")).endswith(".feature") and info.get("scenario"):
            self.names[pytest_address(report.nodeid)] = (info["feature"], info["scenario"])

    @pytest.hookimpl(wrapper=True)
    def pytest_sessionfinish(self) -> Generator[None, Any, Any]:
        result = yield  # pytest's junitxml has written the file by now
        if self.path.exists():
            rewrite(self.path, self.names)
        return result


def rewrite(path: Path, names: dict[tuple[str, str], tuple[str, str]]) -> int:
    """Rename the testcases found in `names`; returns how many were renamed."""
    tree = ET.parse(path)
    seen: dict[tuple[str, str], int] = {}
    renamed = 0
    for case in tree.getroot().iter("testcase"):
        readable = names.get((case.get("classname", ""), case.get("name", "")))
        if readable is None:
            continue
        seen[readable] = seen.get(readable, 0) + 1
        feature, scenario = readable
        case.set("classname", feature)
        case.set("name", scenario if seen[readable] == 1 else f"{scenario} #{seen[readable]}")
        renamed += 1
    tree.write(path, encoding="utf-8", xml_declaration=True)
    return renamed
