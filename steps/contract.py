"""Steps of the contract features (features/contract): raw requests to the target, answers checked
against the schemas in harness/contract/schemas.

Requests go straight through the shared `http_client` (not `fiskil_api`, which retries 401s and
raises on errors) because the contract is about the raw answer. Nothing random reaches the
request: emails derive from the test's node id, so a run replays identically (export-mappings
relies on that) and a re-run on the sandbox meets the same, cleaned-up, end users.
"""

from __future__ import annotations

import time
import zlib
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from pytest_bdd import given, parsers, then, when

from harness.contract.validation import assert_valid
from harness.target import NEEDS_END_USER

MAX_PAGES = 200  # bounded pagination loops
LINK_REDIRECT = "http://127.0.0.1:9/contract/done"  # never followed: the Link browser stops before it
LINK_CANCEL = "http://127.0.0.1:9/contract/cancel"
AUTH_SESSION_LIFETIME = 5 * 86_400  # https://docs.fiskil.com/data-api/guides/core-concepts/auth-sessions


# --- helpers -------------------------------------------------------------------------------------

def _send(ctx: Any, http_client: httpx.Client, target: Any, method: str, path: str, *, token: str | None = "ctx",
          **kwargs: Any) -> httpx.Response:
    """One raw request; `token="ctx"` uses the scenario's token, None sends no Authorization."""
    headers = dict(kwargs.pop("headers", {}) or {})
    if token == "ctx":
        token = ctx.token
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    url = path if path.startswith("http") else f"{target.base_url}{path}"
    response = http_client.request(method, url, headers=headers, timeout=15, **kwargs)
    ctx.response = response
    ctx.note(f"{method} {urlsplit(url).path} -> {response.status_code}")
    return response


def _answered(what: str, response: httpx.Response) -> str:
    """`<what> answered <status>: <error name>: <error message>`: a failure says why the target
    refused (a schema violation's message names the broken field), not just the status."""
    text = f"{what} answered {response.status_code}"
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        name = body.get("name")
        return f"{text}: {name}: {body['message']}" if isinstance(name, str) else f"{text}: {body['message']}"
    return f"{text}: {response.text[:300]}" if response.text.strip() else text


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise AssertionError(
            f"{response.request.method} {response.request.url.path} answered {response.status_code} "
            f"with a body that is not JSON: {response.text[:200]!r}"
        ) from None


def _email(request: pytest.FixtureRequest, n: int) -> str:
    return f"contract-{zlib.crc32(request.node.nodeid.encode()):08x}-{n}@example.com"


def _token(http_client: httpx.Client, target: Any) -> str:
    response = http_client.post(f"{target.base_url}/v1/token", timeout=15,
                                json={"client_id": target.client_id, "client_secret": target.client_secret})
    assert response.status_code == 200, _answered("POST /v1/token", response) + " (check the credentials)"
    return response.json()["token"]


def _create_end_user(ctx: Any, http_client: httpx.Client, target: Any, fiskil_api: Any, email: str) -> httpx.Response:
    response = _send(ctx, http_client, target, "POST", "/v1/end-users", json={"email": email, "name": "Contract Check"})
    if response.status_code in (200, 201):
        end_user_id = response.json().get("end_user_id")
        if end_user_id:
            fiskil_api.created_end_users.append(end_user_id)  # the sandbox clean-up deletes it
    return response


# --- authentication ------------------------------------------------------------------------------

@given("the API client holds a bearer token")
def hold_token(ctx: Any, http_client: httpx.Client, target: Any) -> None:
    ctx.token = _token(http_client, target)


@when("the API client requests a token with its credentials")
def request_token(ctx: Any, http_client: httpx.Client, target: Any) -> None:
    _send(ctx, http_client, target, "POST", "/v1/token", token=None,
          json={"client_id": target.client_id, "client_secret": target.client_secret})


@when("the API client requests a token with a wrong client secret")
def request_token_wrong_secret(ctx: Any, http_client: httpx.Client, target: Any) -> None:
    _send(ctx, http_client, target, "POST", "/v1/token", token=None,
          json={"client_id": target.client_id, "client_secret": "not-the-client-secret"})


@then(parsers.parse("the token expires in {seconds:d} seconds"))
def token_expires_in(ctx: Any, seconds: int) -> None:
    expires_in = _body(ctx.response).get("expires_in")
    assert expires_in == seconds, f"expires_in is {expires_in!r}, expected {seconds} (15 minutes)"


