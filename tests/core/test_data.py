"""Banking data: shapes, pagination following links.next, page[size] cap, filters, consent
gating, determinism from the seed, and data changes between syncs."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from fakes.core import data
from fakes.core.app import CoreConfig, build_core


def _walk(api, path: str, root: str, **params) -> list[dict]:
    """Follow links.next to the end; bounded."""
    response = api.get(path, params=params)
    assert response.status_code == 200, response.text
    items, pages = list(response.json()[root]), 1
    while "next" in response.json()["links"] and pages < 100:
        next_url = response.json()["links"]["next"]
        assert next_url.startswith("http://testserver/v1/")
        response = api.get(next_url)
        assert response.status_code == 200
        items.extend(response.json()[root])
        pages += 1
    return items, pages


def test_pagination_over_pages_without_duplicates_or_gaps(api, linked, core):
    everything = core.state.user_data(linked["end_user_id"]).transactions
    items, pages = _walk(api, "/v1/banking/transactions", "transactions",
                         end_user_id=linked["end_user_id"], **{"page[size]": 25})
    ids = [item["fiskil_id"] for item in items]
    assert pages >= 3 and len(ids) == len(set(ids)) == len(everything)
    stamps = [item["posting_date_time"] or item["execution_date_time"] for item in items]
    assert stamps == sorted(stamps, reverse=True)  # newest first, stable


def test_prev_link_returns_previous_page(api, linked):
    params = {"end_user_id": linked["end_user_id"], "page[size]": 10}
    first = api.get("/v1/banking/transactions", params=params).json()
    assert "prev" not in first["links"]
    second = api.get(first["links"]["next"]).json()
    back = api.get(second["links"]["prev"]).json()
    assert [t["fiskil_id"] for t in back["transactions"]] == [t["fiskil_id"] for t in first["transactions"]]
    assert "page[after]" in first["links"]["next"] and "end_user_id=" in first["links"]["next"]


def test_links_use_public_base_url(api, linked, core):
    core.set_public_base_url("http://127.0.0.1:8181")
    page = api.get("/v1/banking/transactions", params={"end_user_id": linked["end_user_id"], "page[size]": 5}).json()
    assert urlsplit(page["links"]["next"]).netloc == "127.0.0.1:8181"


def test_page_size_default_and_cap(api, linked):
    default = api.get("/v1/banking/transactions", params={"end_user_id": linked["end_user_id"]}).json()
    assert len(default["transactions"]) == min(100, len(default["transactions"])) and default["transactions"]
    assert api.get("/v1/banking/transactions", params={"end_user_id": linked["end_user_id"],
                                                      "page[size]": 1000}).status_code == 200
    too_big = api.get("/v1/banking/transactions", params={"end_user_id": linked["end_user_id"], "page[size]": 1001})
    assert too_big.status_code == 400 and "1000" in too_big.json()["message"]
    assert api.get("/v1/banking/transactions", params={"end_user_id": linked["end_user_id"],
                                                      "page[size]": "ten"}).status_code == 400
    assert api.get("/v1/banking/transactions", params={"end_user_id": linked["end_user_id"],
                                                      "page[after]": "garbage!"}).status_code == 400


def test_transaction_filters(api, linked, core):
    everything = list(core.state.user_data(linked["end_user_id"]).transactions.values())
    account = everything[0]["account_id"]
    base = {"end_user_id": linked["end_user_id"], "page[size]": 1000}
    by_account = api.get("/v1/banking/transactions", params={**base, "account_id": account}).json()["transactions"]
    assert by_account and all(t["account_id"] == account for t in by_account)
    assert len(by_account) == sum(t["account_id"] == account for t in everything)
    pending = api.get("/v1/banking/transactions", params={**base, "status": "PENDING"}).json()["transactions"]
    assert all(t["status"] == "PENDING" for t in pending)
    assert api.get("/v1/banking/transactions", params={**base, "status": "DONE"}).status_code == 400
    middle = sorted(t["posting_date_time"] or t["execution_date_time"] for t in everything)[len(everything) // 2]
    since = api.get("/v1/banking/transactions", params={**base, "from": middle}).json()["transactions"]
    until = api.get("/v1/banking/transactions", params={**base, "to": middle}).json()["transactions"]
    assert all((t["posting_date_time"] or t["execution_date_time"]) >= middle for t in since)
    assert len(since) + len(until) == len(everything) + 1  # the boundary record is in both
    assert api.get("/v1/banking/transactions", params={**base, "from": "yesterday"}).status_code == 400


@pytest.mark.parametrize("path,root,prefix", [
    ("/v1/banking/accounts", "accounts", "bank_account_"),
    ("/v1/banking/balances", "balances", "bank_balance_"),
    ("/v1/banking/payees", "payees", "bank_payee_"),
    ("/v1/banking/acccounts/direct-debits", "direct_debits", "bank_dd_"),
    ("/v1/banking/payments/scheduled", "scheduled_payments", "bank_sp_"),
])
def test_resources_root_keys_and_ids(api, linked, path, root, prefix):
    body = api.get(path, params={"end_user_id": linked["end_user_id"]}).json()
    assert set(body) == {root, "links"} and body[root]
    assert all(item["fiskil_id"].startswith(prefix) and item["arrangement_id"] == linked["consent_id"]
               for item in body[root])


def test_amounts_are_strings(api, linked):
    balance = api.get("/v1/banking/balances", params={"end_user_id": linked["end_user_id"]}).json()["balances"][0]
    transaction = api.get("/v1/banking/transactions", params={"end_user_id": linked["end_user_id"]}).json()
    assert isinstance(balance["current_balance"], str) and isinstance(transaction["transactions"][0]["amount"], str)


def test_end_user_id_required_and_unknown(api):
    missing = api.get("/v1/banking/accounts")
    assert missing.status_code == 400
    assert missing.json()["name"] == "InvalidRequest" and missing.json()["id"].startswith("err_")
    assert api.get("/v1/banking/accounts", params={"end_user_id": "ghost"}).status_code == 404


def test_no_active_consent_is_403_by_default(api, linked):
    fresh = api.end_user("fresh@example.com")
    no_consent = api.get("/v1/banking/accounts", params={"end_user_id": fresh})
    assert no_consent.status_code == 403 and no_consent.json()["name"] == "consent_inactive"
    api.delete(f"/v1/consent/{linked['consent_id']}")
    revoked = api.get("/v1/banking/transactions", params={"end_user_id": linked["end_user_id"]})
    assert revoked.status_code == 403


def test_permission_not_granted(api, browser):
    end_user_id = api.end_user()
    browser.complete(api.session(end_user_id, permissions=["accounts"])["auth_url"])
    assert api.get("/v1/banking/accounts", params={"end_user_id": end_user_id}).status_code == 200
    denied = api.get("/v1/banking/transactions", params={"end_user_id": end_user_id})
    assert denied.status_code == 403 and denied.json()["name"] == "permission_not_granted"


def test_empty_policy_returns_empty_list():
    from starlette.testclient import TestClient

    from tests.core.conftest import Api, issue_token

    core = build_core(CoreConfig(client_id="test-client", client_secret="test-secret-value", no_consent_policy="empty"))
    with TestClient(core.app, base_url="http://testserver") as client:
        api = Api(client, issue_token(client))
        response = api.get("/v1/banking/accounts", params={"end_user_id": api.end_user()})
        assert response.status_code == 200 and response.json() == {"accounts": [], "links": {}}
    with pytest.raises(ValueError, match="no_consent_policy"):
        build_core(CoreConfig(no_consent_policy="sometimes"))


def test_volume_sets_transactions_per_account(linked, core):
    consent = core.state.consents[linked["consent_id"]]
    assert len(core.state.user_data(linked["end_user_id"]).transactions) == 30 * len(consent.account_ids)


def test_same_seed_same_data_different_seed_different():
    accounts = data.institution_accounts(11, "user-1", "88888")
    assert accounts == data.institution_accounts(11, "user-1", "88888")
    assert accounts != data.institution_accounts(12, "user-1", "88888")
    account = {**accounts[0], "arrangement_id": "arr"}
    first = data.transactions_for(account, 11, 40, 1_700_000_000.0)
    assert first == data.transactions_for(account, 11, 40, 1_700_000_000.0)
    assert first != data.transactions_for(account, 12, 40, 1_700_000_000.0)
    assert data.payees_for("user-1", "88888", "arr", 11) == data.payees_for("user-1", "88888", "arr", 11)


def test_relinking_keeps_account_data(api, linked, browser, core):
    before = dict(core.state.user_data(linked["end_user_id"]).transactions)
    again = browser.complete(api.session(linked["end_user_id"])["auth_url"])
    after = core.state.user_data(linked["end_user_id"]).transactions
    assert set(after) == set(before) and all(t["arrangement_id"] == again.consent_id for t in after.values())


def test_data_changes_between_syncs(api, linked, control, core):
    end_user_id = linked["end_user_id"]
    store = core.state.user_data(end_user_id).transactions
    count = len(store)
    added = control.change_transactions(end_user_id, "add", count=3)["fiskil_ids"]
    assert len(added) == 3 and len(store) == count + 3
    newest = api.get("/v1/banking/transactions", params={"end_user_id": end_user_id, "status": "POSTED",
                                                         "page[size]": 1000}).json()["transactions"]
    assert set(added) <= {t["fiskil_id"] for t in newest}
    target = added[0]
    old_amount = store[target]["amount"]
    control.change_transactions(end_user_id, "modify", fiskil_ids=[target])
    assert store[target]["amount"] != old_amount or "(ADJUSTED)" in store[target]["description"]
    control.change_transactions(end_user_id, "remove", fiskil_ids=[target])
    assert target not in store
    events = [event["event"] for event in control.events()]
    assert events.count("banking.transactions.sync.completed") == 4  # link + three changes


def test_data_change_validation(linked, control):
    from fakes.control_client import ControlError

    with pytest.raises(ControlError, match="action must be"):
        control.change_transactions(linked["end_user_id"], "explode")
    with pytest.raises(ControlError, match="unknown transaction"):
        control.change_transactions(linked["end_user_id"], "remove", fiskil_ids=["bank_tx_nope"])
