"""Start and always reap a WireMock standalone JVM.

We launch the jar ourselves rather than through the PyPI `wiremock` package: that launcher gives up
after ~2.5 s, fails under parallel starts, leaves failed JVMs running, never drains the JVM's pipe
and cannot pass flags (all measured with WireMock 3.13.2 on this project's kind of machine).

Reaping is layered so no run leaves a JVM behind:
- the context manager stops the JVM on normal exit, on exceptions and on KeyboardInterrupt;
- a failed start stops the JVM before the error is raised;
- an `atexit` hook stops every JVM still registered when the interpreter exits;
- on Linux the JVM gets `PR_SET_PDEATHSIG` (SIGKILL) so even a SIGKILLed parent takes it along.
The JVM runs in its own session (`start_new_session=True`): Ctrl-C in a terminal reaches only
Python, which then stops the JVM in order, instead of both dying at once half-way.
"""

from __future__ import annotations

import atexit
import collections
import ctypes
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from fakes.wiremock import extension as edge_extension
from fakes.wiremock.jar import resolve_jar
from fakes.wiremock.rules import write_mapping_file

# Tiered C1 only and the serial GC: measured ~2 s instead of ~3 s for four JVMs starting at once.
DEFAULT_JVM_ARGS: tuple[str, ...] = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")
OUTPUT_LINES_KEPT = 200
STOP_GRACE_SECONDS = 5.0
_PORT_LINE = re.compile(r"^port:\s+(\d+)\s*$")


class WireMockStartError(RuntimeError):
    """The JVM did not become healthy; the message carries the JVM's own output."""


_live: set[WireMockProcess] = set()
_live_lock = threading.Lock()


def _stop_all_live() -> None:
    """atexit: stop any JVM a caller forgot (or could not) stop."""
    with _live_lock:
        remaining = list(_live)
    for process in remaining:
        process.stop()


atexit.register(_stop_all_live)


def _pdeathsig_preexec():
    """Return a preexec_fn that makes the child die with its parent, or None where unsupported.

    PR_SET_PDEATHSIG fires when the *thread* that forked dies, so we only use it when starting
    from the main thread (which lives as long as the process). libc is resolved here, in the
    parent, so the child only makes one syscall between fork and exec.
    """
    if not sys.platform.startswith("linux") or threading.current_thread() is not threading.main_thread():
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def set_pdeathsig() -> None:
        prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)

    return set_pdeathsig


ROOT_DIR_PREFIX = "fiskil-wiremock-"


def sweep_orphaned_root_dirs(tmp: Path | None = None) -> list[Path]:
    """Remove root dirs left by runs that were killed (SIGKILL leaves no chance to clean up): each
    dir's name carries the pid that made it, and a dir whose pid is gone is nobody's."""
    removed = []
    for path in (tmp or Path(tempfile.gettempdir())).glob(f"{ROOT_DIR_PREFIX}*"):
        owner = path.name[len(ROOT_DIR_PREFIX):].split("-", 1)[0]
        if owner.isdigit() and not Path(f"/proc/{owner}").exists():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


