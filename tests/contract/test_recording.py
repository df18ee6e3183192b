"""Recording machinery: journal order, WireMock's proxy failures left out, hand-edited files checked."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from harness.cli import main
from harness.contract.recording import (
    PROXY_FAILURE_PREFIX,
    RecordingError,
    exchanges_from_serve_events,
    proxy_failures,
    read_recordings,
    write_recordings,
)


def event(method: str, path: str, logged: int, status: int = 200, body: str = "{}") -> dict:
    return {"request": {"method": method, "url": path, "loggedDate": logged, "headers": {}},
            "response": {"status": status, "headers": {"Content-Type": "application/json"},
                         "bodyAsBase64": base64.b64encode(body.encode()).decode()}}


def test_events_in_the_same_millisecond_keep_their_order() -> None:
    # the journal lists newest first: c (later ms) then b, a in the same millisecond (b after a)
    journal = [event("GET", "/v1/c", 2000), event("GET", "/v1/b", 1000), event("GET", "/v1/a", 1000)]
    exchanges = exchanges_from_serve_events(journal)
    assert [e["request"]["path"] for e in exchanges] == ["/v1/a", "/v1/b", "/v1/c"]
    assert [e["seq"] for e in exchanges] == [1, 2, 3]


def test_proxy_failures_are_not_recordings_but_are_reported() -> None:
    failure = event("POST", "/v1/token", 1000, 500, f"{PROXY_FAILURE_PREFIX} to http://127.0.0.1:1/v1/token\r\nrefused")
    failure["response"]["headers"] = {}
    real_500 = event("GET", "/v1/end-users", 2000, 500, '{"id": "e", "name": "internal", "message": "m"}')
    journal = [real_500, failure]
    exchanges = exchanges_from_serve_events(journal)
    assert [(e["request"]["path"], e["response"]["status"]) for e in exchanges] == [("/v1/end-users", 500)]
    assert proxy_failures(journal) == ["POST /v1/token"]


def write_one(tmp_path: Path, change) -> Path:
    exchange = {"seq": 1, "request": {"method": "GET", "path": "/v1/end-users", "query": {"email": ["a@b.c"]}, "headers": {}, "body": None},
                "response": {"status": 200, "headers": {"content-type": "application/json"}, "body": []}}
    change(exchange)
    (tmp_path / "0001-GET-v1-end-users.json").write_text(json.dumps(exchange))
    return tmp_path


@pytest.mark.parametrize(("change", "field"), [
    (lambda e: e.update(seq="abc"), "seq"),
    (lambda e: e["response"].update(status="abc"), "response.status"),
    (lambda e: e["response"].update(status=True), "response.status"),
    (lambda e: e["request"].update(query="string"), "request.query"),
    (lambda e: e["request"].update(query={"email": "a@b.c"}), "request.query"),
    (lambda e: e["request"].update(method=7), "request.method"),
    (lambda e: e["request"].update(path="v1/end-users"), "request.path"),
    (lambda e: e["request"].update(headers=["authorization"]), "request.headers"),
])
def test_hand_edited_recordings_with_wrong_types_name_the_file_and_field(tmp_path: Path, change, field: str,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    directory = write_one(tmp_path, change)
    with pytest.raises(RecordingError) as info:
        read_recordings(directory)
    assert "0001-GET-v1-end-users.json" in str(info.value) and f"{field} must" in str(info.value)
    assert main(["drift", str(directory), "--json", str(tmp_path / "r.json")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and f"{field} must" in err and len(err.strip().splitlines()) == 1


def test_a_well_formed_recording_reads_back(tmp_path: Path) -> None:
    write_recordings(tmp_path, exchanges_from_serve_events([event("GET", "/v1/end-users?email=x%40y.z", 1)]))
    [exchange] = read_recordings(tmp_path)
    assert exchange["request"]["query"] == {"email": ["user1@example.invalid"]}
