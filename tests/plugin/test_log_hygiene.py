"""The main job catches an integration that writes its bearer token into its log (seeded fault log_token)."""

from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.adapters.http import HttpSubject
from harness.adapters.protocol import SubjectLog
from harness.adapters.reference import ReferenceSubject

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = "The integration's log holds no token or secret"


def test_the_reference_subject_shows_its_log_since_its_last_reset(tmp_path: Path) -> None:
    secret = base64.b64encode(b"k" * 32).decode()
    with ReferenceSubject("http://127.0.0.1:9", "id", "client-secret", secret, tmp_path) as subject:
        assert isinstance(subject, SubjectLog)
        logging.getLogger("reference_integration.fiskil").info("calling GET /v1/x with token %s", "tok-123")
        logging.getLogger("reference_integration.fiskil").debug("below INFO: not kept")
        assert subject.log_lines() == ["INFO reference_integration.fiskil: calling GET /v1/x with token tok-123"]
        subject.reset()
        assert subject.log_lines() == []
    logging.getLogger("reference_integration.fiskil").info("after close")
    assert subject._log.snapshot() == [], "a closed subject stops recording"


def test_an_http_adapter_subject_has_no_log_to_show() -> None:
    with HttpSubject("http://127.0.0.1:9") as subject:
        assert not isinstance(subject, SubjectLog)


@pytest.mark.jvm
@pytest.mark.slow
@pytest.mark.timeout(240)
@pytest.mark.parametrize("fault, outcome", [("log_token", "failed"), ("", "passed")])
def test_the_log_scenario_fails_only_for_an_integration_that_logs_its_token(tmp_path: Path, fault: str, outcome: str) -> None:
    results = tmp_path / "results.json"
    env = {**os.environ, "REFERENCE_FAULTS": fault}
    subprocess.run([sys.executable, "-m", "pytest", "features/test_integration.py", "-p", "no:xdist", "-q",
                    "-p", "no:cacheprovider", f"--harness-name={SCENARIO}", f"--harness-results={results}"],
                   cwd=ROOT, env=env, capture_output=True, text=True, timeout=200)
    [row] = json.loads(results.read_text())["results"]
    assert (row["scenario"], row["outcome"]) == (SCENARIO, outcome), row
    if fault:
        assert row["failed_step"] == "And the integration's log holds no access token or client secret"
        assert "«redacted»" in row["message"] and "Bearer ey" not in row["message"]
