"""What a failed scenario tells the reader: a failed sync quotes the integration's requests (status and
which token), the report carries the subject's state and the journal, and pytest's assertion
introspection adds nothing; `-k` finds scenarios by the words of their titles."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.plugin import title_keywords

ROOT = Path(__file__).resolve().parents[2]


def run_scenarios(tmp_path: Path, keyword: str, faults: str) -> dict[str, dict]:
    results = tmp_path / "results.json"
    subprocess.run([sys.executable, "-m", "pytest", "features/test_integration.py", "-q", "-p", "no:xdist",
                    "-k", keyword, f"--harness-results={results}"],
                   cwd=ROOT, env={**os.environ, "REFERENCE_FAULTS": faults}, capture_output=True, text=True, timeout=300)
    return {r["scenario"]: r for r in json.loads(results.read_text(encoding="utf-8"))["results"]}


@pytest.mark.jvm
def test_a_failed_sync_shows_the_requests_made_during_it_without_introspection_noise(tmp_path):
    results = run_scenarios(tmp_path, "token_expires_between_two_syncs or burst_of_server_errors",
                            "no_token_renewal,no_backoff")
    expired = results["The token expires between two syncs"]
    assert expired["outcome"] == "failed" and expired["failed_step"] == "Then the sync succeeds"
    message = expired["message"]
    assert message.startswith("expected the sync to succeed, observed status 'error'")
    assert "the integration's requests to Fiskil during the sync (last 1 of 1):" in message
    assert "GET /v1/consent → 401 (token#1)" in message
    assert "assert 'error' == 'ok'" not in message and "AssertionError" not in message
    assert any(e.startswith("subject stored: ") for e in expired["evidence"])
    assert any(e.startswith("edge journal (subject traffic):") for e in expired["evidence"])
    burst = results["A burst of server errors is retried with backoff"]
    assert burst["failed_step"] == "And the integration backed off between the retries"
    assert "4 retries with waits of" in burst["message"] and "where False" not in burst["message"]


def test_scenario_titles_are_k_keywords():
    assert title_keywords("Linking through a pre-selected institution") == {
        "Linking through a pre-selected institution", "linking_through_a_pre_selected_institution"}


def test_k_selects_a_scenario_by_the_words_of_its_title():
    for keyword in ("pre_selected", "pre-selected"):
        listed = subprocess.run([sys.executable, "-m", "pytest", "features/test_integration.py", "--co", "-q",
                                 "-p", "no:xdist", "-p", "no:cacheprovider", "-k", keyword],
                                cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert [line for line in listed.stdout.splitlines() if "::" in line] == [
            "features/test_integration.py::test_linking_through_a_preselected_institution"], listed.stdout