@when("the API client lists end users without a bearer token")
def list_end_users_without_token(ctx: Any, http_client: httpx.Client, target: Any) -> None:
    _send(ctx, http_client, target, "GET", "/v1/end-users", token=None)


@when("the API client lists end users with a made-up bearer token")
def list_end_users_made_up_token(ctx: Any, http_client: httpx.Client, target: Any) -> None:
    _send(ctx, http_client, target, "GET", "/v1/end-users", token="made-up-token-that-fiskil-never-issued")


@when(parsers.parse("the fake's clock moves {seconds:d} seconds forward"))
def advance_clock(control: Any, seconds: int) -> None:
    control.advance_clock(seconds)


@when("the API client lists end users with that token")
def list_end_users_with_token(ctx: Any, http_client: httpx.Client, target: Any) -> None:
    _send(ctx, http_client, target, "GET", "/v1/end-users")


# --- generic answer checks -----------------------------------------------------------------------

@then(parsers.parse("Fiskil answers with status {status:d}"))
def answers_with_status(ctx: Any, status: int) -> None:
    response = ctx.response
    assert response.status_code == status, (
        _answered(f"{response.request.method} {response.request.url.path}", response) + f" (expected {status})"
    )


@then(parsers.parse('the answer matches the "{schema}" schema'))
def answer_matches_schema(ctx: Any, schema: str) -> None:
    response = ctx.response
    assert_valid(schema, _body(response), what=f"{response.request.method} {response.request.url.path} {response.status_code}")


@then("the answer is a Fiskil error")
def answer_is_error(ctx: Any) -> None:
    response = ctx.response
    assert response.status_code >= 400, f"expected an error, got {response.status_code}"
    assert_valid("any-error.json", _body(response), what=f"{response.request.method} {response.request.url.path} {response.status_code}")


@then(parsers.parse('the answer is an error named "{name}"'))
def answer_is_named_error(ctx: Any, name: str) -> None:
    answer_is_error(ctx)
    actual = _body(ctx.response).get("name")
    assert actual == name, f"error name is {actual!r}, expected {name!r}"


# --- end users -----------------------------------------------------------------------------------

@when("the API client creates an end user")
def create_end_user(ctx: Any, http_client: httpx.Client, target: Any, fiskil_api: Any, request: pytest.FixtureRequest) -> None:
    ctx.email = _email(request, 1)
    response = _create_end_user(ctx, http_client, target, fiskil_api, ctx.email)
    if response.status_code in (200, 201):
        ctx.end_user_id = response.json().get("end_user_id")


@given("the API client has created an end user")
def has_created_end_user(ctx: Any, http_client: httpx.Client, target: Any, fiskil_api: Any, request: pytest.FixtureRequest) -> None:
    create_end_user(ctx, http_client, target, fiskil_api, request)
    assert ctx.response.status_code in (200, 201), _answered("creating an end user", ctx.response)


@when("the API client creates an end user with the same email")
def create_duplicate(ctx: Any, http_client: httpx.Client, target: Any, fiskil_api: Any) -> None:
    _create_end_user(ctx, http_client, target, fiskil_api, ctx.email)


@when("the API client reads that end user")
def read_that_end_user(ctx: Any, http_client: httpx.Client, target: Any) -> None:
    _send(ctx, http_client, target, "GET", f"/v1/end-users/{ctx.end_user_id}")


@when(parsers.parse('the API client reads the end user "{end_user_id}"'))
def read_end_user(ctx: Any, http_client: httpx.Client, target: Any, end_user_id: str) -> None:
    _send(ctx, http_client, target, "GET", f"/v1/end-users/{end_user_id}")


@then("the end user has the email it was created with")
def end_user_email(ctx: Any) -> None:
    assert _body(ctx.response).get("email") == ctx.email, "the end user read back has a different email"


@when("the API client lists end users with that email")
def list_by_email(ctx: Any, http_client: httpx.Client, target: Any) -> None:
    _send(ctx, http_client, target, "GET", "/v1/end-users", params={"email": ctx.email})


@then("the list holds exactly that end user")
def list_holds_end_user(ctx: Any) -> None:
    ids = [item.get("id") for item in _body(ctx.response)]
    assert ids == [ctx.end_user_id], f"expected only the created end user, got {len(ids)} entries"


# --- auth sessions -------------------------------------------------------------------------------

