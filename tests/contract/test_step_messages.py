"""When the schema hook makes the fake answer 500, a failing contract step says which field broke
(the response's error message), and a violation repeated in every list item is one counted line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace

import httpx
import pytest

from fakes.core import data
from fakes.core.app import CoreConfig, build_core
from fakes.core.server import CoreServer
from fakes.link_browser import LinkBrowser
from harness.contract import ContractViolation, install_schema_hook
from harness.contract.validation import response_errors
from harness.target import ScenarioContext
from steps import contract as steps
from tests.contract.conftest import CREDENTIALS


def test_a_problem_repeated_in_every_item_is_one_counted_line() -> None:
    body = {"transactions": [{"fiskil_id": f"t{i}", "account_id": "a", "status": "POSTED", "description": "d"}
                             for i in range(100)], "links": {}}
    assert response_errors("GET", "/v1/banking/transactions", 200, json.dumps(body)) == [
        "GET /v1/banking/transactions 200: transactions[*].amount: required property missing (100 items)"]
    body["transactions"][3]["amount"] = "1.00"
    body["transactions"][3]["status"] = "SETTLED"
    problems = response_errors("GET", "/v1/banking/transactions", 200, json.dumps(body))
    assert "GET /v1/banking/transactions 200: transactions[*].amount: required property missing (99 items)" in problems
    assert any(p.startswith("GET /v1/banking/transactions 200: transactions[3].status: value 'SETTLED'") for p in problems)


@pytest.fixture
def hooked() -> Iterator[tuple[object, str]]:
    core = build_core(CoreConfig(**CREDENTIALS))
    install_schema_hook(core)
    with CoreServer(core) as server:
        yield core, server.url


def scenario(http: httpx.Client, base_url: str) -> tuple[ScenarioContext, SimpleNamespace]:
    target = SimpleNamespace(base_url=base_url, is_fake=True, control=None, **CREDENTIALS)
    ctx = ScenarioContext(token=steps._token(http, target))
    return ctx, target


def test_auth_session_step_failure_carries_the_violation(hooked) -> None:
    core, url = hooked

    def session_id_missing(served) -> None:
        if served.route == "/v1/auth/session":
            raise ContractViolation("POST /v1/auth/session 200: session_id: required property missing")

    core.on_response(session_id_missing)
    with httpx.Client(timeout=10) as http:
        ctx, target = scenario(http, url)
        ctx.end_user_id = http.post(f"{url}/v1/end-users", json={"email": "m@example.invalid"},
                                    headers={"Authorization": f"Bearer {ctx.token}"}).json()["end_user_id"]
        with pytest.raises(AssertionError) as info:
            steps.has_session(ctx, http, target)
    assert str(info.value).startswith("creating an auth session answered 500: contract_violation: "
                                      "POST /v1/auth/session 200: session_id: required property missing")


def test_paging_step_failure_names_the_field_once_for_all_items(hooked, monkeypatch: pytest.MonkeyPatch) -> None:
    core, url = hooked
    original = data.make_transaction

    def without_amount(*args, **kwargs) -> dict:
        transaction = original(*args, **kwargs)
        transaction.pop("amount")
        return transaction

    monkeypatch.setattr(data, "make_transaction", without_amount)
    with httpx.Client(timeout=10) as http:
        ctx, target = scenario(http, url)
        auth = {"Authorization": f"Bearer {ctx.token}"}
        ctx.end_user_id = http.post(f"{url}/v1/end-users", json={"email": "p@example.invalid"}, headers=auth).json()["end_user_id"]
        session = http.post(f"{url}/v1/auth/session", json={"end_user_id": ctx.end_user_id}, headers=auth).json()
        LinkBrowser(http).complete(session["auth_url"])
        with pytest.raises(AssertionError) as info:
            steps.page_through(ctx, http, target, "/v1/banking/transactions", 5)
    assert str(info.value).splitlines()[0] == ("page 1 answered 500: contract_violation: GET /v1/banking/transactions 200: "
                               "transactions[*].amount: required property missing (5 items)")
