"""Each audit rule on synthetic journals: it fires on the bad pattern, stays quiet on the good one."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from harness.audit.journal import AuditEntry, from_serve_events
from harness.audit.report import as_json, render_text
from harness.audit.rules import AuditInput, Thresholds, audit

TOKEN_A = "tok-aaaaaaaaaaaaaaaa"
TOKEN_B = "tok-bbbbbbbbbbbbbbbb"


def req(t: float, method: str, url: str, status: int = 200, token: str | None = TOKEN_A, host: str = "127.0.0.1:8080",
        scheme: str = "http", response_headers: dict | None = None, response_body: object = None, probe: bool = False) -> AuditEntry:
    parts = urlsplit(url)
    headers = {"Host": host}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if probe:
        headers["X-Harness-Probe"] = "1"
    return AuditEntry(method=method, url=url, path=parts.path, query=parse_qs(parts.query, keep_blank_values=True),
                      headers=headers, body="", status=status, logged_at=1000.0 + t,
                      response_headers=response_headers or {},
                      response_body=json.dumps(response_body) if response_body is not None else "", scheme=scheme)


def token(t: float, status: int = 200) -> AuditEntry:
    return req(t, "POST", "/v1/token", status, token=None)


def rules_hit(entries, **given) -> set[str]:
    return {v.rule for v in audit(entries, AuditInput(**given))}


def well_behaved_sync(t0: float = 0.0) -> list[AuditEntry]:
    return [token(t0), req(t0 + 0.1, "GET", "/v1/consents?end_user_id=u1"),
            req(t0 + 0.2, "GET", "/v1/banking/accounts?end_user_id=u1"),
            req(t0 + 0.3, "GET", "/v1/banking/balances?end_user_id=u1"),
            req(t0 + 0.4, "GET", "/v1/banking/transactions?end_user_id=u1",
                response_body={"transactions": [], "links": {"next": "http://127.0.0.1:8080/v1/banking/transactions?end_user_id=u1&page%5Bafter%5D=c2"}}),
            req(t0 + 0.5, "GET", "/v1/banking/transactions?end_user_id=u1&page%5Bafter%5D=c2",
                response_body={"transactions": [], "links": {"next": None}})]


def test_a_well_behaved_session_is_clean():
    assert audit(well_behaved_sync() + well_behaved_sync(30)) == []


def test_token_per_request():
    entries = []
    for i, entry in enumerate(well_behaved_sync()[1:]):
        entries += [token(i), req(i + 0.01, entry.method, entry.url)]
    assert rules_hit(entries) == {"token-per-request"}


def test_expired_token_reused_but_one_refusal_then_renewal_is_fine():
    renewed = [req(0, "GET", "/v1/banking/accounts", 401), token(0.1), req(0.2, "GET", "/v1/banking/accounts", token=TOKEN_B)]
    assert "expired-token-reused" not in rules_hit(renewed)
    reused = [req(0, "GET", "/v1/banking/accounts", 401), req(1, "GET", "/v1/consents", 401)]
    violations = audit(reused)
    assert [v.rule for v in violations] == ["expired-token-reused"]
    assert TOKEN_A not in json.dumps(as_json(violations, 2))  # the token is named by a fingerprint only


def test_no_backoff_shows_the_intervals():
    url = "/v1/banking/transactions?end_user_id=u1"
    immediate = [req(i * 0.005, "GET", url, 503) for i in range(4)] + [req(0.02, "GET", url)]
    violations = audit(immediate)
    assert [v.rule for v in violations] == ["no-backoff"]
    assert "5 ms" in violations[0].summary and len(violations[0].evidence) == 5
    backing_off = [req(0, "GET", url, 503), req(0.1, "GET", url, 503), req(0.3, "GET", url, 503), req(0.7, "GET", url)]
    assert rules_hit(backing_off) == set()


def test_retry_after_ignored():
    limited = req(0, "GET", "/v1/banking/accounts", 429, response_headers={"Retry-After": "1"})
    assert rules_hit([limited, req(0.3, "GET", "/v1/banking/accounts")]) == {"retry-after-ignored"}
    assert rules_hit([limited, req(1.01, "GET", "/v1/banking/accounts")]) == set()


def test_credentials_in_url():
    assert rules_hit([req(0, "GET", "/v1/banking/accounts?access_token=abc")]) == {"credentials-in-url"}
    assert rules_hit([req(0, "GET", f"/v1/banking/accounts?x={TOKEN_A}")]) == {"credentials-in-url"}
    assert rules_hit([req(0, "GET", "/v1/end-users?q=my-client-secret")], secrets=("my-client-secret",)) == {"credentials-in-url"}
    text = render_text(audit([req(0, "GET", "/v1/banking/accounts?access_token=abc123456")]), 1)
    assert "abc123456" not in text


def test_polling_is_judged_against_webhooks():
    polls = [req(i * 5.0, "GET", "/v1/banking/accounts?end_user_id=u1") for i in range(8)]
    assert rules_hit(polls) == {"excessive-polling"}
    assert rules_hit(polls, webhook_times=[1000 + 17.0]) == set()   # a webhook between splits the run
    assert rules_hit(polls, thresholds=Thresholds(poll_max=10)) == set()


def test_next_link_not_followed():
    first_page_only = well_behaved_sync()[:-1]
    violations = audit(first_page_only)
    assert [v.rule for v in violations] == ["next-link-not-followed"]
    assert "page%5Bafter%5D=c2" in violations[0].evidence[1] or "page[after]=c2" in violations[0].evidence[1]


def test_plain_http_to_a_remote_host_but_not_to_loopback():
    assert rules_hit([req(0, "GET", "/v1/consents", host="fake.example.com:8080")]) == {"plain-http-remote"}
    assert rules_hit([req(0, "GET", "/v1/consents", host="fake.example.com", scheme="https")]) == set()
    assert rules_hit([req(0, "GET", "/v1/consents", host="localhost:8080")]) == set()


def test_missing_authorization():
    assert rules_hit([req(0, "GET", "/v1/consents", token=None)]) == {"missing-authorization"}
    assert rules_hit([token(0)]) == set()


def test_credential_retry_loop():
    assert rules_hit([token(i * 0.01, 401) for i in range(5)]) == {"credential-retry-loop"}
    assert rules_hit([token(0, 401)]) == set()


def test_unknown_rule_is_a_clear_error():
    with pytest.raises(ValueError, match="known: token-per-request"):
        audit([], only=["made-up"])


def test_serve_events_are_read_with_response_details_and_kit_traffic_dropped():
    events = [
        {"request": {"method": "GET", "url": "/v1/banking/accounts", "absoluteUrl": "https://h/v1/banking/accounts",
                     "headers": {"Authorization": f"Bearer {TOKEN_A}"}, "loggedDate": 2000},
         "response": {"status": 429, "headers": {"Retry-After": "2"}, "body": "{}"}},
        {"request": {"method": "GET", "url": "/v1/consents", "headers": {"X-Harness-Probe": "1"}, "loggedDate": 1000},
         "response": {"status": 200}},
        {"request": {"method": "GET", "url": "/__harness/info", "headers": {}, "loggedDate": 1500}, "response": {"status": 200}},
    ]
    entries = from_serve_events(events)
    assert [(e.path, e.status, e.scheme, e.response_header("retry-after")) for e in entries] == [
        ("/v1/banking/accounts", 429, "https", "2")]
    assert from_serve_events(events, since=3.0) == []
