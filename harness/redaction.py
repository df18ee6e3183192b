"""Keep secrets out of everything people read: logs, reports, assertion messages, journal exports.

A `Redactor` knows the run's literal secrets (client secret, webhook secret, issued tokens) and
also masks anything shaped like a credential (bearer tokens, `client_secret`/`token` JSON fields),
so a secret it was never told about still does not leak.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

MASK = "«redacted»"

_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r'(?i)("(?:client_secret|secret|token|access_token|webhook_secret)"\s*:\s*")[^"]*(")'),
    re.compile(r"(?i)((?:client_secret|token|access_token|secret)=)[^&\s\"']+"),
    re.compile(r"(?i)(x-fiskil-signature['\"]?\s*[:=]\s*['\"]?)[A-Za-z0-9+/=]{16,}"),
    # credentials in URLs: the userinfo of `scheme://user:pass@host`, and credential-named query values
    re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://)[^\s/?#@'\"]+(@)"),
    re.compile(r"(?i)([?&][^=&\s#]*(?:token|secret|passw|pwd|key|sig|auth|credential)[^=&\s#]*=)[^&\s#\"']+"),
)


class Redactor:
    """Replaces known secrets and credential-shaped substrings with a fixed mask."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        """Remember a literal secret, also trimmed (an env var often ends in a newline the consumer strips);
        very short values are ignored (they would mask ordinary text)."""
        if not secret:
            return
        with self._lock:
            for form in {secret, secret.strip()}:
                if len(form) >= 6:
                    self._secrets.add(form)

    def add_all(self, secrets: Iterable[str]) -> None:
        """Remember several forms of one secret (e.g. `signing.secret_forms`)."""
        for secret in secrets:
            self.add(secret)

    def __call__(self, text: str) -> str:
        return self.redact(text)

    def redact(self, text: str) -> str:
        if not text:
            return text
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            text = text.replace(secret, MASK)
        for pattern in _PATTERNS:
            text = pattern.sub(lambda m: m.group(1) + MASK + (m.group(2) if m.lastindex and m.lastindex >= 2 else ""), text)
        return text


#: The process-wide redactor: everything the kit prints or writes goes through it.
default_redactor = Redactor()


def redact(text: str) -> str:
    return default_redactor.redact(text)
