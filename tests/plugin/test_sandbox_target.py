"""`--target sandbox` end to end, with a separately started fake posing as the remote Fiskil API.

The real sandbox is unreachable here, so a FakeStack plays it: the run under test sees only a URL,
credentials and a pre-consented end user from the environment, exactly as it would with Fiskil.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest

from fakes.core.app import CoreConfig
from fakes.link_browser import LinkBrowser
from fakes.stack import FakeStack

pytestmark = [pytest.mark.jvm, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID = "sandbox-posing-client"
CLIENT_SECRET = "sandbox-posing-secret-value"


def _pre_consented_end_user(base_url: str, client: httpx.Client) -> str:
    """What a tester does once by hand on the real sandbox: an end user who completed Link."""
    token = client.post(f"{base_url}/v1/token", json={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
    headers = {"Authorization": f"Bearer {token.json()['token']}"}
    user = client.post(f"{base_url}/v1/end-users", headers=headers,
                       json={"email": "standing.user@example.com", "name": "Standing User"})
    end_user_id = user.json()["end_user_id"]
    session = client.post(f"{base_url}/v1/auth/session", headers=headers, json={
        "end_user_id": end_user_id, "redirect_uri": "https://app.example/linked",
        "cancel_uri": "https://app.example/cancelled"})
    result = LinkBrowser(client).complete(session.json()["auth_url"])
    assert result.outcome == "redirect", f"could not pre-consent the standing end user: {result}"
    return end_user_id


def _end_user_ids(base_url: str, client: httpx.Client) -> set[str]:
    token = client.post(f"{base_url}/v1/token", json={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
    users = client.get(f"{base_url}/v1/end-users", headers={"Authorization": f"Bearer {token.json()['token']}"})
    return {user["id"] for user in users.json()}


def test_sandbox_target_runs_its_safe_scenarios_against_a_remote_api(tmp_path: Path) -> None:
    config = CoreConfig(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, seed=11)
    with httpx.Client(timeout=10) as client, FakeStack(config, client=client) as remote:
        standing_user = _pre_consented_end_user(remote.base_url, client)
        junit, cucumber, allure = tmp_path / "junit.xml", tmp_path / "cucumber.json", tmp_path / "allure"
        env = {**os.environ, "FISKIL_CLIENT_ID": CLIENT_ID, "FISKIL_CLIENT_SECRET": CLIENT_SECRET,
               "FISKIL_SANDBOX_END_USER_ID": standing_user}
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "features", "-p", "no:xdist", "-q", "-p", "no:cacheprovider",
             "--target", "sandbox", "--sandbox-url", remote.base_url, f"--junitxml={junit}",
             f"--cucumberjson={cucumber}", f"--alluredir={allure}"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
        )
        output = run.stdout + run.stderr
        assert CLIENT_SECRET not in output, "the client secret leaked into the run's output"
        assert run.returncode == 0, f"sandbox run failed:\n{output[-4000:]}"

        suite = ET.parse(junit).getroot()
        cases = suite.findall(".//testcase")
        skipped = [case for case in cases if case.find("skipped") is not None]
        passed = [case for case in cases if case.find("skipped") is None and case.find("failure") is None
                  and case.find("error") is None]
        assert len(passed) >= 5, f"expected the @sandbox_safe scenarios to run, {len(passed)} passed"
        reasons = {case.find("skipped").get("message", "") for case in skipped}
        assert skipped and all("sandbox target" in reason for reason in reasons), reasons

        # cucumber.json and Allure hold every scenario too, the skipped ones (most skip by tag, before
        # their first step) with every step skipped
        elements = [e for feature in json.loads(cucumber.read_text()) for e in feature["elements"]]
        allure_results = [json.loads(path.read_text()) for path in allure.glob("*-result.json")]
        assert len(elements) == len(allure_results) == len(cases), (len(elements), len(allure_results), len(cases))
        skipped_elements = [e for e in elements if all(step["result"]["status"] == "skipped" for step in e["steps"])]
        assert len(skipped_elements) == len(skipped)
        assert sum(r["status"] == "skipped" for r in allure_results) == len(skipped)

        left_behind = _end_user_ids(remote.base_url, client) - {standing_user}
        assert not left_behind, f"the run left end users it created on the sandbox: {sorted(left_behind)}"
