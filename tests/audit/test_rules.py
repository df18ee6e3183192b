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


def token(t: float, status: int = 200, issued: str | None = None, expires_in: int = 900) -> AuditEntry:
    body = {"token": issued, "token_type": "Bearer", "expires_in": expires_in} if issued else None
    return req(t, "POST", "/v1/token", status, token=None, response_body=body)


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
        entries += [token(i, issued=f"tok-{i:016d}"), req(i + 0.01, entry.method, entry.url, token=f"tok-{i:016d}")]
    assert rules_hit(entries) == {"token-per-request"}


def test_token_per_request_is_not_hidden_by_later_reuse():
    # 6 calls each on a fresh token, then 15 calls on one token: the old ratio rule (7/21) saw nothing
    entries = []
    for i in range(7):
        entries += [token(i, issued=f"tok-{i:016d}"), req(i + 0.01, "GET", "/v1/banking/accounts?end_user_id=u1", token=f"tok-{i:016d}")]
    entries += [req(7 + i * 0.01, "GET", "/v1/banking/transactions?end_user_id=u1", token=f"tok-{6:016d}") for i in range(14)]
    violations = audit(entries, only=["token-per-request"])
    assert len(violations) == 1 and violations[0].summary.startswith("6 tokens were replaced while still valid")
    assert "used for 1 API call(s)" in violations[0].evidence[0] and "tok-0" not in " ".join(violations[0].evidence)


def test_renewing_after_a_401_or_after_expiry_is_not_token_per_request():
    # one token, a 401 after it expired, one renewal, 4 calls: the old ratio rule flagged 2/4
    after_401 = [token(0, issued=TOKEN_A), req(0.1, "GET", "/v1/consent"), req(0.2, "GET", "/v1/banking/accounts", 401),
                 token(0.3, issued=TOKEN_B), req(0.4, "GET", "/v1/banking/accounts", token=TOKEN_B),
                 req(0.5, "GET", "/v1/banking/balances", token=TOKEN_B)]
    assert rules_hit(after_401) == set()
    # tokens renewed each time expires_in ran out (short-lived tokens), used once each: correct too
    expiring = []
    for i in range(5):
        expiring += [token(i * 10.0, issued=f"tok-{i:016d}", expires_in=5), req(i * 10.0 + 0.1, "GET", "/v1/consent", token=f"tok-{i:016d}")]
    assert rules_hit(expiring) == set()


def test_token_per_request_threshold_and_tokens_without_a_response_body():
    # two tokens thrown away is under the documented threshold (3); bodies missing: tied by first use
    two = []
    for i in range(3):
        two += [token(i), req(i + 0.01, "GET", "/v1/consent", token=f"tok-{i:016d}")]
    assert rules_hit(two) == set()
    assert rules_hit(two, thresholds=Thresholds(token_thrown_away_min=2)) == {"token-per-request"}


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
    assert "5 ms" in violations[0].summary and "400 ms" in violations[0].summary and len(violations[0].evidence) == 5
    backing_off = [req(0, "GET", url, 503), req(0.1, "GET", url, 503), req(0.3, "GET", url, 503), req(0.7, "GET", url)]
    assert rules_hit(backing_off) == set()


def test_no_backoff_floor_is_per_retry_and_ignores_the_servers_own_time():
    url = "/v1/banking/transactions?end_user_id=u1"
    # 4 retries waiting 80 ms each: 320 ms in total, under the 400 ms floor for 4 retries
    short = [req(i * 0.08, "GET", url, 503) for i in range(4)] + [req(0.32, "GET", url)]
    assert rules_hit(short) == {"no-backoff"}
    # a slow server answer is not the client waiting: 150 ms gaps of which 145 ms were the edge answering
    slow_server = [req(i * 0.15, "GET", url, 503) for i in range(3)] + [req(0.45, "GET", url)]
    for entry in slow_server:
        entry.served_s = 0.145
    assert rules_hit(slow_server) == {"no-backoff"}
    # one retry is never judged
    assert rules_hit([req(0, "GET", url, 503), req(0.001, "GET", url)]) == set()


def test_retry_after_ignored():
    limited = req(0, "GET", "/v1/banking/accounts", 429, response_headers={"Retry-After": "1"})
    assert rules_hit([limited, req(0.3, "GET", "/v1/banking/accounts")]) == {"retry-after-ignored"}
    assert rules_hit([limited, req(1.01, "GET", "/v1/banking/accounts")]) == set()


def test_retry_after_ignored_is_reported_once_per_retry_chain():
    url = "/v1/banking/accounts?end_user_id=u1"
    chain = [req(i * 0.003, "GET", url, 429, response_headers={"Retry-After": "1"}) for i in range(11)] + [req(0.04, "GET", url)]
    violations = audit(chain, only=["retry-after-ignored"])
    assert len(violations) == 1
    assert "11 times in one retry chain" in violations[0].summary
    assert len(violations[0].evidence) <= 11 and violations[0].evidence[-1].startswith("… ")
    # two separate chains are two findings
    other = [req(5 + i * 0.003, "GET", "/v1/banking/balances", 429, response_headers={"Retry-After": "1"}) for i in range(2)]
    assert len(audit(chain + other + [req(5.1, "GET", "/v1/banking/balances")], only=["retry-after-ignored"])) == 2


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


def test_link_page_and_kit_delivery_traffic_are_not_the_integrations_requests():
    def event(url: str, method: str = "GET", logged: int = 1000) -> dict:
        return {"request": {"method": method, "url": url, "headers": {}, "loggedDate": logged}, "response": {"status": 200}}

    events = [event("/link?sess_id=abc"), event("/link/login", "POST"), event("/__subject/webhooks/fiskil", "POST"),
              event("/v1/consent?end_user_id=u1", logged=2000), event("/linked-accounts", logged=3000)]
    assert [e.path for e in from_serve_events(events)] == ["/v1/consent", "/linked-accounts"]


def test_the_report_explains_every_practice_tag_it_uses_with_its_url():
    violations = audit([token(i * 0.01, 401) for i in range(5)] + [req(1, "GET", "/v1/consents", token=None)])
    text = render_text(violations, 6)
    assert "BP      https://docs.fiskil.com/data-api/guides/resources/best-practices" in text
    assert "AUTH-G  https://docs.fiskil.com/data-api/guides/getting-started/authentication" in text
    assert "GOLIVE" not in text   # only the tags the reported rules cite
    assert as_json(violations, 6)["sources"].keys() == {"BP", "AUTH-G"}


def test_every_rule_cites_a_known_source_tag():
    from harness.audit.rules import RULES, practice_tags

    assert all(practice_tags(rule.practice) for rule in RULES), [r.id for r in RULES if not practice_tags(r.practice)]
