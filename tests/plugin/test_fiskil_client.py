"""The kit's Fiskil client: probe header, token renewal on 401, pagination, redacted errors."""

from __future__ import annotations

import httpx
import pytest
import respx

from harness.fiskil_client import FiskilApiError, FiskilClient

BASE = "http://127.0.0.1:9"


@respx.mock
def test_pages_follow_links_next_and_tag_probe_traffic() -> None:
    respx.post(f"{BASE}/v1/token").respond(200, json={"token": "tok-abcdefgh", "expires_in": 900})
    second = f"{BASE}/v1/banking/transactions?page[after]=x"
    route = respx.get(f"{BASE}/v1/banking/transactions").mock(side_effect=[
        httpx.Response(200, json={"transactions": [{"fiskil_id": "1"}], "links": {"next": second}}),
        httpx.Response(200, json={"transactions": [{"fiskil_id": "2"}], "links": {}}),
    ])
    with httpx.Client() as http:
        rows = FiskilClient(http, BASE, "id", "client-secret-value").transactions("eu1")
    assert [r["fiskil_id"] for r in rows] == ["1", "2"]
    assert all(call.request.headers["X-Harness-Probe"] == "1" for call in route.calls)


@respx.mock
def test_401_renews_the_token_once() -> None:
    token = respx.post(f"{BASE}/v1/token").respond(200, json={"token": "tok-abcdefgh"})
    respx.get(f"{BASE}/v1/consent").mock(side_effect=[httpx.Response(401, json={"name": "unauthorized"}),
                                                       httpx.Response(200, json=[])])
    with httpx.Client() as http:
        assert FiskilClient(http, BASE, "id", "client-secret-value").consents("eu1") == []
    assert token.call_count == 2


@respx.mock
def test_errors_are_redacted() -> None:
    respx.post(f"{BASE}/v1/token").respond(401, json={"name": "unauthorized", "message": "bad client-secret-value"})
    with httpx.Client() as http, pytest.raises(FiskilApiError) as caught:
        FiskilClient(http, BASE, "id", "client-secret-value").token()
    assert caught.value.status == 401 and "client-secret-value" not in str(caught.value)
