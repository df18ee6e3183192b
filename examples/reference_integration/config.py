"""Configuration from the environment (docs/architecture.md lists the variables).

Secrets come from the environment (or a secrets manager feeding it), never from code: Fiskil's
best practices, https://docs.fiskil.com/data-api/guides/resources/best-practices.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from examples.reference_integration.faults import UnknownFaultError, parse_faults

REQUIRED = ("FISKIL_API_URL", "FISKIL_CLIENT_ID", "FISKIL_CLIENT_SECRET", "FISKIL_WEBHOOK_SECRET")
DEFAULT_DB = "reference_integration.sqlite3"


class ConfigurationError(RuntimeError):
    """The integration is configured wrongly (missing variable, rejected credentials, ...)."""


@dataclass
class Settings:
    api_url: str
    client_id: str
    client_secret: str = field(repr=False)
    webhook_secret: str = field(repr=False)
    db_path: str = DEFAULT_DB
    public_url: str = "http://127.0.0.1:8000"   # our own base: redirect, cancel and webhook URLs
    http_timeout: float = 10.0                  # seconds per HTTP call
    backoff_base: float = 0.5                   # seconds; first retry waits up to this
    backoff_cap: float = 30.0                   # seconds; no single backoff wait exceeds this
    max_retries: int = 4                        # retries after the first attempt
    page_size: int = 100
    faults: frozenset[str] = frozenset()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Read the environment; a missing required variable raises naming it."""
        env = os.environ if env is None else env
        missing = [name for name in REQUIRED if not env.get(name)]
        if missing:
            raise ConfigurationError(
                f"missing required environment variable(s): {', '.join(missing)} "
                "(see examples/reference_integration/README.md)"
            )
        try:
            faults = parse_faults(env.get("REFERENCE_FAULTS"))
        except UnknownFaultError as exc:
            raise ConfigurationError(str(exc)) from None
        values: dict[str, object] = dict(
            api_url=env["FISKIL_API_URL"].rstrip("/"),
            client_id=env["FISKIL_CLIENT_ID"],
            client_secret=env["FISKIL_CLIENT_SECRET"],
            webhook_secret=env["FISKIL_WEBHOOK_SECRET"],
            db_path=env.get("REFERENCE_DB") or DEFAULT_DB,
            public_url=(env.get("REFERENCE_PUBLIC_URL") or cls.public_url).rstrip("/"),
            http_timeout=_number(env, "REFERENCE_HTTP_TIMEOUT", cls.http_timeout, float),
            backoff_base=_number(env, "REFERENCE_BACKOFF_BASE", cls.backoff_base, float),
            max_retries=_number(env, "REFERENCE_MAX_RETRIES", cls.max_retries, int),
            faults=faults,
        )
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    def has_fault(self, name: str) -> bool:
        return name in self.faults


def _number(env: Mapping[str, str], name: str, default: float, kind: type) -> float:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a {kind.__name__} (got {raw!r})") from None
    if value < 0:
        raise ConfigurationError(f"{name} must not be negative (got {raw!r})")
    return value
