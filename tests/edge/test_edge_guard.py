"""Through the real JVM: what the edge answers to requests WireMock cannot parse, to methods the core
does not route, to a proxy target that is gone, and after WireMock's own reset.

Every answer is Fiskil-shaped JSON ({id, name, message}), never Jetty's HTML or a Java stack trace.
Raw sockets send what httpx would normalise away (a bad % escape, a '"' in the path).
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from fakes.core.app import CoreConfig
from fakes.stack import FakeStack
from fakes.wiremock import extension, rules
from fakes.wiremock.edge import Edge

pytestmark = pytest.mark.jvm


@pytest.fixture(scope="module")
def stack() -> Iterator[FakeStack]:
    with FakeStack(CoreConfig(seed=11)) as running:
        yield running


@pytest.fixture
def fake(stack: FakeStack) -> FakeStack:
    stack.reset()
    return stack


@pytest.fixture
def guarded(fake: FakeStack) -> FakeStack:
    """The cases only the edge extension can answer (fakes/wiremock/extension.py needs javac)."""
    assert fake.wiremock is not None
    if not fake.wiremock.guarded:
        if os.environ.get(extension.DISABLE_ENV):
            pytest.skip(f"the edge extension is switched off ({extension.DISABLE_ENV})")
        if shutil.which("javac"):
            pytest.fail("javac is here but the edge extension did not load: see build/wiremock-ext/*/FAILED.txt")
        pytest.skip("the edge extension is not built on this machine (no javac, a JRE only): docs/fake.md Known limits")
    return fake


@dataclass
class Raw:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


def raw_request(base_url: str, head: str, body: bytes = b"") -> Raw:
    """Send bytes as written (HTTP/1.0: no chunked answer) and read the whole answer."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head.encode("latin-1") + body)
        data = b""
        while b"\r\n\r\n" not in data and (chunk := sock.recv(65536)):
            data += chunk
        head_bytes, _, payload = data.partition(b"\r\n\r\n")
        lines = head_bytes.decode("latin-1").split("\r\n")
        headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", "-1"))
        # Read to Content-Length when given (a CONNECT answer keeps the connection open), else to close.
        while (length < 0 or len(payload) < length) and (chunk := sock.recv(65536)):
            payload += chunk
    return Raw(int(lines[0].split()[1]), headers, payload)


def assert_fiskil_error(status: int, headers: dict[str, str], body: dict, name: str) -> None:
    assert headers["content-type"].startswith("application/json"), headers
    assert set(body) == {"id", "name", "message"} and body["id"].startswith("err_"), body
    assert body["name"] == name, body
    assert "java." not in body["message"] and "<" not in body["message"]


def test_a_bad_percent_escape_in_the_query_is_a_journalled_400(guarded: FakeStack) -> None:
    answer = raw_request(guarded.base_url, "GET /v1/end-users?email=100%pure@example.com HTTP/1.0\r\n\r\n")
    assert answer.status == 400
    assert_fiskil_error(answer.status, answer.headers, answer.json(), "InvalidRequest")
    assert "%25" in answer.json()["message"]
    [entry] = guarded.edge.requests("GET", "/v1/end-users")
    assert entry.status == 400 and entry.query == {"email": ["100%pure@example.com"]}
    assert guarded.client.get(f"{guarded.base_url}/v1/institutions").status_code == 401  # the core still answers


@pytest.mark.parametrize("body", [b"not gzip at all", b"\x1f\x8b\x08\x00broken"], ids=["labelled", "magic-bytes"])
def test_a_body_that_claims_gzip_but_is_not_is_a_journalled_400(guarded: FakeStack, body: bytes) -> None:
    headers = {"Content-Encoding": "gzip"} if body.startswith(b"not") else {}
    response = guarded.client.post(f"{guarded.base_url}/v1/end-users", content=body, headers=headers)
    assert response.status_code == 400
    assert_fiskil_error(400, dict(response.headers), response.json(), "InvalidRequest")
    assert "gzip" in response.json()["message"]
    assert [entry.status for entry in guarded.edge.requests("POST", "/v1/end-users")] == [400]


def test_a_real_gzip_body_is_still_passed_on(fake: FakeStack) -> None:
    response = fake.client.post(f"{fake.base_url}/v1/token", content=gzip.compress(b'{"client_id": "x"}'),
                                headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})
    assert response.status_code in (400, 401)  # the core's own answer, not the edge's 400
    assert response.headers["content-type"] == "application/vnd.goa.error"


@pytest.mark.parametrize("target", ["/v1/end-users/%ZZ", "/v1/end-users/%"])
def test_a_bad_escape_in_the_path_is_json_even_from_jetty(guarded: FakeStack, target: str) -> None:
    answer = raw_request(guarded.base_url, f"GET {target} HTTP/1.0\r\n\r\n")
    assert answer.status == 400
    assert_fiskil_error(answer.status, answer.headers, answer.json(), "InvalidRequest")
    assert "%XX" in answer.json()["message"]


def test_a_malformed_header_line_is_json_too(guarded: FakeStack) -> None:
    answer = raw_request(guarded.base_url, "GET /v1/institutions HTTP/1.0\r\nNo colon here\r\n\r\n")
    assert answer.status == 400
    assert_fiskil_error(answer.status, answer.headers, answer.json(), "InvalidRequest")


def test_characters_a_url_may_not_carry_are_encoded_and_passed_on(guarded: FakeStack) -> None:
    answer = raw_request(guarded.base_url, 'GET /v1/end-users/a"b{c} HTTP/1.0\r\n\r\n')
    assert answer.status == 401  # the core's answer (no bearer), not a 500 from java.net.URI
    assert answer.headers["content-type"] == "application/vnd.goa.error"
    [entry] = guarded.edge.requests("GET", "/v1/end-users/.*")
    assert entry.path == "/v1/end-users/a%22b%7Bc%7D"


