"""Replaying recordings against a fresh fake: a faithful recording shows no drift, each planted
difference is found (and nothing else), recorded ids are mapped to the fake's."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.cli import main
from harness.contract.drift import ADDITIVE, BREAKING
from harness.contract.drift_run import run_drift
from harness.contract.recording import read_recordings, write_recordings
from harness.contract.sanitise import Sanitiser
from tests.contract.conftest import CREDENTIALS


def drift(exchanges: list[dict[str, Any]], fake_url: str) -> list[tuple[str, str, str]]:
    with httpx.Client(timeout=10) as http:
        result = run_drift(exchanges, fake_url, http, **CREDENTIALS)
    return sorted((f.kind, f.where, f.severity) for f in result.findings)


def find(exchanges: list[dict[str, Any]], method: str, path_start: str, status: int = 200) -> dict[str, Any]:
    return next(e for e in exchanges if e["request"]["method"] == method and e["request"]["path"].startswith(path_start) and e["response"]["status"] == status)


def test_recording_made_against_a_fake_shows_no_drift_even_sanitised(probe_recording, fake_url, tmp_path: Path) -> None:
    write_recordings(tmp_path, probe_recording, Sanitiser())
    stored = read_recordings(tmp_path)
    assert len(stored) == len(probe_recording) >= 10
    assert drift(stored, fake_url) == []


def test_each_planted_difference_is_found_and_nothing_else(probe_recording, fake_url) -> None:
    planted = copy.deepcopy(probe_recording)
    transactions = find(planted, "GET", "/v1/banking/transactions")["response"]["body"]["transactions"]
    for tx in transactions:
        tx.pop("description")  # removed field
        tx["amount"] = float(tx["amount"])  # retyped field
        tx["new_field"] = "added"  # added field
    transactions[0]["status"] = "SETTLED"  # new enum value
    find(planted, "GET", "/v1/end-users/")["response"]["status"] = 202  # different status
    find(planted, "GET", "/v1/end-users/eu_unknown", 404)["response"]["body"]["name"] = "user_missing"  # different error name
    assert drift(planted, fake_url) == sorted([
        ("enum_value_added", "transactions[].status", ADDITIVE),
        ("error_name", "name", BREAKING),
        ("field_added", "transactions[].new_field", ADDITIVE),
        ("field_removed", "transactions[].description", BREAKING),
        ("status", "", BREAKING),
        ("type_changed", "transactions[].amount", BREAKING),
    ])


def test_pre_existing_end_user_is_provisioned_on_the_fake(probe_recording, fake_url) -> None:
    """A recording that starts with data reads of a sandbox user the fake never created."""
    reads = [copy.deepcopy(e) for e in probe_recording if e["request"]["path"] in ("/v1/token", "/v1/consent", "/v1/banking/transactions")]
    sandbox_user = "sandbox-pre-consented-user"
    for e in reads:
        if "end_user_id" in e["request"]["query"]:
            e["request"]["query"]["end_user_id"] = [sandbox_user]
    assert drift(reads, fake_url) == []


def test_a_renamed_token_field_is_reported_once_and_nothing_else(probe_recording, fake_url) -> None:
    renamed = copy.deepcopy(probe_recording)
    for exchange in renamed:
        body = exchange["response"]["body"]
        if exchange["request"]["path"] == "/v1/token" and isinstance(body, dict) and "token" in body:
            body["access_token"] = body.pop("token")
    renamed.insert(0, copy.deepcopy(find(renamed, "POST", "/v1/token")))  # a second token request
    with httpx.Client(timeout=10) as http:
        result = run_drift(renamed, fake_url, http, **CREDENTIALS)
    # no 200 -> 401 cascade on the authenticated calls: one counted row per difference
    assert sorted((f.kind, f.where, f.severity, f.count) for f in result.findings) == [
        ("field_added", "access_token", ADDITIVE, 2),
        ("field_removed", "token", BREAKING, 2),
    ]


def test_cli_exit_codes_and_json_report(probe_recording, fake_url, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clean_dir, drift_dir = tmp_path / "clean", tmp_path / "drifted"
    write_recordings(clean_dir, probe_recording)
    report = tmp_path / "drift.json"
    assert main(["drift", str(clean_dir), "--json", str(report)]) == 0
    assert json.loads(report.read_text())["breaking"] == 0
    additive = copy.deepcopy(probe_recording)
    find(additive, "POST", "/v1/token")["response"]["body"]["scope"] = "api:user.read"
    write_recordings(tmp_path / "additive", additive)
    assert main(["drift", str(tmp_path / "additive"), "--fake-url", fake_url, "--json", str(report)]) == 0
    assert "warning: 1 additive" in capsys.readouterr().out
    broken = copy.deepcopy(probe_recording)
    find(broken, "POST", "/v1/token")["response"]["body"]["expires_in"] = "900"
    write_recordings(drift_dir, broken)
    assert main(["drift", str(drift_dir), "--json", str(report)]) == 1
    out = capsys.readouterr().out
    assert "BREAKING" in out and "expires_in" in out
    assert json.loads(report.read_text())["findings"][0]["kind"] == "type_changed"


def test_cli_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["drift", str(tmp_path / "missing")]) == 2
    (tmp_path / "empty").mkdir()
    assert main(["drift", str(tmp_path / "empty")]) == 2
    assert "no recorded exchanges" in capsys.readouterr().err
