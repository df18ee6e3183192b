"""End to end with real WireMock JVMs: `record` against a separately started fake (standing in for
the unreachable sandbox) stores sanitised exchanges that show no drift; `export-mappings` writes
mappings a bare WireMock serves well enough for every @sandbox_safe contract scenario to pass."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from fakes.core.app import CoreConfig, build_core
from fakes.core.server import CoreServer
from harness.cli import main
from harness.contract.capture import run_contract_features
from harness.contract.replay import Replayer, link_consented_end_user

pytestmark = [pytest.mark.jvm, pytest.mark.timeout(300)]

SECRET = "record-test-secret-5f2c9e"
CLIENT_ID = "record-test-client"


def _personal_data_of(core, end_user_id: str) -> list[str]:
    """The fake's generated personal values for a user: payee names and nicknames, descriptions."""
    store = core.state.user_data(end_user_id)
    values = []
    for payee in store.payees.values():
        values += [f'"{payee["nickname"]}"', payee["domestic"]["account"]["account_name"], payee["description"]]
    values += [f'"{tx["description"]}"' for tx in list(store.transactions.values())[:50]]
    return values


def test_record_against_a_fake_is_sanitised_and_shows_no_drift(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    import harness.cli.record as record_cli
    from tests.contract.test_sanitise import PII, pii_exchanges

    real_capture = record_cli.capture_contract_traffic

    def capture_plus_every_pii_shape(*args, **kwargs):
        """What the features recorded, plus exchanges holding every personal field shape of
        fiskil-api.md §9 (the fake does not serve identity data, Fiskil does)."""
        capture = real_capture(*args, **kwargs)
        extra = [{**exchange, "seq": len(capture.exchanges) + n} for n, exchange in enumerate(pii_exchanges(), start=1)]
        capture.exchanges = [*capture.exchanges, *extra]
        return capture

    monkeypatch.setattr(record_cli, "capture_contract_traffic", capture_plus_every_pii_shape)
    core = build_core(CoreConfig(client_id=CLIENT_ID, client_secret=SECRET))
    out = tmp_path / "recordings"
    with CoreServer(core) as server, httpx.Client(timeout=10) as http:
        end_user_id = link_consented_end_user(Replayer(http, server.url, CLIENT_ID, SECRET))
        monkeypatch.setenv("FISKIL_CLIENT_ID", CLIENT_ID)
        monkeypatch.setenv("FISKIL_CLIENT_SECRET", SECRET)
        monkeypatch.setenv("FISKIL_SANDBOX_END_USER_ID", end_user_id)
        assert main(["record", "--target", "sandbox", "--out", str(out), "--sandbox-url", server.url]) == 0
    files = sorted(out.glob("*.json"))
    assert len(files) >= 20 + len(pii_exchanges())
    texts = [f.read_text() for f in files]
    everything = "\n".join(texts)
    issued_tokens = list(core.state.tokens)
    assert issued_tokens, "the features requested tokens"
    personal = _personal_data_of(core, end_user_id)
    payee_ids = list(core.state.user_data(end_user_id).payees)
    assert payee_ids and all(payee_id in everything for payee_id in payee_ids), "the payees were recorded (ids kept)"
    for original in [SECRET, CLIENT_ID, "Contract Check", *issued_tokens, *PII.values(), *personal]:
        assert original not in everything, f"an original value leaked into the recordings: {original[:8]}…"
    for extra in files[-len(pii_exchanges()):]:
        extra.unlink()  # drift below compares what the fake itself answered
    files = files[:-len(pii_exchanges())]
    emails = set(re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", everything))
    assert emails and all(e.endswith("@example.invalid") for e in emails), sorted(emails)[:3]
    assert SECRET not in capsys.readouterr().out
    # the end user id is kept: replays need it
    assert end_user_id in everything

    report = tmp_path / "drift.json"
    assert main(["drift", str(out), "--json", str(report)]) == 0
    result = json.loads(report.read_text())
    assert result["replayed"] == len(files)
    assert result["breaking"] == 0, result["findings"][:3]


def test_record_usage_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FISKIL_CLIENT_SECRET", raising=False)
    assert main(["record", "--out", str(tmp_path / "x"), "--sandbox-url", "http://127.0.0.1:9"]) == 2
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "old.json").write_text("{}")
    monkeypatch.setenv("FISKIL_CLIENT_ID", "a")
    monkeypatch.setenv("FISKIL_CLIENT_SECRET", "b")
    assert main(["record", "--out", str(tmp_path / "full"), "--sandbox-url", "http://127.0.0.1:9"]) == 2
    assert main(["record", "--out", str(tmp_path / "y"), "--sandbox-url", "ftp://nowhere"]) == 2


def test_exported_mappings_answer_the_sandbox_safe_features_without_the_core(tmp_path: Path) -> None:
    from fakes.wiremock.process import WireMockProcess

    out = tmp_path / "export"
    assert main(["export-mappings", str(out), "--seed", "3"]) == 0
    mappings = list((out / "mappings").glob("*.json"))
    assert len(mappings) >= 20
    for path in mappings:
        mapping = json.loads(path.read_text())
        assert {"request", "response"} <= set(mapping)
    env = json.loads((out / "export.json").read_text())["env"]
    with WireMockProcess(root_dir=out) as wiremock:
        code, output = run_contract_features(wiremock.base_url, env)
    assert code == 0, output[-2000:]
    assert re.search(r"\b2\d passed", output), output[-500:]


def test_export_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("x")
    assert main(["export-mappings", str(tmp_path)]) == 2
