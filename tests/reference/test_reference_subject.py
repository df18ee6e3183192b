"""ReferenceSubject: the Subject protocol in-process, with the web app served for webhooks."""

from __future__ import annotations

import json

import httpx

from harness.adapters.protocol import Subject
from harness.adapters.reference import ReferenceSubject
from harness.webhooks.signing import SIGNATURE_HEADER, sign
from tests.reference.conftest import WEBHOOK_SECRET
from tests.reference.stand_in import CLIENT_ID, CLIENT_SECRET


def _subject(fiskil, tmp_path, **kw) -> ReferenceSubject:
    return ReferenceSubject(fiskil.base_url, CLIENT_ID, CLIENT_SECRET, WEBHOOK_SECRET, tmp_path,
                            http_timeout=1.0, backoff_base=0.01, **kw)


def test_reference_subject_implements_the_protocol_and_serves_webhooks(fiskil, tmp_path):
    with _subject(fiskil, tmp_path) as subject:
        assert isinstance(subject, Subject)
        user = subject.create_end_user("ref@example.com", "Ref")
        fiskil.add_consent(user, accounts=1, transactions_per_account=2)
        body = json.dumps({"message_id": "m-1", "data": {"event": "consent.received", "end_user_id": user}},
                          separators=(",", ":")).encode()
        response = httpx.post(subject.webhook_url, content=body,
                              headers={SIGNATURE_HEADER: sign(body, WEBHOOK_SECRET)}, timeout=2)
        assert response.status_code == 200
        assert subject.processed_webhooks() == ["m-1"]
        assert subject.snapshot(user).transactions == 2
        assert subject.reset() is True
        assert subject.processed_webhooks() == []
        assert subject.snapshot(user).transactions == 0


def test_close_stops_the_server(fiskil, tmp_path):
    subject = _subject(fiskil, tmp_path)
    url = subject.webhook_url
    subject.close()
    subject.close()     # idempotent
    try:
        httpx.post(url, content=b"{}", timeout=0.5)
        reachable = True
    except httpx.TransportError:
        reachable = False
    assert not reachable


def test_from_env_uses_documented_variables(fiskil, tmp_path):
    env = {"FISKIL_API_URL": fiskil.base_url, "FISKIL_CLIENT_ID": CLIENT_ID,
           "FISKIL_CLIENT_SECRET": CLIENT_SECRET, "FISKIL_WEBHOOK_SECRET": WEBHOOK_SECRET,
           "REFERENCE_DB": str(tmp_path / "x.sqlite3"), "REFERENCE_FAULTS": "no_dedupe",
           "REFERENCE_BACKOFF_BASE": "0.02"}
    with ReferenceSubject.from_env(env) as subject:
        assert subject.settings.faults == {"no_dedupe"}
        assert subject.settings.backoff_base == 0.02
        assert subject.settings.db_path == str(tmp_path / "x.sqlite3")
        assert subject.webhook_url.startswith("http://127.0.0.1:")
