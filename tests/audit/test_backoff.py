"""The shared backoff criterion (harness/audit/backoff.py) and the promise that the clean reference,
run with the kit's backoff base, can never fall under it while an immediate-retry client always does."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from examples.reference_integration.retry import BackoffPolicy
from harness.audit import backoff
from harness.subjects import KIT_BACKOFF_BASE_S


@dataclass
class Hit:
    method: str
    url: str
    status: int
    logged_at: float
    served_s: float = 0.0


def chain_with_waits(waits: list[float], final_status: int = 200) -> list[Hit]:
    hits, at = [Hit("GET", "/v1/banking/transactions?end_user_id=u", 503, 0.0)], 0.0
    for index, wait in enumerate(waits):
        at += wait
        last = index == len(waits) - 1
        hits.append(Hit("GET", hits[0].url, final_status if last else 503, at))
    return hits


def test_chains_are_runs_of_one_request_after_failures():
    url = "/v1/banking/accounts"
    entries = [Hit("GET", url, 200, 0), Hit("GET", url, 503, 1), Hit("GET", "/v1/consent", 200, 1.1),
               Hit("GET", url, 0, 1.2), Hit("GET", url, 200, 1.5), Hit("GET", url, 200, 2)]
    chains = backoff.failure_chains(entries)
    assert [[e.logged_at for e in c] for c in chains] == [[1, 1.2, 1.5]]


def test_the_floor_is_per_retry_measured_from_the_answer():
    assert backoff.judge(chain_with_waits([0.1, 0.1])).backed_off
    assert not backoff.judge(chain_with_waits([0.1, 0.09])).backed_off
    slow = chain_with_waits([0.12, 0.12])
    for hit in slow:
        hit.served_s = 0.05           # 50 ms of each gap was the edge answering, not the client waiting
    verdict = backoff.judge(slow)
    assert verdict.total_s == pytest.approx(0.14) and not verdict.backed_off
    assert "70 ms, 70 ms" in verdict.describe() and "200 ms" in verdict.describe()
    assert not backoff.judge(chain_with_waits([0.0])).judged        # one retry: not judged


@pytest.mark.parametrize("retries", [2, 3, 4])
def test_the_reference_with_the_kits_base_waits_well_above_the_floor_whatever_the_dice(retries):
    unlucky = BackoffPolicy(base=KIT_BACKOFF_BASE_S, rand=lambda lo, hi: lo)   # the shortest waits it can draw
    verdict = backoff.judge(chain_with_waits([unlucky.delay(n) for n in range(retries)]))
    assert verdict.judged and verdict.total_s >= 1.5 * verdict.required_s


def test_an_immediate_retry_client_is_caught_even_with_load_adding_tens_of_ms_per_retry():
    immediate = BackoffPolicy(base=KIT_BACKOFF_BASE_S, immediate=True)
    loaded = [immediate.delay(n) + 0.05 for n in range(4)]       # 50 ms of scheduling delay on every retry
    assert not backoff.judge(chain_with_waits(loaded)).backed_off
