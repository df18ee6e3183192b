"""Auth sessions and the hosted Link page: every outcome via magic usernames (LinkBrowser) and via
the control API, pre-selected institutions, outage, single use and expiry."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from fakes.core import assumptions as A
from fakes.link_browser import LinkBrowserError
from tests.core.conftest import CANCEL, REDIRECT

FAILURES = ["CONSENT_ENDUSER_DENIED", "CONSENT_OTP_FAILURE", "CONSENT_ENDUSER_INELIGIBLE",
            "CONSENT_UPSTREAM_PROCESSING_ERROR", "CONSENT_TIMEOUT", "AUTH_SESSION_CANCELLED"]


def test_auth_session_response(api, core):
    end_user_id = api.end_user()
    before = int(core.clock.now())
    session = api.session(end_user_id)
    assert set(session) == {"auth_url", "expires_at", "id", "session_id"}
    assert isinstance(session["expires_at"], int)
    assert before + 5 * 86400 - 1 <= session["expires_at"] <= int(core.clock.now()) + 5 * 86400
    assert parse_qs(urlsplit(session["auth_url"]).query)["sess_id"] == [session["session_id"]]
    assert session["auth_url"].startswith("http://testserver/link")


def test_auth_url_uses_public_base_url(api, core):
    core.set_public_base_url("http://127.0.0.1:9999/")
    session = api.session(api.end_user())
    assert session["auth_url"].startswith("http://127.0.0.1:9999/link?sess_id=")


def test_auth_session_errors(api):
    missing = api.post("/v1/auth/session", json={"redirect_uri": REDIRECT})
    assert missing.status_code == 400 and "end_user_id" in missing.json()["message"]
    end_user_id = api.end_user()
    bad_institution = api.post("/v1/auth/session", json={"end_user_id": end_user_id, "institution_id": "nope"})
    assert bad_institution.status_code == 400 and bad_institution.json()["name"] == "invalid_institution_id"
    assert api.post("/v1/auth/session", json={"end_user_id": "ghost"}).json()["name"] == "end_user_not_found"
    bad_uri = api.post("/v1/auth/session", json={"end_user_id": end_user_id, "redirect_uri": "not a url"})
    assert bad_uri.status_code == 400


def test_success_redirects_with_consent_and_emits_events(api, browser, core):
    end_user_id = api.end_user()
    session = api.session(end_user_id)
    result = browser.complete(session["auth_url"])
    assert result.outcome == "redirect" and result.final_url.startswith(REDIRECT + "?")
    assert result.params == {"session_id": session["session_id"], "consent_id": result.consent_id}
    consent = core.state.consents[result.consent_id]
    assert consent.end_user_id == end_user_id and consent.institution_id == A.SANDBOX_BANK_ID
    events = [event["event"] for event in core.state.events]
    assert events == ["consent.received", "banking.accounts.sync.completed",
                      "banking.balances.sync.completed", "banking.transactions.sync.completed"]
    assert core.state.events[1]["account_ids"] == consent.account_ids


def _assert_failure(result, error_type: str) -> None:
    assert result.outcome == "cancel" and result.final_url.startswith(CANCEL + "?")
    assert result.params["error_type"] == error_type
    assert result.params["error_id"].startswith("err_")
    assert result.params["error_uri"] == f"https://data.docs.fiskil.dev/errors#{error_type}"
    assert result.params["error"] and result.params["error_description"]
    assert result.consent_id is None


@pytest.mark.parametrize("outcome", FAILURES)
def test_failure_outcomes_via_magic_username(api, browser, core, outcome):
    result = browser.complete(api.session(api.end_user())["auth_url"], outcome=outcome)
    _assert_failure(result, outcome)
    assert core.state.consents == {} and core.state.events == []


@pytest.mark.parametrize("outcome", FAILURES + ["INSTITUTION_OUTAGE"])
def test_failure_outcomes_via_control_api_for_user(api, browser, control, outcome):
    end_user_id = api.end_user()
    control.set_link_outcome(outcome, end_user_id=end_user_id)
    result = browser.complete(api.session(end_user_id)["auth_url"])  # plays user_good
    expected = A.OUTAGE_ERROR_TYPE if outcome == "INSTITUTION_OUTAGE" else outcome
    _assert_failure(result, expected)
    # consumed once: the next flow succeeds
    assert browser.complete(api.session(end_user_id)["auth_url"]).outcome == "redirect"


def test_control_outcome_for_a_session_only(api, browser, control):
    end_user_id = api.end_user()
    first, second = api.session(end_user_id), api.session(end_user_id)
    control.set_link_outcome("CONSENT_TIMEOUT", session_id=second["session_id"])
    assert browser.complete(first["auth_url"]).outcome == "redirect"
    _assert_failure(browser.complete(second["auth_url"]), "CONSENT_TIMEOUT")


def test_documented_error_values(api, browser):
    denied = browser.complete(api.session(api.end_user("a@example.com"))["auth_url"], outcome="CONSENT_ENDUSER_DENIED")
    upstream = browser.complete(api.session(api.end_user("b@example.com"))["auth_url"],
                                outcome="CONSENT_UPSTREAM_PROCESSING_ERROR")
    assert denied.params["error"] == "access_denied" and upstream.params["error"] == "server_error"


def test_outage_bank_fails_with_outage(api, browser):
    result = browser.complete(api.session(api.end_user())["auth_url"], institution_id=A.OUTAGE_BANK_ID)
    _assert_failure(result, A.OUTAGE_ERROR_TYPE)
    assert "unavailable" in result.params["error_description"]


def test_preselected_institution_skips_choice(api, client, browser, core):
    session = api.session(api.end_user(), institution_id=A.ENERGY_RETAILER_ID)
    page = client.get(session["auth_url"])
    assert 'data-step="login"' in page.text and "Sandbox Energy Retailer" in page.text
    result = browser.complete(session["auth_url"], institution_id="ignored")
    consent = core.state.consents[result.consent_id]
    assert consent.institution_id == A.ENERGY_RETAILER_ID and "usage" in consent.permissions
    assert [event["event"] for event in core.state.events] == ["consent.received"]


def test_session_is_single_use(api, browser):
    session = api.session(api.end_user())
    assert browser.complete(session["auth_url"]).outcome == "redirect"
    again = browser.complete(session["auth_url"])
    assert again.outcome == "error" and again.params["error_type"] == "AUTH_SESSION_INVALID"


def test_failed_session_cannot_be_reused(api, browser):
    session = api.session(api.end_user())
    browser.complete(session["auth_url"], outcome="AUTH_SESSION_CANCELLED")
    assert browser.complete(session["auth_url"]).outcome == "error"


def test_session_expires_after_five_days(api, browser, client, core):
    session = api.session(api.end_user())
    core.clock.advance(5 * 86400 + 1)
    page = client.get(session["auth_url"])
    assert page.status_code == 400 and "AUTH_SESSION_INVALID" in page.text
    assert browser.complete(session["auth_url"]).outcome == "error"


def test_unknown_magic_username_is_explained(api, browser):
    with pytest.raises(LinkBrowserError, match="error_CONSENT_TIMEOUT"):
        browser.complete(api.session(api.end_user())["auth_url"], username="error_NOPE")


@pytest.mark.parametrize("username", ["alice", "ERROR_TIMEOUT", "user_error_x"])
def test_any_name_not_starting_with_error_succeeds(api, browser, username):
    """docs/fake.md: `user_good`, or any name that does not start with `error_` (case-sensitive)."""
    assert browser.complete(api.session(api.end_user())["auth_url"], username=username).outcome == "redirect"


def test_account_selection_and_permissions_subset(api, browser, core):
    session = api.session(api.end_user(), permissions=["accounts", "balances"])
    result = browser.complete(session["auth_url"], accounts="first")
    consent = core.state.consents[result.consent_id]
    assert len(consent.account_ids) == 1 and consent.permissions == ["accounts", "balances"]


def test_pages_are_accessible_html_with_cancel(api, client):
    session = api.session(api.end_user())
    page = client.get(session["auth_url"])
    assert page.headers["content-type"].startswith("text/html")
    assert "<style>" in page.text and "<script" not in page.text
    assert 'data-action="cancel"' in page.text and "Choose your institution" in page.text


def test_out_of_order_post_rerenders_current_step(api, client):
    session = api.session(api.end_user())
    response = client.post("/link/otp", data={"sess_id": session["session_id"], "otp": "123456"})
    assert response.status_code == 200 and 'data-step="institution"' in response.text
    assert "finish" in response.text


def test_flow_without_redirect_uri_shows_result_page(api, browser):
    end_user_id = api.end_user()
    session = api.post("/v1/auth/session", json={"end_user_id": end_user_id}).json()
    result = browser.complete(session["auth_url"])
    assert result.outcome == "redirect" and result.consent_id


def test_success_params_are_configurable(api, browser, core):
    core.config.success_redirect_params = ("consent_id",)
    result = browser.complete(api.session(api.end_user())["auth_url"])
    assert list(result.params) == ["consent_id"]


def _confirm_page(client, session_id: str, accounts: str) -> str:
    """Walk the form posts up to the confirm step, choosing the first account or all of them."""
    client.post("/link/institution", data={"sess_id": session_id, "institution_id": "88888"})
    client.post("/link/login", data={"sess_id": session_id, "username": "user_good"})
    page = client.post("/link/otp", data={"sess_id": session_id, "otp": "123456"}).text
    offered = re.findall(r'name="account_ids" value="([^"]+)"', page)
    chosen = offered[:1] if accounts == "first" else offered
    assert chosen
    return client.post("/link/accounts", data={"sess_id": session_id, "account_ids": chosen}).text


def test_confirm_page_counts_accounts_in_plain_english(api, client):
    one = _confirm_page(client, api.session(api.end_user())["session_id"], "first")
    assert 'data-step="confirm"' in one and "(1 account)" in one and "account(s)" not in one
    every = _confirm_page(client, api.session(api.end_user("b@example.com"))["session_id"], "all")
    count = int(re.search(r"\((\d+) accounts\)", every).group(1))
    assert count >= 2 and "account(s)" not in every
