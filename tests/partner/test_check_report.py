"""The graded report of `fiskil-harness check`: what a failed scenario shows."""

from __future__ import annotations



def test_the_check_report_shows_the_message_and_one_line_evidence_not_bare_headings(tmp_path):
    import json

    from harness.cli.check import grades_from_results

    message = "expected the sync to succeed, observed status 'error': boom\nthe integration's requests:\n  GET /v1/consent → 401 (token#1)"
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"results": [{
        "feature": "F", "scenario": "S", "outcome": "failed", "failed_step": "Then the sync succeeds", "message": message,
        "evidence": ["subject stored: SubjectState(accounts=3)", "edge journal (subject traffic):\n  +0.000s GET /v1/consent → 401"]}]}))
    [grade] = grades_from_results(results)
    assert grade.evidence == ["failing step: Then the sync succeeds", *message.splitlines(), "subject stored: SubjectState(accounts=3)"]
