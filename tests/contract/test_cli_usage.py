"""Bad input to record / drift / export-mappings is a one-line usage error (exit 2) found BEFORE the
work starts, and nothing is written or lost."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main
from harness.contract.recording import write_recordings
from tests.contract.conftest import CREDENTIALS


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FISKIL_CLIENT_ID", CREDENTIALS["client_id"])
    monkeypatch.setenv("FISKIL_CLIENT_SECRET", CREDENTIALS["client_secret"])


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    """The single stderr line; stdout shows no work (no pytest lines, no drift table)."""
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    assert "FAILED" not in captured.out and "drift" not in captured.out and "wrote" not in captured.out, captured.out
    return lines[0]


def test_record_against_an_api_that_does_not_answer_writes_nothing(tmp_path: Path, credentials: None,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "recordings"
    assert main(["record", "--out", str(out), "--sandbox-url", "http://127.0.0.1:1"]) == 2
    message = one_line_error(capsys)
    assert "cannot reach the Fiskil API of --sandbox-url at http://127.0.0.1:1" in message
    assert not out.exists()


def test_record_output_under_a_file_is_refused_before_recording(tmp_path: Path, credentials: None,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    assert main(["record", "--out", str(afile / "sub"), "--sandbox-url", "http://127.0.0.1:1"]) == 2
    assert f"{afile} is a file, not a directory" in one_line_error(capsys)
    assert afile.read_text() == "keep me"


def test_export_output_under_a_file_is_refused_before_exporting(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert main(["export-mappings", str(afile / "sub")]) == 2
    assert "is a file, not a directory" in one_line_error(capsys)


@pytest.mark.parametrize("report", ["/proc/nope/r.json", "DIR"])
def test_drift_report_path_is_checked_before_the_replay(report: str, probe_recording, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    recordings = tmp_path / "recordings"
    write_recordings(recordings, probe_recording)
    if report == "DIR":
        report = str(tmp_path)
    assert main(["drift", str(recordings), "--json", report]) == 2
    message = one_line_error(capsys)
    assert "--json" in message and report in message


def test_drift_against_a_fake_with_other_credentials_names_the_variables(probe_recording, fake_url: str, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    recordings = tmp_path / "recordings"
    write_recordings(recordings, probe_recording)
    monkeypatch.setenv("FISKIL_CLIENT_ID", "someone-else")
    monkeypatch.setenv("FISKIL_CLIENT_SECRET", "not-that-fakes-secret")
    report = tmp_path / "drift.json"
    assert main(["drift", str(recordings), "--fake-url", fake_url, "--json", str(report)]) == 2
    message = one_line_error(capsys)
    assert "FISKIL_CLIENT_ID" in message and "FISKIL_CLIENT_SECRET" in message and "401" in message
    assert "not-that-fakes-secret" not in message
