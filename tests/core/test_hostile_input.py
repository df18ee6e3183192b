"""Input that used to break the fake for everyone: every case gets a Fiskil-shaped 400 (or 405) that
says what to fix, and leaves the state as it was, so the next caller is served normally."""

from __future__ import annotations

import json

import pytest

from fakes.core import control as control_module
from fakes.core.app import Core


def assert_still_serving(api) -> None:
    """Another caller is served normally afterwards (the fake was not poisoned)."""
    assert api.get("/v1/end-users").status_code == 200
    assert api.get("/v1/institutions").status_code == 200


# --- JSON bodies (defect 3) ---------------------------------------------------------------------------

@pytest.mark.parametrize("raw", [
    b'{"email": "s@example.com", "name": "\\ud800"}',
    b'{"email": "s@example.com", "name": "ok", "phone": "\\udfff"}',
    b'{"email": "s@example.com", "\\ud800": "key"}',
])
def test_lone_surrogates_are_refused_at_input(api, core: Core, raw: bytes) -> None:
    response = api.post("/v1/end-users", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["name"] == "bad_request" and "not valid Unicode text" in body["message"]
    assert core.state.end_users == {}
    assert_still_serving(api)


def test_a_surrogate_in_redirect_uri_creates_no_session_and_no_consent(api, core: Core) -> None:
    end_user_id = api.end_user()
    raw = json.dumps({"end_user_id": end_user_id}).encode()[:-1] + b', "redirect_uri": "https://app.example/\\ud800"}'
    response = api.post("/v1/auth/session", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and "not valid Unicode text" in response.json()["message"]
    assert core.state.sessions == {} and core.state.consents == {}


@pytest.mark.parametrize("raw", [b"[" * 100_000, b'{"a":' * 50_000, b'{"email": ' + b"[" * 40 + b"]" * 40 + b"}"],
                         ids=["100k-brackets", "50k-objects", "40-levels"])
def test_deep_nesting_is_a_400_not_a_recursion_error(api, raw: bytes) -> None:
    response = api.post("/v1/end-users", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["message"]
    assert_still_serving(api)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_not_json(client, constant: str) -> None:
    response = client.post("/__harness/clock/advance", content=f'{{"seconds": {constant}}}'.encode())
    assert response.status_code == 400
    assert response.json()["name"] == "invalid_control_request"
    assert "not a JSON number" in response.json()["message"]


def test_a_body_that_is_not_utf8_says_so(api) -> None:
    response = api.post("/v1/end-users", content=b'{"email": "\xff@example.com"}')
    assert response.status_code == 400 and "UTF-8" in response.json()["message"]


# --- the clock (defect 2) -------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "says"), [
    (b'{"seconds": 1e300}', "100 years"), (b'{"seconds": 2.6e11}', "100 years"), (b'{"seconds": 1e400}', "too large"),
    (b'{"seconds": Infinity}', "Infinity, which is not a JSON number"), (b'{"seconds": NaN}', "NaN, which is not"),
    (b'{"seconds": "60"}', "seconds must be a finite number"), (b'{"seconds": true}', "seconds must be"),
])
def test_absurd_clock_jumps_are_refused_and_change_nothing(api, linked, client, core: Core, body: bytes,
                                                           says: str) -> None:
    core.clock.freeze()
    before = core.clock.now()
    response = client.post("/__harness/clock/advance", content=body)
    assert response.status_code == 400, response.text
    assert response.json()["name"] == "invalid_control_request" and says in response.json()["message"]
    assert core.clock.now() == before
    assert all(consent.active for consent in core.state.consents.values())
    assert [e["event"] for e in core.state.events].count("consent.revoked") == 0
    assert_still_serving(api)
    consents = api.get("/v1/consent").json()
    assert consents and consents[0]["active"] is True


def test_the_clock_bound_is_100_years_ahead_in_total(client, core: Core, control) -> None:
    hundred_years = control_module.MAX_CLOCK_AHEAD_SECONDS
    assert client.post("/__harness/clock/advance", json={"seconds": hundred_years - 86_400}).status_code == 200
    refused = client.post("/__harness/clock/advance", json={"seconds": 2 * 86_400})
    assert refused.status_code == 400
    assert "100 years" in refused.json()["message"] and "reset" in refused.json()["message"]
    control.reset()
    assert client.post("/__harness/clock/advance", json={"seconds": 2 * 86_400}).status_code == 200


# --- other control routes: validate before mutating ----------------------------------------------------

def test_link_outcome_checks_both_ids_before_setting_either(api, core: Core, client) -> None:
    end_user_id = api.end_user()
    session_id = api.session(end_user_id)["session_id"]
    response = client.put("/__harness/link-outcome",
                          json={"outcome": "CONSENT_TIMEOUT", "session_id": session_id, "end_user_id": "nobody"})
    assert response.status_code == 400 and "no end user" in response.json()["message"]
    assert core.state.outcome_by_session == {} and core.state.outcome_by_user == {}


@pytest.mark.parametrize("body", [
    {"outcome": "success", "end_user_id": ["a", "list"]},
    {"outcome": ["success"], "end_user_id": "x"},
    {"outcome": "success", "session_id": {"an": "object"}},
])
def test_link_outcome_with_wrong_types_is_a_400(client, body) -> None:
    response = client.put("/__harness/link-outcome", json=body)
    assert response.status_code == 400 and response.json()["name"] == "invalid_control_request"


@pytest.mark.parametrize("body", [
    {"end_user_id": ["x"], "action": "add"},
    {"end_user_id": "x", "action": ["add"]},
])
def test_data_transactions_with_wrong_types_is_a_400(client, body) -> None:
    response = client.post("/__harness/data/transactions", json=body)
    assert response.status_code == 400 and response.json()["name"] == "invalid_control_request"


def test_data_transactions_refused_change_leaves_the_data_alone(api, linked, client, core: Core) -> None:
    store = core.state.data[linked["end_user_id"]]
    before = (dict(store.transactions), store.serial, len(core.state.events))
    known = next(iter(store.transactions))
    response = client.post("/__harness/data/transactions",
                           json={"end_user_id": linked["end_user_id"], "action": "remove",
                                 "fiskil_ids": [known, "bank_tx_nope"]})
    assert response.status_code == 400 and "bank_tx_nope" in response.json()["message"]
    assert (store.transactions, store.serial, len(core.state.events)) == before
    assert client.post("/__harness/data/transactions",
                       json={"end_user_id": linked["end_user_id"], "action": "add", "emit": "yes"}).status_code == 400
    assert (store.transactions, store.serial, len(core.state.events)) == before


def test_removing_the_same_transaction_twice_in_one_call_removes_it_once(api, linked, client, core: Core) -> None:
    store = core.state.data[linked["end_user_id"]]
    known = next(iter(store.transactions))
    response = client.post("/__harness/data/transactions",
                           json={"end_user_id": linked["end_user_id"], "action": "remove", "fiskil_ids": [known, known]})
    assert response.status_code == 200 and response.json()["fiskil_ids"] == [known]
    assert known not in store.transactions


def test_an_unknown_user_on_data_transactions_creates_no_data_record(client, core: Core, api) -> None:
    end_user_id = api.end_user()
    response = client.post("/__harness/data/transactions", json={"end_user_id": end_user_id, "action": "add"})
    assert response.status_code == 400 and "link one first" in response.json()["message"]
    assert end_user_id not in core.state.data


def test_rate_limit_refuses_non_finite_windows_and_keeps_a_zero_retry_after(client, core: Core) -> None:
    assert client.put("/__harness/rate-limit", content=b'{"requests": 1, "window_seconds": NaN}').status_code == 400
    assert client.put("/__harness/rate-limit", content=b'{"requests": 1, "window_seconds": 1e400}').status_code == 400
    assert client.put("/__harness/rate-limit", json={"requests": 1, "window_seconds": 60,
                                                     "retry_after": 10**9}).status_code == 400
    assert core.state.rate_limit is None
    response = client.put("/__harness/rate-limit", json={"requests": 1, "window_seconds": 60, "retry_after": 0})
    assert response.status_code == 200 and response.json()["retry_after"] == 0


def test_reset_seed_bounds(client, core: Core) -> None:
    for seed in (-1, 2**63, 1.5, "7"):
        response = client.post("/__harness/reset", json={"seed": seed})
        assert response.status_code == 400, seed
        assert "between 0 and" in response.json()["message"] or "integer" in response.json()["message"]
    assert client.post("/__harness/reset", json={"seed": 2**63 - 1}).json() == {"seed": 2**63 - 1}


# --- data volume bounds (defect 8) ------------------------------------------------------------------------

def test_transactions_per_account_has_an_upper_bound(client, core: Core) -> None:
    limit = control_module.MAX_TRANSACTIONS_PER_ACCOUNT
    assert limit == 10_000
    refused = client.put("/__harness/data/volume", json={"transactions_per_account": 100_000_000})
    assert refused.status_code == 400
    assert "between 0 and 10000" in refused.json()["message"]
    assert core.state.transactions_per_account == 250
    assert client.put("/__harness/data/volume", json={"transactions_per_account": limit}).status_code == 200


def test_data_transactions_count_and_id_list_have_an_upper_bound(api, linked, client) -> None:
    end_user_id = linked["end_user_id"]
    refused = client.post("/__harness/data/transactions",
                          json={"end_user_id": end_user_id, "action": "add", "count": 10_001})
    assert refused.status_code == 400 and "between 1 and 10000" in refused.json()["message"]
    too_many = client.post("/__harness/data/transactions",
                           json={"end_user_id": end_user_id, "action": "remove", "fiskil_ids": ["x"] * 10_001})
    assert too_many.status_code == 400 and "at most 10000" in too_many.json()["message"]


# --- webhook target (defect 9) ----------------------------------------------------------------------------

def test_a_webhook_secret_that_is_not_base64_is_refused_like_the_cli_does(client, core: Core) -> None:
    response = client.put("/__harness/webhook", json={"url": "http://127.0.0.1:5/hook", "secret": "not base64!!"})
    assert response.status_code == 400
    message = response.json()["message"]
    assert message.startswith("secret cannot sign like Fiskil: ")
    assert "not valid base64" in message and "not base64!!" not in message  # never echoed
    assert core.webhook_target is None


@pytest.mark.parametrize("url", ["http://", "http:///hook", "https://exa mple.com/h", "http://127.0.0.1:99999/h",
                                 "http://127.0.0.1:x/h", "ftp://example.com/h", "/relative", "http://h/\x00", 42,
                                 "http://example.com/" + "a" * 3000])
def test_webhook_urls_the_dispatcher_could_not_post_to_are_refused(client, core: Core, url) -> None:
    response = client.put("/__harness/webhook", json={"url": url, "secret": "c2VjcmV0LXZhbHVl"})
    assert response.status_code == 400, url
    assert response.json()["name"] == "invalid_control_request" and "url" in response.json()["message"]
    assert core.webhook_target is None
