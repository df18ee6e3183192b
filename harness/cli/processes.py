"""The run's pytest process tree, stopped like a terminal Ctrl-C whoever sends the signal.

pytest runs in its own process group, so the CLI alone decides what reaches it: a terminal Ctrl-C,
a supervisor's `kill -INT <cli pid>` and CI's SIGTERM all become one SIGINT to the whole group
(pytest and its xdist workers), which then tear their fixtures down (WireMock JVMs, servers) and
write partial reports. A second interrupt, or a teardown that outlives its grace period, kills the
group and every descendant (the JVMs run in sessions of their own) at once, without tracebacks.
A JVM whose xdist worker already died is no longer a descendant when the snapshot is taken: the
parent-death signal set in fakes/wiremock/process.py takes it down with its worker instead.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

#: how long an interrupted run may spend tearing down before it is killed
GRACE_SECONDS = 90.0


def descendants(pid: int) -> list[int]:
    """Every live descendant of `pid` (children first), from /proc or, elsewhere, `ps`."""
    parents: dict[int, int] = {}
    proc = Path("/proc")
    if proc.is_dir():
        for entry in proc.iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'
            fields = stat[stat.rfind(")") + 2:].split()
            if len(fields) > 1:
                parents[int(entry.name)] = int(fields[1])
    else:  # pragma: no cover - macOS
        listing = subprocess.run(["ps", "-A", "-o", "pid=,ppid="], capture_output=True, text=True, check=False)
        for line in listing.stdout.splitlines():
            child, _, parent = line.strip().partition(" ")
            if child.isdigit() and parent.strip().isdigit():
                parents[int(child)] = int(parent.strip())
    found: list[int] = []
    frontier = [pid]
    while frontier:
        current = frontier.pop()
        children = [child for child, parent in parents.items() if parent == current]
        found.extend(children)
        frontier.extend(children)
    return found


def _kill(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


class ProcessGroup:
    """A child started as the leader of a new process group; `stop()` is the graceful interrupt."""

    def __init__(self, command: list[str], *, stdout: IO[str] | int | None = None, env: dict[str, str] | None = None,
                 notice: IO[str] | None = None, grace: float = GRACE_SECONDS) -> None:
        self.command, self.stdout, self.env = command, stdout, env
        self.process: subprocess.Popen[bytes] | None = None
        self.notice = notice if notice is not None else sys.stderr
        self.grace = grace
        self.interrupts = 0
        self.killed = False
        self._deadline: float | None = None

    def start(self) -> None:
        """Spawn the child; call with the forwarding handlers installed (see `forwarded_signals`)."""
        if self.interrupts:
            raise KeyboardInterrupt  # interrupted before anything started
        self.process = subprocess.Popen(self.command, stdout=self.stdout, stderr=None, env=self.env, process_group=0)

    def signal_group(self, signum: int) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass

    def stop(self) -> None:
        """First interrupt: SIGINT to the group, as a terminal Ctrl-C would; a second one kills."""
        self.interrupts += 1
        if self.process is None:
            return  # start() sees it
        if self.interrupts == 1:
            print("fiskil-harness run: interrupted, stopping the scenarios and tearing down "
                  "(interrupt again to stop at once)", file=self.notice, flush=True)
            self._deadline = time.monotonic() + self.grace
            self.signal_group(signal.SIGINT)
        elif not self.killed:
            print("fiskil-harness run: stopping at once", file=self.notice, flush=True)
            self.kill()

    def kill(self) -> None:
        """SIGKILL the group and every descendant, also those in sessions of their own (JVMs)."""
        if self.process is None:
            return
        self.killed = True
        tree = descendants(self.process.pid)
        self.signal_group(signal.SIGKILL)
        for pid in tree:
            _kill(pid, signal.SIGKILL)

    def wait(self) -> int:
        """The child's exit code; kills the tree when an interrupted teardown outlives its grace."""
        assert self.process is not None, "start() first"
        while True:
            try:
                return self.process.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                if self._deadline is not None and time.monotonic() > self._deadline and not self.killed:
                    print(f"fiskil-harness run: teardown took more than {self.grace:.0f}s, stopping at once",
                          file=self.notice, flush=True)
                    self.kill()

    def close(self) -> None:
        """Never leave the tree behind (a crash of the CLI itself included)."""
        if self.process is not None and self.process.poll() is None:
            self.kill()
            self.process.wait()


@contextmanager
def forwarded_signals(group: ProcessGroup) -> Iterator[ProcessGroup]:
    """Start the group with SIGINT and SIGTERM to the CLI stopping it (not raising KeyboardInterrupt here).

    The handlers are installed before the child is spawned: a handler is reset to the default action
    on exec, whereas an ignored SIGINT (a background job of a non-interactive shell, some CI runners)
    would be inherited and make pytest deaf to the forwarded interrupt."""
    def handler(signum: int, frame: Any) -> None:
        group.stop()

    previous = {signum: signal.signal(signum, handler) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        group.start()
        yield group
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
        group.close()
