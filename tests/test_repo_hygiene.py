"""The repository stands on its own: a clean clone on another machine has every file a doc or a
comment points to, so no tracked file may name a path outside the checkout, and every relative
link in the docs must resolve."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTSIDE = re.compile(r"(/work/|\.\./shared/|/tmp/nc-)")
MD_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def _tracked(*patterns: str) -> list[Path]:
    listed = subprocess.run(["git", "ls-files", *patterns], cwd=ROOT, capture_output=True, text=True, check=True)
    return [ROOT / line for line in listed.stdout.splitlines() if (ROOT / line).is_file()]


def test_no_tracked_file_points_outside_the_checkout() -> None:
    offenders = []
    for path in _tracked("*.py", "*.md", "*.json", "*.feature", "*.toml", "*.sh", "Makefile", ".ci/run"):
        if path == Path(__file__).resolve():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if OUTSIDE.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}")
    assert not offenders, "paths outside the repository (cite docs/sources.md instead):\n" + "\n".join(offenders)


def test_relative_links_in_docs_resolve() -> None:
    broken = []
    for doc in _tracked("*.md"):
        for target in MD_LINK.findall(doc.read_text(encoding="utf-8")):
            if re.match(r"^[a-z]+:", target):
                continue
            if not (doc.parent / target).exists():
                broken.append(f"{doc.relative_to(ROOT)} -> {target}")
    assert not broken, "relative links that point nowhere:\n" + "\n".join(broken)
