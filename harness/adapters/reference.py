"""ReferenceSubject: the bundled reference integration as a `Subject`, driven in-process.

The kit calls the service directly (fast, no HTTP hop for the actions), while the integration's
web app is served on 127.0.0.1 port 0 in a thread so the emitter can deliver webhooks to it and
the browser-landing pages exist at real URLs.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from pathlib import Path

from examples.reference_integration.app import build_app
from examples.reference_integration.config import Settings
from examples.reference_integration.faults import parse_faults
from examples.reference_integration.server import ThreadedServer, bind_socket, socket_url
from examples.reference_integration.service import ReferenceIntegration
from harness.adapters.protocol import SubjectState, SyncResult

#: the reference integration's loggers all live under this one
LOGGER = "reference_integration"
LOG_LIMIT = 5000


class LogRecorder(logging.Handler):
    """Keeps the integration's formatted log lines in memory (bounded), as its own log file would hold them.

    It sits on the integration's logger, which is set to INFO (its normal level) if nothing lower is set,
    so INFO lines are seen as in production. Every reference integration in the process logs to the same
    logger, so a recorder sees them all: one per worker is what the kit runs.
    """

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: deque[str] = deque(maxlen=LOG_LIMIT)
        self._lines_lock = threading.Lock()
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.logger = logging.getLogger(LOGGER)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:  # a broken log call must not break the integration
            return
        with self._lines_lock:
            self.lines.append(line)

    def attach(self) -> None:
        if self.logger.getEffectiveLevel() > logging.INFO:
            self.logger.setLevel(logging.INFO)
        self.logger.addHandler(self)

    def detach(self) -> None:
        self.logger.removeHandler(self)

    def snapshot(self) -> list[str]:
        with self._lines_lock:
            return list(self.lines)

    def clear(self) -> None:
        with self._lines_lock:
            self.lines.clear()


class ReferenceSubject:
    """Implements harness.adapters.protocol.Subject over ReferenceIntegration."""

    webhook_url: str | None

    def __init__(
        self,
        api_url: str,
        client_id: str,
        client_secret: str,
        webhook_secret: str,
        work_dir: str | Path | None = None,
        *,
        http_timeout: float = 1.0,
        backoff_base: float = 0.2,         # harness.subjects.KIT_BACKOFF_BASE_S
        max_retries: int = 3,
        faults: Iterable[str] | str = (),
        db_path: str | Path | None = None,
    ) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if work_dir is None and db_path is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="reference-subject-")
            work_dir = self._tmp.name
        sock = bind_socket("127.0.0.1", 0)
        public_url = socket_url(sock)
        self.settings = Settings(
            api_url=api_url.rstrip("/"), client_id=client_id, client_secret=client_secret,
            webhook_secret=webhook_secret,
            db_path=str(db_path or Path(work_dir or ".") / "reference.sqlite3"),
            public_url=public_url, http_timeout=http_timeout, backoff_base=backoff_base,
            max_retries=max_retries, faults=parse_faults(faults),
        )
        self.integration: ReferenceIntegration | None = None
        self._server: ThreadedServer | None = None
        self._log = LogRecorder()
        self._log.attach()
        try:
            self.integration = ReferenceIntegration(self.settings)
            self._server = ThreadedServer(build_app(self.integration), sock)
            self._server.start()
        except BaseException:
            self.close()
            sock.close()
            raise
        self.base_url = public_url
        self.webhook_url = f"{public_url}/webhooks/fiskil"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ReferenceSubject:
        """Build from the documented environment (docs/architecture.md); REFERENCE_PUBLIC_URL is ignored
        because the subject serves itself on a free port."""
        settings = Settings.from_env(env)
        db_path = settings.db_path if env.get("REFERENCE_DB") else None
        return cls(settings.api_url, settings.client_id, settings.client_secret, settings.webhook_secret,
                   http_timeout=settings.http_timeout, backoff_base=settings.backoff_base,
                   max_retries=settings.max_retries, faults=settings.faults, db_path=db_path)

    def _service(self) -> ReferenceIntegration:
        if self.integration is None:
            raise RuntimeError("ReferenceSubject is closed")
        return self.integration

    # -- Subject --------------------------------------------------------------------------------

    def create_end_user(self, email: str, name: str) -> str:
        return self._service().create_end_user(email, name)

    def start_link(self, end_user_id: str, institution_id: str | None = None) -> str:
        return self._service().start_link(end_user_id, institution_id)

    def land(self, url: str) -> None:
        self._service().land(url)

    def sync(self, end_user_id: str) -> SyncResult:
        return self._service().sync(end_user_id)

    def snapshot(self, end_user_id: str) -> SubjectState:
        return self._service().snapshot(end_user_id)

    def processed_webhooks(self) -> list[str]:
        return self._service().processed_webhooks()

    def reset(self) -> bool:
        self._service().reset()
        self._log.clear()
        return True

    def log_lines(self) -> list[str]:
        """harness.adapters.protocol.SubjectLog: what the integration logged since its last reset."""
        return self._log.snapshot()

    def close(self) -> None:
        """Stop the HTTP server, then the webhook worker and store; safe to call twice."""
        self._log.detach()
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self.integration is not None:
            self.integration.close()
            self.integration = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> ReferenceSubject:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
