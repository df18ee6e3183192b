"""The audit end to end: real traffic through a real WireMock edge, read back and judged, and the CLI's exit codes."""

from __future__ import annotations

import pytest

from fakes.core.app import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, CoreConfig
from harness.adapters.http import HttpSubject
from harness.cli import main
from harness.selftest.reference_process import ReferenceProcess

pytestmark = [pytest.mark.jvm, pytest.mark.timeout(120)]


def test_audit_reports_a_faulty_session_and_passes_a_clean_one(tmp_path, capsys):
    from fakes.stack import FakeStack

    with FakeStack(CoreConfig(client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_CLIENT_SECRET)) as stack:
        stack.control.set_volume(3)
        for faults, expected_exit in (((), 0), (("token_per_request",), 1)):
            stack.reset()
            with ReferenceProcess(stack.base_url, tmp_path / (faults[0] if faults else "clean"), faults=faults) as ref, \
                    HttpSubject(ref.url) as subject:
                user = subject.create_end_user("audit@example.com", "Audit")
                import httpx

                from fakes.link_browser import LinkBrowser

                with httpx.Client() as browser:
                    subject.land(LinkBrowser(browser).complete(subject.start_link(user)).final_url)
                subject.sync(user)
                subject.sync(user)
            code = main(["audit", "--fake-url", stack.base_url, "--json", str(tmp_path / "audit.json")])
            out = capsys.readouterr().out
            assert code == expected_exit, out
            if faults:
                assert "token-per-request" in out and "POST /v1/token → 200" in out
                assert "Bearer" not in out  # tokens are named by fingerprint, never shown
            else:
                assert "no best-practice violations" in out


def test_audit_usage_errors(capsys):
    assert main(["audit", "--fake-url", "not-a-url"]) == 2
    assert main(["audit", "--fake-url", "http://127.0.0.1:9", "--since", "yesterday"]) == 2
    assert main(["audit", "--fake-url", "http://127.0.0.1:9"]) == 2
    assert "cannot read the request journal" in capsys.readouterr().err
