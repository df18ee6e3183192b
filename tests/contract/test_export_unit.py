"""Mapping export rules, without a JVM: token folding, absent query parameters, scenario chains,
base-URL templating."""

from __future__ import annotations

from harness.contract.export import BASE_URL_TEMPLATE, EXPORTED_TOKEN, build_mappings, write_mappings


def exchange(method, path, status, body=None, query=None, auth=None, request_body=None):
    headers = {"authorization": f"Bearer {auth}"} if auth else {}
    return {"request": {"method": method, "path": path, "query": query or {}, "headers": headers, "body": request_body},
            "response": {"status": status, "headers": {"content-type": "application/json"}, "body": body}}


RECORDED = [
    exchange("POST", "/v1/token", 200, {"token": "tok-A", "expires_in": 900}, request_body={"client_id": "c", "client_secret": "s"}),
    exchange("POST", "/v1/token", 200, {"token": "tok-B", "expires_in": 900}, request_body={"client_id": "c", "client_secret": "s"}),
    exchange("POST", "/v1/end-users", 200, {"end_user_id": "eu1"}, auth="tok-A", request_body={"email": "a@x.com"}),
    exchange("POST", "/v1/end-users", 400, {"name": "end_user_already_exists"}, auth="tok-B", request_body={"email": "a@x.com"}),
    exchange("GET", "/v1/banking/transactions", 200, {"transactions": [], "links": {"next": "http://rec:1/v1/banking/transactions?page[after]=c1"}},
             query={"end_user_id": ["eu1"]}, auth="tok-A"),
    exchange("GET", "/v1/banking/transactions", 200, {"transactions": [], "links": {}}, query={"page[after]": ["c1"]}, auth="tok-A"),
    exchange("GET", "/v1/end-users", 401, {"name": "unauthorized"}),
]


def test_tokens_fold_into_one_and_repeated_requests_chain() -> None:
    mappings = build_mappings(RECORDED, recorded_base="http://rec:1")
    token_stubs = [m for m in mappings if m["request"]["urlPath"] == "/v1/token"]
    assert len(token_stubs) == 1 and EXPORTED_TOKEN in token_stubs[0]["response"]["body"]
    created = [m for m in mappings if m["request"]["urlPath"] == "/v1/end-users" and m["request"]["method"] == "POST"]
    assert [m["response"]["status"] for m in created] == [200, 400]
    assert created[0]["requiredScenarioState"] == "Started" and created[0]["newScenarioState"] == "step-2"
    assert created[1]["requiredScenarioState"] == "step-2" and "newScenarioState" not in created[1]
    assert created[0]["request"]["headers"] == {"Authorization": {"equalTo": f"Bearer {EXPORTED_TOKEN}"}}


def test_other_query_parameters_must_be_absent_and_links_are_templated() -> None:
    mappings = build_mappings(RECORDED, recorded_base="http://rec:1")
    first, second = [m for m in mappings if m["request"]["urlPath"] == "/v1/banking/transactions"]
    assert first["request"]["queryParameters"]["page[after]"] == {"absent": True}
    assert second["request"]["queryParameters"]["end_user_id"] == {"absent": True}
    assert BASE_URL_TEMPLATE + "/v1/banking/transactions" in first["response"]["body"]
    assert first["response"]["transformers"] == ["response-template"]
    unauth = [m for m in mappings if m["request"]["urlPath"] == "/v1/end-users" and m["request"]["method"] == "GET"][0]
    assert unauth["request"]["headers"] == {"Authorization": {"absent": True}}


def test_written_in_wiremock_root_dir_layout(tmp_path) -> None:
    files = write_mappings(tmp_path, build_mappings(RECORDED))
    assert (tmp_path / "__files").is_dir() and all(f.parent == tmp_path / "mappings" for f in files)
