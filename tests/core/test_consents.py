"""Consents: listing with filters and all documented fields, revoke (API and control), expiry on
the clock, and consent.revoked events."""

from __future__ import annotations

from tests.core.conftest import issue_token

FIELDS = {"account_ids", "active", "app_logo", "app_name", "arrangement_id", "created_at", "duration",
          "end_user_email", "end_user_id", "expires_at", "institution_id", "institution_logo", "institution_name",
          "institution_type", "last_accessed", "last_consent", "permissions", "termination_reason"}


def test_list_has_all_fields_and_filters(api, linked, browser):
    other_user = api.end_user("other@example.com")
    browser.complete(api.session(other_user)["auth_url"])
    consents = api.get("/v1/consent").json()
    assert len(consents) == 2 and all(set(consent) == FIELDS for consent in consents)
    mine = api.get("/v1/consent", params={"end_user_id": linked["end_user_id"]}).json()
    assert [consent["arrangement_id"] for consent in mine] == [linked["consent_id"]]
    assert mine[0]["duration"] == 7776000 and mine[0]["active"] is True
    assert mine[0]["institution_type"] == "banking" and mine[0]["end_user_email"] == "alex@example.com"
    assert api.get("/v1/consent", params={"active": "false"}).json() == []
    assert api.get("/v1/consent", params={"active": "maybe"}).status_code == 400


def test_delete_revokes_and_is_204_even_for_unknown(api, linked, core):
    assert api.delete(f"/v1/consent/{linked['consent_id']}").status_code == 204
    listed = api.get("/v1/consent", params={"active": "false"}).json()
    assert [consent["arrangement_id"] for consent in listed] == [linked["consent_id"]]
    assert listed[0]["termination_reason"]
    assert api.delete("/v1/consent/unknown-id").status_code == 204
    assert api.delete(f"/v1/consent/{linked['consent_id']}").status_code == 204  # idempotent
    revoked = [event for event in core.state.events if event["event"] == "consent.revoked"]
    assert len(revoked) == 1 and revoked[0]["consent_id"] == linked["consent_id"]


def test_consent_expires_on_the_clock(api, linked, core):
    core.clock.advance(7776000 - 10)
    api.token = issue_token(api.client)  # the old bearer expired long ago
    assert api.get("/v1/consent", params={"active": "true"}).json() != []
    core.clock.advance(11)
    api.token = issue_token(api.client)
    inactive = api.get("/v1/consent", params={"active": "false"}).json()
    assert [consent["arrangement_id"] for consent in inactive] == [linked["consent_id"]]
    assert core.state.events[-1]["event"] == "consent.revoked"


def test_control_revoke_and_expire(api, browser, control, linked):
    second_user = api.end_user("second@example.com")
    second = browser.complete(api.session(second_user)["auth_url"]).consent_id
    assert control.revoke_consent(linked["consent_id"])["changed"] is True
    assert control.revoke_consent(linked["consent_id"])["changed"] is False
    assert control.expire_consent(second)["active"] is False
    events = [event["event"] for event in control.events()]
    assert events.count("consent.revoked") == 2


def test_control_advance_emits_expiry_immediately(linked, control):
    control.advance_clock(7776001)
    assert control.events()[-1]["event"] == "consent.revoked"
