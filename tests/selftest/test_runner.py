"""The self-test's bookkeeping: what a variant that is not as expected leaves behind, and the table."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from harness.selftest import runner
from harness.selftest.runner import EXPECTED, VariantResult, detection_table, keep_unexpected


def variant_dir(root: Path, name: str) -> Path:
    work = root / name
    (work / "app").mkdir(parents=True)
    (work / "pytest.log").write_text("scenario output\n", encoding="utf-8")
    (work / "app" / "reference.log").write_text("app log\n", encoding="utf-8")
    return work


def test_a_missed_fault_and_a_false_failure_keep_their_output_with_a_verdict(tmp_path):
    missed = VariantResult("no_backoff", failed={"audit:no-backoff": "waits too short"}, work=variant_dir(tmp_path, "no_backoff"))
    false_failure = VariantResult("", failed={"webhook:valid-ack": "slow"}, work=variant_dir(tmp_path, "clean"))
    caught = VariantResult("no_dedupe", failed={d: "x" for d in EXPECTED["no_dedupe"]}, work=variant_dir(tmp_path, "no_dedupe"))
    kept = keep_unexpected([false_failure, missed, caught], tmp_path / "reports" / "selftest-1")
    assert set(kept) == {"no_backoff", "clean"}
    verdict = (kept["no_backoff"] / "verdict.txt").read_text(encoding="utf-8")
    assert "verdict: MISSED" in verdict and EXPECTED["no_backoff"][0] in verdict and "audit:no-backoff: waits too short" in verdict
    assert (kept["no_backoff"] / "app" / "reference.log").read_text(encoding="utf-8") == "app log\n"
    assert "verdict: FALSE FAILURE" in (kept["clean"] / "verdict.txt").read_text(encoding="utf-8")
    table = detection_table([false_failure, missed, caught])
    assert "FALSE FAILURE" in table and "| `no_backoff` |" in table and "MISSED" in table


def test_the_cli_prints_where_the_output_of_an_unexpected_variant_is_kept(tmp_path, monkeypatch, capsys):
    def fake_run(faults, work, workers=2, progress=print):
        return [VariantResult("", work=variant_dir(work, "clean")),
                VariantResult("no_backoff", failed={}, work=variant_dir(work, "no_backoff"))]

    monkeypatch.setattr(runner, "run_selftest", fake_run)
    code = runner.run_selftest_cli(argparse.Namespace(faults="no_backoff", report_dir=str(tmp_path / "reports")))
    out = capsys.readouterr().out
    assert code == 1
    kept = next((tmp_path / "reports").glob("selftest-*/no_backoff"))
    assert f"[no_backoff] not as expected: its output" in out and str(kept) in out
    assert not list((tmp_path / "reports").glob("selftest-*/clean"))       # as expected: nothing kept


def test_the_runner_docstring_points_at_a_doc_that_exists():
    doc = runner.__doc__ or ""
    named = [word.strip("`.,;()") for word in doc.split() if word.strip("`.,;()").startswith("docs/")]
    assert named, "the runner should say where the detection table is recorded"
    root = Path(runner.__file__).resolve().parents[2]
    assert all((root / path).exists() for path in named), named


def test_unknown_faults_are_a_usage_error():
    from harness.cli import UsageError

    with pytest.raises(UsageError, match="unknown seeded fault"):
        runner.run_selftest_cli(argparse.Namespace(faults="made_up", report_dir="reports"))


def test_only_a_fail_catches_a_fault_but_the_clean_run_must_pass_everything(monkeypatch):
    from types import SimpleNamespace

    import harness.webhooks.checks as checks

    answers = [SimpleNamespace(id="valid-ack", required=True, verdict=checks.FAIL, observed="500"),
               SimpleNamespace(id="reject-forged-signature", required=True, verdict=checks.NOT_OBSERVABLE, observed="n/a"),
               SimpleNamespace(id="fast-ack", required=False, verdict=checks.FAIL, observed="slow"),
               SimpleNamespace(id="duplicate", required=True, verdict=checks.PASS, observed="1x")]
    monkeypatch.setattr(checks, "run_checks_sync", lambda config: answers)
    ref = SimpleNamespace(webhook_url="http://127.0.0.1:9/webhooks", url="http://127.0.0.1:9")
    assert set(runner._webhooks(ref, clean=False)) == {"webhook:valid-ack"}
    assert set(runner._webhooks(ref, clean=True)) == {"webhook:valid-ack", "webhook:reject-forged-signature"}


def test_kept_output_holds_no_issued_token(tmp_path):
    token = "eyJhbGciOiJIUzI1NiJ9.eyJ0b2tlbiI6IDF9.c2lnbmF0dXJlLWJ5dGVz"
    work = variant_dir(tmp_path, "log_token")
    (work / "app" / "reference.log").write_text(f"INFO calling Fiskil with token {token}\n", encoding="utf-8")
    kept = keep_unexpected([VariantResult("log_token", failed={}, work=work)], tmp_path / "reports" / "selftest-2")
    text = (kept["log_token"] / "app" / "reference.log").read_text(encoding="utf-8")
    assert token not in text and "calling Fiskil with token" in text
