"""A shared bearer-token cache that renews once, however many threads notice at the same time.

Fiskil tokens last 15 minutes (`expires_in: 900`) and there are no refresh tokens: request a new
one on expiry and on a 401 (https://docs.fiskil.com/data-api/guides/getting-started/authentication).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

#: Renew this many seconds before the advertised expiry, so a token never dies in flight.
EXPIRY_SAFETY_MARGIN = 30.0
#: Used when the token response omits expires_in (the API reference example shows only `token`).
DEFAULT_TTL = 900.0


@dataclass(frozen=True)
class IssuedToken:
    value: str
    expires_in: float | None


@dataclass(frozen=True)
class CachedToken:
    value: str
    generation: int     # bumps on every renewal; a failed request names the generation it used


class TokenCache:
    """Holds the current token; `fetch` is called (under the lock) to get a new one."""

    def __init__(
        self,
        fetch: Callable[[], IssuedToken],
        *,
        clock: Callable[[], float] = time.monotonic,
        renew_on_expiry: bool = True,
        margin: float = EXPIRY_SAFETY_MARGIN,
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._renew_on_expiry = renew_on_expiry
        self._margin = margin
        self._lock = threading.Lock()
        self._value: str | None = None
        self._expires_at = 0.0
        self._generation = 0
        self.renewals = 0       # how many tokens this cache fetched (tests and logs)

    def current(self) -> CachedToken:
        """A usable token, fetching one if there is none or it is about to expire."""
        with self._lock:
            if self._value is None or (self._renew_on_expiry and self._clock() >= self._expires_at):
                self._renew_locked()
            assert self._value is not None
            return CachedToken(self._value, self._generation)

    def renew_after_rejection(self, seen: CachedToken) -> CachedToken:
        """The API rejected `seen`; renew only if nobody has renewed since (one renewal per failure)."""
        with self._lock:
            if self._generation == seen.generation:
                self._renew_locked()
            assert self._value is not None
            return CachedToken(self._value, self._generation)

    def clear(self) -> None:
        with self._lock:
            self._value = None
            self._expires_at = 0.0

    def _renew_locked(self) -> None:
        issued = self._fetch()
        ttl = DEFAULT_TTL if issued.expires_in is None else float(issued.expires_in)
        self._value = issued.value
        self._expires_at = self._clock() + max(0.0, ttl - min(self._margin, ttl / 2))
        self._generation += 1
        self.renewals += 1
