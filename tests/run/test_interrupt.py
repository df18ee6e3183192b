"""An interrupt sent to the `fiskil-harness run` process alone stops everything it started.

CI runners and process supervisors send SIGINT or SIGTERM to one pid, not to a process group. The
run must pass it on to pytest and its workers, tear down (WireMock JVMs included), write a partial
summary, point `latest` at it and exit 130; a second interrupt kills at once, without tracebacks.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.cli.processes import ProcessGroup, descendants

ROOT = Path(__file__).resolve().parents[2]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie has exited; only its parent's wait is missing
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _survivors(pids: list[int], within: float) -> list[str]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        alive = [pid for pid in pids if _alive(pid)]
        if not alive:
            return []
        time.sleep(0.2)
    return [f"{pid}: {_cmdline(pid)[:120]}" for pid in pids if _alive(pid)]


# --- the process group on its own (no JVM: fast) ---------------------------------------------------

CHILD = """
import os, subprocess, sys, time
# a grandchild in a session of its own, as the WireMock JVMs are
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"], start_new_session=True)
print("ready", flush=True)
try:
    time.sleep(300)
except KeyboardInterrupt:
    time.sleep(float(sys.argv[1]))  # a teardown that takes this long
    sys.exit(2)
"""


def _group(tmp_path: Path, teardown: float) -> ProcessGroup:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    out = (tmp_path / "out.txt").open("w")
    group = ProcessGroup([sys.executable, str(script), str(teardown)], stdout=out, notice=open(os.devnull, "w"), grace=3)
    group.start()
    deadline = time.monotonic() + 20
    while "ready" not in (tmp_path / "out.txt").read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    return group


def test_a_first_interrupt_reaches_the_child_as_sigint(tmp_path: Path) -> None:
    group = _group(tmp_path, teardown=0)
    tree = descendants(group.process.pid)
    group.stop()
    try:
        assert group.wait() == 2 and not group.killed  # the child's KeyboardInterrupt path ran
    finally:
        for pid in tree:  # the grandchild stands for a JVM, which the child's teardown would stop
            os.kill(pid, signal.SIGKILL)


def test_a_second_interrupt_kills_the_whole_tree_also_other_sessions(tmp_path: Path) -> None:
    group = _group(tmp_path, teardown=60)
    tree = descendants(group.process.pid)
    assert len(tree) == 1, tree
    group.stop()
    group.stop()
    assert group.wait() == -signal.SIGKILL and group.killed
    assert not _survivors(tree, within=5)


def test_a_teardown_longer_than_the_grace_is_killed(tmp_path: Path) -> None:
    group = _group(tmp_path, teardown=60)
    tree = descendants(group.process.pid)
    started = time.monotonic()
    group.stop()
    assert group.wait() == -signal.SIGKILL and time.monotonic() - started < 15
    assert not _survivors(tree, within=5)


# --- the real run ------------------------------------------------------------------------------


def _start_run(report_dir: Path) -> subprocess.Popen[str]:
    # SIGINT ignored at start, as in a background job of a non-interactive shell or some CI runners:
    # the interrupt must still reach pytest.
    return subprocess.Popen(
        [sys.executable, "-m", "harness", "run", "-n", "2", "--report-dir", str(report_dir), "--no-html"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))


def _after_first_scenario(run: subprocess.Popen[str]) -> tuple[list[int], str]:
    """Wait for the first finished scenario; return the run's process tree and the stderr read so far."""
    seen = ""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        line = run.stderr.readline()
        seen += line
        if line.lstrip("[ ").startswith("1/"):
            break
        if not line and run.poll() is not None:
            pytest.fail(f"the run ended before its first scenario finished:\n{seen}")
    tree = descendants(run.pid)
    assert any("wiremock" in _cmdline(pid) for pid in tree), "expected the run's WireMock JVMs among its processes"
    return tree, seen


@pytest.mark.jvm
@pytest.mark.slow
@pytest.mark.timeout(240)
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_to_the_run_alone_tears_down_writes_a_partial_summary_and_exits_130(tmp_path: Path, signum: int) -> None:
    run = _start_run(tmp_path)
    try:
        tree, seen = _after_first_scenario(run)
        os.kill(run.pid, signum)
        out, err = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
    err = seen + err
    assert run.returncode == 130, out + err
    assert "Traceback" not in err and "Traceback" not in out, err[-3000:]
    assert not _survivors(tree, within=30), "processes of the run outlived it"
    run_dirs = [path for path in tmp_path.iterdir() if path.is_dir() and path.name != "latest"]
    assert len(run_dirs) == 1
    summary = (run_dirs[0] / "summary.md").read_text()
    assert "interrupted" in summary and "scenarios finished" in summary
    assert (tmp_path / "latest").resolve() == run_dirs[0].resolve()
    assert "interrupted: partial results" in out


@pytest.mark.jvm
@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_second_sigint_stops_at_once_tersely_and_leaves_nothing_running(tmp_path: Path) -> None:
    run = _start_run(tmp_path)
    try:
        tree, seen = _after_first_scenario(run)
        os.kill(run.pid, signal.SIGINT)
        time.sleep(0.3)
        os.kill(run.pid, signal.SIGINT)
        out, err = run.communicate(timeout=30)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 130, out + seen + err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err[-3000:]
    assert "stopping at once" in err and 'File "' not in err, err[-3000:]  # no traceback frames
    assert not _survivors(tree, within=10), "processes of the run outlived it"


def test_before_and_after_pytest_runs_an_interrupt_stops_the_cli_even_if_sigint_was_ignored() -> None:
    from harness.cli.run import interrupt_on_signals

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        for signum in (signal.SIGINT, signal.SIGTERM):
            with pytest.raises(KeyboardInterrupt), interrupt_on_signals():
                os.kill(os.getpid(), signum)
                time.sleep(1)  # the handler runs at the next bytecode
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN, "the previous handler is restored"
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.parametrize("outcome, says", [((2, False), "interrupted before any result was written"),
                                           ((-9, True), "stopped at once; no summary")])
def test_an_interrupt_without_results_is_one_line_and_still_points_latest(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        outcome: tuple[int, bool], says: str) -> None:
    import argparse

    from harness.cli import run as run_cli

    def no_results(plan: run_cli.RunPlan) -> tuple[int, bool]:
        plan.run_dir.mkdir(parents=True)
        (plan.run_dir / "pytest.log").write_text("Traceback (most recent call last):\nKeyboardInterrupt\n")
        return outcome

    monkeypatch.setattr(run_cli, "preflight", lambda plan: 3)
    monkeypatch.setattr(run_cli, "check_reachable", lambda args: None)
    monkeypatch.setattr(run_cli, "run_pytest", no_results)
    args = argparse.Namespace(paths=[], keyword=None, markexpr=None, tags=None, names=[], workers="2", target="fake",
                              subject="reference", fake_url=None, sandbox_url="https://api.fiskil.com",
                              report_dir=str(tmp_path), no_html=True)
    assert run_cli.run(args) == 130
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert (tmp_path / "latest").resolve().parent == tmp_path.resolve()
