"""WireMockAdmin: journal queries, near misses, recording, errors — plain JSON both ways."""

from __future__ import annotations

import httpx
import pytest

from fakes.wiremock.admin import WireMockAdmin, WireMockAdminError, request_pattern
from fakes.wiremock.edge import Edge

pytestmark = pytest.mark.jvm


@pytest.fixture
def admin(edge: Edge) -> WireMockAdmin:
    return edge.admin


def test_request_pattern_builds_wiremock_json() -> None:
    assert request_pattern() == {"method": "ANY"}
    assert request_pattern("get", "/v1/.*", {"X-A": "1"}, "needle") == {
        "method": "GET",
        "urlPathPattern": "/v1/.*",
        "headers": {"X-A": {"equalTo": "1"}},
        "bodyPatterns": [{"contains": "needle"}],
    }


def test_count_and_find_by_method_path_header_and_body(admin: WireMockAdmin, edge: Edge, http: httpx.Client) -> None:
    http.post(f"{edge.base_url}/v1/end-users", json={"email": "a@example.com"}, headers={"X-Trace": "t1"})
    http.post(f"{edge.base_url}/v1/end-users", json={"email": "b@example.com"})
    http.get(f"{edge.base_url}/v1/end-users/1")
    assert admin.count_requests(request_pattern("POST", "/v1/end-users")) == 2
    assert admin.count_requests(request_pattern(url_path_pattern="/v1/end-users.*")) == 3
    assert admin.count_requests(request_pattern(headers={"X-Trace": "t1"})) == 1
    found = admin.find_requests(request_pattern(body_contains="b@example.com"))
    assert [r["url"] for r in found] == ["/v1/end-users"]
    assert len(admin.serve_events(limit=2)) == 2
    admin.reset_journal()
    assert admin.count_requests(request_pattern()) == 0


def test_unmatched_requests_and_near_misses_for_a_pattern(admin: WireMockAdmin, edge: Edge, http: httpx.Client) -> None:
    admin.reset()  # no proxy: nothing matches
    http.get(f"{edge.base_url}/v1/acounts")
    assert [r["url"] for r in admin.unmatched_requests()] == ["/v1/acounts"]
    misses = admin.near_misses_for_pattern({"method": "GET", "url": "/v1/accounts"})
    assert misses[0]["request"]["url"] == "/v1/acounts"
    logged = admin.unmatched_requests()[0]
    admin.add_stub({"request": {"method": "GET", "url": "/v1/accounts"}, "response": {"status": 200}})
    assert admin.near_misses_for_request(logged)[0]["stubMapping"]["request"]["url"] == "/v1/accounts"


def test_stub_add_remove_and_scenarios(admin: WireMockAdmin, edge: Edge, http: httpx.Client) -> None:
    stub_id = admin.add_stub({"priority": 1, "request": {"url": "/hello"}, "response": {"status": 207}})
    assert http.get(f"{edge.base_url}/hello").status_code == 207
    assert stub_id in [stub["id"] for stub in admin.stubs()]
    admin.remove_stub(stub_id)
    admin.remove_stub(stub_id)  # removing twice is harmless
    assert http.get(f"{edge.base_url}/hello").json()["upstream"] is True
    admin.add_stub(
        {"request": {"url": "/s"}, "response": {"status": 201}, "scenarioName": "s", "requiredScenarioState": "Started",
         "newScenarioState": "done"}
    )
    http.get(f"{edge.base_url}/s")
    assert admin.scenarios()[0]["state"] == "done"
    admin.reset_scenarios()
    assert admin.scenarios()[0]["state"] == "Started"


def test_recording_and_snapshot_turn_traffic_into_stubs(admin: WireMockAdmin, edge: Edge, http: httpx.Client, upstream) -> None:
    admin.reset()
    admin.start_recording(upstream.url, persist=False)
    assert admin.recording_status() == "Recording"
    assert http.get(f"{edge.base_url}/v1/institutions").json()["upstream"] is True
    recorded = admin.stop_recording()
    assert admin.recording_status() == "Stopped"
    assert [m["request"]["url"] for m in recorded] == ["/v1/institutions"]
    edge.reset()  # puts the proxy back
    http.get(f"{edge.base_url}/v1/accounts")
    snap = admin.snapshot(persist=False)
    assert [m["request"]["url"] for m in snap] == ["/v1/accounts"]


def test_admin_errors_carry_wiremocks_explanation(admin: WireMockAdmin) -> None:
    with pytest.raises(WireMockAdminError) as caught:
        admin.add_stub({"request": {"method": "GET"}, "response": {"fault": "NOPE"}})
    assert caught.value.status == 422
    assert "/response/fault" in str(caught.value) and "CONNECTION_RESET_BY_PEER" in caught.value.body


def test_health_and_unreachable_server(admin: WireMockAdmin, http: httpx.Client) -> None:
    assert admin.is_healthy()
    assert not WireMockAdmin("http://127.0.0.1:9", http).is_healthy()
