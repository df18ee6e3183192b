"""Find the WireMock standalone jar and prove it is the one we pinned.

The jar comes from the npm package `wiremock@3.13.2` (package.json / package-lock.json), so the
set-up is reproducible from a package registry. An explicit `FISKIL_HARNESS_WIREMOCK_JAR` wins (for
air-gapped or custom builds) and is trusted as given; the npm-installed jar must match its sha256.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import zipfile
from pathlib import Path

WIREMOCK_VERSION = "3.13.2"
WIREMOCK_SHA256 = "d097b19bd483c5038479b13a5c71e9faf8f2f5106584f0c120a7770ab0bdb367"
JAR_ENV = "FISKIL_HARNESS_WIREMOCK_JAR"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
NPM_JAR = PROJECT_ROOT / "node_modules" / "wiremock" / "build" / f"wiremock-standalone-{WIREMOCK_VERSION}.jar"


class JarError(RuntimeError):
    """The jar is missing or is not the pinned build; the message says how to fix it."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def resolve_jar(env: dict[str, str] | None = None, npm_jar: Path | None = None) -> Path:
    """Return the jar to run: the explicit override, else the hash-checked npm jar."""
    env = os.environ if env is None else env
    npm_jar = NPM_JAR if npm_jar is None else npm_jar
    explicit = env.get(JAR_ENV)
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise JarError(f"{JAR_ENV} points at {path}, which is not a file. Fix the path or unset {JAR_ENV}.")
        if not zipfile.is_zipfile(path):  # else java says "Invalid or corrupt jarfile" amid a page of output
            raise JarError(f"{JAR_ENV} points at {path}, which is not a jar. Point it at a WireMock 3.x "
                           f"standalone jar or unset {JAR_ENV}.")
        return path
    if not npm_jar.is_file():
        raise JarError(
            f"WireMock {WIREMOCK_VERSION} jar not found at {npm_jar}. "
            f"Run `make setup` (or `npm ci` in {PROJECT_ROOT}), or set {JAR_ENV} to a WireMock 3.x standalone jar."
        )
    actual = sha256_of(npm_jar)
    if actual != WIREMOCK_SHA256:
        raise JarError(
            f"{npm_jar} has sha256 {actual}, expected {WIREMOCK_SHA256} (wiremock@{WIREMOCK_VERSION}). "
            "Delete node_modules and run `npm ci` again."
        )
    return npm_jar


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Locate and verify the pinned WireMock jar.")
    parser.add_argument("--verify", action="store_true", help="check the hash and print the jar's path")
    parser.parse_args(argv)
    try:
        print(resolve_jar())
    except JarError as exc:
        print(f"wiremock jar: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(_main())
