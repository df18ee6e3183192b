"""Through the real JVM: a tester who runs only `fiskil-harness fake` injects each fault kind over
HTTP (POST /__harness/faults, sent through the edge like any other call) and an httpx client sees it."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from fakes.core.app import CoreConfig
from fakes.stack import FakeStack

pytestmark = pytest.mark.jvm


@pytest.fixture(scope="module")
def stack() -> Iterator[FakeStack]:
    with FakeStack(CoreConfig(seed=12)) as running:
        yield running


@pytest.fixture
def fake(stack: FakeStack) -> Iterator[tuple[str, httpx.Client]]:
    """The edge's URL and a client of its own, as another language's test suite would have."""
    stack.reset()
    with httpx.Client(timeout=5.0) as client:
        yield stack.base_url, client


def inject(client: httpx.Client, base: str, **spec) -> dict:
    response = client.post(f"{base}/__harness/faults", json=spec)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize(("kind", "error"), [
    ("connection_reset", httpx.ReadError),
    ("empty_response", httpx.RemoteProtocolError),
    ("malformed_chunk", httpx.RemoteProtocolError),
    ("random_data", httpx.RemoteProtocolError),
])
def test_each_connection_fault_injected_over_http_is_seen_by_a_client(fake, kind: str, error: type) -> None:
    base, client = fake
    inject(client, base, kind=kind, method="GET", path_pattern="/v1/institutions", times=1)
    with pytest.raises(error):
        client.get(f"{base}/v1/institutions")
    assert client.get(f"{base}/v1/institutions").status_code == 401  # times=1: the core answers again


def test_an_http_error_fault_answers_as_specified(fake) -> None:
    base, client = fake
    fault = inject(client, base, kind="http_error", path_pattern="/v1/end-users.*", times=2, status=503,
                   headers={"Retry-After": "7", "Content-Type": "application/json"}, body='{"name": "down"}')
    for _ in range(2):
        response = client.post(f"{base}/v1/end-users", json={"email": "a@example.com"})
        assert (response.status_code, response.headers["retry-after"], response.json()) == (503, "7", {"name": "down"})
    assert client.post(f"{base}/v1/end-users", json={"email": "a@example.com"}).status_code == 401
    [listed] = client.get(f"{base}/__harness/faults").json()["faults"]
    assert listed["id"] == fault["id"] and listed["remaining"] == 0 and listed["times"] == 2


def test_a_delay_fault_needs_no_proxy_target_and_answers_late(fake) -> None:
    base, client = fake
    inject(client, base, kind="delay", method="GET", path_pattern="/v1/institutions", delay_ms=600)
    started = time.perf_counter()
    response = client.get(f"{base}/v1/institutions")
    assert time.perf_counter() - started >= 0.6
    assert response.status_code == 401 and response.json()["name"] == "Unauthorized"  # the core's real answer
    with pytest.raises(httpx.ReadTimeout):
        client.get(f"{base}/v1/institutions", timeout=0.2)


def test_faults_never_hit_the_control_api_and_can_be_removed(fake) -> None:
    base, client = fake
    first = inject(client, base, kind="connection_reset")  # every method, every path
    second = inject(client, base, kind="http_error", status=500, path_pattern="/v1/consent")
    assert [f["id"] for f in client.get(f"{base}/__harness/faults").json()["faults"]] == [first["id"], second["id"]]
    assert client.delete(f"{base}/__harness/faults/{first['id']}").status_code == 200
    assert client.get(f"{base}/v1/consent").status_code == 500
    assert client.get(f"{base}/v1/institutions").status_code == 401
    assert client.delete(f"{base}/__harness/faults").json() == {"faults": []}
    assert client.get(f"{base}/v1/consent").status_code == 401
    assert client.delete(f"{base}/__harness/faults/{first['id']}").status_code == 404


def test_a_control_reset_clears_faults(fake) -> None:
    base, client = fake
    inject(client, base, kind="http_error", status=502, path_pattern="/v1/institutions")
    client.post(f"{base}/__harness/reset", json={}).raise_for_status()
    assert client.get(f"{base}/v1/institutions").status_code == 401


def test_faults_from_the_control_api_and_from_python_are_one_list(fake, stack: FakeStack) -> None:
    from fakes.wiremock.edge import Fault

    base, client = fake
    group = stack.edge.inject(Fault("http_error", status=418, url_path_pattern="/v1/teapot"))
    assert [f["id"] for f in client.get(f"{base}/__harness/faults").json()["faults"]] == [group]
    assert client.get(f"{base}/v1/teapot").status_code == 418


def test_an_unknown_kind_lists_the_kinds(fake) -> None:
    base, client = fake
    response = client.post(f"{base}/__harness/faults", json={"kind": "lightning"})
    assert response.status_code == 400
    assert "connection_reset, empty_response, malformed_chunk, random_data, delay, http_error" in response.json()["message"]
    assert client.get(f"{base}/__harness/faults").json() == {"faults": []}