def _create_session(ctx: Any, http_client: httpx.Client, target: Any, institution_id: str | None = None) -> httpx.Response:
    body: dict[str, Any] = {"end_user_id": ctx.end_user_id, "redirect_uri": LINK_REDIRECT, "cancel_uri": LINK_CANCEL}
    if institution_id:
        body["institution_id"] = institution_id
    ctx.session_requested_at = time.time()
    return _send(ctx, http_client, target, "POST", "/v1/auth/session", json=body)


@when("the API client creates an auth session for that end user")
def create_session(ctx: Any, http_client: httpx.Client, target: Any) -> None:
    _create_session(ctx, http_client, target)


@given("the API client has created an auth session for that end user")
def has_session(ctx: Any, http_client: httpx.Client, target: Any) -> None:
    response = _create_session(ctx, http_client, target)
    assert response.status_code in (200, 201), _answered("creating an auth session", response)
    ctx.auth_url = response.json()["auth_url"]


@when(parsers.parse('the API client creates an auth session for that end user at institution "{institution_id}"'))
def create_session_at(ctx: Any, http_client: httpx.Client, target: Any, institution_id: str) -> None:
    _create_session(ctx, http_client, target, institution_id)


@then(parsers.parse("the auth session expires within {days:d} days"))
def session_expiry(ctx: Any, target: Any, days: int) -> None:
    expires_at = _body(ctx.response)["expires_at"]
    now = target.control.info()["now"] if target.control is not None else ctx.session_requested_at
    assert now < expires_at <= now + days * 86_400 + 60, f"expires_at {expires_at} is not within {days} days of {now:.0f}"


@when("the end user completes the Link flow with that session")
def complete_link(ctx: Any, link_browser: Any) -> None:
    ctx.link_result = link_browser.complete(ctx.auth_url, outcome="success")
    assert ctx.link_result.outcome == "redirect", f"the Link flow ended with {ctx.link_result.outcome!r}"


@when("the end user opens the same Link URL again")
def reopen_link(ctx: Any, link_browser: Any) -> None:
    ctx.link_result = link_browser.complete(ctx.auth_url, outcome="success")


@then(parsers.parse('the Link page refuses the session as "{error_type}"'))
def link_refused(ctx: Any, error_type: str) -> None:
    result = ctx.link_result
    assert result.outcome == "error", f"the second use of the session ended with {result.outcome!r}, not a refusal"
    assert result.params.get("error_type") == error_type, f"error type {result.params.get('error_type')!r}"


# --- consents --------------------------------------------------------------------------------------

@given("the API client has an end user with an active banking consent")
def consented_end_user(ctx: Any, http_client: httpx.Client, target: Any, fiskil_api: Any, link_browser: Any,
                       request: pytest.FixtureRequest) -> None:
    ctx.token = _token(http_client, target)
    if not target.is_fake:
        if not target.sandbox_end_user_id:
            pytest.skip(NEEDS_END_USER)
        ctx.end_user_id = target.sandbox_end_user_id
        return
    has_created_end_user(ctx, http_client, target, fiskil_api, request)
    has_session(ctx, http_client, target)
    complete_link(ctx, link_browser)


@when("the API client lists the consents of that end user")
def list_consents(ctx: Any, http_client: httpx.Client, target: Any) -> None:
    _send(ctx, http_client, target, "GET", "/v1/consent", params={"end_user_id": ctx.end_user_id})


@then("the list is empty")
def list_is_empty(ctx: Any) -> None:
    body = _body(ctx.response)
    assert body == [], f"expected an empty list, got {len(body)} entries"


@then("at least one consent is active")
def one_active(ctx: Any) -> None:
    assert any(consent.get("active") is True for consent in _body(ctx.response)), "no consent is active"


# --- institutions --------------------------------------------------------------------------------

@when("the API client lists institutions")
def list_institutions(ctx: Any, http_client: httpx.Client, target: Any) -> None:
    # client_id is a documented required query (https://docs.fiskil.com/data-api/api-reference/institutions)
    _send(ctx, http_client, target, "GET", "/v1/institutions", params={"client_id": target.client_id})
    body = _body(ctx.response)
    ctx.institutions = body.get("institutions", []) if isinstance(body, dict) else body


@when("the API client reads the first listed institution")
def read_first_institution(ctx: Any, http_client: httpx.Client, target: Any) -> None:
    assert ctx.institutions, "the institution list is empty"
    _send(ctx, http_client, target, "GET", f"/v1/institutions/{ctx.institutions[0]['id']}")


