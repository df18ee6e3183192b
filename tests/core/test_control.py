"""Control API odds and ends, the hooks (on_event, on_response), reset and the catch-all 500."""

from __future__ import annotations

import time

import httpx
import pytest

from fakes.control_client import ControlClient, ControlError
from fakes.core.app import CoreConfig, build_core
from fakes.core.server import CoreServer
from fakes.link_browser import LinkBrowser


def test_info(control, core):
    info = control.info()
    assert info["seed"] == 7 and info["client_id"] == "test-client"
    assert abs(info["now"] - core.clock.now()) < 5
    assert "secret" not in str(info)


def test_clock_freeze_advance_resume(control, core):
    frozen = control.freeze_clock()["now"]
    time.sleep(0.01)
    assert core.clock.now() == frozen
    assert control.advance_clock(60)["now"] == frozen + 60
    resumed = control.resume_clock()["now"]
    assert resumed >= frozen + 60
    with pytest.raises(ControlError, match="seconds"):
        control.advance_clock(-5)


def test_reset_is_cheap_and_complete(api, linked, control, core):
    control.set_webhook("http://127.0.0.1:1/hook", "d2hzZWMtdmFsdWUtMTIz")
    core.clock.advance(100)
    started = time.perf_counter()
    assert control.reset(seed=99) == {"seed": 99}
    assert time.perf_counter() - started < 0.5
    assert core.state.end_users == {} and core.state.events == [] and core.webhook_target is None
    assert core.seed == 99 and abs(core.clock.now() - time.time()) < 5
    assert api.get("/v1/end-users").status_code == 401  # tokens are gone too
    core.reset()
    assert core.seed == 7  # back to the configured seed


def test_webhook_target_is_stored_and_secret_never_echoed(control, core, client):
    response = client.put("/__harness/webhook", json={"url": "http://127.0.0.1:5/hook", "secret": "c2VjcmV0LXZhbHVl"})
    assert response.status_code == 200 and "c2VjcmV0LXZhbHVl" not in response.text
    assert core.webhook_target.url == "http://127.0.0.1:5/hook"
    assert core.webhook_target.secret == "c2VjcmV0LXZhbHVl"
    assert "c2VjcmV0LXZhbHVl" not in repr(core.webhook_target)
    control.clear_webhook()
    assert core.webhook_target is None
    with pytest.raises(ControlError, match="url"):
        control.set_webhook("ftp://x", "s")


def test_control_validation_messages(client, control):
    bad_json = client.post("/__harness/reset", content=b"{oops")
    assert bad_json.status_code == 400 and "JSON" in bad_json.json()["message"]
    with pytest.raises(ControlError, match="outcome must be one of"):
        control.set_link_outcome("MAYBE", end_user_id="x")
    with pytest.raises(ControlError, match="end_user_id or session_id"):
        control.set_link_outcome("success")
    with pytest.raises(ControlError, match="no consent"):
        control.revoke_consent("nope")
    with pytest.raises(ControlError, match="requests"):
        control.set_rate_limit(0, 1)


def test_on_event_subscribers_and_a_failing_one(api, browser, core):
    seen: list[dict] = []

    def broken(record: dict) -> None:
        raise RuntimeError("subscriber bug")

    core.on_event(broken)
    core.on_event(seen.append)
    result = browser.complete(api.session(api.end_user())["auth_url"])
    assert result.outcome == "redirect"
    assert [record["event"] for record in seen][0] == "consent.received"
    assert {"message_id", "event", "end_user_id", "consent_id", "institution_id", "client_id", "created_at"} <= set(seen[0])
    assert seen[1]["account_ids"] and "account_ids" not in seen[0]


def test_on_response_sees_v1_responses_with_route_template(api, core):
    served = []
    core.on_response(served.append)
    end_user_id = api.end_user()
    api.get(f"/v1/end-users/{end_user_id}")
    last = served[-1]
    assert (last.method, last.route, last.status) == ("GET", "/v1/end-users/{id}", 200)
    assert last.path == f"/v1/end-users/{end_user_id}" and end_user_id.encode() in last.body


