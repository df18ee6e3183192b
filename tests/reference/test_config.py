"""Settings.from_env: required variables named when missing, numbers validated, secrets not in repr."""

from __future__ import annotations

import pytest

from examples.reference_integration.config import ConfigurationError, Settings

BASE = {"FISKIL_API_URL": "http://127.0.0.1:1/", "FISKIL_CLIENT_ID": "id",
        "FISKIL_CLIENT_SECRET": "client-secret-value", "FISKIL_WEBHOOK_SECRET": "webhook-secret-value"}


@pytest.mark.parametrize("missing", sorted(BASE))
def test_each_missing_required_variable_is_named(missing):
    env = {k: v for k, v in BASE.items() if k != missing}
    with pytest.raises(ConfigurationError, match=missing):
        Settings.from_env(env)


def test_values_and_defaults():
    settings = Settings.from_env({**BASE, "REFERENCE_MAX_RETRIES": "2", "REFERENCE_HTTP_TIMEOUT": "1.5",
                                  "REFERENCE_PUBLIC_URL": "http://127.0.0.1:5000/", "REFERENCE_DB": "/tmp/x.db"})
    assert settings.api_url == "http://127.0.0.1:1"
    assert (settings.max_retries, settings.http_timeout) == (2, 1.5)
    assert settings.public_url == "http://127.0.0.1:5000" and settings.db_path == "/tmp/x.db"
    assert settings.faults == frozenset()


@pytest.mark.parametrize("name,value", [("REFERENCE_MAX_RETRIES", "many"), ("REFERENCE_BACKOFF_BASE", "-1")])
def test_bad_numbers_say_what_to_fix(name, value):
    with pytest.raises(ConfigurationError, match=name):
        Settings.from_env({**BASE, name: value})


def test_secrets_not_in_repr():
    text = repr(Settings.from_env(BASE))
    assert "client-secret-value" not in text and "webhook-secret-value" not in text
