"""`CoreServer`: the core over real HTTP on 127.0.0.1 (port 0) in a daemon thread, for the edge and
for subjects that need a socket. Always stopped and joined on exit, also when the body raises."""

from __future__ import annotations

import threading
import time
from types import TracebackType

import uvicorn

from fakes.core.app import Core

START_TIMEOUT_SECONDS = 10.0
STOP_TIMEOUT_SECONDS = 5.0


class CoreServerError(RuntimeError):
    """The server did not start; the message says why."""


class CoreServer:
    """Context manager: `with CoreServer(core) as server: server.url`."""

    def __init__(self, core: Core, host: str = "127.0.0.1") -> None:
        self.core = core
        self.host = host
        self.url = ""
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        config = uvicorn.Config(self.core.app, host=self.host, port=0, log_level="warning", lifespan="off",
                                access_log=False)
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(target=server.run, name="fiskil-core-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not server.started:
            if not self._thread.is_alive():
                raise CoreServerError("uvicorn exited before it started listening (see its log above)")
            if time.monotonic() > deadline:
                self.stop()
                raise CoreServerError(f"core server not ready after {START_TIMEOUT_SECONDS:g}s")
            time.sleep(0.002)
        port = server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://{self.host}:{port}"
        self.core.core_url = self.url
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT_SECONDS)
            if self._thread.is_alive() and self._server is not None:
                self._server.force_exit = True
                self._thread.join(STOP_TIMEOUT_SECONDS)
        self._thread = None
        self._server = None

    def __enter__(self) -> CoreServer:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()
