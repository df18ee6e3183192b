"""A controllable clock: every expiry in the core (tokens, sessions, consents) reads time from here,
so tests can jump forward 15 minutes or 5 days without waiting."""

from __future__ import annotations

import math
import threading
import time


class Clock:
    """Wall-clock time plus an offset; `freeze()` pins it, `advance()` moves it forward."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0
        self._frozen_at: float | None = None

    def now(self) -> float:
        """Current fake time as unix seconds."""
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
            return time.time() + self._offset

    def advance(self, seconds: float) -> float:
        """Move time forward (never backward: expiry must not un-expire)."""
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"clock can only move forward by a finite amount; got seconds={seconds}")
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += seconds
            else:
                self._offset += seconds
        return self.now()

    def freeze(self) -> float:
        """Stop time at the current instant (advance() still moves it)."""
        with self._lock:
            if self._frozen_at is None:
                self._frozen_at = time.time() + self._offset
            return self._frozen_at

    def resume(self) -> float:
        """Let time run again from where it was frozen."""
        with self._lock:
            if self._frozen_at is not None:
                self._offset = self._frozen_at - time.time()
                self._frozen_at = None
        return self.now()

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def reset(self) -> None:
        """Back to real time."""
        with self._lock:
            self._offset = 0.0
            self._frozen_at = None
