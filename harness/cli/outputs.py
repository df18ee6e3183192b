"""Output paths checked BEFORE a subcommand does its work, so a bad `--out`/`--json`/DIR is a usage
error (exit 2, one line) instead of a stack trace after minutes of recording, with the results lost.

The checks create nothing: they find the nearest existing ancestor and prove it is a directory we
can create files in.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from harness.cli import UsageError


def _nearest_existing(path: Path) -> Path:
    current = path.absolute()
    while not current.exists() and current != current.parent:
        current = current.parent
    return current


def _check_can_create_in(option: str, path: Path) -> None:
    """`path` does not exist yet: its nearest existing ancestor must be a writable directory."""
    ancestor = _nearest_existing(path.parent if path.parent != path else path)
    if not ancestor.is_dir():
        raise UsageError(f"{option} {path}: {ancestor} is a file, not a directory; choose another path")
    try:
        with tempfile.TemporaryFile(dir=ancestor):
            pass
    except OSError as exc:
        raise UsageError(f"{option} {path}: cannot create files under {ancestor} ({exc.strerror or exc}); "
                         "choose a writable path") from None


def check_output_dir(option: str, path: Path) -> None:
    """A directory we will fill: it must be new or empty, and creatable/writable."""
    if path.exists():
        if not path.is_dir():
            raise UsageError(f"{option} {path} is a file; give a new or empty directory")
        if any(path.iterdir()):
            raise UsageError(f"{option} {path} must be a new or empty directory (results are never mixed)")
        if not os.access(path, os.W_OK | os.X_OK):
            raise UsageError(f"{option} {path} is not writable; choose a writable directory")
        _check_can_create_in(option, path / "probe")
        return
    _check_can_create_in(option, path)


def check_output_file(option: str, path: Path) -> None:
    """A file we will (over)write."""
    if path.is_dir():
        raise UsageError(f"{option} {path} is a directory; give a file path such as {path / 'report.json'}")
    if path.exists():
        try:
            with path.open("a", encoding="utf-8"):  # append mode: proves writability, changes nothing
                pass
        except OSError as exc:
            raise UsageError(f"{option} {path} is not writable ({exc.strerror or exc})") from None
        return
    _check_can_create_in(option, path)