@when(parsers.parse('the API client reads the institution "{institution_id}"'))
def read_institution(ctx: Any, http_client: httpx.Client, target: Any, institution_id: str) -> None:
    _send(ctx, http_client, target, "GET", f"/v1/institutions/{institution_id}")


# --- banking data --------------------------------------------------------------------------------

@when(parsers.parse('the API client lists "{path}" for that end user'))
def list_data(ctx: Any, http_client: httpx.Client, target: Any, path: str) -> None:
    _send(ctx, http_client, target, "GET", path, params={"end_user_id": ctx.end_user_id})


@when(parsers.parse('the API client lists "{path}" for that end user with page size {size:d}'))
def list_data_sized(ctx: Any, http_client: httpx.Client, target: Any, path: str, size: int) -> None:
    _send(ctx, http_client, target, "GET", path, params={"end_user_id": ctx.end_user_id, "page[size]": size})


@when(parsers.parse('the API client lists "{path}" without an end user'))
def list_data_without_end_user(ctx: Any, http_client: httpx.Client, target: Any, path: str) -> None:
    _send(ctx, http_client, target, "GET", path)


@then(parsers.parse('the records are under the "{key}" key'))
def records_under_key(ctx: Any, key: str) -> None:
    body = _body(ctx.response)
    assert isinstance(body, dict) and isinstance(body.get(key), list), f"no {key!r} array in the answer"
    assert "data" not in body, "the list must be named after the resource, not 'data'"


@then(parsers.parse('the answer is a Fiskil error or holds at most {limit:d} "{key}"'))
def error_or_capped(ctx: Any, limit: int, key: str) -> None:
    if ctx.response.status_code >= 400:
        answer_is_error(ctx)
        return
    records = _body(ctx.response).get(key) or []
    assert len(records) <= limit, f"{len(records)} {key} on one page, above the cap of {limit}"


@when(parsers.parse('the API client pages through "{path}" {size:d} records at a time'))
def page_through(ctx: Any, http_client: httpx.Client, target: Any, path: str, size: int) -> None:
    ctx.list_path, ctx.pages = path, []
    url: str | None = path
    params: dict[str, Any] | None = {"end_user_id": ctx.end_user_id, "page[size]": size}
    for _ in range(MAX_PAGES):
        response = _send(ctx, http_client, target, "GET", url, params=params)
        assert response.status_code == 200, _answered(f"page {len(ctx.pages) + 1}", response)
        ctx.pages.append(_body(response))
        url = (ctx.pages[-1].get("links") or {}).get("next")
        params = None  # links.next is a full URI carrying the cursor
        if not url:
            break
    else:
        raise AssertionError(f"links.next did not end within {MAX_PAGES} pages")
    ctx.full_page = _body(_send(ctx, http_client, target, "GET", path, params={"end_user_id": ctx.end_user_id, "page[size]": 1000}))


@then(parsers.parse('every page matches the "{schema}" schema'))
def pages_match(ctx: Any, schema: str) -> None:
    for n, page in enumerate(ctx.pages, start=1):
        assert_valid(schema, page, what=f"GET {ctx.list_path} page {n}")


@then("every next link is a full URL")
def links_absolute(ctx: Any) -> None:
    for page in ctx.pages:
        for rel in ("next", "prev"):
            link = (page.get("links") or {}).get(rel)
            if link:
                parts = urlsplit(link)
                assert parts.scheme in ("http", "https") and parts.netloc, f"links.{rel} is not a full URI: {link!r}"


def _ids(records: list[dict[str, Any]]) -> list[str]:
    return [record.get("fiskil_id") or record.get("transaction_id") for record in records]


@then("the pages hold the same transactions in the same order as one page of 1000")
def pages_equal_full(ctx: Any) -> None:
    paged = [i for page in ctx.pages for i in _ids(page.get("transactions") or [])]
    full = _ids(ctx.full_page.get("transactions") or [])
    assert len(ctx.pages) > 1 or len(full) <= 5, "expected more than one page of 5"
    assert paged == full, f"paging gave {len(paged)} transactions, one big page {len(full)} (or a different order)"


@then("no transaction appears twice")
def no_duplicates(ctx: Any) -> None:
    paged = [i for page in ctx.pages for i in _ids(page.get("transactions") or [])]
    assert len(paged) == len(set(paged)), "a transaction appears on more than one page"
