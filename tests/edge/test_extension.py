"""Building the edge extension: cached per source + jar, never half-built, and no edge breakage when
it cannot be built (no javac, a jar it does not compile against, or switched off)."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from fakes.wiremock import extension
from fakes.wiremock.jar import resolve_jar

JAVAC = shutil.which("javac")


def _fake_jar(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\nMain-Class: not.WireMock\n")
    return path


@pytest.mark.skipif(JAVAC is None, reason="javac not installed (a JRE only)")
def test_builds_once_against_the_pinned_jar_and_reuses_the_build(tmp_path: Path, monkeypatch) -> None:
    built = extension.build(resolve_jar(), build_root=tmp_path, env={})
    assert built is not None and built.main_class == "wiremock.Run"
    assert (built.classes_dir / "fiskilharness" / "edge" / "HarnessEdge.class").is_file()
    assert built.extensions_arg == "fiskilharness.edge.HarnessEdge,fiskilharness.edge.HarnessEdge$ProxyFailure"
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("javac ran again for a cached build"))
    assert extension.build(resolve_jar(), build_root=tmp_path, env={}) == built
    assert [p.name for p in tmp_path.iterdir()] == [built.classes_dir.name]  # no staging dirs left


def test_switched_off_or_without_javac_there_is_no_extension(tmp_path: Path) -> None:
    jar = resolve_jar()
    assert extension.build(jar, build_root=tmp_path, env={extension.DISABLE_ENV: "1"}) is None
    assert extension.build(jar, javac=str(tmp_path / "no-javac-here"), build_root=tmp_path, env={}) is None
    assert not any(tmp_path.iterdir())


@pytest.mark.skipif(JAVAC is None, reason="javac not installed (a JRE only)")
def test_a_jar_the_source_does_not_compile_against_is_remembered(tmp_path: Path, monkeypatch) -> None:
    jar = _fake_jar(tmp_path / "other.jar")
    root = tmp_path / "build"
    assert extension.build(jar, build_root=root, env={}) is None
    [failed] = list(root.iterdir())
    assert "HarnessEdge" in (failed / extension.FAILED_MARKER).read_text()
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("javac ran again for a known failure"))
    assert extension.build(jar, build_root=root, env={}) is None


def test_a_jar_without_a_main_class_gets_no_extension(tmp_path: Path) -> None:
    jar = tmp_path / "plain.jar"
    with zipfile.ZipFile(jar, "w") as archive:
        archive.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
    assert extension.build(jar, javac=JAVAC or "javac", build_root=tmp_path / "b", env={}) is None
