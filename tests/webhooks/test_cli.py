"""`fiskil-harness webhooks check|send`: exit codes, output, JUnit, and the secret never shown."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from harness.cli import main
from harness.webhooks.receivers import RECEIVERS, serve

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
