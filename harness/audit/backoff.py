"""The one backoff criterion: used by the scenario step "the integration backed off between the retries"
and by the audit rule `no-backoff`, so the two can never disagree.

Why this criterion: a timing check must measure behaviour, not speed. Load only ever *adds* time, so
an immediate-retry client under load looks like a slow client, never the other way round. What load
cannot fake is a wait far above what an immediate retry costs: through the edge that is 1-3 ms per
retry idle and up to ~30 ms under a full self-test plus 2 CPU burners on 2 cores (chains of 4
immediate retries then totalled 10-53 ms, measured). The floor is therefore 100 ms *per retry* (a
chain of 4 retries must wait 400 ms in total): load would have to stall every single retry by 100 ms
to hide a missing backoff. A wait is measured from the moment the edge finished answering
one attempt to the next attempt, so a slow server answer never counts as the client waiting.

The reference integration backs off with equal jitter (each wait between half and all of
base·2^attempt, examples/reference_integration/retry.py): with the base the kit runs it with (0.2 s)
its waits total at least 0.3 s for 2 retries and 1.5 s for 4, whatever the dice, so the clean
reference can never fall under the floor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

#: A chain needs this many retries to be judged (one retry says nothing about growing waits).
MIN_RETRIES = 2
#: The waits of a chain must total at least this much per retry.
MIN_WAIT_PER_RETRY_S = 0.1


class Attempt(Protocol):
    """What the criterion reads of a journal entry (`JournalEntry`, `AuditEntry`)."""

    method: str
    url: str
    status: int
    logged_at: float


def is_failure(entry: Attempt) -> bool:
    """An answer worth retrying: a socket fault (status 0), 429 or 5xx."""
    return entry.status == 0 or entry.status == 429 or entry.status >= 500


def served_seconds(entry: Attempt) -> float:
    """How long the edge took to answer (WireMock's timing); 0 when the entry does not say."""
    return max(0.0, float(getattr(entry, "served_s", 0.0) or 0.0))


def failure_chains(entries: Sequence[Attempt]) -> list[list[Attempt]]:
    """Runs of requests to one method+URL where each earlier attempt failed (oldest first).

    A chain ends with the first attempt that did not fail, or with the last failure.
    """
    chains: list[list[Attempt]] = []
    open_chains: dict[tuple[str, str], list[Attempt]] = {}
    for entry in entries:
        key = (entry.method, entry.url)
        chain = open_chains.get(key)
        if chain is not None and is_failure(chain[-1]):
            chain.append(entry)
            continue
        if chain is not None and len(chain) > 1:
            chains.append(chain)
        open_chains[key] = [entry]
    chains.extend(c for c in open_chains.values() if len(c) > 1)
    chains.sort(key=lambda c: c[0].logged_at)
    return chains


def retry_waits(chain: Sequence[Attempt]) -> list[float]:
    """Seconds between the end of each answer and the next attempt (never negative)."""
    return [max(0.0, later.logged_at - (earlier.logged_at + served_seconds(earlier)))
            for earlier, later in zip(chain, chain[1:])]


@dataclass(frozen=True)
class BackoffJudgement:
    """The verdict on one retry chain, with the numbers a reader needs."""

    retries: int
    waits: tuple[float, ...]
    per_retry_s: float         # the floor per retry
    judged: bool               # False: too few retries to say anything

    @property
    def required_s(self) -> float:
        return self.retries * self.per_retry_s

    @property
    def total_s(self) -> float:
        return sum(self.waits)

    @property
    def backed_off(self) -> bool:
        return not self.judged or self.total_s >= self.required_s

    def describe(self) -> str:
        shown = ", ".join(f"{w * 1000:.0f} ms" for w in self.waits) or "none"
        return (f"{self.retries} retries with waits of {shown} ({self.total_s * 1000:.0f} ms in total; "
                f"backoff needs at least {self.per_retry_s * 1000:.0f} ms per retry, "
                f"{self.required_s * 1000:.0f} ms)")


def judge(chain: Sequence[Attempt], min_retries: int = MIN_RETRIES,
          min_wait_per_retry_s: float = MIN_WAIT_PER_RETRY_S) -> BackoffJudgement:
    """Did the client back off over this chain? Judged only with at least `min_retries` retries."""
    retries = max(0, len(chain) - 1)
    return BackoffJudgement(retries, tuple(retry_waits(chain)), min_wait_per_retry_s, judged=retries >= min_retries)


CRITERION = (f"a chain of >= {MIN_RETRIES} retries of one request after 429/5xx/socket faults must wait "
             f"at least {MIN_WAIT_PER_RETRY_S * 1000:.0f} ms per retry in total (from each answer to the next attempt)")
