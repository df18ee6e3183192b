"""/__harness/faults on the core: validation and the error without an edge (the JVM-backed behaviour
is in tests/edge/test_faults_api.py). The edge is stood in for by an in-memory controller."""

from __future__ import annotations

from typing import Any

import pytest

from fakes.core.app import Core
from fakes.wiremock.edge import FAULT_KINDS, MAX_DELAY_MS, MAX_FAULT_TIMES


class InMemoryFaults:
    """The FaultController protocol without WireMock."""

    def __init__(self) -> None:
        self.installed: dict[str, Any] = {}

    def inject(self, fault: Any) -> str:
        fault_id = f"f{len(self.installed) + 1}"
        self.installed[fault_id] = fault
        return fault_id

    def faults(self) -> list[dict[str, Any]]:
        return [{"id": fault_id, **fault.describe(), "remaining": fault.times} for fault_id, fault in self.installed.items()]

    def remove_fault(self, group: str) -> bool:
        return self.installed.pop(group, None) is not None

    def clear_faults(self) -> None:
        self.installed.clear()


@pytest.fixture
def edge_faults(core: Core) -> InMemoryFaults:
    core.edge_faults = InMemoryFaults()
    return core.edge_faults


@pytest.mark.parametrize(("method", "path"), [("POST", "/__harness/faults"), ("GET", "/__harness/faults"),
                                              ("DELETE", "/__harness/faults"), ("DELETE", "/__harness/faults/x")])
def test_without_an_edge_every_faults_route_says_why(client, method: str, path: str) -> None:
    response = client.request(method, path, json={"kind": "http_error"} if method == "POST" else None)
    assert response.status_code == 409
    body = response.json()
    assert body["name"] == "edge_unavailable" and "fiskil-harness fake" in body["message"]


def test_a_fault_is_added_listed_removed_and_cleared(client, edge_faults: InMemoryFaults) -> None:
    added = client.post("/__harness/faults", json={"kind": "http_error", "method": "get", "path_pattern": "/v1/.*",
                                                   "times": 2, "status": 503, "headers": {"Retry-After": "1"},
                                                   "body": "down"})
    assert added.status_code == 200, added.text
    fault = added.json()
    assert fault == {"id": "f1", "kind": "http_error", "method": "GET", "path_pattern": "/v1/.*", "times": 2,
                     "status": 503, "headers": {"Retry-After": "1"}, "body": "down", "delay_ms": 0}
    client.post("/__harness/faults", json={"kind": "connection_reset"})
    assert [f["id"] for f in client.get("/__harness/faults").json()["faults"]] == ["f1", "f2"]
    assert client.delete("/__harness/faults/f1").json() == {"removed": "f1"}
    missing = client.delete("/__harness/faults/f1")
    assert missing.status_code == 404 and missing.json()["name"] == "fault_not_found"
    assert client.delete("/__harness/faults").json() == {"faults": []}
    assert edge_faults.installed == {}


def test_reset_also_clears_the_edges_faults(client, edge_faults: InMemoryFaults) -> None:
    client.post("/__harness/faults", json={"kind": "empty_response"})
    assert client.post("/__harness/reset", json={}).status_code == 200
    assert edge_faults.installed == {}


@pytest.mark.parametrize(("body", "says"), [
    ({"kind": "explode"}, f"use one of {', '.join(FAULT_KINDS)}"),
    ({}, "kind is required"),
    ({"kind": None}, "kind is required"),
    ({"kind": "http_error", "path": "/v1/x"}, "unknown field(s) path; a fault has: kind, method, path_pattern"),
    ({"kind": "http_error", "times": 0}, "times"),
    ({"kind": "http_error", "times": MAX_FAULT_TIMES + 1}, f"at most {MAX_FAULT_TIMES}"),
    ({"kind": "http_error", "times": True}, "times"),
    ({"kind": "http_error", "status": 99}, "status"),
    ({"kind": "http_error", "status": "503"}, "status"),
    ({"kind": "delay"}, "delay_ms > 0"),
    ({"kind": "delay", "delay_ms": MAX_DELAY_MS + 1}, f"between 0 and {MAX_DELAY_MS}"),
    ({"kind": "delay", "delay_ms": 1.5}, "delay_ms must be an integer"),
    ({"kind": "http_error", "method": "GE T"}, "method must be an HTTP method"),
    ({"kind": "http_error", "path_pattern": "(unclosed"}, "path_pattern '(unclosed' is not a valid regex"),
    ({"kind": "http_error", "headers": {"X": "a\r\nInjected: 1"}}, "single-line"),
    ({"kind": "http_error", "headers": ["X"]}, "headers must map"),
    ({"kind": "http_error", "body": {"json": "object"}}, "body must be a string"),
])
def test_bad_faults_are_a_400_that_says_what_to_fix(client, edge_faults: InMemoryFaults, body: dict, says: str) -> None:
    response = client.post("/__harness/faults", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["name"] == "invalid_control_request" and says in response.json()["message"]
    assert edge_faults.installed == {}
