"""Summary and run-CLI plumbing, without running pytest."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from harness.cli import UsageError
from harness.cli.run import (
    check_reachable,
    parse_workers,
    plan_run,
    point_latest,
    preflight,
    split_paths,
    tags_to_markexpr,
)
from harness.redaction import default_redactor
from harness.reports.results import ScenarioResult
from harness.reports.summary import render_markdown, render_terminal, summarise


def _results() -> list[ScenarioResult]:
    return [
        ScenarioResult("a::1", "Link", "links", "passed"),
        ScenarioResult("a::2", "Link", "fails", "failed", failed_step="Then the sync succeeds",
                       message="expected ok, observed error", evidence=["GET /v1/token → 401"]),
        ScenarioResult("b::1", "Tokens", "skipped one", "skipped"),
    ]


def test_summary_counts_per_feature_and_explains_failures() -> None:
    summaries = summarise(_results())
    assert [(s.feature, s.passed, s.failed, s.skipped) for s in summaries] == [("Link", 1, 1, 0), ("Tokens", 0, 0, 1)]
    text = render_terminal(summaries)
    assert "FAILED Link › fails" in text and "Then the sync succeeds" in text and "expected ok, observed error" in text
    markdown = render_markdown(summaries, run_id="r1")
    assert "❌ failed" in markdown and "| Link | 1 | 1 | 0 |" in markdown


def test_summary_redacts_secrets() -> None:
    default_redactor.add("very-secret-value-123")
    result = ScenarioResult("x", "F", "s", "failed", message="saw very-secret-value-123 in the log")
    assert "very-secret-value-123" not in render_terminal(summarise([result]))


def _args(**overrides) -> argparse.Namespace:
    values = dict(paths=[], keyword=None, markexpr=None, tags=None, workers="auto", target="fake",
                  subject="reference", fake_url=None, sandbox_url="https://api.fiskil.com", report_dir="reports", no_html=True)
    values.update(overrides)
    return argparse.Namespace(**values)


def test_plan_builds_the_pytest_command(tmp_path: Path) -> None:
    plan = plan_run(_args(report_dir=str(tmp_path), tags="@network and not @slow", markexpr="integration", workers="2"),
                    run_id="r1")
    assert plan.run_dir == tmp_path / "r1"
    command = " ".join(plan.command)
    assert "-n 2" in command and f"--junitxml={tmp_path / 'r1' / 'junit.xml'}" in command
    assert "(integration) and (network and not slow)" in plan.command
    assert "-p no:xdist" in " ".join(plan_run(_args(report_dir=str(tmp_path), workers="0")).command)


@pytest.mark.parametrize("bad", [dict(workers="many"), dict(paths=["no/such/dir"]), dict(target="sandbox"),
                                 dict(subject="not-a-subject"), dict(tags="@"), dict(paths=["README.md"])])
def test_plan_refuses_bad_input(bad: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FISKIL_CLIENT_ID", raising=False)
    with pytest.raises(UsageError):
        plan_run(_args(**bad))


def test_tags_and_workers() -> None:
    assert tags_to_markexpr("@a or @b-c", known=["a", "b-c"]) == "a or b-c"
    assert parse_workers("auto") == "auto" and parse_workers("0") == "0"


def test_latest_points_at_the_run(tmp_path: Path) -> None:
    run_dir = tmp_path / "r2"
    run_dir.mkdir()
    latest = point_latest(tmp_path, run_dir)
    assert latest.resolve() == run_dir.resolve()


def test_preflight_turns_a_bad_selection_into_a_usage_error_naming_it(tmp_path: Path) -> None:
    plan = plan_run(_args(report_dir=str(tmp_path), markexpr="netwrok"), run_id="r1")
    with pytest.raises(UsageError, match="netwrok"):
        preflight(plan)
    assert not (tmp_path / "r1").exists(), "a rejected run must not leave a report folder behind"


def test_a_shared_fake_runs_serially(tmp_path: Path) -> None:
    plan = plan_run(_args(report_dir=str(tmp_path), fake_url="http://127.0.0.1:8080"), run_id="r1")
    assert plan.workers == "0" and "-p no:xdist" in " ".join(plan.command)


def test_feature_files_and_folders_become_feature_filters_on_the_test_modules() -> None:
    root = Path(__file__).resolve().parents[2]
    token_feature = root / "features" / "integration" / "token_expiry.feature"
    paths, features = split_paths([str(token_feature), str(root / "features" / "webhooks")])
    assert paths == [str(root / "features")]
    assert features == [str(token_feature), str(root / "features" / "webhooks")]
    paths, features = split_paths([str(root / "features" / "test_contract.py")])
    assert (paths, features) == ([str(root / "features" / "test_contract.py")], [])


def test_a_feature_file_run_selects_only_its_scenarios(pytester_root_run) -> None:
    """The plugin's --harness-feature filter, through a real collection of the project's features."""
    feature = Path(__file__).resolve().parents[2] / "features" / "integration" / "token_expiry.feature"
    scenarios = [line for line in feature.read_text().splitlines() if line.strip().startswith("Scenario:")]
    collected = pytester_root_run("features/integration/token_expiry.feature")
    assert len(collected) == len(scenarios) > 0, collected
    assert all(nodeid.startswith("features/test_integration.py::") for nodeid in collected), collected


@pytest.fixture
def pytester_root_run():
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]

    def collect(feature: str) -> list[str]:
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "features", "--co", "-q", "-p", "no:xdist", "-p", "no:cacheprovider",
             f"--harness-feature={root / feature}"],
            cwd=root, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
        return [line for line in result.stdout.splitlines() if "::" in line]

    return collect


def test_an_adapter_or_fake_that_is_not_running_is_a_usage_error_before_the_run() -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    with pytest.raises(UsageError, match=f"adapter of --subject at http://127.0.0.1:{closed}"):
        check_reachable(_args(subject=f"http://127.0.0.1:{closed}"))
    with pytest.raises(UsageError, match="fake of --fake-url"):
        check_reachable(_args(fake_url=f"http://127.0.0.1:{closed}"))
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        check_reachable(_args(subject=f"http://127.0.0.1:{listening.getsockname()[1]}"))  # no error
