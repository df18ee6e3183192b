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


def _linked_end_user(client: httpx.Client, headers: dict[str, str]) -> str:
    from fakes.link_browser import LinkBrowser

    end_user_id = client.post("/v1/end-users", json={"email": "limit@example.invalid"}, headers=headers).json()["end_user_id"]
    session = client.post("/v1/auth/session", headers=headers, json={"end_user_id": end_user_id}).json()
    LinkBrowser(client).complete(session["auth_url"])
    return end_user_id


@pytest.mark.parametrize(("path", "media_type", "shape_keys"), [
    ("/v1/end-users", "application/vnd.goa.error", {"fault", "id", "message", "name", "temporary", "timeout"}),
    ("/v1/consent", "application/vnd.goa.error", {"fault", "id", "message", "name", "temporary", "timeout"}),
    ("/v1/banking/accounts", "application/json", {"id", "name", "message"}),
])
def test_the_fakes_own_rate_limit_answers_in_the_route_familys_shape(fake: httpx.Client, path: str, media_type: str,
                                                                      shape_keys: set[str]) -> None:
    headers = bearer(fake)
    params = {"end_user_id": _linked_end_user(fake, headers)}
    assert fake.put("/__harness/rate-limit", json={"requests": 1, "window_seconds": 60}).status_code < 300
    headers = bearer(fake)  # the limit counts per token: a fresh one
    assert fake.get(path, params=params, headers=headers).status_code == 200
    limited = fake.get(path, params=params, headers=headers)
    assert limited.status_code == 429, limited.text  # not a 500 contract_violation from the hook
    assert limited.headers["content-type"].startswith(media_type)
    assert set(limited.json()) == shape_keys and limited.json()["name"] == "rate_limited"


@pytest.mark.parametrize(("path", "media_type", "name"), [
    ("/v1/end-users", "application/vnd.goa.error", "unauthorized"),
    ("/v1/banking/accounts", "application/json", "Unauthorized"),
])
def test_unauthorised_answers_in_the_route_familys_shape_and_pass_the_hook(fake: httpx.Client, path: str,
                                                                           media_type: str, name: str) -> None:
    refused = fake.get(path, params={"end_user_id": "x"}, headers={"Authorization": "Bearer made-up"})
    assert refused.status_code == 401, refused.text
    assert refused.headers["content-type"].startswith(media_type) and refused.json()["name"] == name


class _Captured(Exception):
    """Stops a command right after it built its fake (no JVM needed to see how the core is set up)."""


class _CapturingStack:
    cores: list = []

    def __init__(self, config=None, *, core=None, **_: object) -> None:
        _CapturingStack.cores.append(core)

    def __enter__(self) -> _CapturingStack:
        raise _Captured

    def __exit__(self, *exc_info: object) -> None:
        pass


def _violates(core) -> None:
    """Serve `core` and prove its schema hook turns a broken answer into a 500 contract_violation."""
    with CoreServer(core) as server, httpx.Client(base_url=server.url, timeout=5) as client:
        headers = bearer(client)
        end_user_id = client.post("/v1/end-users", json={"email": "every@example.invalid"}, headers=headers).json()["end_user_id"]
        answer = client.get(f"/v1/end-users/{end_user_id}", headers=headers)
    assert answer.status_code == 500 and answer.json()["name"] == "contract_violation", answer.text


@pytest.fixture
def broken_end_users(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FISKIL_CLIENT_ID", CREDENTIALS["client_id"])
    monkeypatch.setenv("FISKIL_CLIENT_SECRET", CREDENTIALS["client_secret"])
    monkeypatch.setattr(EndUser, "to_json", lambda self: {"identifier": self.id})
    monkeypatch.setattr("fakes.stack.FakeStack", _CapturingStack)
    _CapturingStack.cores = []


def test_check_and_selftest_serve_a_hooked_core(broken_end_users: None, tmp_path) -> None:
    from harness.cli import UsageError
    from harness.cli.check import open_fake
    from harness.selftest.runner import run_variant

    with pytest.raises(UsageError), open_fake(None, None):
        pass  # check: the stub refuses to start, after the core was built
    with pytest.raises(_Captured):
        run_variant("", tmp_path)  # check --selftest
    assert len(_CapturingStack.cores) == 2
    for core in _CapturingStack.cores:
        _violates(core)


def test_drifts_in_process_fake_is_hooked(broken_end_users: None) -> None:
    from harness.cli.drift import _fake

    with httpx.Client(timeout=5) as http, _fake(None, 0, http) as (url, client_id, client_secret):
        headers = {"Authorization": "Bearer " + http.post(f"{url}/v1/token", json={"client_id": client_id, "client_secret": client_secret}).json()["token"]}
        end_user_id = http.post(f"{url}/v1/end-users", json={"email": "d@example.invalid"}, headers=headers).json()["end_user_id"]
        assert http.get(f"{url}/v1/end-users/{end_user_id}", headers=headers).json()["name"] == "contract_violation"


GOA_BODY = json.dumps({"fault": False, "id": "a", "message": "m", "name": "end_user_not_found", "temporary": False, "timeout": False}).encode()
SIMPLE_BODY = json.dumps({"id": "err_1", "name": "InvalidRequest", "message": "m"}).encode()


@pytest.mark.parametrize(("method", "path", "body", "content_type", "problem"), [
    ("GET", "/v1/end-users/x", GOA_BODY, "application/json", "a goa error must be served as application/vnd.goa.error, not application/json"),
    ("POST", "/v1/token", GOA_BODY, "application/json; charset=utf-8", "a goa error must be served as application/vnd.goa.error"),
    ("GET", "/v1/banking/accounts", SIMPLE_BODY, "application/vnd.goa.error", "application/vnd.goa.error is for goa errors"),
])
def test_error_media_type_must_match_the_shape_served(method: str, path: str, body: bytes, content_type: str, problem: str) -> None:
    with pytest.raises(ContractViolation) as info:
        check_served_response(Served(method, path, path, 404, body, {"content-type": content_type}))
    assert problem in str(info.value)


def test_errors_in_their_own_media_type_pass() -> None:
    check_served_response(Served("GET", "/v1/end-users/x", "/v1/end-users/{id}", 404, GOA_BODY, {"content-type": "application/vnd.goa.error"}))
    check_served_response(Served("POST", "/v1/token", "/v1/token", 401, GOA_BODY, {"content-type": "application/vnd.goa.error"}))
    check_served_response(Served("GET", "/v1/banking/accounts", "/v1/banking/accounts", 400, SIMPLE_BODY, {"content-type": "application/json"}))
