"""The reference integration against the real fake core (fakes.core), end to end: Link, sync,
token expiry mid-sync, data changes between syncs, revocation, webhooks from the core's dispatcher."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import pytest

core_app = pytest.importorskip("fakes.core.app", reason="fakes.core not available yet")
core_server = pytest.importorskip("fakes.core.server", reason="fakes.core.server not available yet")
link_browser = pytest.importorskip("fakes.link_browser", reason="fakes.link_browser not available yet")
control_client = pytest.importorskip("fakes.control_client", reason="fakes.control_client not available yet")

from harness.adapters.reference import ReferenceSubject  # noqa: E402

SECRET = base64.b64encode(b"core-test-webhook-secret-bytes").decode()


@pytest.fixture(scope="module")
def core_stack() -> Iterator[tuple[object, str]]:
    core = core_app.build_core(core_app.CoreConfig(client_id="core-client", client_secret="core-secret-value"))
    server = core_server.CoreServer(core)
    server.start()
    try:
        yield core, server.url
    finally:
        server.stop()


@pytest.fixture
def world(core_stack, tmp_path):
    core, url = core_stack
    core.reset()
    http = httpx.Client(timeout=5)
    subject = ReferenceSubject(url, "core-client", "core-secret-value", SECRET, tmp_path,
                               http_timeout=2.0, backoff_base=0.01)
    try:
        yield subject, link_browser.LinkBrowser(http), control_client.ControlClient(url, http)
    finally:
        subject.close()
        http.close()


def _linked_user(subject, browser, email="core@example.com"):
    user = subject.create_end_user(email, "Core User")
    result = browser.complete(subject.start_link(user))
    assert result.outcome == "redirect", result
    subject.land(result.final_url)
    return user


def test_link_and_sync_match_the_core(world):
    subject, browser, control = world
    user = _linked_user(subject, browser)
    state = subject.snapshot(user)
    assert len(state.consents) == 1 and state.consents[0].active
    assert subject.sync(user).status == "ok"
    state = subject.snapshot(user)
    assert state.accounts > 0 and state.transactions > 0
    assert subject.create_end_user("core@example.com", "Core User") == user   # reused, not duplicated


def test_cancelled_link_gives_friendly_error(world):
    subject, browser, control = world
    user = subject.create_end_user("cancel@example.com", "Cancel")
    result = browser.complete(subject.start_link(user), outcome="CONSENT_OTP_FAILURE")
    assert result.outcome == "cancel"
    subject.land(result.final_url)
    error = subject.snapshot(user).last_error
    assert error is not None and error.code == "CONSENT_OTP_FAILURE" and "passcode" in error.message


def test_token_expiry_mid_sync_is_survived(world):
    subject, browser, control = world
    user = _linked_user(subject, browser)
    control.expire_tokens(after_requests=2)
    assert subject.sync(user).status == "ok"


def test_removed_transactions_soft_deleted_and_revocation_clears_data(world):
    subject, browser, control = world
    user = _linked_user(subject, browser)
    subject.sync(user)
    before = subject.snapshot(user).transactions
    control.change_transactions(user, "remove", count=2, emit=False)
    subject.sync(user)
    assert subject.snapshot(user).transactions == before - 2
    consent_id = subject.snapshot(user).consents[0].id
    control.revoke_consent(consent_id)
    assert subject.sync(user).status == "ok"
    state = subject.snapshot(user)
    assert state.consents[0].active is False and state.transactions == 0 and state.accounts == 0


def test_core_webhooks_are_verified_and_processed(world, core_stack):
    subject, browser, control = world
    core, _ = core_stack
    dispatch = pytest.importorskip("fakes.webhook_dispatch")
    control.set_webhook(subject.webhook_url, SECRET)
    with dispatch.WebhookDispatcher(core) as dispatcher:
        user = _linked_user(subject, browser, "hook@example.com")
        assert dispatcher.wait_idle(10)
    processed = subject.processed_webhooks()
    assert processed and len(processed) == len(set(processed))
    assert subject.snapshot(user).transactions > 0
