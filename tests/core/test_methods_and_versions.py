"""One Fiskil-shaped 405 everywhere in the core, and every X-Fiskil-Version value checked (bounded echo)."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(("method", "path"), [("GET", "/v1/token"), ("BREW", "/v1/institutions"),
                                              ("DELETE", "/__harness/info"), ("GET", "/link/confirm"),
                                              ("TRACE", "/v1/end-users"), ("PATCH", "/v1/consent")])
def test_one_shape_of_405_everywhere(client, method: str, path: str) -> None:
    response = client.request(method, path)
    assert response.status_code == 405
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"id", "name", "message"} and body["id"].startswith("err_")
    assert body["name"] == "MethodNotAllowed"
    assert body["message"] == f"{method} is not allowed on {path}"
    assert response.headers.get("allow")


def test_an_unknown_root_path_is_a_shaped_404(client) -> None:
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert response.json()["name"] == "NotFound" and response.json()["message"] == "no such endpoint: GET /nowhere"


def test_every_x_fiskil_version_header_is_checked(client) -> None:
    body = {"client_id": "test-client", "client_secret": "test-secret-value"}
    response = client.post("/v1/token", json=body, headers=[("X-Fiskil-Version", "v1"), ("X-Fiskil-Version", "v9")])
    assert response.status_code == 400 and response.json()["name"] == "invalid_version"
    assert "'v9'" in response.json()["message"]
    both_good = client.post("/v1/token", json=body, headers=[("X-Fiskil-Version", "v1"), ("X-Fiskil-Version", "v2")])
    assert both_good.status_code == 200


def test_invalid_version_echoes_a_bounded_value(client) -> None:
    response = client.post("/v1/token", json={}, headers={"X-Fiskil-Version": "v" * 10_000})
    assert response.status_code == 400
    message = response.json()["message"]
    assert len(message) < 200 and "(10000 characters)" in message
