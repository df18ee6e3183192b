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
FAST = ["--burst", "10", "--settle", "0.3", "--replay-after", "0.01", "--timeout", "2"]


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


def test_not_observable_is_a_junit_failure_and_exit_1_unless_allowed_then_skipped(good, secret_env, capsys, tmp_path):
    junit = tmp_path / "j.xml"
    args = ["webhooks", "check", "--url", good.webhook_url, "--secret-env", secret_env, "--junitxml", str(junit),
            "--only", "valid-ack", "--only", "duplicate", *FAST]
    assert main(args) == 1
    suite = ET.fromstring(junit.read_text()).find("testsuite")
    (failure,) = suite.findall(".//failure")   # a CI job reading JUnit goes red exactly when the command exits 1
    assert failure.get("type") == "not-observable" and "NOT OBSERVABLE" in failure.get("message")
    assert suite.get("failures") == "1" and suite.get("skipped") == "0" and not suite.findall(".//skipped")
    out, err = capsys.readouterr()
    assert "NOT OBSERVABLE" in out and "add --observe" in err

    assert main([*args, "--allow-not-observable"]) == 0
    suite = ET.fromstring(junit.read_text()).find("testsuite")
    (skipped,) = suite.findall(".//skipped")
    assert "NOT OBSERVABLE" in skipped.get("message") and not suite.findall(".//failure")
    assert suite.get("failures") == "0" and suite.get("skipped") == "1"


def test_junit_properties_come_first_and_a_failed_informational_check_is_no_failure(tmp_path):
    from harness.webhooks.checks import CheckResult
    from harness.webhooks.report import write_junit

    results = [CheckResult("emitter-retries", "kit self-test", "3 attempts", False, "FAIL", "1 attempt only"),
               CheckResult("valid-ack", "valid", "2xx", True, "FAIL", "500 in 3 ms",
                           {"attempts": [{"attempt": 1, "status": 500, "latency_s": 0.003, "error_kind": "status",
                                          "error": "", "body_excerpt": "boom"}]})]
    junit = tmp_path / "j.xml"
    write_junit(results, junit)
    suite = ET.fromstring(junit.read_text()).find("testsuite")
    informational, required = suite.findall("testcase")
    assert [child.tag for child in informational] == ["properties", "system-out"]
    assert "FAIL" in informational.find("system-out").text
    assert {p.get("name"): p.get("value") for p in informational.iter("property")} == {"verdict": "FAIL", "required": "false"}
    assert [child.tag for child in required] == ["properties", "failure"]
    assert "attempt 1: 500 in 3 ms, body 'boom'" in required.find("failure").text
    assert suite.get("failures") == "1"


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


# --- every option checked up front --------------------------------------------------------------------


@pytest.mark.parametrize("option,value", [
    ("--settle", "nan"), ("--settle", "inf"), ("--settle", "-1"),
    ("--observe-timeout", "nan"), ("--observe-timeout", "0"),
    ("--timeout", "nan"), ("--timeout", "-inf"),
    ("--replay-after", "-5"), ("--replay-after", "nan"),
    ("--burst", "0"),
])
def test_check_refuses_non_finite_or_out_of_range_numbers_before_sending(option, value, secret_env, capsys):
    app, state = RECEIVERS["good"](SECRET)
    with serve(app) as served:
        code = main(["webhooks", "check", "--url", served.webhook_url, "--secret-env", secret_env,
                     "--observe", served.observe_url, *FAST, f"{option}={value}"])
    out, err = capsys.readouterr()
    assert code == 2
    (line,) = err.strip().splitlines()   # one line saying what to fix
    assert line.startswith(f"fiskil-harness webhooks: {option} must be a finite number") and value in line
    assert out == "" and state.received == 0


@pytest.mark.parametrize("value", ["nan", "inf", "0", "-1"])
def test_send_refuses_a_bad_timeout_before_printing_or_sending(value, secret_env, capsys):
    app, state = RECEIVERS["good"](SECRET)
    with serve(app) as served:
        code = main(["webhooks", "send", "--url", served.webhook_url, "--secret-env", secret_env,
                     "--event", "consent.received", f"--timeout={value}"])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and state.received == 0
    assert "--timeout must be a finite number of seconds > 0" in err and "Traceback" not in err


def test_bad_junitxml_paths_exit_2_before_any_check(good, secret_env, capsys, tmp_path):
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    for path, message in ((a_file / "j.xml", "is a file, not a directory"), (tmp_path, "is a directory; give a file path")):
        code = main(["webhooks", "check", "--url", good.webhook_url, "--secret-env", secret_env,
                     "--junitxml", str(path), *FAST])
        out, err = capsys.readouterr()
        assert code == 2, err
        assert "--junitxml" in err and message in err and len(err.strip().splitlines()) == 1
        assert out == "" and "[" not in err   # no check ran


@pytest.mark.parametrize("action", ["check", "send"])
def test_an_out_of_range_port_names_the_option(action, secret_env, capsys):
    extra = ["--event", "consent.received"] if action == "send" else []
    assert main(["webhooks", action, "--url", "http://127.0.0.1:99999/hook", "--secret-env", secret_env, *extra]) == 2
    err = capsys.readouterr().err
    assert "--url 'http://127.0.0.1:99999/hook' has an invalid port" in err and "1 to 65535" in err


