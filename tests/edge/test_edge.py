"""Edge: proxying, every fault kind as the client sees it, scoping, times=N, journal, reset."""

from __future__ import annotations

import time

import httpx
import pytest

from fakes.wiremock import rules
from fakes.wiremock.edge import Edge, Fault

pytestmark = pytest.mark.jvm

PROBE = {"X-Harness-Probe": "1"}
STANDING_IDS = {mapping["id"] for mapping in rules.standing_mappings("http://127.0.0.1:1")}


def stub_ids(edge: Edge) -> set[str]:
    return {stub["id"] for stub in edge.admin.stubs()}


def test_proxies_to_the_upstream_with_the_upstreams_host(edge: Edge, http: httpx.Client, upstream) -> None:
    response = http.post(f"{edge.base_url}/v1/token?x=1", content=b"hello")
    assert response.status_code == 200
    echoed = response.json()
    assert echoed["upstream"] is True
    assert (echoed["method"], echoed["path"], echoed["query"], echoed["body"]) == ("POST", "/v1/token", "x=1", "hello")
    assert echoed["host"] == upstream.url.removeprefix("http://")


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("connection_reset", httpx.ReadError),
        ("empty_response", httpx.RemoteProtocolError),
        ("malformed_chunk", httpx.RemoteProtocolError),
        ("random_data", httpx.RemoteProtocolError),
    ],
)
def test_socket_faults_surface_as_transport_errors(edge: Edge, http: httpx.Client, kind: str, expected) -> None:
    edge.inject(Fault(kind))  # type: ignore[arg-type]
    with pytest.raises(expected):
        http.get(f"{edge.base_url}/v1/accounts")
    [entry] = edge.requests()
    assert entry.status == 0  # no HTTP status was sent


def test_http_error_sends_status_headers_and_body(edge: Edge, http: httpx.Client) -> None:
    edge.inject(Fault("http_error", status=503, headers={"Retry-After": "7"}, body='{"name":"outage"}'))
    response = http.get(f"{edge.base_url}/v1/accounts")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "7"
    assert response.json() == {"name": "outage"}
    assert edge.requests()[0].status == 503


def test_times_n_faults_the_next_n_requests_then_proxies_again(edge: Edge, http: httpx.Client) -> None:
    edge.inject(Fault("http_error", status=502, times=2))
    statuses = [http.get(f"{edge.base_url}/v1/accounts").status_code for _ in range(4)]
    assert statuses == [502, 502, 200, 200]


def test_times_n_with_a_socket_fault(edge: Edge, http: httpx.Client) -> None:
    edge.inject(Fault("connection_reset", times=1))
    with pytest.raises(httpx.ReadError):
        http.get(f"{edge.base_url}/v1/accounts")
    assert http.get(f"{edge.base_url}/v1/accounts").json()["upstream"] is True


def test_delay_beyond_the_client_timeout_is_a_read_timeout(edge: Edge, http: httpx.Client) -> None:
    edge.inject(Fault("delay", delay_ms=600, url_path_pattern="/v1/slow"))
    with pytest.raises(httpx.ReadTimeout):
        http.get(f"{edge.base_url}/v1/slow", timeout=0.2)


def test_delay_then_answers_with_the_real_response(edge: Edge, http: httpx.Client) -> None:
    edge.inject(Fault("delay", delay_ms=300, times=1))
    started = time.monotonic()
    response = http.get(f"{edge.base_url}/v1/slow")
    assert time.monotonic() - started >= 0.3
    assert response.json()["path"] == "/v1/slow"
    started = time.monotonic()
    http.get(f"{edge.base_url}/v1/slow")
    assert time.monotonic() - started < 0.3


def test_faults_are_scoped_by_method_and_path(edge: Edge, http: httpx.Client) -> None:
    edge.inject(Fault("http_error", method="post", url_path_pattern="/v1/token", status=401))
    assert http.post(f"{edge.base_url}/v1/token").status_code == 401
    assert http.get(f"{edge.base_url}/v1/token").status_code == 200
    assert http.post(f"{edge.base_url}/v1/token/extra").status_code == 200  # the pattern is anchored


def test_the_newest_fault_wins(edge: Edge, http: httpx.Client) -> None:
    edge.inject(Fault("http_error", status=500))
    edge.inject(Fault("http_error", status=418))
    assert http.get(f"{edge.base_url}/v1/x").status_code == 418


def test_control_api_and_probes_are_never_faulted(edge: Edge, http: httpx.Client) -> None:
    edge.inject(Fault("connection_reset"))
    assert http.get(f"{edge.base_url}/__harness/info").json()["path"] == "/__harness/info"
    assert http.get(f"{edge.base_url}/v1/accounts", headers=PROBE).status_code == 200
    with pytest.raises(httpx.ReadError):
        http.get(f"{edge.base_url}/v1/accounts")


def test_clear_faults_and_remove_fault(edge: Edge, http: httpx.Client) -> None:
    first = edge.inject(Fault("http_error", status=500, url_path_pattern="/a"))
    edge.inject(Fault("http_error", status=501, url_path_pattern="/b"))
    edge.remove_fault(first)
    assert http.get(f"{edge.base_url}/a").status_code == 200
    assert http.get(f"{edge.base_url}/b").status_code == 501
    edge.clear_faults()
    assert http.get(f"{edge.base_url}/b").status_code == 200
    # clear_faults also removes faults another Edge object put on the same WireMock
    Edge(edge.base_url, http).inject(Fault("http_error", status=503))
    edge.clear_faults()
    assert http.get(f"{edge.base_url}/b").status_code == 200


