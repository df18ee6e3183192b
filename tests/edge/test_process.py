"""WireMockProcess: starts, reports failures with the JVM's output, and never leaves a JVM behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from fakes.wiremock import process as process_module
from fakes.wiremock.process import WireMockProcess, WireMockStartError

pytestmark = pytest.mark.jvm
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def pid_alive(pid: int) -> bool:
    """True while /proc lists the pid as anything but a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_until_gone(pid: int, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_starts_healthy_and_stop_reaps_the_jvm() -> None:
    with WireMockProcess() as wiremock:
        pid = wiremock.pid
        assert pid is not None and pid_alive(pid)
        assert wiremock.base_url.startswith("http://127.0.0.1:") and wiremock.port
        assert httpx.get(f"{wiremock.base_url}/__admin/health", timeout=5).json()["status"] == "healthy"
        assert "port:" in wiremock.output
    assert not pid_alive(pid)
    assert not wiremock.is_running()


def test_early_exit_raises_with_the_jvms_own_output() -> None:
    wiremock = WireMockProcess(jvm_args=["-XX:NoSuchOptionXyz"])
    with pytest.raises(WireMockStartError) as caught:
        wiremock.start()
    message = str(caught.value)
    assert "exited with code" in message
    assert "Unrecognized VM option 'NoSuchOptionXyz'" in message  # the JVM's own complaint is quoted
    assert wiremock.pid is not None and not pid_alive(wiremock.pid)


def test_unknown_wiremock_flag_fails_fast_with_output() -> None:
    wiremock = WireMockProcess(extra_args=["--no-such-flag-xyz"])
    with pytest.raises(WireMockStartError) as caught:
        wiremock.start()
    # WireMock 3.13.2 reports unknown flags as an uncaught exception on stderr, which we quote.
    assert "exited with code 1" in str(caught.value)
    assert "Exception" in str(caught.value)
    assert wiremock.pid is not None and not pid_alive(wiremock.pid)


def test_a_start_that_times_out_leaves_no_jvm() -> None:
    wiremock = WireMockProcess(start_timeout=0.01)
    with pytest.raises(WireMockStartError, match="within"):
        wiremock.start()
    assert wiremock.pid is not None and not pid_alive(wiremock.pid)
    assert wiremock not in process_module._live


def test_missing_java_is_a_clear_error() -> None:
    with pytest.raises(WireMockStartError, match="Java"):
        WireMockProcess(java="/nonexistent/bin/java").start()


def test_bad_port_is_rejected_before_launch() -> None:
    with pytest.raises(ValueError, match="port"):
        WireMockProcess(port=70000)


def test_keyboard_interrupt_inside_the_block_still_reaps() -> None:
    pid = None
    with pytest.raises(KeyboardInterrupt):
        with WireMockProcess() as wiremock:
            pid = wiremock.pid
            raise KeyboardInterrupt
    assert pid is not None and not pid_alive(pid)


def test_atexit_hook_stops_forgotten_jvms() -> None:
    wiremock = WireMockProcess().start()
    try:
        assert wiremock in process_module._live
        process_module._stop_all_live()
        assert wiremock.pid is not None and not pid_alive(wiremock.pid)
        assert wiremock not in process_module._live
    finally:
        wiremock.stop()


def test_jvm_dies_with_a_sigkilled_parent() -> None:
    """Even an un-catchable kill of the Python owner takes the JVM along (PR_SET_PDEATHSIG)."""
    script = (
        "import sys, time\n"
        "from fakes.wiremock.process import WireMockProcess\n"
        "w = WireMockProcess().start()\n"
        "print(w.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    owner = subprocess.Popen([sys.executable, "-c", script], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        line = owner.stdout.readline() if owner.stdout else ""
        jvm_pid = int(line)
        assert pid_alive(jvm_pid)
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait(timeout=10)
        assert wait_until_gone(jvm_pid), "the JVM outlived its SIGKILLed owner"
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait(timeout=10)
        if owner.stdout:
            owner.stdout.close()


def test_root_dirs_of_killed_runs_are_swept_and_live_ones_kept(tmp_path: Path) -> None:
    from fakes.wiremock.process import ROOT_DIR_PREFIX, sweep_orphaned_root_dirs

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    orphan = tmp_path / f"{ROOT_DIR_PREFIX}{dead.pid}-abc"
    alive = tmp_path / f"{ROOT_DIR_PREFIX}{os.getpid()}-def"
    unrelated = tmp_path / f"{ROOT_DIR_PREFIX}legacy"
    for path in (orphan, alive, unrelated):
        (path / "mappings").mkdir(parents=True)
    assert sweep_orphaned_root_dirs(tmp_path) == [orphan]
    assert alive.exists() and unrelated.exists() and not orphan.exists()
