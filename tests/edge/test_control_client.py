"""ControlClient keeps secrets off the edge: a webhook secret goes to the core's own URL or nowhere."""

from __future__ import annotations

import httpx
import pytest

from fakes.control_client import ControlClient, ControlError


def test_a_secret_is_never_sent_through_the_edge_when_the_core_url_is_unknown() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url}")
        return httpx.Response(200, json={"seed": 0})   # an info without core_url

    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        control = ControlClient("http://127.0.0.1:9999", client)
        with pytest.raises(ControlError, match="names no core_url"):
            control.set_webhook("http://127.0.0.1:8000/hook", "c2VjcmV0LWtleQ==")
    assert seen == ["GET http://127.0.0.1:9999/__harness/info"]   # no PUT anywhere


def test_a_known_core_url_receives_the_secret() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url}")
        return httpx.Response(200, json={"secret_set": True})

    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        ControlClient("http://127.0.0.1:9999", client, core_url="http://127.0.0.1:7777").set_webhook(
            "http://127.0.0.1:8000/hook", "c2VjcmV0LWtleQ==")
    assert seen == ["PUT http://127.0.0.1:7777/__harness/webhook"]


def test_a_core_without_an_edge_is_its_own_core_url() -> None:
    # an in-process core (no server, no edge) reports core_url and public_base_url as null
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url}")
        if request.url.path == "/__harness/info":
            return httpx.Response(200, json={"core_url": None, "public_base_url": None, "seed": 0})
        return httpx.Response(200, json={"secret_set": True})

    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        ControlClient("http://testserver", client).set_webhook("http://127.0.0.1:8000/hook", "c2VjcmV0LWtleQ==")
    assert seen[-1] == "PUT http://testserver/__harness/webhook"
