"""Token issue, TTL on the core's clock, expiry, bad credentials, error shapes, version header,
rate limit and the after_requests expiry switch."""

from __future__ import annotations

import base64
import json

from fakes.core.errors import GOA_MEDIA_TYPE
from tests.core.conftest import issue_token


def test_token_response_shape_and_jwt_like_value(client):
    response = client.post("/v1/token", json={"client_id": "test-client", "client_secret": "test-secret-value"})
    body = response.json()
    assert response.status_code == 200
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    header, claims, signature = body["token"].split(".")
    decoded = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    assert {"TokenUUID", "KeyID", "exp"} <= set(decoded)
    assert issue_token(client) != body["token"]


def test_wrong_credentials_give_goa_401(client):
    response = client.post("/v1/token", json={"client_id": "test-client", "client_secret": "wrong"})
    assert response.status_code == 401
    assert response.headers["content-type"].startswith(GOA_MEDIA_TYPE)
    body = response.json()
    assert body["name"] == "unauthorized" and set(body) == {"fault", "id", "message", "name", "temporary", "timeout"}
    assert "test-secret-value" not in response.text


def test_token_missing_field_and_malformed_json_are_400(client):
    missing = client.post("/v1/token", json={"client_id": "test-client"})
    assert missing.status_code == 400 and "client_secret" in missing.json()["message"]
    garbled = client.post("/v1/token", content=b"{not json", headers={"content-type": "application/json"})
    assert garbled.status_code == 400 and garbled.json()["name"] == "bad_request"


def test_token_expires_after_ttl_on_the_clock(core, api):
    assert api.get("/v1/end-users").status_code == 200
    core.clock.advance(899)
    assert api.get("/v1/end-users").status_code == 200
    core.clock.advance(2)
    expired = api.get("/v1/end-users")
    assert expired.status_code == 401 and expired.json()["name"] == "unauthorized"


def test_unknown_or_missing_bearer_shapes(client, api):
    user = client.get("/v1/end-users", headers={"Authorization": "Bearer nope"})
    assert user.status_code == 401 and user.headers["content-type"].startswith(GOA_MEDIA_TYPE)
    data = client.get("/v1/banking/accounts", params={"end_user_id": "x"})
    assert data.status_code == 401
    assert set(data.json()) == {"id", "name", "message"} and data.json()["id"].startswith("err_")


def test_control_expires_one_token_or_all(api, control, client):
    other = issue_token(client)
    control.expire_tokens(token=api.token)
    assert api.get("/v1/end-users").status_code == 401
    assert client.get("/v1/end-users", headers={"Authorization": f"Bearer {other}"}).status_code == 200
    control.expire_tokens()
    assert client.get("/v1/end-users", headers={"Authorization": f"Bearer {other}"}).status_code == 401


def test_tokens_expire_after_n_requests_then_new_token_works(api, control, client):
    control.expire_tokens(after_requests=2)
    assert [api.get("/v1/end-users").status_code for _ in range(3)] == [200, 200, 401]
    fresh = issue_token(client)
    assert client.get("/v1/end-users", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200


def test_version_header(api):
    assert api.get("/v1/end-users", headers={"X-Fiskil-Version": "v1"}).status_code == 200
    assert api.get("/v1/end-users", headers={"X-Fiskil-Version": "v2"}).status_code == 200
    bad = api.get("/v1/end-users", headers={"X-Fiskil-Version": "2.0.0"})
    assert bad.status_code == 400 and "v1" in bad.json()["message"]


def test_rate_limit_per_token_with_retry_after(core, api, control, client):
    control.set_rate_limit(requests=2, window_seconds=60, retry_after=7)
    assert [api.get("/v1/end-users").status_code for _ in range(2)] == [200, 200]
    limited = api.get("/v1/end-users")
    assert limited.status_code == 429 and limited.headers["retry-after"] == "7"
    # end users are a goa-shaped route family: the 429 is goa-shaped too (assumption RATE_LIMITED_NAME)
    assert limited.headers["content-type"].startswith("application/vnd.goa.error")
    assert limited.json()["name"] == "rate_limited" and limited.json()["temporary"] is True
    other = issue_token(client)
    assert client.get("/v1/end-users", headers={"Authorization": f"Bearer {other}"}).status_code == 200
    core.clock.advance(61)
    assert api.get("/v1/end-users").status_code == 200
    control.clear_rate_limit()
    assert all(api.get("/v1/end-users").status_code == 200 for _ in range(4))


def test_unknown_paths_and_methods_are_fiskil_shaped(api, client):
    missing = api.get("/v1/nothing/here")
    assert missing.status_code == 404 and set(missing.json()) == {"id", "name", "message"}
    wrong_method = api.client.put("/v1/end-users", headers=api.auth, json={})
    assert wrong_method.status_code == 405
    root = client.get("/definitely-not-here")
    assert root.status_code == 404 and root.json()["name"] == "NotFound"