class WireMockProcess:
    """One WireMock JVM on 127.0.0.1: `with WireMockProcess() as wm: wm.base_url`."""

    def __init__(
        self,
        *,
        port: int = 0,
        extra_args: Sequence[str] = (),
        jar: Path | str | None = None,
        java: str = "java",
        jvm_args: Sequence[str] = DEFAULT_JVM_ARGS,
        start_timeout: float = 30.0,
        root_dir: Path | str | None = None,
        mappings: Sequence[dict] = (),
        use_extension: bool = True,
    ) -> None:
        """`mappings`: stub mappings written into the root dir's mappings/ folder before the JVM
        starts, so WireMock loads them at start and again on every reset. `use_extension`: load the
        harness's edge extension when it can be built (fakes/wiremock/extension.py)."""
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be 0 (any free port) or 1-65535, got {port}")
        self._requested_port = port
        self._extra_args = list(extra_args)
        self._jar = Path(jar) if jar else None
        self._java = java
        self._jvm_args = list(jvm_args)
        self._start_timeout = start_timeout
        self._root_dir = Path(root_dir) if root_dir else None
        self._mappings = list(mappings)
        self._use_extension = use_extension
        self.extension: edge_extension.EdgeExtension | None = None  # set at start when loaded
        self._own_root_dir: Path | None = None
        self._proc: subprocess.Popen[str] | None = None
        self._output: collections.deque[str] = collections.deque(maxlen=OUTPUT_LINES_KEPT)
        self._port_found = threading.Event()
        self._drain_thread: threading.Thread | None = None
        self.port: int | None = None

    # -- public -------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("WireMock is not running; use it as a context manager or call start()")
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def output(self) -> str:
        """The last lines the JVM printed (stdout and stderr), for error messages."""
        return "\n".join(self._output)

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> WireMockProcess:
        """Launch the JVM and block until /__admin/health answers; stop it again on any failure."""
        if self._proc is not None:
            raise RuntimeError("this WireMockProcess was already started")
        try:
            self._launch()
            self._wait_until_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Terminate, wait, kill after a grace period; idempotent and safe from atexit."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=STOP_GRACE_SECONDS)
        self._join_drain()
        if proc is not None and proc.stdout is not None:
            proc.stdout.close()
        with _live_lock:
            _live.discard(self)
        if self._own_root_dir is not None:
            shutil.rmtree(self._own_root_dir, ignore_errors=True)
            self._own_root_dir = None

    def __enter__(self) -> WireMockProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- internals ----------------------------------------------------------------------------

    @property
    def guarded(self) -> bool:
        """True when the edge extension is loaded (malformed requests get JSON, never HTML)."""
        return self.extension is not None

    def _command(self, root_dir: Path) -> list[str]:
        jar = self._jar or resolve_jar()
        self.extension = edge_extension.build(jar) if self._use_extension else None
        if self.extension is not None:
            launch = ["-cp", f"{jar}{os.pathsep}{self.extension.classes_dir}", self.extension.main_class,
                      "--extensions", self.extension.extensions_arg]
        else:
            launch = ["-jar", str(jar)]
        return [
            self._java,
            *self._jvm_args,
            *launch,
            "--port",
            str(self._requested_port),
            "--bind-address",
            "127.0.0.1",
            "--disable-banner",
            "--root-dir",
            str(root_dir),
            *self._extra_args,
        ]

    def _launch(self) -> None:
        if self._root_dir is None:
            sweep_orphaned_root_dirs()
            self._own_root_dir = Path(tempfile.mkdtemp(prefix=f"{ROOT_DIR_PREFIX}{os.getpid()}-"))
        root_dir = self._root_dir or self._own_root_dir
        assert root_dir is not None
        command = self._command(root_dir)
        if self._mappings:
            write_mapping_file(root_dir, self._mappings)
        try:
            self._proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                bufsize=1,
                start_new_session=True,
                preexec_fn=_pdeathsig_preexec(),
            )
        except FileNotFoundError as exc:
            raise WireMockStartError(
                f"cannot run {self._java!r}: {exc.strerror}. Install a Java 11+ runtime (OpenJDK 17 is tested)."
            ) from exc
        with _live_lock:
            _live.add(self)
        self._drain_thread = threading.Thread(target=self._drain, name=f"wiremock-{self._proc.pid}-output", daemon=True)
        self._drain_thread.start()

    def _drain(self) -> None:
        """Keep reading the JVM's output so its pipe never fills; spot the port line on the way."""
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        try:
            for line in proc.stdout:
                line = line.rstrip("\n")
                self._output.append(line)
                match = _PORT_LINE.match(line.strip())
                if match and not self._port_found.is_set():
                    self.port = int(match.group(1))
                    self._port_found.set()
        except (ValueError, OSError):
            pass  # the pipe was closed by stop()

    def _join_drain(self) -> None:
        """After an exit, let the drain thread catch the JVM's last words before we quote them."""
        if self._drain_thread is not None:
            self._drain_thread.join(timeout=2.0)

    def _fail(self, reason: str) -> WireMockStartError:
        output = self.output or "(no output)"
        return WireMockStartError(f"WireMock did not start: {reason}\n--- JVM output (last lines) ---\n{output}")

    def _wait_until_healthy(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self._start_timeout
        while not self._port_found.wait(timeout=0.05):
            if self._proc.poll() is not None:
                self._join_drain()
                raise self._fail(f"the JVM exited with code {self._proc.returncode}")
            if time.monotonic() > deadline:
                raise self._fail(f"no `port:` line within {self._start_timeout:.0f} s")
        with httpx.Client(timeout=1.0) as client:
            while True:
                if self._proc.poll() is not None:
                    self._join_drain()
                    raise self._fail(f"the JVM exited with code {self._proc.returncode}")
                try:
                    if client.get(f"{self.base_url}/__admin/health").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise self._fail(f"/__admin/health did not answer 200 within {self._start_timeout:.0f} s")
                time.sleep(0.05)

