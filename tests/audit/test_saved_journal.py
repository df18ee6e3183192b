"""Saved journals: written without secrets, read back by `audit --journal`, judged like the live journal."""

from __future__ import annotations

import json

import pytest

from harness.audit.journal import from_serve_events
from harness.audit.rules import audit, token_label
from harness.audit.saved import JournalFileError, load_journal_file, save_journal
from harness.cli import main

SECRET = "partner-client-secret-0123"


def event(url: str, *, method: str = "GET", logged: int, token: str | None = None, status: int = 200,
          request_body: str = "", response_body: str = "") -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return {"request": {"method": method, "url": url, "headers": headers, "body": request_body, "loggedDate": logged},
            "response": {"status": status, "body": response_body, "headers": {}}, "timing": {"totalTime": 1}}


def token_per_call_events() -> list[dict]:
    """Five API calls, each on a token fetched just for it (newest first, as WireMock lists them)."""
    events = []
    for i in range(5):
        tok = f"eyJhbGciOi.tok{i}-abcdefghijklmnop"
        events.append(event("/v1/token", method="POST", logged=1000 + i * 100,
                            request_body=json.dumps({"client_id": "cid", "client_secret": SECRET}),
                            response_body=json.dumps({"token": tok, "token_type": "Bearer", "expires_in": 900})))
        events.append(event("/v1/consent?end_user_id=u1", logged=1050 + i * 100, token=tok))
    events.append(event("/link?sess_id=s1", logged=2000))
    return list(reversed(events))


def test_a_saved_journal_holds_no_token_or_secret_and_audits_the_same(tmp_path):
    events = token_per_call_events()
    path = save_journal(tmp_path / "journal.json", events, webhook_times=[1.5], source="http://127.0.0.1:8080")
    text = path.read_text(encoding="utf-8")
    assert SECRET not in text and "tok0-abcdefghijklmnop" not in text
    assert token_label("eyJhbGciOi.tok0-abcdefghijklmnop") in text      # the label the audit prints
    saved = load_journal_file(path)
    assert saved.webhook_times == [1.5] and saved.source == "http://127.0.0.1:8080"
    live = [v.rule for v in audit(from_serve_events(events))]
    assert live == ["token-per-request"] and [v.rule for v in audit(from_serve_events(saved.events))] == live
    assert len(from_serve_events(saved.events)) == 10          # the Link page's request is not the integration's


def test_a_raw_wiremock_dump_is_accepted_and_anything_else_is_explained(tmp_path):
    raw = tmp_path / "requests.json"
    raw.write_text(json.dumps({"requests": token_per_call_events()}), encoding="utf-8")
    assert len(load_journal_file(raw).events) == 11
    for content, needle in (("not json", "is not JSON"), ('{"mappings": []}', "holds no serve events")):
        bad = tmp_path / "bad.json"
        bad.write_text(content, encoding="utf-8")
        with pytest.raises(JournalFileError, match=needle):
            load_journal_file(bad)
    with pytest.raises(JournalFileError, match="cannot read"):
        load_journal_file(tmp_path / "missing.json")


def test_audit_journal_cli(tmp_path, capsys):
    path = save_journal(tmp_path / "journal.json", token_per_call_events())
    assert main(["audit", "--journal", str(path)]) == 1
    out = capsys.readouterr().out
    assert "audit: 10 requests from the integration" in out and "token-per-request" in out
    assert main(["audit", "--journal", str(path), "--since", "1.36"]) == 0    # only the last token and its call
    assert "audit: 2 requests from the integration, no best-practice violations" in capsys.readouterr().out
    assert main(["audit", "--journal", str(path), "--fake-url", "http://127.0.0.1:9"]) == 2
    assert main(["audit", "--journal", str(tmp_path / "missing.json")]) == 2
    assert "not both" in capsys.readouterr().err


def test_a_secret_sent_in_the_query_string_is_masked_in_the_parsed_query_too(tmp_path):
    leaked = "QueryProdSecret-123456"
    sent = event(f"/v1/token?client_secret={leaked}", method="POST", logged=1000)
    sent["request"]["queryParams"] = {"client_secret": {"key": "client_secret", "values": [leaked]},
                                      "end_user_id": {"key": "end_user_id", "values": ["u1"]}}
    text = save_journal(tmp_path / "journal.json", [sent]).read_text(encoding="utf-8")
    assert leaked not in text
    assert '"u1"' in text   # only sensitive parameters are masked


@pytest.mark.parametrize("times", [5, "soon", {"a": 1}])
def test_a_saved_journal_with_bad_webhook_times_is_a_clear_error(tmp_path, times):
    path = tmp_path / "journal.json"
    path.write_text(json.dumps({"requests": [event("/v1/consent", logged=1)], "webhook_times": times}), encoding="utf-8")
    with pytest.raises(JournalFileError, match="webhook_times must be a list"):
        load_journal_file(path)


def test_audit_json_path_is_checked_before_the_journal_is_read(tmp_path, capsys):
    journal = save_journal(tmp_path / "journal.json", token_per_call_events())
    assert main(["audit", "--journal", str(journal), "--json", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert "--json" in err and "is a directory" in err and out == ""
