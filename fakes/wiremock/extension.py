"""Build the harness's WireMock extension (`ext/HarnessEdge.java`) once with javac, and say how to load it.

Why it exists: WireMock 3.13.2 parses a request's query and body before any stub can answer, so a
bad `%` escape or a body falsely labelled gzip got Jetty's HTML page with a Java stack trace, and a
bad request line got Jetty's HTML "Bad Message 400". No stub mapping can reach those; the extension
(one Java file, the documented HttpServerFactory / ResponseTransformerV2 extension points) can.

The classes are compiled against the jar actually used and cached under `build/wiremock-ext/<key>/`
(key: the source, the jar and javac), so only the first start pays the ~1 s javac run. Without
javac (a JRE-only machine) or with a jar the source does not compile against (e.g. a WireMock 2.x
jar through FISKIL_HARNESS_WIREMOCK_JAR), `build()` returns None and the edge runs without it:
the cases above then keep WireMock's own answers (docs/fake.md, "Known limits").
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from fakes.wiremock.jar import PROJECT_ROOT, JarError, resolve_jar

log = logging.getLogger("fakes.wiremock.extension")

SOURCE = Path(__file__).resolve().parent / "ext" / "HarnessEdge.java"
CLASSES: tuple[str, ...] = ("fiskilharness.edge.HarnessEdge", "fiskilharness.edge.HarnessEdge$ProxyFailure")
BUILD_ROOT = PROJECT_ROOT / "build" / "wiremock-ext"
#: Set to 1 to run the edge without the extension (what a machine without javac gets).
DISABLE_ENV = "FISKIL_HARNESS_NO_EDGE_EXTENSION"
FAILED_MARKER = "FAILED.txt"
JAVAC_TIMEOUT_SECONDS = 120


@dataclass(frozen=True)
class EdgeExtension:
    """What the launcher adds: a classpath entry, WireMock's main class and the --extensions value."""

    classes_dir: Path
    main_class: str

    @property
    def extensions_arg(self) -> str:
        return ",".join(CLASSES)


def _main_class(jar: Path) -> str | None:
    """The jar's Main-Class (with `-cp` instead of `-jar`, java needs it named)."""
    try:
        with zipfile.ZipFile(jar) as archive:
            manifest = archive.read("META-INF/MANIFEST.MF").decode("utf-8", "replace")
    except (OSError, KeyError, zipfile.BadZipFile):
        return None
    for line in manifest.splitlines():
        if line.startswith("Main-Class:"):
            return line.split(":", 1)[1].strip() or None
    return None


def _key(jar: Path, javac: str) -> str:
    stat = jar.stat()
    digest = hashlib.sha256(SOURCE.read_bytes())
    digest.update(f"\0{jar.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}\0{javac}".encode())
    return digest.hexdigest()[:20]


def build(jar: Path, *, javac: str | None = None, build_root: Path = BUILD_ROOT,
          env: dict[str, str] | None = None) -> EdgeExtension | None:
    """The compiled extension for `jar`, compiling it on first use; None when it cannot be had."""
    env = os.environ if env is None else env
    if env.get(DISABLE_ENV):
        return None
    javac = javac or shutil.which("javac")
    main_class = _main_class(jar)
    if javac is None or main_class is None:
        log.info("WireMock edge extension not built: %s", "no javac" if javac is None else f"no Main-Class in {jar}")
        return None
    target = build_root / _key(jar, javac)
    if not target.is_dir():
        _compile(jar, javac, build_root, target)
    if not target.is_dir() or (target / FAILED_MARKER).exists():
        return None  # a failed compile is remembered: the next start does not pay for javac again
    return EdgeExtension(target, main_class)


def _compile(jar: Path, javac: str, build_root: Path, target: Path) -> None:
    """javac into a private directory, then one rename: parallel starts never see half a build."""
    build_root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="staging-", dir=build_root))
    try:
        result = subprocess.run(
            [javac, "--release", "11", "-nowarn", "-cp", str(jar), "-d", str(staging), str(SOURCE)],
            capture_output=True, text=True, timeout=JAVAC_TIMEOUT_SECONDS, stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            log.warning("WireMock edge extension does not compile against %s; the edge runs without it", jar)
            (staging / FAILED_MARKER).write_text(result.stdout + result.stderr)
        try:
            staging.rename(target)
        except OSError:  # a parallel start renamed its build first: use that one
            pass
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("WireMock edge extension not built (%s); the edge runs without it", exc)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _main(argv: list[str] | None = None) -> int:
    """`python -m fakes.wiremock.extension`: build it now (make setup does) and say whether it worked."""
    try:
        jar = resolve_jar()
    except JarError as exc:
        print(f"wiremock edge extension: {exc}", file=sys.stderr)
        return 2
    extension = build(jar)
    if extension is None:
        print("wiremock edge extension: not built (javac missing or the jar does not fit); the edge runs "
              "without it, see docs/fake.md 'Known limits'", file=sys.stderr)
        return 0
    print(extension.classes_dir)
    return 0


if __name__ == "__main__":
    sys.exit(_main())
