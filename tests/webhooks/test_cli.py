"""`fiskil-harness webhooks check|send`: exit codes, output, JUnit, and the secret never shown."""

from __future__ import annotations

import asyncio
import socket
import xml.etree.ElementTree as ET

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from harness.cli import main
from harness.webhooks.receivers import RECEIVERS, FlakyReceiver, serve

SECRET = "c2VjcmV0LWtleS1mb3ItdGVzdHM="
FAST = ["--burst", "10", "--settle", "0.05", "--replay-after", "0.01", "--timeout", "0.5"]


@pytest.fixture
def secret_env(monkeypatch):
    monkeypatch.setenv("TEST_WEBHOOK_SECRET", SECRET)
    return "TEST_WEBHOOK_SECRET"


@pytest.fixture
def good():
    app, _ = RECEIVERS["good"](SECRET)
    with serve(app) as served:
        yield served


def assert_secret_absent(*texts: str) -> None:
    for text in texts:
        assert SECRET not in text and SECRET.rstrip("=") not in text


def test_check_passes_a_good_receiver_with_observe_and_writes_junit(good, secret_env, capsys, tmp_path):
    junit = tmp_path / "webhooks.xml"
    code = main(["webhooks", "check", "--url", good.webhook_url, "--secret-env", secret_env,
                 "--observe", good.observe_url, "--junitxml", str(junit), *FAST])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "valid-ack" in out and "16 passed, 0 failed, 0 not observable" in out
    assert err.count("[") >= 16          # one progress line per check
    xml = junit.read_text()
    suite = ET.fromstring(xml).find("testsuite")
    assert suite.get("tests") == "16" and suite.get("failures") == "0"
    assert_secret_absent(out, err, xml)


def test_check_exits_1_when_a_required_check_fails(secret_env, capsys, tmp_path):
    app, _ = RECEIVERS["accept-any"](SECRET)
    junit = tmp_path / "j.xml"
    with serve(app) as served:
        code = main(["webhooks", "check", "--url", served.webhook_url, "--secret-env", secret_env,
                     "--observe", served.observe_url, "--junitxml", str(junit), *FAST])
    out, err = capsys.readouterr()
    assert code == 1
    assert "reject-forged-signature" in out and "FAIL" in out
    failures = ET.fromstring(junit.read_text()).findall(".//failure")
    assert len(failures) == 7
    assert_secret_absent(out, err, junit.read_text())


def test_not_observable_is_skipped_in_junit_and_exit_1_unless_allowed(good, secret_env, capsys, tmp_path):
    junit = tmp_path / "j.xml"
    args = ["webhooks", "check", "--url", good.webhook_url, "--secret-env", secret_env, "--junitxml", str(junit),
            "--only", "valid-ack", "--only", "duplicate", *FAST]
    assert main(args) == 1
    skipped = ET.fromstring(junit.read_text()).findall(".//skipped")
    assert len(skipped) == 1 and "NOT OBSERVABLE" in skipped[0].get("message")
    assert main([*args, "--allow-not-observable"]) == 0
    out, err = capsys.readouterr()
    assert "NOT OBSERVABLE" in out and "--observe" in err


@pytest.mark.parametrize("args,env,message", [
    (["--url", "http://127.0.0.1:1/x", "--secret-env", "NO_SUCH_VAR_FOR_TEST"], {}, "NO_SUCH_VAR_FOR_TEST is not set"),
    (["--url", "127.0.0.1:1/x", "--secret-env", "S"], {"S": SECRET}, "not an http(s) URL"),
    (["--url", "http://127.0.0.1:1/x", "--secret-env", "S"], {"S": "not base64!!"}, "not valid base64"),
    (["--url", "http://127.0.0.1:1/x", "--secret-env", "S", "--observe", "ftp://x"], {"S": SECRET}, "--observe"),
])
def test_check_usage_errors_exit_2_and_say_what_to_fix(args, env, message, monkeypatch, capsys):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["webhooks", "check", *args]) == 2
    out, err = capsys.readouterr()
    assert message in err
    assert "not base64!!" not in err


