"""Pagination cursors are tamper-evident: only a cursor this core issued for this endpoint is accepted;
anything else (garbage, a forged or edited cursor, one from another endpoint) gets the same 400."""

from __future__ import annotations

import base64
import json

import pytest


def _b64(value: bytes) -> str:
    return base64.urlsafe_b64encode(value).rstrip(b"=").decode()


FORGED = [json.dumps(value).encode() for value in (["a", "b"], [1], [None], [{}], [1, 2, 3], [], [[[[]]]])]
FORGED.append(b"[" * 5000 + b"]" * 5000)


@pytest.mark.parametrize("payload", FORGED, ids=lambda p: p[:20].decode())
@pytest.mark.parametrize("parameter", ["page[after]", "page[before]"])
def test_forged_cursors_get_the_same_400_as_garbage(api, linked, payload: bytes, parameter: str) -> None:
    for value in (_b64(payload), _b64(payload) + "." + _b64(b"0" * 16)):
        response = api.get("/v1/banking/transactions",
                           params={"end_user_id": linked["end_user_id"], parameter: value})
        assert response.status_code == 400, (value, response.text)
        assert response.json()["message"] == f"{parameter} is not a cursor this API issued; use links.next/links.prev"


def test_a_cursor_from_another_endpoint_or_edited_is_refused(api, linked) -> None:
    params = {"end_user_id": linked["end_user_id"], "page[size]": 2}
    next_link = api.get("/v1/banking/transactions", params=params).json()["links"]["next"]
    cursor = next_link.split("page[after]=")[1].split("&")[0]
    assert api.get("/v1/banking/transactions", params={**params, "page[after]": cursor}).status_code == 200
    other = api.get("/v1/banking/payees", params={**params, "page[after]": cursor})
    assert other.status_code == 400 and "not a cursor this API issued" in other.json()["message"]
    payload, mac = cursor.split(".")
    edited = _b64(base64.urlsafe_b64decode(payload + "==").replace(b"-", b"-0")) + "." + mac
    assert api.get("/v1/banking/transactions", params={**params, "page[after]": edited}).status_code == 400
    assert api.get("/v1/banking/transactions", params={**params, "page[after]": "x" * 5000}).status_code == 400


def test_issued_cursors_keep_working_across_the_whole_listing(api, linked) -> None:
    params = {"end_user_id": linked["end_user_id"], "page[size]": 7}
    seen: list[str] = []
    page = api.get("/v1/banking/transactions", params=params).json()
    while True:
        seen += [t["fiskil_id"] for t in page["transactions"]]
        if "next" not in page["links"]:
            break
        page = api.client.get(page["links"]["next"], headers=api.auth).json()
    assert len(seen) == len(set(seen)) and len(seen) >= 30


def test_the_cursor_key_follows_the_seed() -> None:
    # The same seed signs the same cursors (repeatable exports); another seed's cursors are refused.
    from fakes.core.app import CoreConfig, build_core

    same, other = build_core(CoreConfig(seed=11)), build_core(CoreConfig(seed=12))
    assert same.cursor_key == build_core(CoreConfig(seed=11)).cursor_key
    assert same.cursor_key != other.cursor_key
    other.reset(seed=11)
    assert other.cursor_key == same.cursor_key
