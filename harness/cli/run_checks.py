"""What `fiskil-harness run` checks before any scenario starts, each failing with one clear line.

A run that cannot work should not start 80 scenarios to say so 80 times: a report folder that cannot
be written, no Java for the WireMock edge, or a sandbox URL that is not a Fiskil API, credentials it
refuses or an end user it does not know are usage errors (exit 2) with the fix.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import quote

import httpx

from harness.cli import UsageError
from harness.redaction import default_redactor
from harness.target import CLIENT_ID_ENV, CLIENT_SECRET_ENV, SANDBOX_END_USER_ENV

JAVA_HELP = ("install a Java 11+ runtime (OpenJDK 17 is tested; Debian/Ubuntu: "
             "`sudo apt-get install openjdk-17-jre-headless`, macOS: `brew install openjdk@17`) and put `java` on PATH, "
             "or reuse a running fake with --fake-url")


def check_report_dir(report_dir: str) -> Path:
    """The folder reports go to exists (or is created) and takes a file; returns it resolved."""
    path = Path(report_dir).expanduser()
    if path.exists() and not path.is_dir():
        raise UsageError(f"--report-dir {report_dir}: is a file, not a folder; give a folder for the reports")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-check-"):
            pass
    except OSError as exc:
        raise UsageError(f"--report-dir {report_dir}: cannot write reports there ({exc.strerror or exc}); "
                         "give a folder you can write to") from None
    return path.resolve()


def check_java(needs_edge: bool, path: str | None = None) -> None:
    """The WireMock edge runs on the JVM: without `java` every scenario would fail to start it.
    `path` is the search path (default: PATH)."""
    if needs_edge and shutil.which("java", path=path) is None:
        raise UsageError(f"`java` is not on PATH and the run starts a WireMock edge (it runs on the JVM): {JAVA_HELP}")


def _token(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    token = body.get("token") if isinstance(body, dict) else None
    return token if isinstance(token, str) and token else None


def _error_name(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("name") or "") if isinstance(body, dict) else ""


def check_sandbox_api(base_url: str, client_id: str, client_secret: str, end_user_id: str | None = None,
                      *, client: httpx.Client | None = None, timeout: float = 15.0) -> None:
    """POST /v1/token with the run's credentials (the token is never shown) and, when an end user is
    configured, GET /v1/end-users/{id}: a wrong URL, secret or end user is one message, not 20 failures."""
    base = base_url.rstrip("/")
    default_redactor.add(client_secret)
    owned = client is None
    http = client or httpx.Client(timeout=timeout, follow_redirects=False)
    try:
        try:
            response = http.post(f"{base}/v1/token", json={"client_id": client_id, "client_secret": client_secret})
        except httpx.HTTPError as exc:
            raise UsageError(f"the Fiskil API of --sandbox-url at {base} did not answer POST /v1/token "
                             f"({type(exc).__name__}); is the URL right and reachable from here?") from None
        token = _token(response)
        if response.status_code in (401, 403) or (response.status_code == 400 and _error_name(response)):
            raise UsageError(
                f"the Fiskil API at {base} refused the credentials (POST /v1/token answered {response.status_code} "
                f"{_error_name(response) or response.reason_phrase}): check {CLIENT_ID_ENV} and {CLIENT_SECRET_ENV}")
        if response.status_code != 200 or token is None:
            answer = f"{response.status_code} {response.reason_phrase}" + (" without a token" if response.status_code == 200 else "")
            raise UsageError(f"{base} does not look like the Fiskil API: POST /v1/token answered {answer}; "
                             "check --sandbox-url (default https://api.fiskil.com)")
        default_redactor.add(token)
        if end_user_id:
            _check_end_user(http, base, token, end_user_id)
    finally:
        if owned:
            http.close()


def _check_end_user(http: httpx.Client, base: str, token: str, end_user_id: str) -> None:
    path = f"/v1/end-users/{quote(end_user_id, safe='')}"
    try:
        response = http.get(f"{base}{path}", headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as exc:
        raise UsageError(f"the Fiskil API at {base} did not answer GET {path} ({type(exc).__name__})") from None
    if response.status_code == 200:
        return
    answer = f"{response.status_code} {_error_name(response) or response.reason_phrase}"
    if response.status_code == 404:
        raise UsageError(f"{SANDBOX_END_USER_ENV}={end_user_id} is not an end user of this API key (GET {path} "
                         f"answered {answer}): give the id of an end user who completed the Link flow, or unset it "
                         "to skip the scenarios that need one")
    raise UsageError(f"the Fiskil API at {base} could not read {SANDBOX_END_USER_ENV}={end_user_id} "
                     f"(GET {path} answered {answer})")


def sandbox_credentials(env: dict[str, str] | None = None) -> tuple[str, str, str | None]:
    env = dict(os.environ) if env is None else env
    return env.get(CLIENT_ID_ENV, ""), env.get(CLIENT_SECRET_ENV, ""), env.get(SANDBOX_END_USER_ENV) or None
