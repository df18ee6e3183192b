"""Choosing scenarios in the user's terms: --tags errors name the tags, --name matches scenario names,
paths that are not features say so, an unknown flag shows run's own usage."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import UsageError, main
from harness.cli.run import plan_run, preflight, split_paths, start_notes
from harness.cli.tags import registered_tags, tags_to_markexpr

ROOT = Path(__file__).resolve().parents[2]
KNOWN = ["link_and_sync", "slow", "network"]


def _args(**overrides) -> argparse.Namespace:
    values = dict(paths=[], keyword=None, markexpr=None, tags=None, names=[], workers="auto", target="fake",
                  subject="reference", fake_url=None, sandbox_url="https://api.fiskil.com", report_dir="reports",
                  no_html=True)
    values.update(overrides)
    return argparse.Namespace(**values)


def test_a_tag_expression_becomes_pytest_markers() -> None:
    assert tags_to_markexpr("(@link_and_sync or @network) and not @slow", KNOWN) == "(link_and_sync or network) and not slow"


@pytest.mark.parametrize("tags, says", [
    ("(@foo and)", "expected a tag such as @slow after 'and', found ')' at column 10"),
    ("@slow and", "expected a tag such as @slow after 'and', found the end of the expression"),
    ("slow", "expected a tag such as @slow (tags start with @), found 'slow' at column 1"),
    ("(@slow", "expected ')' after '@slow', found the end of the expression"),
    ("@slow @network", "expected 'and', 'or' or ')' after '@slow', found '@network' at column 7"),
    ("", "expected a tag such as @slow, found the end of the expression"),
])
def test_a_broken_tag_expression_is_explained_in_the_users_own_terms(tags: str, says: str) -> None:
    with pytest.raises(UsageError) as refused:
        tags_to_markexpr(tags, KNOWN)
    assert says in str(refused.value) and repr(tags) in str(refused.value)


def test_an_unknown_tag_lists_the_registered_tags() -> None:
    with pytest.raises(UsageError) as refused:
        tags_to_markexpr("@link_and_sync and not @nosuch", KNOWN)
    assert str(refused.value) == "--tags: unknown tag @nosuch; the tags are: @link_and_sync, @slow, @network"


def test_the_registered_tags_are_the_markers_of_pyproject() -> None:
    tags = registered_tags()
    assert {"sandbox_safe", "fake_only", "token_expiry", "slow"} <= set(tags)


def test_a_path_that_is_not_a_feature_says_so() -> None:
    with pytest.raises(UsageError, match="'README.md' is not a .feature file or folder of features"):
        split_paths(["README.md"])
    with pytest.raises(UsageError, match="is not a .feature file or folder of features"):
        split_paths([str(ROOT / "docs")])


def test_an_unknown_flag_shows_runs_own_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["run", "--no-such-flag"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: fiskil-harness run") and "--report-dir" in err
    assert "unrecognized arguments: --no-such-flag" in err


def test_name_selects_scenarios_by_name_case_insensitively(tmp_path: Path) -> None:
    plan = plan_run(_args(report_dir=str(tmp_path), names=["retry-after", "RANDOM DATA"]), run_id="r1")
    assert preflight(plan) == 2  # "A 429 ... with Retry-After is honoured", "... retried after random data"


def test_an_empty_name_is_refused_rather_than_selecting_everything(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--name needs some text"):
        plan_run(_args(report_dir=str(tmp_path), names=["  "]), run_id="r1")


def test_a_bad_k_expression_points_to_name(tmp_path: Path) -> None:
    plan = plan_run(_args(report_dir=str(tmp_path), keyword="random data"), run_id="r1")
    with pytest.raises(UsageError, match="to select by scenario name use --name"):
        preflight(plan)


def test_a_shared_fake_is_announced_as_reset_before_each_scenario(tmp_path: Path) -> None:
    args = _args(report_dir=str(tmp_path), fake_url="http://127.0.0.1:8080")
    notes = start_notes(args, plan_run(args, run_id="r1"))
    assert "resets the fake at http://127.0.0.1:8080 before each scenario: its state and journal will be lost" in notes


def test_the_readme_documents_name_and_the_fake_url_reset() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "--name" in readme and "its state and journal will be lost" in readme


def test_one_scenario_is_singular(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "harness", "run", "--name", "A valid token is reused",
                           "--report-dir", str(tmp_path), "-n", "0", "--no-html"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert ": 1 scenario, " in done.stdout and "(1 scenario in " in done.stdout
