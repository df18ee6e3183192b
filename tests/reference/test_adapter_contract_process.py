"""The HTTP adapter contract v1, served by `python -m examples.reference_integration` in its own process."""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.webhooks.signing import SIGNATURE_HEADER, sign
from tests.reference.conftest import WEBHOOK_SECRET
from tests.reference.stand_in import CLIENT_ID, CLIENT_SECRET
from tests.reference.test_webhooks import envelope

ROOT = Path(__file__).resolve().parents[2]


def _read_line(proc: subprocess.Popen, timeout: float) -> str:
    """The first stdout line, waiting at most `timeout` seconds."""
    assert proc.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            return ""
    return proc.stdout.readline()


@pytest.fixture
def served(fiskil, tmp_path) -> Iterator[tuple[str, Path]]:
    env = {**os.environ, "FISKIL_API_URL": fiskil.base_url, "FISKIL_CLIENT_ID": CLIENT_ID,
           "FISKIL_CLIENT_SECRET": CLIENT_SECRET, "FISKIL_WEBHOOK_SECRET": WEBHOOK_SECRET,
           "REFERENCE_DB": str(tmp_path / "proc.sqlite3"), "REFERENCE_BACKOFF_BASE": "0.01",
           "REFERENCE_HTTP_TIMEOUT": "2", "PYTHONUNBUFFERED": "1"}
    env.pop("REFERENCE_PUBLIC_URL", None)
    env.pop("REFERENCE_FAULTS", None)
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen([sys.executable, "-m", "examples.reference_integration", "--port", "0"],
                                cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=log_file, text=True)
        try:
            line = _read_line(proc, 20)
            assert "listening on http://127.0.0.1:" in line, f"no start line; log: {log_path.read_text()}"
            yield line.rsplit(" ", 1)[-1].strip(), log_path
        finally:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
            if proc.stdout:
                proc.stdout.close()


def test_contract_v1_over_http(served, fiskil):
    base, log_path = served
    with httpx.Client(base_url=base, timeout=5) as http:
        created = http.post("/end-users", json={"email": "p@example.com", "name": "P"})
        assert created.status_code == 200
        user = created.json()["end_user_id"]
        link = http.post(f"/end-users/{user}/link", json={})
        assert link.status_code == 200 and link.json()["auth_url"].startswith(fiskil.base_url)
        redirect_uri = list(fiskil.sessions.values())[-1]["redirect_uri"]
        assert redirect_uri.startswith(base + "/link/complete/")
        fiskil.add_consent(user, accounts=1, transactions_per_account=3)
        landing = http.get(redirect_uri)
        assert landing.status_code == 200 and "connected" in landing.text
        assert http.post(f"/end-users/{user}/sync").json()["status"] == "ok"
        state = http.get(f"/end-users/{user}").json()
        assert state == {"consents": [{"id": "arr-1", "active": True}], "accounts": 1, "transactions": 3,
                         "last_error": None, "soft_deleted": 0}
        body = envelope("px-1", event="energy.usage.sync.completed", end_user_id=user)
        assert http.post("/webhooks/fiskil", content=body).status_code == 401
        assert http.post("/webhooks/fiskil", content=body,
                         headers={SIGNATURE_HEADER: sign(body, WEBHOOK_SECRET)}).status_code == 200
        assert http.get("/webhook-events").json() == {"message_ids": ["px-1"]}
        assert http.post("/reset").status_code == 204
        assert http.get("/webhook-events").json() == {"message_ids": []}
        assert http.get(f"/end-users/{user}").json()["transactions"] == 0
    log = log_path.read_text()
    assert CLIENT_SECRET not in log and WEBHOOK_SECRET not in log
    assert all(token not in log for token in fiskil.issued)


def test_cancel_landing_page_is_readable_and_reported(served, fiskil):
    base, _ = served
    with httpx.Client(base_url=base, timeout=5) as http:
        user = http.post("/end-users", json={"email": "q@example.com", "name": "Q"}).json()["end_user_id"]
        http.post(f"/end-users/{user}/link", json={"institution_id": "88888"})
        cancel_uri = list(fiskil.sessions.values())[-1]["cancel_uri"]
        page = http.get(cancel_uri, params={"error": "access_denied", "error_type": "CONSENT_ENDUSER_DENIED",
                                            "error_id": "err_1"})
        assert page.status_code == 200 and "<h1>Bank not connected</h1>" in page.text
        error = http.get(f"/end-users/{user}").json()["last_error"]
        assert error["code"] == "CONSENT_ENDUSER_DENIED" and "chose not to share" in error["message"]


def test_bad_requests_say_what_to_fix(served):
    base, _ = served
    with httpx.Client(base_url=base, timeout=5) as http:
        response = http.post("/end-users", json={"email": "x@example.com"})
        assert response.status_code == 400 and "name" in response.json()["error"]["message"]


def test_missing_configuration_names_the_variable(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FISKIL_", "REFERENCE_"))}
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "examples.reference_integration", "--port", "0"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "FISKIL_API_URL" in result.stderr and "FISKIL_CLIENT_SECRET" in result.stderr
    assert time.monotonic() - started < 30
