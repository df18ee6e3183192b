"""HttpSubject against scripted adapter answers: the contract is read right, and wrong answers say what to fix."""

from __future__ import annotations

import json

import httpx
import pytest

from harness.adapters.http import WEBHOOK_SECRET_ENV, WEBHOOK_URL_ENV, AdapterContractError, HttpSubject
from harness.adapters.protocol import ConsentView, Subject, UserError
from harness.subjects import SubjectConfig, SubjectSpecError, build_subject, check_subject_spec

BASE = "http://127.0.0.1:9"


def subject_answering(routes: dict[tuple[str, str], httpx.Response], seen: list[httpx.Request] | None = None) -> HttpSubject:
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return routes.get((request.method, request.url.path), httpx.Response(404, json={"error": "no route"}))

    return HttpSubject(BASE, transport=httpx.MockTransport(handler), timeout_s=1)


def test_a_conforming_adapter_is_driven_through_every_operation():
    seen: list[httpx.Request] = []
    subject = subject_answering({
        ("POST", "/end-users"): httpx.Response(200, json={"end_user_id": "eu_1", "extra": "allowed"}),
        ("POST", "/end-users/eu_1/link"): httpx.Response(200, json={"auth_url": "http://127.0.0.1:1/link/abc"}),
        ("POST", "/end-users/eu_1/sync"): httpx.Response(200, json={"status": "error", "message": "try later"}),
        ("GET", "/end-users/eu_1"): httpx.Response(200, json={
            "consents": [{"id": "arr-1", "active": True}], "accounts": 2, "transactions": 7,
            "last_error": {"code": "CONSENT_TIMEOUT", "message": "Please try again"}}),
        ("GET", "/webhook-events"): httpx.Response(200, json={"message_ids": ["m1", "m1"]}),
        ("POST", "/reset"): httpx.Response(204),
    }, seen)
    assert isinstance(subject, Subject)
    assert subject.create_end_user("a@example.com", "A") == "eu_1"
    assert json.loads(seen[-1].content) == {"email": "a@example.com", "name": "A"}
    assert subject.start_link("eu_1", "88888") == "http://127.0.0.1:1/link/abc"
    assert json.loads(seen[-1].content) == {"institution_id": "88888"}
    result = subject.sync("eu_1")
    assert (result.status, result.message) == ("error", "try later")
    state = subject.snapshot("eu_1")
    assert state.consents == [ConsentView("arr-1", True)] and (state.accounts, state.transactions) == (2, 7)
    assert state.last_error == UserError("CONSENT_TIMEOUT", "Please try again")
    assert subject.processed_webhooks() == ["m1", "m1"]
    assert subject.reset() is True


def test_reset_is_optional():
    assert subject_answering({}).reset() is False


@pytest.mark.parametrize(("route", "answer", "call", "needle"), [
    (("POST", "/end-users"), httpx.Response(500, text="boom"), lambda s: s.create_end_user("e@x.io", "E"),
     "POST /end-users answered 500, expected 200"),
    (("POST", "/end-users"), httpx.Response(200, json={"id": "eu_1"}), lambda s: s.create_end_user("e@x.io", "E"),
     "field 'end_user_id'"),
    (("POST", "/end-users/u/link"), httpx.Response(200, json={"auth_url": "javascript:x"}), lambda s: s.start_link("u"),
     "not an http(s) URL"),
    (("POST", "/end-users/u/sync"), httpx.Response(200, json={"status": "done"}), lambda s: s.sync("u"),
     'expected "ok" or "error"'),
    (("GET", "/end-users/u"), httpx.Response(200, json={"consents": [], "accounts": "2", "transactions": 0, "last_error": None}),
     lambda s: s.snapshot("u"), "field 'accounts'"),
    (("GET", "/end-users/u"), httpx.Response(200, json={"consents": [], "accounts": 1, "transactions": 0}),
     lambda s: s.snapshot("u"), "'last_error' is missing"),
    (("GET", "/end-users/u"), httpx.Response(200, text="<html>"), lambda s: s.snapshot("u"), "not with a JSON object"),
    (("GET", "/webhook-events"), httpx.Response(200, json={"ids": []}), lambda s: s.processed_webhooks(), "message_ids"),
])
def test_a_wrong_answer_names_the_endpoint_and_the_expectation(route, answer, call, needle):
    subject = subject_answering({route: answer})
    with pytest.raises(AdapterContractError, match="adapter") as info:
        call(subject)
    assert needle in str(info.value)


def test_an_unreachable_adapter_says_so_quickly():
    subject = HttpSubject("http://127.0.0.1:9", timeout_s=0.5)  # port 9 (discard) is closed on loopback
    with pytest.raises(AdapterContractError, match="cannot reach http://127.0.0.1:9"):
        subject.create_end_user("e@x.io", "E")
    subject.close()


def test_landing_follows_the_apps_own_redirects_and_rejects_server_errors():
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path == "/cb":
            return httpx.Response(302, headers={"location": "/done"})
        return httpx.Response(500 if request.url.path == "/broken" else 200, text="ok")

    subject = HttpSubject(BASE, transport=httpx.MockTransport(handler))
    subject.land(f"{BASE}/cb?code=1")
    assert seen == ["/cb", "/done"]
    with pytest.raises(AdapterContractError, match="answered 500"):
        subject.land(f"{BASE}/broken")


def test_the_partners_webhook_secret_replaces_the_kits_random_one(monkeypatch, tmp_path):
    monkeypatch.setenv(WEBHOOK_URL_ENV, "http://127.0.0.1:8000/webhooks/fiskil")
    monkeypatch.setenv(WEBHOOK_SECRET_ENV, "cGFydG5lci1zZWNyZXQtdmFsdWU=")
    config = SubjectConfig(api_url="http://127.0.0.1:1", client_id="id", client_secret="secret-1", work_dir=tmp_path)
    subject = build_subject("http://127.0.0.1:8000", config)
    subject.harness_config = config
    assert subject.webhook_url == "http://127.0.0.1:8000/webhooks/fiskil"
    assert subject.harness_config.webhook_secret == "cGFydG5lci1zZWNyZXQtdmFsdWU="
    subject.close()


def test_the_subject_spec_accepts_urls_and_refuses_other_credentials(tmp_path):
    check_subject_spec("http://127.0.0.1:8000")  # no error: the URL form is supported
    with pytest.raises(SubjectSpecError, match="http"):
        check_subject_spec("http://")
    first = SubjectConfig(api_url="http://127.0.0.1:1", client_id="id", client_secret="right-secret", work_dir=tmp_path)
    build_subject("http://127.0.0.1:8001", first).close()
    wrong = SubjectConfig(api_url="http://127.0.0.1:1", client_id="id", client_secret="wrong-secret", work_dir=tmp_path)
    with pytest.raises(SubjectSpecError, match="cannot be reconfigured"):
        build_subject("http://127.0.0.1:8001", wrong)
