"""`fiskil-harness fake`: prints where things are, stops cleanly on signals, refuses bad set-ups."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.cli import main
from harness.cli.fake import READY_LINE
from tests.edge.test_process import pid_alive, wait_until_gone

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def children_of(pid: int) -> list[int]:
    """Direct children of `pid`, read from /proc (no psutil)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


class RunningFake:
    def __init__(self, proc: subprocess.Popen[str], lines: list[str]) -> None:
        self.proc, self.lines = proc, lines

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def base_url(self) -> str:
        line = next(line for line in self.lines if line.startswith("Fiskil API"))
        return line.rsplit(" ", 1)[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


WEBHOOK_SECRET = "aGFybmVzcy10ZXN0LXdlYmhvb2stc2VjcmV0LTMyYnl0ZXM="


@pytest.fixture
def running_fake() -> Iterator[RunningFake]:
    env = {**os.environ, "FISKIL_CLIENT_SECRET": "do-not-print-me-42", "PYTHONUNBUFFERED": "1"}
    with _fake_process([], env) as fake:
        yield fake


@contextlib.contextmanager
def _fake_process(extra_args: list[str], env: dict[str, str], python_code: str | None = None) -> Iterator[RunningFake]:
    """`fiskil-harness fake` in a child; `python_code` (run with `-c`, the CLI's args in sys.argv)
    replaces `-m harness` when a test must change the fake before it starts."""
    launcher = ["-c", python_code] if python_code else ["-m", "harness"]
    proc = subprocess.Popen(
        [sys.executable, *launcher, "fake", "--seed", "5",
         *(extra_args if "--port" in extra_args else ["--port", str(free_port()), *extra_args])],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 60
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
            if line.startswith(READY_LINE):
                break
        assert any(line.startswith(READY_LINE) for line in lines), "\n".join(lines)
        yield RunningFake(proc, lines)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        if proc.stdout:
            proc.stdout.close()


@pytest.mark.jvm
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_serves_then_stops_cleanly_on_a_signal_leaving_no_jvm(running_fake: RunningFake, sig: int) -> None:
    base = running_fake.base_url()
    port_arg = running_fake.proc.args[running_fake.proc.args.index("--port") + 1]
    assert base == f"http://127.0.0.1:{port_arg}"  # --port fixes the edge's port
    assert f"\n  FISKIL_API_URL={base}\n" in running_fake.text  # as README says: paste it into the app's env
    assert f"control API:  {base}/__harness" in running_fake.text
    assert "edge extension is not loaded" not in running_fake.text  # javac is here: the edge is guarded
    assert f"WireMock admin: {base}/__admin" in running_fake.text
    assert "secret from $FISKIL_CLIENT_SECRET" in running_fake.text
    info = httpx.get(f"{base}/__harness/info", timeout=5).json()
    assert info["public_base_url"] == base and info["seed"] == 5

    jvms = [pid for pid in children_of(running_fake.proc.pid) if "java" in Path(f"/proc/{pid}/cmdline").read_text()]
    assert len(jvms) == 1
    running_fake.proc.send_signal(sig)
    rest, _ = running_fake.proc.communicate(timeout=30)
    assert running_fake.proc.returncode == 0, rest
    assert "stopped" in rest
    assert wait_until_gone(jvms[0], 5)
    assert "do-not-print-me-42" not in running_fake.text + rest


@pytest.mark.jvm
def test_the_fake_restarts_on_the_same_port_right_after_a_stop() -> None:
    """Connections of the stopped fake linger in TIME_WAIT; they must not block a restart (scripts, CI)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    port = free_port()
    with _fake_process(["--port", str(port)], env) as first, httpx.Client(timeout=5) as keep_alive:
        keep_alive.get(f"{first.base_url()}/__harness/info").raise_for_status()
        first.proc.send_signal(signal.SIGINT)  # the fake closes the open connection: TIME_WAIT on its port
        first.proc.communicate(timeout=30)
    with _fake_process(["--port", str(port)], env) as second:
        assert httpx.get(f"{second.base_url()}/__harness/info", timeout=5).status_code == 200


@pytest.mark.jvm
def test_a_port_in_use_is_a_clear_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["fake", "--port", str(port)]) == 2
    assert f"port {port} on 127.0.0.1 is already in use" in capsys.readouterr().err


def test_webhook_secret_env_must_be_set(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("HARNESS_TEST_UNSET_SECRET", raising=False)
    code = main(["fake", "--webhook-url", "http://127.0.0.1:1/hook", "--webhook-secret-env", "HARNESS_TEST_UNSET_SECRET"])
    assert code == 2
    assert "HARNESS_TEST_UNSET_SECRET is not set" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["--webhook-url", "http://127.0.0.1:1/hook"], "go together"),
        (["--webhook-secret-env", "X"], "go together"),
        (["--port", "99999"], "--port must be"),
    ],
)
def test_bad_options_exit_2(argv: list[str], complaint: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fake", *argv]) == 2
    assert complaint in capsys.readouterr().err


def test_bad_webhook_url_exit_2(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HARNESS_TEST_SECRET", "s3cr3t-value")
    assert main(["fake", "--webhook-url", "ftp://x", "--webhook-secret-env", "HARNESS_TEST_SECRET"]) == 2
    err = capsys.readouterr().err
    assert "absolute http(s) URL" in err and "s3cr3t-value" not in err


@pytest.mark.jvm
def test_webhook_target_is_registered(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Runs in-process so we can see the core it built: the secret reaches the core, not stdout."""
    import harness.cli.fake as fake_cli
    from fakes import stack as stack_module

    seen = {}
    real_stack = stack_module.FakeStack

    class StopAfterStart(real_stack):  # type: ignore[misc,valid-type]
        def start(self):
            started = super().start()
            seen["stack"] = started
            self.wiremock.stop()  # makes `run` leave its wait loop at once
            return started

    monkeypatch.setattr(stack_module, "FakeStack", StopAfterStart)
    monkeypatch.setattr(fake_cli, "ALIVE_CHECK_SECONDS", 0.01)
    monkeypatch.setenv("HARNESS_TEST_SECRET", WEBHOOK_SECRET)
    code = main(["fake", "--webhook-url", "http://127.0.0.1:1/hook", "--webhook-secret-env", "HARNESS_TEST_SECRET"])
    assert code == 1  # the edge "died", which the command reports as a failure
    target = seen["stack"].core.webhook_target
    assert (target.url, target.secret) == ("http://127.0.0.1:1/hook", WEBHOOK_SECRET)
    printed = capsys.readouterr()
    assert "webhooks to:  http://127.0.0.1:1/hook" in printed.out
    assert WEBHOOK_SECRET not in printed.out + printed.err


def test_a_secret_that_is_not_base64_is_a_usage_error(monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HARNESS_TEST_SECRET", "not base64 at all!")
    assert main(["fake", "--webhook-url", "http://127.0.0.1:1/hook", "--webhook-secret-env", "HARNESS_TEST_SECRET"]) == 2
    err = capsys.readouterr().err
    assert "HARNESS_TEST_SECRET" in err and "not base64 at all!" not in err


@pytest.mark.jvm
def test_the_fake_delivers_signed_webhooks_to_the_registered_url_also_after_a_reset() -> None:
    """`fiskil-harness fake --webhook-url` is how a partner receives Fiskil's webhooks from the fake."""
    from fakes.link_browser import LinkBrowser
    from harness.webhooks.receivers import good_receiver, serve

    app, received = good_receiver(WEBHOOK_SECRET)
    with serve(app) as receiver, httpx.Client(timeout=10) as client:
        env = {**os.environ, "HARNESS_TEST_SECRET": WEBHOOK_SECRET, "PYTHONUNBUFFERED": "1"}
        with _fake_process(["--webhook-url", receiver.webhook_url, "--webhook-secret-env", "HARNESS_TEST_SECRET"],
                           env) as fake:
            base = fake.base_url()
            client.post(f"{base}/__harness/reset", json={}).raise_for_status()  # the target must survive it
            token = client.post(f"{base}/v1/token", json={"client_id": "harness-client-id",
                                                          "client_secret": "harness-client-secret"}).json()["token"]
            headers = {"Authorization": f"Bearer {token}"}
            user = client.post(f"{base}/v1/end-users", headers=headers, json={"email": "hook@example.com"}).json()
            session = client.post(f"{base}/v1/auth/session", headers=headers, json={
                "end_user_id": user["end_user_id"], "redirect_uri": "https://app.example/ok",
                "cancel_uri": "https://app.example/cancel"}).json()
            assert LinkBrowser(client).complete(session["auth_url"]).outcome == "redirect"
            deadline = time.monotonic() + 10
            while len(received.processed_ids()) < 4 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert received.rejected == 0, "the fake's deliveries must carry a valid X-Fiskil-Signature"
            assert len(received.processed_ids()) == 4, (
                "expected consent.received and the accounts, balances and transactions sync events, "
                f"the receiver processed {received.processed_ids()}")
            assert WEBHOOK_SECRET not in fake.text


# A fake whose end users lost their `id`: the schema hook must catch it in `fiskil-harness fake` too.
BROKEN_FAKE = (
    "import sys\n"
    "import fakes.core.state as state\n"
    "state.EndUser.to_json = lambda self: {'identifier': self.id, 'email': self.email, 'name': self.name, 'phone': self.phone}\n"
    "from harness.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


@pytest.mark.jvm
def test_the_fake_command_serves_a_contract_violation_as_500_and_logs_it() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with _fake_process([], env, python_code=BROKEN_FAKE) as fake, httpx.Client(base_url=fake.base_url(), timeout=10) as client:
        token = client.post("/v1/token", json={"client_id": "harness-client-id", "client_secret": "harness-client-secret"}).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        end_user_id = client.post("/v1/end-users", json={"email": "v@example.invalid"}, headers=auth).json()["end_user_id"]
        answer = client.get(f"/v1/end-users/{end_user_id}", headers=auth)
        assert answer.status_code == 500
        assert answer.json()["name"] == "contract_violation"
        assert answer.headers["content-type"].startswith("application/vnd.goa.error")  # the route's error shape
        fake.proc.send_signal(signal.SIGINT)
        rest, _ = fake.proc.communicate(timeout=30)
    assert "fiskil-harness fake: contract violation: GET /v1/end-users/{id} 200: id: required property missing" in rest


# --- a missing or wrong WireMock jar is a one-line set-up error (exit 2), for every command that
# --- starts an edge -------------------------------------------------------------------------------

def _broken_jar(kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Break the jar one way; returns what the one line must say."""
    import fakes.wiremock.jar as jar_module

    if kind == "nonexistent":
        monkeypatch.setenv(jar_module.JAR_ENV, "/nonexistent.jar")
        return "not a file"
    if kind == "directory":
        monkeypatch.setenv(jar_module.JAR_ENV, str(tmp_path))
        return "not a file"
    if kind == "not-a-jar":
        (tmp_path / "fake.jar").write_text("this is text, not a jar")
        monkeypatch.setenv(jar_module.JAR_ENV, str(tmp_path / "fake.jar"))
        return "not a jar"
    monkeypatch.delenv(jar_module.JAR_ENV, raising=False)
    if kind == "npm-missing":
        monkeypatch.setattr(jar_module, "NPM_JAR", tmp_path / "missing" / "wiremock-standalone-3.13.2.jar")
        return "make setup"
    monkeypatch.setattr(jar_module, "WIREMOCK_SHA256", "0" * 64)  # "wrong-sha256"
    return "npm ci"


def _one_clear_line(err: str, command: str, says: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"fiskil-harness {command}: ") and says in lines[0], lines[0]
    assert "Traceback" not in err and "JarError" not in err


@pytest.mark.parametrize("kind", ["nonexistent", "directory", "not-a-jar", "npm-missing", "wrong-sha256"])
def test_jar_problems_stop_the_fake_with_one_line(kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    says = _broken_jar(kind, tmp_path, monkeypatch)
    assert main(["fake", "--port", "0"]) == 2
    _one_clear_line(capsys.readouterr().err, "fake", says)


@pytest.mark.parametrize(("command", "argv"), [
    ("record", ["record", "--sandbox-url", "http://127.0.0.1:9", "--out", "{tmp}/rec"]),
    ("export-mappings", ["export-mappings", "{tmp}/exported"]),
    ("run", ["run", "--report-dir", "{tmp}/reports"]),
    ("check", ["check", "--adapter", "http://127.0.0.1:9", "--wait", "1"]),
    ("check", ["check", "--selftest", "--report-dir", "{tmp}/reports"]),
])
def test_jar_problems_stop_every_command_that_starts_an_edge(command: str, argv: list[str], tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("FISKIL_CLIENT_ID", "id-for-record")
    monkeypatch.setenv("FISKIL_CLIENT_SECRET", "secret-for-record")
    says = _broken_jar("nonexistent", tmp_path, monkeypatch)
    assert main([part.replace("{tmp}", str(tmp_path)) for part in argv]) == 2
    _one_clear_line(capsys.readouterr().err, command, says)


@pytest.mark.parametrize("argv", [["fake", "--seed", "-1"], ["fake", "--seed", str(2**63)],
                                  ["export-mappings", "/tmp/never-written", "--seed", "-1"]])
def test_seeds_the_control_api_refuses_are_refused_by_the_cli_too(argv: list[str],
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    _one_clear_line(capsys.readouterr().err, argv[0], "--seed must be an integer from 0 to")
