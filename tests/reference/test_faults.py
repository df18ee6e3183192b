"""Each seeded fault really changes behaviour (compared with the well-behaved integration)."""

from __future__ import annotations

import json

import pytest

from examples.reference_integration.config import ConfigurationError, Settings
from examples.reference_integration.faults import FAULTS, TIGHT_LOOP_ATTEMPTS, UnknownFaultError, parse_faults
from harness.webhooks.signing import HEX_RAW_SCHEME, SIGNATURE_HEADER, sign
from tests.reference.conftest import WEBHOOK_SECRET
from tests.reference.stand_in import Scripted
from tests.reference.test_webhooks import envelope, signed


def test_at_least_the_thirteen_required_faults_exist_and_are_documented():
    required = {"no_token_renewal", "token_per_request", "no_signature_check", "hex_signature",
                "reserialised_signature", "no_dedupe", "slow_webhook", "no_backoff", "ignore_retry_after",
                "first_page_only", "hard_delete", "log_token", "tight_credential_loop"}
    assert required <= FAULTS.keys()
    assert all(len(doc) > 20 for doc in FAULTS.values())


def test_unknown_fault_names_the_valid_ones():
    with pytest.raises(UnknownFaultError) as failure:
        parse_faults("no_dedupe, made_up")
    assert "made_up" in str(failure.value) and "no_backoff" in str(failure.value)
    assert parse_faults(" no_dedupe ,,log_token") == {"no_dedupe", "log_token"}


def test_unknown_fault_in_env_is_a_configuration_error():
    env = {"FISKIL_API_URL": "http://127.0.0.1:1", "FISKIL_CLIENT_ID": "i", "FISKIL_CLIENT_SECRET": "s",
           "FISKIL_WEBHOOK_SECRET": "w", "REFERENCE_FAULTS": "bogus"}
    with pytest.raises(ConfigurationError, match="bogus"):
        Settings.from_env(env)


def _synced_user(integration, fiskil, **consent):
    user = integration.create_end_user("f@example.com", "F")
    fiskil.add_consent(user, **consent)
    return user


@pytest.mark.parametrize("fault", [None, "no_token_renewal"])
def test_no_token_renewal(make_integration, fiskil, fault):
    integration = make_integration(faults={fault} if fault else set())
    user = _synced_user(integration, fiskil)
    fiskil.expire_tokens()
    result = integration.sync(user)
    assert result.status == ("error" if fault else "ok")


@pytest.mark.parametrize("fault", [None, "token_per_request"])
def test_token_per_request(make_integration, fiskil, fault):
    integration = make_integration(faults={fault} if fault else set())
    user = _synced_user(integration, fiskil)
    integration.sync(user)
    api_calls = len([s for s in fiskil.seen if s.path != "/v1/token"])
    assert fiskil.count("/v1/token") == (api_calls if fault else 1)


@pytest.mark.parametrize("fault,expected", [(None, 401), ("no_signature_check", 200)])
def test_no_signature_check(make_integration, fault, expected):
    integration = make_integration(faults={fault} if fault else set())
    assert integration.handle_webhook(envelope("u-1", event="energy.usage.sync.completed"), {}) == expected


@pytest.mark.parametrize("fault,genuine,hexed", [(None, 200, 401), ("hex_signature", 401, 200)])
def test_hex_signature(make_integration, fault, genuine, hexed):
    integration = make_integration(faults={fault} if fault else set())
    body = envelope("h-1", event="energy.usage.sync.completed")
    assert integration.handle_webhook(body, {SIGNATURE_HEADER: sign(body, WEBHOOK_SECRET)}) == genuine
    other = envelope("h-2", event="energy.usage.sync.completed")
    hex_signature = sign(other, WEBHOOK_SECRET, HEX_RAW_SCHEME)    # raw secret as key, hex digest
    assert integration.handle_webhook(other, {SIGNATURE_HEADER: hex_signature}) == hexed


