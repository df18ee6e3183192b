"""End to end over real HTTP: the reference integration as a separate process passes `fiskil-harness check`,
and the self-test catches two representative seeded faults without failing the clean reference."""

from __future__ import annotations

import pytest

from fakes.core.app import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, CoreConfig
from harness.cli import main
from harness.selftest.reference_process import SELFTEST_WEBHOOK_SECRET, ReferenceProcess
from harness.selftest.runner import detection_table, run_selftest

pytestmark = [pytest.mark.jvm, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def stack():
    from fakes.stack import FakeStack

    with FakeStack(CoreConfig(client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_CLIENT_SECRET)) as running:
        yield running


def test_the_reference_process_passes_check_over_http(stack, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PARTNER_WEBHOOK_SECRET", SELFTEST_WEBHOOK_SECRET)
    with ReferenceProcess(stack.base_url, tmp_path / "app") as ref:
        code = main(["check", "--adapter", ref.url, "--fake-url", stack.base_url, "--report-dir", str(tmp_path / "reports"),
                     "--webhook-url", ref.webhook_url, "--webhook-secret-env", "PARTNER_WEBHOOK_SECRET",
                     "--log-file", str(ref.log_path), "-k", "syncing_twice or cancels_at_the_link_page or signature"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"FISKIL_API_URL={stack.base_url}" in out and "RESULT: CONFORMANT" in out
    assert "PASS   log hygiene" in out and "PASS   webhook conformance › duplicate" in out
    assert SELFTEST_WEBHOOK_SECRET not in out and DEFAULT_CLIENT_SECRET not in out
    assert list((tmp_path / "reports").glob("*/junit.xml")) and list((tmp_path / "reports").glob("*/allure-results"))


def test_check_fails_a_faulty_process_with_evidence(stack, tmp_path, capsys):
    with ReferenceProcess(stack.base_url, tmp_path / "app", faults=("token_per_request",)) as ref:
        code = main(["check", "--adapter", ref.url, "--fake-url", stack.base_url, "--report-dir", str(tmp_path / "reports"),
                     "-k", "valid_token_is_reused"])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL   The access token expires › A valid token is reused across syncs" in out
    assert "new token" in out and "RESULT: NOT CONFORMANT" in out
    assert "POST   /v1/token → 200" in out          # the traffic the step quoted, not just its first line


def test_check_usage_errors_exit_2(capsys):
    assert main(["check"]) == 2
    assert main(["check", "--adapter", "ftp://x"]) == 2
    assert main(["check", "--adapter", "http://127.0.0.1:9", "--webhook-url", "http://127.0.0.1:9/wh"]) == 2
    assert "--webhook-secret-env" in capsys.readouterr().err


def test_check_on_a_taken_port_says_so_and_how_to_choose(capsys):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["check", "--adapter", "http://127.0.0.1:9", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"port {port} on 127.0.0.1 is already in use" in err and "leave --port out" in err


def test_check_on_a_reused_fake_saves_its_journal_before_resetting_it(stack, tmp_path, capsys):
    import httpx

    from fakes.link_browser import LinkBrowser
    from harness.adapters.http import HttpSubject

    stack.reset()
    with ReferenceProcess(stack.base_url, tmp_path / "app", faults=("token_per_request",)) as ref:
        with HttpSubject(ref.url) as subject, httpx.Client() as browser:        # the partner's own earlier traffic
            user = subject.create_end_user("earlier@example.com", "Earlier Run")
            subject.land(LinkBrowser(browser).complete(subject.start_link(user)).final_url)
            subject.sync(user)
        code = main(["check", "--adapter", ref.url, "--fake-url", stack.base_url, "--report-dir", str(tmp_path / "reports"),
                     "-k", "valid_token_is_reused"])
    out = capsys.readouterr().out
    assert code == 1
    saved = next((tmp_path / "reports").glob("*/journal-before-check.json"))
    assert "check resets the fake before every scenario, so they were saved first to" in out
    assert f"fiskil-harness audit --journal {saved}" in out
    assert out.index("saved first to") < out.index("running ")          # saved before any scenario ran
    assert DEFAULT_CLIENT_SECRET not in saved.read_text(encoding="utf-8")
    assert main(["audit", "--journal", str(saved)]) == 1
    assert "token-per-request" in capsys.readouterr().out


def test_selftest_two_representative_faults_and_the_clean_reference(tmp_path):
    results = run_selftest(["first_page_only", "no_dedupe"], tmp_path, progress=lambda line: None)
    by_fault = {r.fault: r for r in results}
    assert by_fault[""].failed == {}, f"false failures on the clean reference: {by_fault[''].failed}"
    assert set(by_fault["first_page_only"].failed) >= {
        "scenario:test_linking_a_bank_stores_every_account_balance_and_page_of_transactions", "audit:next-link-not-followed"}
    assert set(by_fault["no_dedupe"].failed) >= {"webhook:duplicate", "webhook:replay"}
    assert "| `no_dedupe` |" in detection_table(results) and "MISSED" not in detection_table(results)
