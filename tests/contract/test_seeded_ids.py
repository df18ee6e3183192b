"""The fake's made-up ids come from the seed: the same seed and requests give the same ids, so two
`export-mappings` runs with the same --seed write the same mappings (timestamps aside)."""

from __future__ import annotations

import json
import re

from fakes.core.app import CoreConfig, build_core
from fakes.core.server import CoreServer
from harness.contract.export import build_mappings
from tests.contract.conftest import CREDENTIALS, record_probe

TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


def exported(seed: int) -> tuple[str, list[dict]]:
    with CoreServer(build_core(CoreConfig(**CREDENTIALS, seed=seed))) as server:
        exchanges = record_probe(server.url)
        mappings = build_mappings(exchanges, recorded_base=server.url)
    end_user_id = next(e["response"]["body"]["end_user_id"] for e in exchanges if e["request"]["path"] == "/v1/end-users")
    return end_user_id, json.loads(TIMESTAMP.sub("<time>", json.dumps(mappings)))


def test_same_seed_same_mappings_and_ids() -> None:
    first_user, first = exported(seed=3)
    second_user, second = exported(seed=3)
    assert first_user == second_user
    assert first == second
    text = json.dumps(first)
    # the probe saw ids of every kind the fake makes up: a consent, a session, error ids, transactions
    assert "arrangement_id" in text and "session_id" in text and "err_" in text and "bank_tx_" in text


def test_another_seed_gives_other_ids() -> None:
    assert exported(seed=3)[0] != exported(seed=4)[0]


def test_reset_with_the_same_seed_starts_the_ids_again() -> None:
    core = build_core(CoreConfig(**CREDENTIALS, seed=5))
    first = [core.state.ids.uuid(), core.state.ids.hex(13), core.state.ids.urlsafe(6)]
    core.reset()
    assert [core.state.ids.uuid(), core.state.ids.hex(13), core.state.ids.urlsafe(6)] == first
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", first[0])
    assert len(first[1]) == 26 and len(first[2]) == 8
