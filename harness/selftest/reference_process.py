"""The reference integration as a partner would run it: `python -m examples.reference_integration` in its own process.

Used by `fiskil-harness check --selftest`, the self-test and the partner tests. The process is always
reaped (terminate, then kill), also when it fails to start or the caller is interrupted.
"""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
from pathlib import Path

from fakes.core.app import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from harness.subjects import KIT_BACKOFF_BASE_S

PROJECT_ROOT = Path(__file__).resolve().parents[2]
#: a fixed, documented test signing secret (base64) for the self-test's reference processes
SELFTEST_WEBHOOK_SECRET = "c2VsZnRlc3Qtd2ViaG9vay1zZWNyZXQtMDEyMzQ1Njc4OQ=="
START_TIMEOUT_S = 20.0


class ReferenceProcess:
    """Context manager: the reference integration on 127.0.0.1 (port 0 by default), configured for `api_url`."""

    def __init__(self, api_url: str, work_dir: Path, *, faults: tuple[str, ...] = (), port: int = 0,
                 webhook_secret: str = SELFTEST_WEBHOOK_SECRET, backoff_base: float = KIT_BACKOFF_BASE_S,
                 http_timeout: float = 1.0, max_retries: int = 4) -> None:
        self.work_dir = Path(work_dir)
        self.log_path = self.work_dir / "reference.log"
        self.db_path = self.work_dir / "reference.sqlite3"
        self.env = {
            **os.environ, "FISKIL_API_URL": api_url, "FISKIL_CLIENT_ID": DEFAULT_CLIENT_ID,
            "FISKIL_CLIENT_SECRET": DEFAULT_CLIENT_SECRET, "FISKIL_WEBHOOK_SECRET": webhook_secret,
            "REFERENCE_DB": str(self.db_path), "REFERENCE_FAULTS": ",".join(faults),
            "REFERENCE_BACKOFF_BASE": str(backoff_base), "REFERENCE_HTTP_TIMEOUT": str(http_timeout),
            "REFERENCE_MAX_RETRIES": str(max_retries), "PYTHONUNBUFFERED": "1",
        }
        self.env.pop("REFERENCE_PUBLIC_URL", None)
        self.port = port
        self.url = ""
        self._proc: subprocess.Popen[str] | None = None
        self._log = None

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/webhooks/fiskil"

    def __enter__(self) -> ReferenceProcess:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("w", encoding="utf-8")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "examples.reference_integration", "--port", str(self.port)],
            cwd=PROJECT_ROOT, env=self.env, stdout=subprocess.PIPE, stderr=self._log, text=True)
        try:
            line = self._first_line()
            if "listening on " not in line:
                raise RuntimeError(f"the reference integration did not start: {line!r}; log: {self.log_path}")
            self.url = line.split("listening on ", 1)[1].split()[0].strip()
        except BaseException:
            self.stop()
            raise
        return self

    def _first_line(self) -> str:
        assert self._proc is not None and self._proc.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self._proc.stdout, selectors.EVENT_READ)
            if not selector.select(START_TIMEOUT_S):
                return ""
        return self._proc.stdout.readline()

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
            if proc.stdout:
                proc.stdout.close()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __exit__(self, *exc: object) -> None:
        self.stop()
