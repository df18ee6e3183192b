"""What the fake actually delivers to a webhook endpoint (fakes/webhook_dispatch.py, retries
included) matches webhook-envelope.json, for every event the core emits."""

from __future__ import annotations

import json

import httpx

from fakes.core.app import CoreConfig, build_core
from fakes.core.server import CoreServer
from fakes.core.state import WebhookTarget
from fakes.link_browser import LinkBrowser
from fakes.webhook_dispatch import WebhookDispatcher
from harness.contract import assert_valid
from harness.webhooks.receivers import FlakyReceiver
from tests.contract.conftest import CREDENTIALS

SECRET = "c2VjcmV0LWtleS1mb3ItdGVzdHM="


def test_every_delivered_envelope_matches_the_schema() -> None:
    core = build_core(CoreConfig(**CREDENTIALS))
    with FlakyReceiver(fail_first=1, mode="500") as receiver, WebhookDispatcher(core, time_scale=0.0002) as dispatcher, \
            CoreServer(core) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        core.state.webhook_target = WebhookTarget(receiver.url, SECRET)
        auth = {"Authorization": "Bearer " + client.post("/v1/token", json=CREDENTIALS).json()["token"]}
        end_user_id = client.post("/v1/end-users", json={"email": "hooks@example.invalid"}, headers=auth).json()["end_user_id"]
        session = client.post("/v1/auth/session", json={"end_user_id": end_user_id}, headers=auth).json()
        consent_id = LinkBrowser(client).complete(session["auth_url"]).consent_id
        client.post("/__harness/data/transactions", json={"end_user_id": end_user_id, "action": "add", "count": 2}).raise_for_status()
        assert client.delete(f"/v1/consent/{consent_id}", headers=auth).status_code == 204
        assert dispatcher.wait_idle(10)
        bodies = [json.loads(raw) for raw in receiver.requests]
    events = {body["data"]["event"] for body in bodies}
    assert {"consent.received", "banking.accounts.sync.completed", "banking.transactions.sync.completed",
            "consent.revoked"} <= events
    assert any(body["delivery_attempt"] == 2 for body in bodies), "the first delivery failed and was retried"
    for body in bodies:
        assert_valid("webhook-envelope.json", body, what=f"webhook {body.get('data', {}).get('event')}")
