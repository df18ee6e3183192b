"""Sign-up, Link landing, sync (pagination, upsert, soft delete) against the stand-in Fiskil."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from examples.reference_integration.service import FRIENDLY_LINK_ERRORS, UNKNOWN_LINK_ERROR
from tests.reference.stand_in import Scripted


def _landing_url(fiskil, kind: str, query: str = "") -> str:
    session = list(fiskil.sessions.values())[-1]
    uri = session["redirect_uri"] if kind == "redirect" else session["cancel_uri"]
    return uri + (f"?{query}" if query else "")


def test_create_end_user_reuses_existing_email(integration, fiskil):
    first = integration.create_end_user("ann@example.com", "Ann")
    again = integration.create_end_user("ann@example.com", "Ann")
    assert again == first
    assert fiskil.count("/v1/end-users", "GET") == 1     # looked up by email after the 400


def test_start_link_sends_own_redirect_and_cancel_uris(integration, fiskil):
    user = integration.create_end_user("bob@example.com", "Bob")
    auth_url = integration.start_link(user, institution_id="88888")
    session = list(fiskil.sessions.values())[-1]
    assert auth_url.startswith(fiskil.base_url + "/link")
    assert session["end_user_id"] == user and session["institution_id"] == "88888"
    assert urlsplit(session["redirect_uri"]).path.startswith("/link/complete/")
    assert urlsplit(session["cancel_uri"]).path.startswith("/link/cancelled/")


def test_successful_landing_records_consent(integration, fiskil):
    user = integration.create_end_user("cat@example.com", "Cat")
    integration.start_link(user)
    fiskil.add_consent(user, "arr-9")
    landing = integration.land(_landing_url(fiskil, "redirect"))
    assert landing.outcome == "connected"
    state = integration.snapshot(user)
    assert [(c.id, c.active) for c in state.consents] == [("arr-9", True)]
    assert state.last_error is None


@pytest.mark.parametrize("error_type", sorted(FRIENDLY_LINK_ERRORS))
def test_cancel_landing_stores_a_specific_friendly_message(integration, fiskil, error_type, caplog):
    user = integration.create_end_user("dan@example.com", "Dan")
    integration.start_link(user)
    caplog.set_level("INFO")
    integration.land(_landing_url(fiskil, "cancel", f"error=access_denied&error_type={error_type}&error_id=err_42"))
    error = integration.snapshot(user).last_error
    assert error is not None and error.code == error_type
    assert error.message == FRIENDLY_LINK_ERRORS[error_type]
    assert "err_42" in caplog.text          # logged for support


def test_messages_differ_per_error_type():
    assert len(set(FRIENDLY_LINK_ERRORS.values())) == len(FRIENDLY_LINK_ERRORS)


def test_unknown_error_type_gets_generic_message_with_reference(integration, fiskil):
    user = integration.create_end_user("eve@example.com", "Eve")
    integration.start_link(user)
    integration.land(_landing_url(fiskil, "cancel", "error=x&error_type=SOMETHING_NEW&error_id=err_77"))
    error = integration.snapshot(user).last_error
    assert error.code == "SOMETHING_NEW"
    assert error.message == UNKNOWN_LINK_ERROR.format(reference="err_77")


def test_landing_with_unknown_state_is_harmless(integration):
    assert integration.land("http://127.0.0.1:9/link/complete/nope").outcome == "unknown"


def test_sync_reads_every_page(make_integration, fiskil):
    integration = make_integration(page_size=3)
    user = integration.create_end_user("fay@example.com", "Fay")
    fiskil.add_consent(user, accounts=2, transactions_per_account=5)
    result = integration.sync(user)
    assert result.status == "ok"
    state = integration.snapshot(user)
    assert (state.accounts, state.transactions) == (2, 10)
    assert fiskil.count("/v1/banking/transactions") == 4   # 3+3+3+1
    # links.next is followed as given: later pages carry the cursor, not our own params again
    later = [s.query for s in fiskil.seen if s.path == "/v1/banking/transactions"][1:]
    assert all("page%5Bafter%5D" in q or "page[after]" in q for q in later)


def test_sync_upserts_and_soft_deletes_records_gone_from_fiskil(integration, fiskil):
    user = integration.create_end_user("gus@example.com", "Gus")
    fiskil.add_consent(user, accounts=1, transactions_per_account=4)
    integration.sync(user)
    integration.sync(user)              # idempotent: no duplicates
    assert integration.snapshot(user).transactions == 4
    fiskil.transactions.pop()
    integration.sync(user)
    assert integration.snapshot(user).transactions == 3
    assert integration.store.count_all("transactions", user) == 4   # soft deleted, still there


def test_revoked_consent_marks_inactive_and_soft_deletes_its_data(integration, fiskil):
    user = integration.create_end_user("hal@example.com", "Hal")
    fiskil.add_consent(user, "arr-a", accounts=1, transactions_per_account=3)
    fiskil.add_consent(user, "arr-b", accounts=1, transactions_per_account=2)
    integration.sync(user)
    fiskil.revoke("arr-a")
    assert integration.sync(user).status == "ok"
    state = integration.snapshot(user)
    assert {(c.id, c.active) for c in state.consents} == {("arr-a", False), ("arr-b", True)}
    assert (state.accounts, state.transactions) == (1, 2)
    assert integration.store.count_all("transactions", user) == 5


def test_persistent_failure_gives_clean_error_and_keeps_written_pages(make_integration, fiskil):
    integration = make_integration(page_size=2, max_retries=1)
    user = integration.create_end_user("ian@example.com", "Ian")
    fiskil.add_consent(user, accounts=1, transactions_per_account=5)
    integration.sync(user)
    fiskil.transactions.append({"fiskil_id": "bank_tx_new", "account_id": "arr-1-acc-0",
                                "arrangement_id": "arr-1", "end_user_id": user})
    # the second page fails every time: first attempt + 1 retry
    fiskil.script.append(Scripted("/v1/banking/transactions", 500, after=1, times=2,
                                  body={"id": "err_500", "name": "internal", "message": "boom"}))
    result = integration.sync(user)
    assert result.status == "error"
    assert "err_500" in result.message and "Traceback" not in result.message
    state = integration.snapshot(user)
    assert state.transactions == 5          # nothing soft-deleted by an incomplete sync
    assert state.last_error is not None and state.last_error.code == "SYNC_FAILED"
