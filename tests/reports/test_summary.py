"""The run summary (terminal and summary.md): skip reasons grouped, stable order, plain failure text."""

from __future__ import annotations

import random

from harness.reports.results import ScenarioResult, clean_assertion
from harness.reports.summary import render_markdown, render_terminal, skip_reasons, summarise

CONTROL = "sandbox target: needs the fake's control API (not @sandbox_safe)"
END_USER = "sandbox target: needs a consented end user: set FISKIL_SANDBOX_END_USER_ID"


def _skipped(n: int, reason: str, feature_file: str = "integration/a.feature") -> list[ScenarioResult]:
    return [ScenarioResult(f"{reason}::{i}", "A", f"s{i}", "skipped", skip_reason=reason, feature_file=feature_file)
            for i in range(n)]


def test_skip_reasons_are_grouped_largest_first() -> None:
    results = _skipped(4, END_USER) + _skipped(55, CONTROL) + [ScenarioResult("p", "A", "ok", "passed")]
    assert skip_reasons(results) == [(55, CONTROL), (4, END_USER)]


def test_the_terminal_and_markdown_show_the_grouped_reasons() -> None:
    results = _skipped(55, CONTROL) + _skipped(4, END_USER)
    grouped = skip_reasons(results)
    terminal = render_terminal(summarise(results), skipped=grouped)
    markdown = render_markdown(summarise(results), skipped=grouped)
    for text in (terminal, markdown):
        assert f"55 skipped: {CONTROL}" in text and f"4 skipped: {END_USER}" in text


def test_features_appear_in_feature_file_order_whatever_finished_first() -> None:
    results = [ScenarioResult(f"n{i}", f"Feature {name}", f"s{i}", "passed", feature_file=f"{path}.feature", line=i)
               for i, (name, path) in enumerate([("Zeta", "a/1"), ("Alpha", "b/2"), ("Mid", "a/3")])]
    orders = set()
    for seed in range(5):
        random.Random(seed).shuffle(results)
        orders.add(tuple(s.feature for s in summarise(results)))
    assert orders == {("Feature Zeta", "Feature Mid", "Feature Alpha")}


def test_one_scenario_is_singular() -> None:
    text = render_terminal(summarise([ScenarioResult("a", "A", "s", "passed")]), elapsed=1.0)
    assert "(1 scenario in 1.0s)" in text


def test_an_interrupted_run_says_it_is_partial() -> None:
    summaries = summarise([ScenarioResult("a", "A", "s", "passed"), ScenarioResult("b", "A", "t", "passed")])
    assert "interrupted: partial results, 2 of 82 scenarios finished" in render_terminal(summaries, interrupted=True, total=82)
    markdown = render_markdown(summaries, run_id="r", interrupted=True, total=82)
    assert "⚠️ interrupted" in markdown.splitlines()[0] and "2 of 82 scenarios finished" in markdown


def test_failure_text_keeps_the_message_and_drops_pytest_introspection() -> None:
    raw = ("AssertionError: expected both syncs to succeed, observed {'u1': SyncResult(status='error')}\n"
           "    +  0.000s GET /v1/banking/accounts → 500\n"
           "assert (2 == 2 and not {'u1': SyncResult(status='error')})\n"
           " +  where 2 = len({'u1': SyncResult(status='error')})\n"
           " +    where {'u1': ...} = ScenarioContext(end_user_id, sync_results).sync_results\n"
           "  Use -v to get more diff")
    assert clean_assertion(raw) == ("expected both syncs to succeed, observed {'u1': SyncResult(status='error')}\n"
                                    "  +  0.000s GET /v1/banking/accounts → 500")
    assert clean_assertion("assert [1, 2] == [1, 3]\n  \n  At index 1 diff: 2 != 3\n  Use -v to get more diff") == (
        "assert [1, 2] == [1, 3]\n\nAt index 1 diff: 2 != 3")


def test_long_evidence_keeps_its_heading_and_newest_lines() -> None:
    # a journal lists the newest request last, and that is usually the one that failed
    journal = "edge journal (subject traffic):\n" + "\n".join(f"  GET /v1/page/{i} → 200" for i in range(20)) \
        + "\n  GET /v1/consent → 401"
    failed = ScenarioResult("f", "A", "s", "failed", failed_step="Then the sync succeeds", message="boom",
                            evidence=[journal])
    text = render_terminal(summarise([failed]), elapsed=1.0)
    assert "edge journal (subject traffic):" in text
    assert "GET /v1/consent → 401" in text
    assert "line(s) left out" in text and "GET /v1/page/0 " not in text
