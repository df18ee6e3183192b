"""The webhook features fail against an integration that breaks a webhook best practice.

Each case runs features/test_webhooks.py in a child pytest with the reference integration built
with one seeded fault, and checks exactly the scenarios that should catch it fail (and the others
in the selection pass). Starts a WireMock JVM per case.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FLAWS = ("forged", "signature_header", "wrong_secret", "changed_after", "whitespace", "reordered", "hex_digest")

CASES = {
    # fault: (-k selection, names of scenarios expected to fail)
    "no_signature_check": ("flaw or correctly_signed", set(FLAWS)),
    "no_dedupe": ("redelivery or replayed or correctly_signed", {"redelivery", "replayed"}),
    "hex_signature": ("correctly_signed or hex_digest", {"correctly_signed"}),
    # compacting the parsed JSON keeps the (reordered) key order, so only whitespace slips through
    "reserialised_signature": ("flaw", {"whitespace"}),
}


def _outcomes(output: str) -> dict[str, str]:
    """test id -> PASSED/FAILED from `-rA` short summary lines."""
    return {m.group(2): m.group(1) for m in re.finditer(r"^(PASSED|FAILED) ([^\s\[]+(?:\[[^\]]*\])?)", output, re.M)}


@pytest.mark.jvm
@pytest.mark.timeout(180)
@pytest.mark.parametrize("fault", sorted(CASES))
def test_webhook_features_catch_the_seeded_fault(fault: str) -> None:
    selection, expected_failing = CASES[fault]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), str(ROOT)])}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "features/test_webhooks.py", "-p", "no:xdist", "-q", "-rA",
         "--subject", f"webhook_features.faulty_subjects:{fault}", "-k", selection],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=170,
    )
    outcomes = _outcomes(result.stdout)
    assert outcomes, f"the child run reported no scenarios:\n{result.stdout[-3000:]}\n{result.stderr[-2000:]}"
    failed = {test for test, outcome in outcomes.items() if outcome == "FAILED"}
    for test in outcomes:
        should_fail = any(name in test.replace(" ", "_").replace("-", "_") for name in expected_failing)
        assert (test in failed) == should_fail, (
            f"with the {fault} fault, expected {test} to {'fail' if should_fail else 'pass'}, "
            f"observed {outcomes[test]}\n{result.stdout[-3000:]}"
        )