@pytest.mark.parametrize("fault,expected", [(None, 200), ("reserialised_signature", 401)])
def test_reserialised_signature(make_integration, fault, expected):
    integration = make_integration(faults={fault} if fault else set())
    spaced = json.dumps({"message_id": "s-1", "data": {"event": "energy.usage.sync.completed"}}, indent=2).encode()
    assert integration.handle_webhook(spaced, signed(spaced)) == expected


@pytest.mark.parametrize("fault,expected", [(None, ["d-1"]), ("no_dedupe", ["d-1", "d-1"])])
def test_no_dedupe(make_integration, fault, expected):
    integration = make_integration(faults={fault} if fault else set())
    body = envelope("d-1", event="energy.usage.sync.completed")
    integration.handle_webhook(body, signed(body))
    integration.handle_webhook(body, signed(body))
    assert integration.processed_webhooks() == expected


@pytest.mark.parametrize("fault,expected", [(None, []), ("slow_webhook", [10.0])])
def test_slow_webhook(make_integration, fault, expected):
    integration = make_integration(faults={fault} if fault else set())
    slept: list[float] = []
    integration.webhooks._sleep = slept.append     # the real fault sleeps 10 s; recorded here
    body = envelope("sl-1", event="energy.usage.sync.completed")
    assert integration.handle_webhook(body, signed(body)) == 200
    assert slept == expected


def _waits_on_429(make_integration, fiskil, faults):
    integration = make_integration(faults=faults)
    waits: list[float] = []
    integration.fiskil.backoff.sleep = waits.append
    integration.fiskil.backoff.rand = lambda lo, hi: hi
    fiskil.script.append(Scripted("/v1/consent", 429, headers={"Retry-After": "3"}, times=2))
    integration.fiskil.get_json("/v1/consent", {"end_user_id": "x"})
    return waits


def test_no_backoff(make_integration, fiskil):
    assert all(w >= 3 for w in _waits_on_429(make_integration, fiskil, set()))
    assert _waits_on_429(make_integration, fiskil, {"no_backoff"}) == []     # zero waits: never sleeps


def test_ignore_retry_after(make_integration, fiskil):
    waits = _waits_on_429(make_integration, fiskil, {"ignore_retry_after"})
    assert len(waits) == 2 and all(0 < w < 3 for w in waits)


@pytest.mark.parametrize("fault,expected", [(None, 12), ("first_page_only", 5)])
def test_first_page_only(make_integration, fiskil, fault, expected):
    integration = make_integration(faults={fault} if fault else set(), page_size=5)
    user = _synced_user(integration, fiskil, accounts=2, transactions_per_account=6)
    integration.sync(user)
    assert integration.snapshot(user).transactions == expected


@pytest.mark.parametrize("fault,rows_left", [(None, 4), ("hard_delete", 0)])
def test_hard_delete(make_integration, fiskil, fault, rows_left):
    integration = make_integration(faults={fault} if fault else set())
    user = _synced_user(integration, fiskil, accounts=1, transactions_per_account=4)
    integration.sync(user)
    fiskil.revoke("arr-1")
    integration.sync(user)
    assert integration.snapshot(user).transactions == 0
    assert integration.store.count_all("transactions", user) == rows_left


@pytest.mark.parametrize("fault", [None, "log_token"])
def test_log_token(make_integration, fiskil, fault, caplog):
    caplog.set_level("DEBUG")
    integration = make_integration(faults={fault} if fault else set())
    integration.create_end_user("t@example.com", "T")
    assert (fiskil.issued[0] in caplog.text) == (fault is not None)


@pytest.mark.parametrize("fault,attempts", [(None, 1), ("tight_credential_loop", TIGHT_LOOP_ATTEMPTS)])
def test_tight_credential_loop(make_integration, fiskil, fault, attempts):
    integration = make_integration(faults={fault} if fault else set(), client_secret="wrong-secret-xyz")
    with pytest.raises(ConfigurationError):
        integration.create_end_user("c@example.com", "C")
    assert fiskil.count("/v1/token") == attempts