def test_on_response_observer_that_raises_becomes_contract_violation(api, core):
    def strict(served) -> None:
        if served.route == "/v1/end-users":
            raise AssertionError("end_user_id missing from schema")

    core.on_response(strict)
    response = api.post("/v1/end-users", json={"email": "x@example.com"})
    assert response.status_code == 500
    assert response.json()["name"] == "contract_violation" and "schema" in response.json()["message"]


def test_unexpected_exception_is_a_shaped_500(api, linked, core, monkeypatch):
    def explode(consent):
        raise KeyError("boom")

    monkeypatch.setattr(core, "consent_json", explode)
    response = api.get("/v1/consent")
    assert response.status_code == 500 and "Traceback" not in response.text and "boom" not in response.text
    assert response.json()["name"] == "internal_error" and response.json()["fault"] is True


def test_core_server_over_http_with_control_client_and_browser():
    core = build_core(CoreConfig(client_id="srv-client", client_secret="srv-secret-value"))
    started = time.perf_counter()
    with CoreServer(core) as server, httpx.Client(timeout=5) as client:
        assert time.perf_counter() - started < 2
        assert server.url.startswith("http://127.0.0.1:") and core.core_url == server.url
        control = ControlClient(server.url, client)
        assert control.info()["core_url"] == server.url
        token = client.post(f"{server.url}/v1/token", json={"client_id": "srv-client",
                                                            "client_secret": "srv-secret-value"}).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        end_user_id = client.post(f"{server.url}/v1/end-users", json={"email": "s@example.com"},
                                  headers=headers).json()["end_user_id"]
        session = client.post(f"{server.url}/v1/auth/session", headers=headers,
                              json={"end_user_id": end_user_id, "redirect_uri": "https://app.example/ok",
                                    "cancel_uri": "https://app.example/no"}).json()
        assert session["auth_url"].startswith(server.url)
        result = LinkBrowser(client).complete(session["auth_url"])
        assert result.final_url.startswith("https://app.example/ok?")
        thread = server._thread
    assert thread is not None and not thread.is_alive()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/__harness/info", timeout=1)


def test_core_server_stops_when_the_body_raises():
    core = build_core()
    with pytest.raises(RuntimeError, match="inside"):
        with CoreServer(core) as server:
            thread = server._thread
            raise RuntimeError("inside")
    assert not thread.is_alive()


def test_config_defaults_from_environment(monkeypatch):
    monkeypatch.setenv("FISKIL_CLIENT_ID", "env-id")
    monkeypatch.setenv("FISKIL_CLIENT_SECRET", "env-secret-xyz")
    config = CoreConfig()
    assert (config.client_id, config.client_secret) == ("env-id", "env-secret-xyz")
    assert "env-secret-xyz" not in repr(config)
    monkeypatch.delenv("FISKIL_CLIENT_ID")
    monkeypatch.delenv("FISKIL_CLIENT_SECRET")
    assert CoreConfig().client_id == "harness-client-id"


def test_webhook_deliveries_404_without_a_dispatcher(client, control):
    """A bare core delivers nothing itself: a clear Fiskil-shaped 404, not an empty log."""
    response = client.get("/__harness/webhook-deliveries")
    assert response.status_code == 404
    assert response.json()["name"] == "webhook_log_unavailable" and "FakeStack" in response.json()["message"]
    with pytest.raises(ControlError, match="404"):
        control.webhook_deliveries()


def test_webhook_deliveries_come_from_the_provider(core, control):
    log = {"deliveries": [{"message_id": "m-1", "event": "consent.received", "delivered": True,
                           "attempts": [{"attempt": 1, "status": 200, "latency_ms": 3.0, "error": None}]}],
           "pending": 0, "skipped": 0, "errors": []}
    core.webhook_log = lambda: log
    assert control.webhook_deliveries() == log
    core.reset()
    assert core.webhook_log is not None  # a hook, like on_event: reset keeps it
