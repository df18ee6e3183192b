"""What a scenario talks to: the parsed harness options, the `Target` and the scenario context.

Kept free of pytest and of the fake's modules so the run CLI, the bench and the tests can use it
cheaply.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlparse

#: Where the real Fiskil API lives (docs/sources.md §1, https://docs.fiskil.com/data-api/api-reference/authentication).
DEFAULT_SANDBOX_URL = "https://api.fiskil.com"
CLIENT_ID_ENV = "FISKIL_CLIENT_ID"
CLIENT_SECRET_ENV = "FISKIL_CLIENT_SECRET"
SANDBOX_END_USER_ENV = "FISKIL_SANDBOX_END_USER_ID"

# Skip reasons on the sandbox target, worded once so reports can group them.
NEEDS_CONTROL_API = "sandbox target: needs the fake's control API (not @sandbox_safe)"
NEEDS_PERSON = "sandbox target: needs a person to complete a real Link flow"
NEEDS_END_USER = (f"sandbox target: needs a consented end user: set {SANDBOX_END_USER_ENV} "
                  "(completing a real Link flow needs a person)")

TargetName = Literal["fake", "sandbox"]


class OptionsError(ValueError):
    """A harness option is wrong; the message says what to fix."""


def is_loopback_url(url: str) -> bool:
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def unreachable_reason(url: str, timeout: float = 3.0) -> str | None:
    """Why nothing answers at `url`'s host and port (None when a TCP connection opens): checked before
    a run, so an app or API that is not there is one clear message instead of a wall of failures."""
    parts = urlparse(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "", port), timeout=timeout):
            return None
    except OSError as exc:
        return f"{type(exc).__name__}: {exc.strerror or exc}"


def reachability_error(what: str, url: str, timeout: float = 3.0) -> str | None:
    """One line saying that `what` at `url` does not answer (None when it does)."""
    reason = unreachable_reason(url, timeout)
    if reason:
        return f"cannot reach {what} at {url} ({reason}); is it running and reachable from here?"
    return None


def check_http_url(option: str, url: str) -> str:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise OptionsError(f"{option} must be an http(s) URL such as https://api.fiskil.com, got {url!r}")
    return url.rstrip("/")


@dataclass(frozen=True)
class HarnessOptions:
    """The run's choices, from the command line and (for credentials) the environment only."""

    target: TargetName = "fake"
    subject: str = "reference"
    fake_url: str | None = None
    sandbox_url: str = DEFAULT_SANDBOX_URL
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    sandbox_end_user_id: str | None = None

    @property
    def is_fake(self) -> bool:
        return self.target == "fake"


def resolve_options(
    target: str = "fake",
    subject: str = "reference",
    fake_url: str | None = None,
    sandbox_url: str | None = None,
    env: dict[str, str] | None = None,
) -> HarnessOptions:
    """Validate the options; raise `OptionsError` with the fix when they cannot work together."""
    env = dict(os.environ) if env is None else env
    if target not in ("fake", "sandbox"):
        raise OptionsError(f"--target must be 'fake' or 'sandbox', got {target!r}")
    if not subject or not subject.strip():
        raise OptionsError("--subject must be 'reference', 'package.module:factory' or an http(s) adapter URL")
    sandbox_url = check_http_url("--sandbox-url", sandbox_url or DEFAULT_SANDBOX_URL)
    if fake_url:
        fake_url = check_http_url("--fake-url", fake_url)
        if target == "sandbox":
            raise OptionsError("--fake-url attaches to a running fake; it cannot be combined with --target sandbox")
    client_id = env.get(CLIENT_ID_ENV) or None
    client_secret = env.get(CLIENT_SECRET_ENV) or None
    if target == "sandbox":
        missing = [name for name, value in ((CLIENT_ID_ENV, client_id), (CLIENT_SECRET_ENV, client_secret)) if not value]
        if missing:
            raise OptionsError(
                f"--target sandbox needs the Fiskil API credentials in the environment: set {' and '.join(missing)} "
                "(they are never read from the command line, so they stay out of shell history)"
            )
        # Fiskil rejects plain HTTP (https://docs.fiskil.com/data-api/api-reference/authentication);
        # only a loopback stand-in (a local fake posing as the sandbox) may use http.
        if urlparse(sandbox_url).scheme != "https" and not is_loopback_url(sandbox_url):
            raise OptionsError(f"--sandbox-url must use https for a non-local host, got {sandbox_url}")
    return HarnessOptions(
        target=target,  # type: ignore[arg-type]
        subject=subject.strip(),
        fake_url=fake_url,
        sandbox_url=sandbox_url,
        client_id=client_id,
        client_secret=client_secret,
        sandbox_end_user_id=env.get(SANDBOX_END_USER_ENV) or None,
    )


@dataclass
class Target:
    """The Fiskil API a scenario runs against, always reached through the WireMock edge."""

    base_url: str
    is_fake: bool
    edge: Any
    control: Any | None
    client_id: str
    client_secret: str = field(repr=False)
    name: TargetName = "fake"
    core: Any | None = None
    sandbox_end_user_id: str | None = None

    def __repr__(self) -> str:  # never shows the secret, even in a pytest locals dump
        return f"Target(name={self.name!r}, base_url={self.base_url!r}, client_id={self.client_id!r})"


class ScenarioContext:
    """An attribute bag that carries values between the steps of one scenario.

    Reading a value no earlier step set fails with a message naming it, instead of an AttributeError
    deep inside a step.
    """

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)
        self.__dict__.setdefault("evidence", [])

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(
            f"the scenario has no {name!r} yet: an earlier step must set it (check the Given steps of this scenario)"
        )

    def get(self, name: str, default: Any = None) -> Any:
        return self.__dict__.get(name, default)

    def note(self, text: str) -> None:
        """Keep a line of evidence that is attached to the report if the scenario fails."""
        self.__dict__["evidence"].append(text)

    def __repr__(self) -> str:
        return f"ScenarioContext({', '.join(sorted(k for k in self.__dict__ if k != 'evidence'))})"