def test_observe_url_without_message_ids_exits_2(good, secret_env, capsys):
    assert main(["webhooks", "check", "--url", good.webhook_url, "--secret-env", secret_env,
                 "--observe", good.base_url + "/nope", *FAST]) == 2
    assert "message_ids" in capsys.readouterr().err


def test_send_prints_what_was_sent_and_the_answer(good, secret_env, capsys):
    code = main(["webhooks", "send", "--url", good.webhook_url, "--secret-env", secret_env,
                 "--event", "consent.received", "--end-user-id", "eu-42"])
    out, err = capsys.readouterr()
    assert code == 0
    assert "X-Fiskil-Signature: " in out and '"end_user_id":"eu-42"' in out
    assert "answer: 200" in out and "as expected" in out
    assert_secret_absent(out, err)


def test_send_tampered_is_expected_to_be_rejected(good, secret_env, capsys):
    assert main(["webhooks", "send", "--url", good.webhook_url, "--secret-env", secret_env,
                 "--event", "consent.revoked", "--tamper", "missing-signature"]) == 0
    out = capsys.readouterr().out
    assert "X-Fiskil-Signature omitted" in out and "answer: 401" in out


def test_send_to_accept_any_with_forgery_exits_1(secret_env, capsys):
    app, _ = RECEIVERS["accept-any"](SECRET)
    with serve(app) as served:
        assert main(["webhooks", "send", "--url", served.webhook_url, "--secret-env", secret_env,
                     "--event", "consent.received", "--tamper", "forged-signature"]) == 1
    assert "NOT as expected" in capsys.readouterr().out


def test_send_unknown_event_exits_2(secret_env, capsys):
    assert main(["webhooks", "send", "--url", "http://127.0.0.1:1/", "--secret-env", secret_env,
                 "--event", "consent.granted"]) == 2
    assert "known events" in capsys.readouterr().err


def closed_port_url() -> str:
    """A localhost URL nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/x"


def test_check_against_a_closed_port_exits_2_before_any_check(secret_env, capsys):
    url = closed_port_url()
    assert main(["webhooks", "check", "--url", url, "--secret-env", secret_env, *FAST]) == 2
    out, err = capsys.readouterr()
    assert f"nothing is listening at --url {url}" in err and "is your app running on 127.0.0.1:" in err
    assert "reject-" not in out + err and "rejected" not in out + err
    assert_secret_absent(out, err)


def test_check_with_a_dead_observe_url_exits_2(good, secret_env, capsys):
    dead = closed_port_url()
    assert main(["webhooks", "check", "--url", good.webhook_url, "--secret-env", secret_env,
                 "--observe", dead, *FAST]) == 2
    assert f"--observe {dead}" in capsys.readouterr().err


def test_send_to_a_closed_port_exits_2(secret_env, capsys):
    url = closed_port_url()
    assert main(["webhooks", "send", "--url", url, "--secret-env", secret_env,
                 "--event", "consent.received", "--tamper", "forged-signature"]) == 2
    out, err = capsys.readouterr()
    assert "is your app running on" in err and "as expected" not in out


def test_send_tampered_without_an_http_answer_is_not_as_expected(secret_env, capsys):
    with FlakyReceiver(fail_first=1000, mode="reset") as flaky:
        assert main(["webhooks", "send", "--url", flaky.url, "--secret-env", secret_env,
                     "--event", "consent.received", "--tamper", "forged-signature"]) == 1
    out = capsys.readouterr().out
    assert "no HTTP answer" in out and "NOT as expected" in out


def test_slow_observe_url_exits_2_naming_it_and_the_timeout(secret_env, capsys):
    async def observe(request: Request) -> Response:
        await asyncio.sleep(0.6)
        return JSONResponse({"message_ids": []})

    app = Starlette(routes=[Route("/webhook", lambda request: Response(status_code=401), methods=["POST"]),
                            Route("/observe", observe, methods=["GET"])])
    with serve(app) as served:
        assert main(["webhooks", "check", "--url", served.webhook_url, "--secret-env", secret_env,
                     "--observe", served.observe_url, "--observe-timeout", "0.2", *FAST]) == 2
    err = capsys.readouterr().err
    assert f"GET {served.observe_url}" in err and "timed out after 0.2 s" in err and "ReadTimeout" in err