def test_journal_filters_orders_and_parses(edge: Edge, http: httpx.Client) -> None:
    http.get(f"{edge.base_url}/v1/accounts?page[size]=2&page[size]=3&x=")
    http.post(f"{edge.base_url}/v1/token", json={"client_id": "c"})
    http.get(f"{edge.base_url}/v1/transactions")
    http.get(f"{edge.base_url}/__harness/info")
    http.get(f"{edge.base_url}/v1/accounts", headers=PROBE)

    entries = edge.requests()
    assert [(e.method, e.path) for e in entries] == [
        ("GET", "/v1/accounts"),
        ("POST", "/v1/token"),
        ("GET", "/v1/transactions"),
    ]
    assert entries[0].query == {"page[size]": ["2", "3"], "x": [""]}
    assert entries[0].url == "/v1/accounts?page[size]=2&page[size]=3&x="
    assert entries[1].body == '{"client_id":"c"}'
    assert entries[1].header("content-type") == "application/json"
    assert all(e.status == 200 for e in entries)
    assert entries[0].logged_at <= entries[1].logged_at <= entries[2].logged_at
    assert abs(entries[0].logged_at - time.time()) < 60

    assert edge.count("GET") == 2
    assert edge.count("post", "/v1/tok.*") == 1
    assert edge.count(path_pattern="/v1/accounts") == 1
    assert edge.count(path_pattern="/v1") == 0  # full match, not a prefix
    assert edge.count(include_control=True) == 4
    assert edge.count(include_probes=True) == 4
    assert edge.count(include_control=True, include_probes=True) == 5


def test_journal_entry_repr_hides_headers_and_body(edge: Edge, http: httpx.Client) -> None:
    http.get(f"{edge.base_url}/v1/accounts", headers={"Authorization": "Bearer sekrit-token"})
    [entry] = edge.requests()
    assert entry.header("authorization") == "Bearer sekrit-token"
    assert "sekrit" not in repr(entry)


def test_reset_drops_faults_and_journal_and_restores_the_proxy(edge: Edge, http: httpx.Client) -> None:
    edge.inject(Fault("http_error", status=500))
    http.get(f"{edge.base_url}/v1/x")
    edge.reset()
    assert edge.count() == 0
    assert http.get(f"{edge.base_url}/v1/x").json()["upstream"] is True
    assert edge.count() == 1
    assert stub_ids(edge) == STANDING_IDS  # just the standing rules (proxy, 405, 400s)


def test_near_misses_explain_unmatched_requests(edge: Edge, http: httpx.Client) -> None:
    edge.admin.reset()  # no proxy: only our stub can answer
    edge.admin.add_stub({"request": {"method": "GET", "url": "/v1/accounts"}, "response": {"status": 200}})
    assert http.get(f"{edge.base_url}/v1/acounts").status_code == 404
    misses = edge.near_misses()
    assert misses and misses[0]["request"]["url"] == "/v1/acounts"
    assert misses[0]["stubMapping"]["request"]["url"] == "/v1/accounts"


@pytest.mark.parametrize(
    ("fault", "complaint"),
    [
        (Fault("explode"), "unknown fault kind"),  # type: ignore[arg-type]
        (Fault("http_error", times=0), "times"),
        (Fault("delay"), "delay_ms > 0"),
        (Fault("http_error", status=99), "status"),
        (Fault("http_error", url_path_pattern="(unclosed"), "not a valid regex"),
    ],
)
def test_bad_faults_are_refused_with_a_reason(edge: Edge, fault: Fault, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        edge.inject(fault)
    assert stub_ids(edge) == STANDING_IDS  # nothing half-installed


def test_delay_needs_a_proxy_and_proxy_needs_a_url(http: httpx.Client, wiremock) -> None:
    bare = Edge(wiremock.base_url, http)
    bare.admin.reset()  # an edge with no proxy stubs at all (this module's JVM has no mapping files)
    with pytest.raises(ValueError, match="proxy_to"):
        bare.inject(Fault("delay", delay_ms=10))
    with pytest.raises(ValueError, match="absolute http"):
        bare.proxy_to("api.fiskil.com")


def test_an_edge_object_that_was_not_told_the_target_finds_it(edge: Edge, http: httpx.Client, wiremock,
                                                              upstream) -> None:
    """Another process's Edge (e.g. `Edge(fake_url, client)`) delays and resets without proxy_target."""
    stranger = Edge(wiremock.base_url, http)
    stranger.inject(Fault("delay", delay_ms=400, times=1))
    started = time.perf_counter()
    assert http.get(f"{edge.base_url}/v1/slow").json()["upstream"] is True
    assert time.perf_counter() - started >= 0.4
    Edge(wiremock.base_url, http).reset()
    assert stub_ids(edge) == STANDING_IDS
    assert http.get(f"{edge.base_url}/v1/after-reset").json()["upstream"] is True
