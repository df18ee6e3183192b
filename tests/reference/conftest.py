"""Fixtures for the reference integration's tests: a stand-in Fiskil served on 127.0.0.1, settings, integration."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest

from examples.reference_integration.config import Settings
from examples.reference_integration.server import ThreadedServer, bind_socket
from examples.reference_integration.service import ReferenceIntegration
from tests.reference.stand_in import CLIENT_ID, CLIENT_SECRET, StandInFiskil

WEBHOOK_SECRET = base64.b64encode(b"reference-test-webhook-key-0123456789").decode()


@pytest.fixture(scope="session")
def _stand_in_server() -> Iterator[StandInFiskil]:
    fake = StandInFiskil()
    server = ThreadedServer(fake.app(), bind_socket())
    fake.base_url = server.url
    server.start()
    try:
        yield fake
    finally:
        server.stop()


@pytest.fixture
def fiskil(_stand_in_server: StandInFiskil) -> StandInFiskil:
    _stand_in_server.reset()
    return _stand_in_server


@pytest.fixture
def make_settings(fiskil: StandInFiskil, tmp_path: Path):
    def make(**overrides: object) -> Settings:
        values: dict[str, object] = dict(
            api_url=fiskil.base_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
            webhook_secret=WEBHOOK_SECRET, db_path=str(tmp_path / "ref.sqlite3"),
            public_url="http://127.0.0.1:9", http_timeout=1.0, backoff_base=0.01, max_retries=3)
        values.update(overrides)
        if "faults" in values:
            values["faults"] = frozenset(values["faults"])  # type: ignore[arg-type]
        return Settings(**values)  # type: ignore[arg-type]
    return make


@pytest.fixture
def make_integration(make_settings) -> Iterator:
    made: list[ReferenceIntegration] = []

    def make(**overrides: object) -> ReferenceIntegration:
        integration = ReferenceIntegration(make_settings(**overrides))
        made.append(integration)
        return integration

    yield make
    for integration in made:
        integration.close()


@pytest.fixture
def integration(make_integration) -> ReferenceIntegration:
    return make_integration()
