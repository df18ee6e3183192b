"""Fixtures for the core's tests: a fresh core per test, driven in-process through Starlette's
TestClient (an httpx.Client), so no sockets and no threads beyond the ASGI portal."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest
from starlette.testclient import TestClient

from fakes.control_client import ControlClient
from fakes.core.app import Core, CoreConfig, build_core
from fakes.link_browser import LinkBrowser

BASE = "http://testserver"
REDIRECT = "https://app.example/fiskil/done"
CANCEL = "https://app.example/fiskil/cancel"


@dataclass
class Api:
    """A tiny Fiskil client for tests: a token plus helpers for the common calls."""

    client: TestClient
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str, **kwargs) -> httpx.Response:
        return self.client.get(path, headers={**self.auth, **kwargs.pop("headers", {})}, **kwargs)

    def post(self, path: str, **kwargs) -> httpx.Response:
        return self.client.post(path, headers={**self.auth, **kwargs.pop("headers", {})}, **kwargs)

    def delete(self, path: str, **kwargs) -> httpx.Response:
        return self.client.delete(path, headers={**self.auth, **kwargs.pop("headers", {})}, **kwargs)

    def end_user(self, email: str = "alex@example.com", name: str = "Alex Citizen") -> str:
        response = self.post("/v1/end-users", json={"email": email, "name": name})
        assert response.status_code == 200, response.text
        return response.json()["end_user_id"]

    def session(self, end_user_id: str, **extra) -> dict:
        body = {"end_user_id": end_user_id, "redirect_uri": REDIRECT, "cancel_uri": CANCEL, **extra}
        response = self.post("/v1/auth/session", json=body)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def core() -> Core:
    return build_core(CoreConfig(client_id="test-client", client_secret="test-secret-value", seed=7))


@pytest.fixture
def client(core: Core):
    with TestClient(core.app, base_url=BASE, raise_server_exceptions=False) as test_client:
        yield test_client


def issue_token(client: TestClient) -> str:
    response = client.post("/v1/token", json={"client_id": "test-client", "client_secret": "test-secret-value"})
    assert response.status_code == 200, response.text
    return response.json()["token"]


@pytest.fixture
def api(client: TestClient) -> Api:
    return Api(client, issue_token(client))


@pytest.fixture
def control(client: TestClient) -> ControlClient:
    return ControlClient(BASE, client)


@pytest.fixture
def browser(client: TestClient) -> LinkBrowser:
    return LinkBrowser(client)


@pytest.fixture
def linked(api: Api, browser: LinkBrowser, control: ControlClient) -> dict:
    """An end user with one successful banking link and a small data volume (fast)."""
    control.set_volume(30)
    end_user_id = api.end_user()
    session = api.session(end_user_id)
    result = browser.complete(session["auth_url"])
    assert result.outcome == "redirect", result
    return {"end_user_id": end_user_id, "consent_id": result.consent_id, "session": session}
