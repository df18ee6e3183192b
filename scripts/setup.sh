#!/usr/bin/env bash
# Idempotent set-up for a fresh machine: a pinned Python venv, the pinned WireMock jar (hash checked)
# and the Allure CLI from npm. Re-runs are cheap: a stamp of the lock files skips work already done.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1 || { echo "setup: '$1' not found. $2" >&2; exit 2; }; }
need python3.11 "Install Python 3.11 (the kit pins it)." 2>/dev/null || need python3 "Install Python 3.11."
need java "Install a Java 17 runtime (WireMock runs on the JVM): apt-get install openjdk-17-jre-headless"
need npm "Install Node 20 + npm (they fetch the pinned WireMock jar)."

PY=$(command -v python3.11 || command -v python3)
stamp_src=$(cat pyproject.toml requirements.lock package.json package-lock.json | sha256sum | cut -d' ' -f1)
if [ -f .setup-stamp ] && [ "$(cat .setup-stamp)" = "$stamp_src" ] && [ -x .venv/bin/fiskil-harness ] \
   && [ -f node_modules/wiremock/build/wiremock-standalone-3.13.2.jar ]; then
  exit 0
fi

echo "setup: creating the Python environment in .venv" >&2
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'

echo "setup: installing the pinned WireMock jar and Allure CLI (npm ci)" >&2
npm ci --no-audit --no-fund --loglevel=error >/dev/null

.venv/bin/python -m fakes.wiremock.jar --verify

# The edge extension (fakes/wiremock/ext/HarnessEdge.java: JSON, never HTML, for requests WireMock cannot
# parse) is compiled with javac. Without a JDK the edge runs without it (docs/fake.md, "Known limits").
if ! command -v javac >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "setup: installing a Java 17 JDK for javac (apt-get)" >&2
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jdk-headless >/dev/null \
    || true
fi
command -v javac >/dev/null 2>&1 \
  || echo "setup: javac not found (apt-get install openjdk-17-jdk-headless); the edge runs without its extension" >&2
.venv/bin/python -m fakes.wiremock.extension >/dev/null

# Headless Chromium (Debian's package) drives the hosted Link page as a person would in the browser
# tests. Opt out with FISKIL_HARNESS_NO_BROWSER=1; without it those tests skip and say why.
if [ -z "${FISKIL_HARNESS_NO_BROWSER:-}" ] && ! { command -v chromium >/dev/null && command -v chromedriver >/dev/null; }; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing headless Chromium and ChromeDriver (apt-get)" >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null \
      || echo "setup: Chromium could not be installed; the browser tests will be skipped" >&2
  else
    echo "setup: Chromium not found and not root; the browser tests will be skipped (apt-get install chromium chromium-driver)" >&2
  fi
fi
echo "$stamp_src" > .setup-stamp
echo "setup: done" >&2
