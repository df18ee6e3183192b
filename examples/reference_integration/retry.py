"""Retry policy: exponential backoff with equal jitter, honouring Retry-After as a minimum wait.

Equal jitter (each wait uniform between half and all of base·2^attempt) spreads retries like full
jitter does, but never retries almost at once: the waits never shrink, and a chain of n retries
(below the cap) waits at least base·(2^n - 1)/2 in total.

Fiskil asks integrations to retry intermittent failures (go-live checklist,
https://docs.fiskil.com/data-api/guides/resources/go-live-checklist/developer-checklist) and
answers rate limiting with 429 (https://docs.fiskil.com/data-api/api-reference/errors). Fiskil
documents no numbers, so base, cap and attempt count are configuration.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

#: Statuses worth retrying: rate limited or a server-side failure.
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})

#: A Retry-After longer than this is treated as "give up now" rather than blocking a worker for ages.
MAX_RETRY_AFTER_SECONDS = 120.0


def parse_retry_after(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None if absent/invalid."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None:
        return None
    return max(0.0, moment.timestamp() - now())


@dataclass
class BackoffPolicy:
    """How long to wait before retry number `attempt` (0-based)."""

    base: float = 0.5
    cap: float = 30.0
    max_retries: int = 4
    honour_retry_after: bool = True     # seeded fault ignore_retry_after turns this off
    immediate: bool = False             # seeded fault no_backoff turns this on
    rand: Callable[[float, float], float] = field(default=random.uniform, repr=False)
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Equal jitter: uniform(step/2, step) with step = min(cap, base * 2**attempt), never below Retry-After."""
        if self.immediate:
            return 0.0
        step = min(self.cap, self.base * (2 ** attempt))
        wait = self.rand(step / 2, step)
        if self.honour_retry_after and retry_after is not None:
            wait = max(wait, retry_after)
        return wait

    def wait(self, attempt: int, retry_after: float | None = None) -> float:
        seconds = self.delay(attempt, retry_after)
        if seconds > 0:
            self.sleep(seconds)
        return seconds
