"""Fixtures for the contract layer's own tests: an in-process fake over HTTP, and a recorded
probe sequence made against one (the shape drift tests plant differences into)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from fakes.core.app import CoreConfig, build_core
from fakes.core.server import CoreServer
from harness.contract.recording import RecordingTransport

CREDENTIALS = {"client_id": "harness-client-id", "client_secret": "harness-client-secret"}


@pytest.fixture
def fake_url() -> Iterator[str]:
    with CoreServer(build_core(CoreConfig(**CREDENTIALS))) as server:
        yield server.url


def record_probe(base_url: str) -> list[dict[str, Any]]:
    """A fixed request sequence covering success, list, pagination and error answers."""
    from fakes.link_browser import LinkBrowser

    transport = RecordingTransport()
    with httpx.Client(transport=transport, base_url=base_url, timeout=10) as client:
        token = client.post("/v1/token", json=CREDENTIALS).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        end_user_id = client.post("/v1/end-users", json={"email": "probe@example.com", "name": "Probe Person"}, headers=auth).json()["end_user_id"]
        client.get(f"/v1/end-users/{end_user_id}", headers=auth)
        client.get("/v1/end-users/eu_unknown", headers=auth)
        session = client.post("/v1/auth/session", headers=auth, json={"end_user_id": end_user_id, "redirect_uri": "http://127.0.0.1:9/r", "cancel_uri": "http://127.0.0.1:9/c"}).json()
        LinkBrowser(client).complete(session["auth_url"])
        client.get("/v1/consent", params={"end_user_id": end_user_id}, headers=auth)
        first = client.get("/v1/banking/transactions", params={"end_user_id": end_user_id, "page[size]": 3}, headers=auth).json()
        client.get(first["links"]["next"], headers=auth)
        client.get("/v1/banking/transactions", headers=auth)  # 400: end_user_id missing
        client.get("/v1/end-users", headers={"Authorization": "Bearer not-a-token"})
    return transport.exchanges


@pytest.fixture
def probe_recording() -> list[dict[str, Any]]:
    """Recorded against its own fake (gone afterwards), like a recording of the sandbox."""
    with CoreServer(build_core(CoreConfig(**CREDENTIALS))) as server:
        return record_probe(server.url)
