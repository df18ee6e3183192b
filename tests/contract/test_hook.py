"""The schema hook on the fake core: valid responses pass, a renamed field fails the request with a
message naming the endpoint and the field."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from fakes.core.app import CoreConfig, build_core
from fakes.core.server import CoreServer
from fakes.core.state import EndUser
from harness.contract import ContractViolation, check_served_response, install_schema_hook

CREDENTIALS = {"client_id": "harness-client-id", "client_secret": "harness-client-secret"}


@dataclass
class Served:
    method: str
    path: str
    route: str
    status: int
    body: bytes
    headers: dict = field(default_factory=lambda: {"content-type": "application/json"})


@pytest.fixture
def fake() -> Iterator[httpx.Client]:
    core = build_core(CoreConfig(**CREDENTIALS))
    install_schema_hook(core)
    install_schema_hook(core)  # idempotent: a second call must not double-register
    with CoreServer(core) as server, httpx.Client(base_url=server.url, timeout=5) as client:
        yield client


def bearer(client: httpx.Client) -> dict[str, str]:
    token = client.post("/v1/token", json=CREDENTIALS).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def test_valid_fake_responses_pass_the_hook(fake: httpx.Client) -> None:
    headers = bearer(fake)
    end_user_id = fake.post("/v1/end-users", json={"email": "hook@example.invalid", "name": "Hook"}, headers=headers).json()["end_user_id"]
    assert fake.get(f"/v1/end-users/{end_user_id}", headers=headers).status_code == 200
    assert fake.get("/v1/end-users/unknown", headers=headers).json()["name"] == "end_user_not_found"


def test_renamed_field_fails_with_endpoint_and_field(fake: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    headers = bearer(fake)
    end_user_id = fake.post("/v1/end-users", json={"email": "hook2@example.invalid", "name": "Hook"}, headers=headers).json()["end_user_id"]

    def renamed(self: EndUser) -> dict:
        return {"identifier": self.id, "email": self.email, "name": self.name, "phone": self.phone}

    monkeypatch.setattr(EndUser, "to_json", renamed)
    response = fake.get(f"/v1/end-users/{end_user_id}", headers=headers)
    assert response.status_code == 500
    body = response.json()
    assert body["name"] == "contract_violation"
    assert "GET /v1/end-users/{id} 200: id: required property missing" in body["message"]


def test_hook_names_nested_field_of_a_list_response() -> None:
    body = {"transactions": [{"fiskil_id": "t", "account_id": "a", "status": "POSTED", "description": "d"}], "links": {}}
    served = Served("GET", "/v1/banking/transactions", "/v1/banking/transactions", 200, json.dumps(body).encode())
    with pytest.raises(ContractViolation) as info:
        check_served_response(served)
    assert str(info.value) == "GET /v1/banking/transactions 200: transactions[0].amount: required property missing"


def test_hook_ignores_what_it_does_not_model() -> None:
    check_served_response(Served("GET", "/link", "/link", 200, b"<html>", {"content-type": "text/html"}))
    check_served_response(Served("DELETE", "/v1/consent/x", "/v1/consent/{arrangement_id}", 204, b""))
    check_served_response(Served("GET", "/v1/unknown", "/v1/{rest:path}", 404, b'{"id": "e", "name": "NotFound", "message": "m"}'))
