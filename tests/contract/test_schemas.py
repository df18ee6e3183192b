"""The schema files and the registry: every file is a valid 2020-12 schema, routes resolve, and
violations name the endpoint and the JSON path of the broken field."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from harness.contract.registry import ROUTES, SCHEMA_DIR, find_route, load_schema, schema_for, schema_names
from harness.contract.validation import ContractViolation, assert_response_valid, assert_valid, response_errors

GOOD_TRANSACTIONS = {
    "transactions": [
        {"fiskil_id": "bank_tx_1", "account_id": "a1", "amount": "-12.50", "status": "POSTED", "description": "Coffee"}
    ],
    "links": {"next": "https://api.example/v1/banking/transactions?page[after]=x"},
}

GOA_404 = {"fault": False, "id": "abc", "message": "end user not found", "name": "end_user_not_found", "temporary": False, "timeout": False}


@pytest.mark.parametrize("name", schema_names())
def test_every_schema_file_is_valid_draft_2020_12_and_cites_sources(name: str) -> None:
    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert "https://" in schema["$comment"], f"{name} must cite its source URL in $comment"


def test_every_route_points_at_existing_schemas() -> None:
    files = {p.name for p in SCHEMA_DIR.glob("*.json")}
    for route in ROUTES:
        for schema in [*route.success.values(), route.error_schema]:
            assert schema is None or schema in files, f"{route.method} {route.template} -> {schema}"


def test_route_templates_match_concrete_paths_only() -> None:
    assert find_route("GET", "/v1/end-users/eu_123").template == "/v1/end-users/{id}"
    assert find_route("GET", "/v1/end-users").template == "/v1/end-users"
    assert find_route("GET", "/v1/end-users/eu_1/extra") is None
    assert find_route("PUT", "/v1/end-users/eu_1") is None
    assert schema_for("GET", "/v1/banking/transactions?end_user_id=x", 200) == "banking-transactions.json"


def test_error_status_maps_to_the_route_family_shape() -> None:
    assert schema_for("GET", "/v1/end-users/x", 404) == "goa-error.json"
    assert schema_for("GET", "/v1/banking/balances", 400) == "simple-error.json"
    assert schema_for("POST", "/v1/token", 401) == "any-error.json"


def test_valid_response_passes() -> None:
    assert response_errors("GET", "/v1/banking/transactions", 200, json.dumps(GOOD_TRANSACTIONS)) == []
    assert response_errors("GET", "/v1/end-users/eu_1", 404, json.dumps(GOA_404), "application/vnd.goa.error") == []


def test_missing_field_names_endpoint_and_json_path() -> None:
    body = json.loads(json.dumps(GOOD_TRANSACTIONS))
    del body["transactions"][0]["amount"]
    with pytest.raises(ContractViolation) as info:
        assert_response_valid("GET", "/v1/banking/transactions", 200, json.dumps(body))
    assert str(info.value) == "GET /v1/banking/transactions 200: transactions[0].amount: required property missing"


def test_wrong_type_and_unknown_enum_value_are_named() -> None:
    body = json.loads(json.dumps(GOOD_TRANSACTIONS))
    body["transactions"][0]["amount"] = -12.5
    body["transactions"][0]["status"] = "SETTLED"
    problems = response_errors("GET", "/v1/banking/transactions", 200, json.dumps(body))
    assert "GET /v1/banking/transactions 200: transactions[0].amount: expected string, got number" in problems
    assert any("transactions[0].status: value 'SETTLED' is not one of" in p for p in problems)


def test_extra_fields_are_allowed_because_fiskil_adds_fields_without_notice() -> None:
    body = {"token": "t0k3n", "expires_in": 900, "token_type": "Bearer", "brand_new": {"x": 1}}
    assert response_errors("POST", "/v1/token", 200, json.dumps(body)) == []


def test_non_json_body_and_unmodelled_success_status_are_reported() -> None:
    assert response_errors("POST", "/v1/token", 200, b"<html>", "text/html") == ["POST /v1/token 200: content-type 'text/html' is not JSON"]
    assert "status 202 is not a modelled outcome" in response_errors("POST", "/v1/token", 202, b"{}")[0]
    assert response_errors("GET", "/v1/unmodelled", 200, b"whatever") == []


def test_institution_list_accepts_bare_or_wrapped_array() -> None:
    item = {"id": "88888", "name": "Sandbox Bank", "industry": "banking"}
    assert response_errors("GET", "/v1/institutions", 200, json.dumps([item])) == []
    assert response_errors("GET", "/v1/institutions", 200, json.dumps({"institutions": [item]})) == []
    assert response_errors("GET", "/v1/institutions", 200, json.dumps({"data": [item]})) != []


def test_webhook_envelope_schema() -> None:
    envelope = {"message_id": "m1", "delivery_attempt": 1, "publish_time": "2026-01-01T00:00:00Z",
                "data": {"event": "consent.received", "end_user_id": "eu_1", "consent_id": "c1"}}
    assert_valid("webhook-envelope.json", envelope)
    envelope["delivery_attempt"] = 6
    with pytest.raises(ContractViolation, match=r"delivery_attempt"):
        assert_valid("webhook-envelope.json", envelope, what="webhook")


# listConsents marks all of these required (https://docs.fiskil.com/data-api/api-reference/listConsents)
CONSENT_FIELDS = {"account_ids", "active", "app_logo", "app_name", "arrangement_id", "created_at", "duration",
                  "end_user_email", "end_user_id", "expires_at", "institution_id", "institution_logo",
                  "institution_name", "institution_type", "last_accessed", "last_consent", "permissions",
                  "termination_reason"}


def test_consent_schema_requires_every_documented_field_and_nulls_only_the_named_assumptions() -> None:
    from fakes.core.assumptions import CONSENT_NULLABLE_FIELDS

    schema = load_schema("consent.json")
    assert set(schema["required"]) == CONSENT_FIELDS
    nullable = {name for name, prop in schema["properties"].items() if "null" in (prop["type"] if isinstance(prop["type"], list) else [prop["type"]])}
    assert nullable == set(CONSENT_NULLABLE_FIELDS)
    consent = {"account_ids": [], "active": True, "app_logo": "l", "app_name": "a", "arrangement_id": "ar", "created_at": "t",
               "duration": 1, "end_user_email": None, "end_user_id": "eu", "expires_at": "t", "institution_id": "1",
               "institution_logo": "l", "institution_name": "n", "institution_type": "banking", "last_accessed": None,
               "last_consent": "t", "permissions": [], "termination_reason": None}
    assert response_errors("GET", "/v1/consent", 200, json.dumps([consent])) == []
    for field in sorted(CONSENT_FIELDS):
        missing = {k: v for k, v in consent.items() if k != field}
        assert response_errors("GET", "/v1/consent", 200, json.dumps([missing])) == [
            f"GET /v1/consent 200: [0].{field}: required property missing"]


def test_the_fakes_consents_carry_every_field_through_their_life() -> None:
    import httpx

    from fakes.core.app import CoreConfig, build_core
    from fakes.core.server import CoreServer
    from fakes.link_browser import LinkBrowser
    from harness.contract import install_schema_hook

    core = build_core(CoreConfig(client_id="c", client_secret="s"))
    install_schema_hook(core)
    with CoreServer(core) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        auth = {"Authorization": "Bearer " + client.post("/v1/token", json={"client_id": "c", "client_secret": "s"}).json()["token"]}
        end_user_id = client.post("/v1/end-users", json={"name": "No Email"}, headers=auth).json()["end_user_id"]
        session = client.post("/v1/auth/session", json={"end_user_id": end_user_id}, headers=auth).json()
        LinkBrowser(client).complete(session["auth_url"])

        def consents() -> list[dict]:
            response = client.get("/v1/consent", params={"end_user_id": end_user_id}, headers=auth)
            assert response.status_code == 200, response.text  # the hook would answer 500 on a violation
            return response.json()

        [fresh] = consents()
        assert set(fresh) >= CONSENT_FIELDS and fresh["last_accessed"] is None and fresh["end_user_email"] is None
        assert client.get("/v1/banking/accounts", params={"end_user_id": end_user_id}, headers=auth).status_code == 200
        [read] = consents()
        assert isinstance(read["last_accessed"], str)
        assert client.delete(f"/v1/consent/{fresh['arrangement_id']}", headers=auth).status_code == 204
        [revoked] = consents()
        assert revoked["active"] is False and isinstance(revoked["termination_reason"], str)


def test_token_response_needs_token_type_and_expires_in_alike() -> None:
    full = {"token": "t0k3n", "token_type": "Bearer", "expires_in": 900}
    assert response_errors("POST", "/v1/token", 200, json.dumps(full)) == []
    for field in ("token", "token_type", "expires_in"):
        partial = {k: v for k, v in full.items() if k != field}
        assert response_errors("POST", "/v1/token", 200, json.dumps(partial)) == [
            f"POST /v1/token 200: {field}: required property missing"]
