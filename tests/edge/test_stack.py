"""FakeStack: the real core behind the edge, remote targets, attaching, reset and reaping."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from fakes.core.app import CoreConfig
from fakes.stack import FakeStack
from fakes.wiremock.edge import Fault
from fakes.wiremock.process import WireMockStartError
from tests.edge.test_process import pid_alive

pytestmark = pytest.mark.jvm


@pytest.fixture(scope="module")
def stack() -> Iterator[FakeStack]:
    with FakeStack(CoreConfig(seed=3)) as running:
        yield running


def test_subject_traffic_goes_through_the_edge_to_the_core(stack: FakeStack) -> None:
    stack.reset()
    assert stack.base_url != stack.core_url
    info = stack.client.get(f"{stack.base_url}/__harness/info").json()
    assert info["core_url"] == stack.core_url
    assert info["public_base_url"] == stack.base_url  # URLs the core hands out lead back to the edge
    response = stack.client.post(f"{stack.base_url}/v1/token", json={"client_id": "x", "client_secret": "y"})
    assert response.status_code in (400, 401, 403)  # answered by the core, not by WireMock
    assert stack.edge.count("POST", "/v1/token") == 1


def test_control_goes_straight_to_the_core(stack: FakeStack) -> None:
    stack.reset()
    stack.edge.inject(Fault("connection_reset"))
    assert stack.control.info()["seed"] == 3
    assert stack.edge.count(include_control=True) == 0


def test_reset_clears_faults_journal_and_core_state(stack: FakeStack) -> None:
    stack.edge.inject(Fault("http_error", status=503))
    stack.client.get(f"{stack.base_url}/v1/institutions")
    stack.core.clock.advance(3600)
    before = stack.core.clock.now()
    stack.reset()
    assert stack.edge.count() == 0
    assert stack.client.get(f"{stack.base_url}/__harness/info").status_code == 200
    assert stack.core.clock.now() < before  # the clock is back to real time


def test_attach_to_a_running_fake(stack: FakeStack) -> None:
    with httpx.Client(timeout=5) as client:
        attached = FakeStack.attach(stack.base_url, client)
        with attached:
            assert attached.core is None and attached.core_url == stack.core_url
            assert attached.control is not None and attached.control.info()["core_url"] == stack.core_url
            attached.edge.inject(Fault("http_error", status=418))
            assert client.get(f"{attached.base_url}/v1/x").status_code == 418
            attached.reset()  # must put the proxy back, not leave the fake without one
            assert client.get(f"{attached.base_url}/__harness/info").json()["core_url"] == stack.core_url
        assert stack.wiremock.is_running()  # attaching never stops the fake it attached to


def test_registering_a_webhook_leaves_no_secret_in_the_edge_journal(stack: FakeStack) -> None:
    from fakes.control_client import ControlClient

    stack.reset()
    secret, through_edge = "a2l0LXdlYmhvb2stc2VjcmV0LWpvdXJuYWw=", "cmF3LXB1dC10aHJvdWdoLXRoZS1lZGdl"
    with httpx.Client(timeout=10) as client:
        # the journal keeps whatever passes through the edge: a raw PUT there is recorded, body and all
        client.put(f"{stack.base_url}/__harness/webhook", json={"url": "http://127.0.0.1:9/hook", "secret": through_edge})
        with FakeStack.attach(stack.base_url, client) as attached:
            attached.control.set_webhook("http://127.0.0.1:9/hook", secret)
            assert stack.core.webhook_target.secret == secret
            # a ControlClient given only the edge URL finds the core through /__harness/info
            ControlClient(stack.base_url, client).set_webhook("http://127.0.0.1:9/hook2", secret)
            assert stack.core.webhook_target.url == "http://127.0.0.1:9/hook2"
        journal = client.get(f"{stack.base_url}/__admin/requests").text
    assert through_edge in journal
    assert secret not in journal
    stack.reset()


def test_attach_to_nothing_says_how_to_start_a_fake() -> None:
    with pytest.raises(ConnectionError, match="fiskil-harness fake"):
        FakeStack.attach("http://127.0.0.1:9")


def test_remote_target_has_no_core_and_no_control(upstream) -> None:
    with FakeStack(target_url=upstream.url + "/") as remote:
        assert remote.core is None and remote.control is None and not remote.is_fake
        assert remote.target_url == upstream.url
        echoed = remote.client.get(f"{remote.base_url}/v1/accounts").json()
        assert echoed["path"] == "/v1/accounts" and echoed["upstream"] is True
        remote.reset()
        assert remote.client.get(f"{remote.base_url}/v1/accounts").json()["upstream"] is True
        pid = remote.wiremock.pid
    assert not pid_alive(pid)


def test_remote_target_refuses_a_core_config() -> None:
    with pytest.raises(ValueError, match="no core"):
        FakeStack(CoreConfig(), target_url="https://api.fiskil.com")


def test_a_failed_edge_start_stops_the_core_too() -> None:
    servers = []

    def recording_server(core):
        from fakes.core.server import CoreServer

        server = CoreServer(core)
        servers.append(server)
        return server

    failing = FakeStack(server_factory=recording_server, wiremock_args=["--no-such-flag-xyz"])
    with pytest.raises(WireMockStartError):
        with failing:
            pass
    assert servers and servers[0].url
    with pytest.raises(httpx.ConnectError):  # the core's server was stopped with the edge's failure
        httpx.get(f"{servers[0].url}/__harness/info", timeout=2)
    assert failing.client.is_closed
