"""What `fiskil-harness run` refuses up front (exit 2, one line): the sandbox API, the report folder, Java."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import HTTPServer, SimpleHTTPRequestHandler
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from fakes.core.app import CoreConfig, build_core
from harness.cli import UsageError
from harness.cli.run_checks import check_java, check_report_dir, check_sandbox_api

ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID, CLIENT_SECRET = "preflight-client", "preflight-secret-value-42"


@pytest.fixture
def fiskil() -> Iterator[TestClient]:
    """The fake core in-process, playing the remote Fiskil API."""
    with TestClient(build_core(CoreConfig(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)).app) as client:
        yield client


@pytest.fixture
def not_fiskil() -> Iterator[str]:
    """`python3 -m http.server`: answers GET, refuses POST with 501."""
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _consented_end_user(client: TestClient) -> str:
    token = client.post("/v1/token", json={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}).json()["token"]
    created = client.post("/v1/end-users", headers={"Authorization": f"Bearer {token}"},
                          json={"email": "standing@example.com", "name": "Standing User"})
    return created.json()["end_user_id"]


def test_the_sandbox_check_passes_with_good_credentials_and_a_known_end_user(fiskil: TestClient) -> None:
    check_sandbox_api("http://testserver", CLIENT_ID, CLIENT_SECRET, None, client=fiskil)
    check_sandbox_api("http://testserver", CLIENT_ID, CLIENT_SECRET, _consented_end_user(fiskil), client=fiskil)


def test_a_wrong_client_secret_is_one_clear_message_naming_the_variables(fiskil: TestClient) -> None:
    with pytest.raises(UsageError) as refused:
        check_sandbox_api("http://testserver", CLIENT_ID, "wrong-secret-value", None, client=fiskil)
    message = str(refused.value)
    assert "refused the credentials" in message and "401" in message
    assert "FISKIL_CLIENT_ID" in message and "FISKIL_CLIENT_SECRET" in message
    assert "wrong-secret-value" not in message


def test_an_unknown_end_user_is_one_clear_message(fiskil: TestClient) -> None:
    with pytest.raises(UsageError, match=r"FISKIL_SANDBOX_END_USER_ID=eu_nobody is not an end user .*404 end_user_not_found"):
        check_sandbox_api("http://testserver", CLIENT_ID, CLIENT_SECRET, "eu_nobody", client=fiskil)


def test_a_url_that_is_not_a_fiskil_api_is_one_clear_message(not_fiskil: str) -> None:
    with pytest.raises(UsageError, match=r"does not look like the Fiskil API: POST /v1/token answered 501"):
        check_sandbox_api(not_fiskil, CLIENT_ID, CLIENT_SECRET)


def test_the_run_stops_before_any_scenario_when_the_sandbox_url_is_not_fiskil(not_fiskil: str, tmp_path: Path) -> None:
    env = {**os.environ, "FISKIL_CLIENT_ID": CLIENT_ID, "FISKIL_CLIENT_SECRET": CLIENT_SECRET}
    done = subprocess.run([sys.executable, "-m", "harness", "run", "--target", "sandbox", "--sandbox-url", not_fiskil,
                           "--report-dir", str(tmp_path)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip().count("\n") == 0, done.stderr  # one line
    assert "does not look like the Fiskil API" in done.stderr and "Traceback" not in done.stderr
    assert not list(tmp_path.iterdir()), "no run folder for a run that never started"
    assert CLIENT_SECRET not in done.stdout + done.stderr


def test_the_report_dir_must_be_a_writable_folder(tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    with pytest.raises(UsageError, match="is a file, not a folder"):
        check_report_dir(str(a_file))
    with pytest.raises(UsageError, match="cannot write reports there"):
        check_report_dir(str(a_file / "below-a-file"))
    assert check_report_dir(str(tmp_path / "new" / "reports")) == (tmp_path / "new" / "reports").resolve()


@pytest.mark.parametrize("report_dir", ["/proc/nope", "README.md"])
def test_an_unusable_report_dir_is_a_usage_error_not_a_traceback(report_dir: str) -> None:
    done = subprocess.run([sys.executable, "-m", "harness", "run", "features/integration/token_expiry.feature",
                           "--report-dir", report_dir], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "--report-dir" in done.stderr and "Traceback" not in done.stderr


def test_no_java_is_a_usage_error_saying_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="install a Java"):
        check_java(True, path=str(tmp_path))  # a search path with no java on it
    check_java(False, path=str(tmp_path))  # attached to a running fake: no JVM of ours, no Java needed
    env = {**os.environ, "PATH": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "harness", "run", "features/integration/token_expiry.feature",
                           "--report-dir", str(tmp_path / "reports")], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "`java` is not on PATH" in done.stderr and "openjdk-17" in done.stderr
