"""A failing run's reports carry evidence, never secrets.

The run uses seeded faults that make scenarios fail (so failure messages, journal excerpts and
attachments are written) and one that writes bearer tokens into the integration's log; then every
file the run wrote is searched for the client secret and for any token the fake issued.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.jvm, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
CLIENT_SECRET = "Zq9-distinctive-client-secret-77"
# Every token the fake issues starts with this JWT-style header (fakes/core/api.py).
TOKEN_PREFIX = base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()).rstrip(b"=").decode()


def test_a_failing_run_leaks_no_secret_or_token_into_any_report_file(tmp_path: Path) -> None:
    env = {**os.environ, "FISKIL_CLIENT_SECRET": CLIENT_SECRET, "REFERENCE_FAULTS": "no_token_renewal,log_token"}
    run = subprocess.run(
        [sys.executable, "-m", "harness", "run", "features/integration/token_expiry.feature",
         "features/integration/auth_failure.feature", "-n", "0", "--report-dir", str(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 1, f"the seeded faults should fail the run:\n{run.stdout[-3000:]}{run.stderr[-2000:]}"
    assert "FAILED" in run.stdout, "the summary should explain the failures"

    files = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert any(path.name == "junit.xml" for path in files) and any("attachment" in path.name for path in files)
    for text, where in [(run.stdout + run.stderr, "the terminal output")] + [
            (path.read_text(encoding="utf-8", errors="replace"), str(path.relative_to(tmp_path))) for path in files]:
        assert CLIENT_SECRET not in text, f"the client secret leaked into {where}"
        assert TOKEN_PREFIX not in text, f"a bearer token the fake issued leaked into {where}"