@pytest.mark.parametrize("method", ["TRACE", "PROPFIND", "BREW", "LINK"])
def test_methods_the_core_does_not_route_get_the_one_405(fake: FakeStack, method: str) -> None:
    response = fake.client.request(method, f"{fake.base_url}/v1/end-users?x=1")
    assert response.status_code == 405
    assert_fiskil_error(405, dict(response.headers), response.json(), "MethodNotAllowed")
    assert response.json()["message"] == f"{method} is not allowed on /v1/end-users"
    assert response.headers["allow"] == ", ".join(rules.PROXIED_METHODS)
    assert [entry.status for entry in fake.edge.requests(method)] == [405]


def test_trace_with_a_body_is_a_405_not_a_proxy_crash(fake: FakeStack) -> None:
    answer = raw_request(fake.base_url, "TRACE /v1/end-users HTTP/1.0\r\nContent-Length: 2\r\n\r\n", b"{}")
    assert answer.status == 405
    assert_fiskil_error(answer.status, answer.headers, answer.json(), "MethodNotAllowed")


def test_connect_is_refused_with_json(guarded: FakeStack) -> None:
    answer = raw_request(guarded.base_url, "CONNECT /v1/end-users HTTP/1.0\r\n\r\n")
    assert answer.status == 405
    assert_fiskil_error(answer.status, answer.headers, answer.json(), "MethodNotAllowed")
    assert answer.json()["message"] == "CONNECT is not allowed on /v1/end-users"
    assert answer.headers["allow"] == ", ".join(rules.PROXIED_METHODS)


def test_the_core_behind_the_edge_still_answers_its_own_405(fake: FakeStack) -> None:
    response = fake.client.get(f"{fake.base_url}/v1/token")
    assert response.status_code == 405 and response.headers["allow"] == "POST"
    assert response.json()["message"] == "GET is not allowed on /v1/token"


def test_a_proxy_target_that_is_gone_is_a_502_that_does_not_name_it(guarded: FakeStack) -> None:
    guarded.edge.admin.add_stub({"priority": 2, "request": {"method": "GET", "urlPath": "/v1/gone"},
                              "response": {"proxyBaseUrl": "http://127.0.0.1:9"}})
    response = guarded.client.get(f"{guarded.base_url}/v1/gone")
    assert response.status_code == 502
    assert_fiskil_error(502, dict(response.headers), response.json(), "BadGateway")
    assert "127.0.0.1" not in response.text and "Network failure" not in response.text


def test_a_client_cannot_forge_the_edges_rejection_marker(guarded: FakeStack) -> None:
    response = guarded.client.get(f"{guarded.base_url}/v1/institutions", headers={rules.REJECT_HEADER: "bad-url"})
    assert response.status_code == 401  # proxied to the core as usual


# --- WireMock's own reset keeps the fake working (defect 5) ------------------------------------------------

@pytest.mark.parametrize("admin_path", ["/__admin/reset", "/__admin/mappings/reset"])
def test_wiremocks_own_reset_restores_the_standing_rules(fake: FakeStack, admin_path: str) -> None:
    fake.edge.admin.add_stub({"priority": 1, "request": {"method": "GET", "urlPath": "/v1/institutions"},
                              "response": {"status": 418}})
    assert fake.client.post(f"{fake.base_url}{admin_path}").status_code == 200
    response = fake.client.get(f"{fake.base_url}/v1/institutions")
    assert response.status_code == 401 and response.json()["name"] == "Unauthorized"  # the core, via the proxy
    assert fake.client.request("TRACE", f"{fake.base_url}/v1/institutions").status_code == 405
    assert {stub["id"] for stub in fake.edge.admin.stubs()} == {m["id"] for m in rules.standing_mappings(None)} | {
        m["id"] for m in rules.proxy_mappings(fake.core_url)}


def test_an_edge_reset_without_proxy_target_keeps_the_proxy(fake: FakeStack) -> None:
    with httpx.Client(timeout=10) as client:
        stranger = Edge(fake.base_url, client)  # as a tester would write it, with no proxy_target
        stranger.admin.remove_stub(rules.rule_id("proxy/GET"))  # even after a stub went missing
        stranger.reset()
        assert client.get(f"{fake.base_url}/v1/institutions").status_code == 401
        assert client.get(f"{fake.base_url}/__harness/info").json()["core_url"] == fake.core_url


def test_delete_all_mappings_is_refused_and_the_fake_keeps_working(guarded: FakeStack) -> None:
    """The standing rules come from a read-only multi-mapping file: WireMock refuses "remove all"
    (its own rule), says why in JSON, and the fake keeps answering."""
    response = guarded.client.delete(f"{guarded.base_url}/__admin/mappings")
    assert response.status_code == 500
    assert_fiskil_error(500, dict(response.headers), response.json(), "InternalServerError")
    assert "read-only" in response.json()["message"]
    assert guarded.client.get(f"{guarded.base_url}/v1/institutions").status_code == 401


def test_a_deleted_rule_comes_back_with_any_reset(fake: FakeStack) -> None:
    fake.client.delete(f"{fake.base_url}/__admin/mappings/{rules.rule_id('proxy/GET')}")
    assert fake.client.get(f"{fake.base_url}/v1/institutions").status_code == 405  # no GET proxy any more
    fake.client.post(f"{fake.base_url}/__admin/reset")
    assert fake.client.get(f"{fake.base_url}/v1/institutions").status_code == 401