# --- reports say why ---------------------------------------------------------------------------------


def test_burst_failure_reasons_are_in_the_table_and_junit(secret_env, capsys, tmp_path):
    junit = tmp_path / "j.xml"
    with FlakyReceiver(fail_first=3, mode="reset") as flaky:
        code = main(["webhooks", "check", "--url", flaky.url, "--secret-env", secret_env, "--only", "burst",
                     "--burst", "10", "--timeout", "1", "--junitxml", str(junit)])
    out, err = capsys.readouterr()
    assert code == 1
    reasons = [line for line in out.splitlines() if line.strip().startswith("↳") and "no HTTP answer (" in line]
    assert len(reasons) == 3, out
    failure = ET.fromstring(junit.read_text()).find(".//failure")
    assert failure.text.count("attempt 1: no HTTP answer (") == 3 and "evidence:" in failure.text


def test_a_rejecting_everything_endpoint_shows_no_green_security_rows(good, secret_env, capsys):
    code = main(["webhooks", "check", "--url", good.base_url + "/wrong-path", "--secret-env", secret_env,
                 "--observe", good.observe_url, *FAST, "--only", "valid-ack", "--only", "reject-forged-signature"])
    out, err = capsys.readouterr()
    assert code == 1
    row = next(line for line in out.splitlines() if line.startswith("reject-forged-signature"))
    assert row.endswith("NOT OBSERVABLE")
    assert "0 passed, 1 failed, 1 not observable" in out and "add --observe" not in out + err


def test_burst_processed_alone_runs_the_burst_too(good, secret_env, capsys):
    code = main(["webhooks", "check", "--url", good.webhook_url, "--secret-env", secret_env,
                 "--observe", good.observe_url, *FAST, "--only", "burst-processed"])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "note: also running burst" in err and "2 passed, 0 failed, 0 not observable" in out


def test_send_reports_the_request_time_not_the_client_set_up(good, secret_env, capsys, monkeypatch):
    import time as clock

    import harness.cli.webhooks as cli

    real = cli.send_once_sync

    def slow_set_up(*args, **kwargs):
        clock.sleep(0.3)   # stands in for client set-up outside the request
        record = real(*args, **kwargs)
        record.attempts[0].latency_s = 0.0123
        return record

    monkeypatch.setattr(cli, "send_once_sync", slow_set_up)
    assert main(["webhooks", "send", "--url", good.webhook_url, "--secret-env", secret_env,
                 "--event", "consent.received"]) == 0
    assert "answer: 200 in 12 ms" in capsys.readouterr().out


# --- secrets and credentials never shown -------------------------------------------------------------


def echoing_app(secret: str) -> Starlette:
    """A receiver that holds the (normalised) secret and echoes it, and the decoded key, in its answer."""
    import base64

    key = base64.b64decode(secret)

    async def webhook(request: Request) -> Response:
        body = (f"configured with {secret} / {secret.rstrip('=')} / {base64.urlsafe_b64encode(key).decode()} / "
                f"{key.decode()} / {key.hex()}")
        return Response(body, status_code=200)

    return Starlette(routes=[Route("/webhook", webhook, methods=["POST"])])


def test_a_secret_with_a_trailing_newline_is_redacted_in_every_form(monkeypatch, capsys):
    import base64

    monkeypatch.setenv("NEWLINE_SECRET", SECRET + "\n")
    key = base64.b64decode(SECRET)
    with serve(echoing_app(SECRET)) as served:
        assert main(["webhooks", "send", "--url", served.webhook_url, "--secret-env", "NEWLINE_SECRET",
                     "--event", "consent.received"]) == 0
    out, err = capsys.readouterr()
    assert "configured with «redacted» / «redacted» / «redacted» / «redacted» / «redacted»" in out
    for form in (SECRET, SECRET.rstrip("="), base64.urlsafe_b64encode(key).decode(), key.decode(), key.hex()):
        assert form not in out + err


def test_credentials_in_urls_are_never_printed(secret_env, capsys, tmp_path):
    app, _ = RECEIVERS["good"](SECRET)
    junit = tmp_path / "j.xml"
    with serve(app) as served:
        host = served.base_url.removeprefix("http://")
        url = f"http://hook-user:pa55word-x@{host}/webhook?token=tok3n-value&plain=1"
        observe = f"http://obs-user:obs-pa55@{host}/observe?api_key=k3y-value"
        assert main(["webhooks", "check", "--url", url, "--secret-env", secret_env, "--observe", observe,
                     "--junitxml", str(junit), *FAST, "--only", "valid-ack"]) == 0
        assert main(["webhooks", "send", "--url", url, "--secret-env", secret_env, "--event", "consent.received"]) == 0
    dead = closed_port_url().replace("http://", "http://u:dead-pa55@") + "?secret=s3cret-value"
    assert main(["webhooks", "check", "--url", dead, "--secret-env", secret_env]) == 2
    out, err = capsys.readouterr()
    assert "checking http://«redacted»@" in err and "plain=1" in err and "POST http://«redacted»@" in out
    for credential in ("hook-user", "pa55word-x", "tok3n-value", "obs-pa55", "k3y-value", "dead-pa55", "s3cret-value"):
        assert credential not in out + err + junit.read_text()
