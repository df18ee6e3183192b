"""Render the Allure results of a run as one self-contained HTML file, when the tools are present.

allure-commandline (npm, see package.json) needs Java; without either the run still has its
allure-results/ directory, JUnit XML and cucumber.json, and this returns None with the reason.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ALLURE_BIN = PROJECT_ROOT / "node_modules" / ".bin" / "allure"


def allure_available(allure_bin: Path = ALLURE_BIN) -> str | None:
    """None when HTML can be rendered, else why not."""
    if shutil.which("java") is None:
        return "java is not installed"
    if not allure_bin.exists():
        return f"{allure_bin} is missing (run `make setup`)"
    return None


def render_html(results_dir: Path, report_dir: Path, *, allure_bin: Path = ALLURE_BIN, timeout: float = 120) -> tuple[Path | None, str]:
    """Generate `report_dir/index.html` (single file); return (path or None, a note for the reader)."""
    reason = allure_available(allure_bin)
    if reason:
        return None, f"Allure HTML not rendered: {reason}"
    if not results_dir.is_dir() or not any(results_dir.iterdir()):
        return None, "Allure HTML not rendered: no Allure results were written"
    command = [str(allure_bin), "generate", "--single-file", "--clean", "-o", str(report_dir), str(results_dir)]
    # Its own process group: `allure` is a script that starts a JVM, and an interrupt or a timeout
    # must stop both, not only the script.
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, process_group=0)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"Allure HTML not rendered: allure generate took more than {timeout:.0f}s"
    finally:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()
    index = report_dir / "index.html"
    if process.returncode != 0 or not index.exists():
        tail = (stderr or stdout).strip().splitlines()[-3:]
        return None, "Allure HTML not rendered: " + " / ".join(tail)
    return index, f"Allure report: {index}"
