"""The /v1 routes: token, end users, auth sessions, consents, institutions and banking data.

Every route runs through `serve()`: version header, bearer token, rate limit, the handler, the
route's error shape, then the on_response observers. Facts cite docs/sources.md sources.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, quote, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route

from fakes.core import assumptions as A
from fakes.core import data, jsonbody
from fakes.core.errors import FiskilError, Shape, bad_request, error_response, simple_error
from fakes.core.state import BANKING_PERMISSIONS, ENERGY_PERMISSIONS, INSTITUTIONS, INSTITUTIONS_BY_ID, AuthSession, \
    EndUser, Token

if TYPE_CHECKING:
    from fakes.core.app import Core

log = logging.getLogger("fakes.core.api")
Handler = Callable[["Core", "Call"], Response]
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
E164 = re.compile(A.E164_PATTERN)


@dataclass
class Call:
    """What a handler gets: the request, its raw body and the path parameters."""

    request: Request
    body: bytes
    base_url: str  # the public base URL for links this response hands out

    @property
    def params(self) -> dict[str, str]:
        return self.request.path_params

    def query(self, name: str) -> str | None:
        return self.request.query_params.get(name)

    def json(self) -> dict[str, Any]:
        """The JSON object body, or a 400 that says what is wrong."""
        if not self.body.strip():
            raise bad_request("request body is empty: send a JSON object")
        try:
            value = jsonbody.parse(self.body)
        except jsonbody.BodyError as error:
            raise bad_request(f"request {error}") from None
        if not isinstance(value, dict):
            raise bad_request("request body must be a JSON object")
        return value


def _string_field(body: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise bad_request(f"{name} is required")
        return None
    if not isinstance(value, str):
        raise bad_request(f"{name} must be a string")
    if required and not value.strip():
        raise bad_request(f"{name} must not be empty")
    return value


# --- the request pipeline ----------------------------------------------------------------------
def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _authorise(core: Core, request: Request) -> str:
    """Check the bearer on the core's clock; count it against after_requests and the rate limit."""
    state, now = core.state, core.clock.now()
    value = _bearer(request)
    token = state.tokens.get(value) if value else None
    if token is None:
        raise FiskilError(401, None, "missing or unknown bearer token: request one from POST /v1/token")
    if token.revoked or token.expires_at <= now:
        raise FiskilError(401, None, "bearer token has expired: request a new one from POST /v1/token")
    if state.expire_after_requests is not None:
        if state.expire_after_requests <= 0:
            for live in state.tokens.values():
                live.revoked = True
            state.expire_after_requests = None
            raise FiskilError(401, None, "bearer token has expired: request a new one from POST /v1/token")
        state.expire_after_requests -= 1
    limit = state.rate_limit
    if limit is not None:
        start, count = state.rate_windows.get(token.value, (now, 0))
        if now - start >= limit.window_seconds:
            start, count = now, 0
        if count >= limit.requests:
            # Only the existence of 429 is documented (https://docs.fiskil.com/data-api/api-reference/errors);
            # its body takes the route family's error shape (assumption, see A.RATE_LIMITED_NAME)
            raise FiskilError(429, A.RATE_LIMITED_NAME, f"rate limit of {limit.requests} requests per "
                              f"{limit.window_seconds:g}s exceeded; retry later",
                              headers={"Retry-After": str(limit.retry_after)})
        state.rate_windows[token.value] = (start, count + 1)
    return token.value


#: How much of a rejected header value an error message repeats.
ECHO_LIMIT = 40


def _echo(value: str) -> str:
    """A client's value as an error message shows it: quoted, and cut short when long."""
    return repr(value) if len(value) <= ECHO_LIMIT else f"{value[:ECHO_LIMIT]!r}... ({len(value)} characters)"


def _check_version(request: Request) -> None:
    # v1|v2 only (https://docs.fiskil.com/data-api/guides/core-concepts/versioning); other values: assumption.
    # Every copy of the header counts: a second, unsupported one is not hidden behind a good first one.
    for version in request.headers.getlist("x-fiskil-version"):
        if version not in A.ACCEPTED_VERSIONS:
            raise FiskilError(A.INVALID_VERSION_STATUS, A.INVALID_VERSION_NAME,
                              f"X-Fiskil-Version must be one of {', '.join(A.ACCEPTED_VERSIONS)}, "
                              f"not {_echo(version)}")


def serve(core: Core, request: Request, body: bytes, template: str, shape: Shape, auth: bool,
          handler: Handler) -> Response:
    """Run one /v1 request through checks, handler, error shaping and observers."""
    base = core.public_base(f"{request.url.scheme}://{request.url.netloc}")
    try:
        with core.lock:
            core.sweep()
            _check_version(request)
            if auth:
                _authorise(core, request)
            response = handler(core, Call(request, body, base))
    except FiskilError as error:
        response = error_response(shape, error, core.state.ids)
    except Exception as error:  # noqa: BLE001 - never a stack trace to the client
        log.exception("unhandled error in %s %s", request.method, template)
        response = error_response(shape, FiskilError(500, None, f"internal error ({type(error).__name__})"),
                                  core.state.ids)
    core.flush_events()
    return _observed(core, request, template, shape, response)


def _observed(core: Core, request: Request, template: str, shape: Shape, response: Response) -> Response:
    """Run the on_response observers; a complaint becomes a 500 `contract_violation` in the route's
    error shape (so the answer itself still fits the route's contract), and is logged."""
    from fakes.core.app import ServedResponse

    served = ServedResponse(request.method, request.url.path, template, response.status_code,
                            {key: value for key, value in response.headers.items()}, bytes(response.body))
    try:
        core.observe(served)
    except Exception as violation:  # noqa: BLE001 - an observer's complaint becomes the response
        log.error("contract violation: %s", violation)
        return error_response(shape, FiskilError(500, "contract_violation", str(violation)), core.state.ids)
    return response


def v1_route(core: Core, path: str, handler: Handler, methods: list[str], shape: Shape,
             auth: bool = True) -> Route:
    async def endpoint(request: Request) -> Response:
        body = await request.body()
        return await run_in_threadpool(serve, core, request, body, path, shape, auth, handler)

    return Route(path, endpoint, methods=methods, name=f"{methods[0]} {path}")


# --- token -------------------------------------------------------------------------------------
def _b64(value: bytes) -> str:
    return base64.urlsafe_b64encode(value).rstrip(b"=").decode()


def create_token(core: Core, call: Call) -> Response:
    # POST /v1/token with JSON client_id + client_secret (https://docs.fiskil.com/data-api/api-reference/authentication)
    body = call.json()
    client_id = _string_field(body, "client_id", required=True)
    client_secret = _string_field(body, "client_secret", required=True)
    good_id = hmac.compare_digest(client_id.encode(), core.config.client_id.encode())
    good_secret = hmac.compare_digest(client_secret.encode(), core.config.client_secret.encode())
    if not (good_id and good_secret):
        raise FiskilError(A.TOKEN_BAD_CREDENTIALS_STATUS, A.TOKEN_BAD_CREDENTIALS_NAME,
                          "invalid client credentials")
    ttl = core.config.token_ttl_seconds
    expires_at = core.clock.now() + ttl
    # JWT-like opaque string; Fiskil's example decodes to JSON with TokenUUID and KeyID
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = _b64(json.dumps({"TokenUUID": str(uuid.uuid4()), "KeyID": str(uuid.uuid5(uuid.NAMESPACE_URL, client_id)),
                              "exp": int(expires_at)}).encode())
    value = f"{header}.{claims}.{_b64(secrets.token_bytes(32))}"
    core.state.tokens[value] = Token(value, expires_at)
    # {"token","token_type","expires_in":900} per https://docs.fiskil.com/data-api/guides/getting-started/authentication
    return JSONResponse({"token": value, "token_type": "Bearer", "expires_in": ttl})


# --- end users ---------------------------------------------------------------------------------
def _validated_contact(body: dict[str, Any]) -> dict[str, str | None]:
    fields = {name: _string_field(body, name) for name in ("email", "name", "phone", "abn")}
    if fields["email"] is not None and not EMAIL_PATTERN.match(fields["email"]):
        raise bad_request(f"email {fields['email']!r} is not a valid email address")
    if fields["phone"] is not None and not E164.match(fields["phone"]):
        raise bad_request("phone must be in E.164 format, e.g. +61412345678")
    return fields


def _email_taken(core: Core, email: str | None, except_id: str | None = None) -> bool:
    if email is None:
        return False
    return any(user.email and user.email.lower() == email.lower() and user.id != except_id
               for user in core.state.end_users.values())


def _end_user(core: Core, end_user_id: str) -> EndUser:
    user = core.state.end_users.get(end_user_id)
    if user is None:
        # 404 end_user_not_found (https://docs.fiskil.com/data-api/api-reference/getEndUserById)
        raise FiskilError(404, "end_user_not_found", "end user not found")
    return user


def create_end_user(core: Core, call: Call) -> Response:
    # https://docs.fiskil.com/data-api/api-reference/createEndUser: 200 {"end_user_id"}; 400 end_user_already_exists
    fields = _validated_contact(call.json())
    if _email_taken(core, fields["email"]):
        raise FiskilError(400, "end_user_already_exists", "user with that email already exists")
    user = EndUser(id=core.state.ids.uuid(), **fields)
    core.state.end_users[user.id] = user
    return JSONResponse({"end_user_id": user.id})


def list_end_users(core: Core, call: Call) -> Response:
    # Bare array with optional ?email= filter (https://docs.fiskil.com/end-user)
    email = call.query("email")
    users = [user.to_json() for user in core.state.end_users.values()
             if email is None or (user.email or "").lower() == email.lower()]
    return JSONResponse(users)


def get_end_user(core: Core, call: Call) -> Response:
    return JSONResponse(_end_user(core, call.params["id"]).to_json())


def update_end_user(core: Core, call: Call) -> Response:
    # Update is POST and answers 204 (https://docs.fiskil.com/data-api/api-reference/updateEndUser)
    user = _end_user(core, call.params["id"])
    fields = _validated_contact(call.json())
    if _email_taken(core, fields["email"], except_id=user.id):
        raise FiskilError(400, "end_user_already_exists", "user with that email already exists")
    for name, value in fields.items():
        if value is not None:
            setattr(user, name, value)
    return Response(status_code=204)


def delete_end_user(core: Core, call: Call) -> Response:
    user = _end_user(core, call.params["id"])
    if A.DELETE_END_USER_REVOKES_CONSENTS:
        for consent in core.state.consents.values():
            if consent.end_user_id == user.id:
                core.end_consent(consent, A.TERMINATION_REASON_REVOKED)
    del core.state.end_users[user.id]
    return Response(status_code=A.DELETE_END_USER_STATUS)


# --- auth sessions -----------------------------------------------------------------------------
def _optional_uri(body: dict[str, Any], name: str) -> str:
    value = _string_field(body, name) or ""
    if value and urlsplit(value).scheme not in ("http", "https"):
        raise bad_request(f"{name} must be an absolute http(s) URL, got {value!r}")
    return value


def create_auth_session(core: Core, call: Call) -> Response:
    # https://docs.fiskil.com/data-api/api-reference/addAuthSession
    body = call.json()
    end_user_id = _string_field(body, "end_user_id", required=True)
    _end_user(core, end_user_id)
    institution_id = _string_field(body, "institution_id")
    if institution_id is not None and institution_id not in INSTITUTIONS_BY_ID:
        raise FiskilError(400, "invalid_institution_id", f"institution {institution_id!r} does not exist")
    permissions = body.get("permissions")
    known = set(BANKING_PERMISSIONS) | set(ENERGY_PERMISSIONS)
    if permissions is not None and (not isinstance(permissions, list) or not permissions
                                    or not all(isinstance(p, str) and p in known for p in permissions)):
        raise bad_request(f"permissions must be a non-empty list of: {', '.join(sorted(known))}")
    now = core.clock.now()
    session = AuthSession(
        session_id=core.state.ids.uuid(), id=core.state.ids.hex(13), end_user_id=end_user_id,
        redirect_uri=_optional_uri(body, "redirect_uri"), cancel_uri=_optional_uri(body, "cancel_uri"),
        institution_id=institution_id, permissions=permissions, created_at=now,
        expires_at=now + core.AUTH_SESSION_TTL,
    )
    if institution_id is not None:
        session.chosen_institution = institution_id
        session.step = "login"
    core.state.sessions[session.session_id] = session
    auth_url = f"{call.base_url}{A.LINK_PATH}?{urlencode({'sess_id': session.session_id})}"
    return JSONResponse({"auth_url": auth_url, "expires_at": int(session.expires_at), "id": session.id,
                         "session_id": session.session_id})


# --- consents ----------------------------------------------------------------------------------
def _bool_query(call: Call, name: str) -> bool | None:
    value = call.query(name)
    if value is None:
        return None
    if value.lower() not in ("true", "false"):
        raise bad_request(f"{name} must be true or false, got {value!r}")
    return value.lower() == "true"


def list_consents(core: Core, call: Call) -> Response:
    # Bare array; end_user_id and active filters (https://docs.fiskil.com/data-api/api-reference/listConsents)
    end_user_id, active = call.query("end_user_id"), _bool_query(call, "active")
    consents = sorted(core.state.consents.values(), key=lambda consent: (consent.created_at, consent.arrangement_id))
    return JSONResponse([core.consent_json(consent) for consent in consents
                         if (end_user_id is None or consent.end_user_id == end_user_id)
                         and (active is None or consent.active == active)])


def revoke_consent(core: Core, call: Call) -> Response:
    # 204 even for unknown ids (secondary source, docs/sources.md §3)
    consent = core.state.consents.get(call.params["arrangement_id"])
    if consent is not None:
        core.end_consent(consent, A.TERMINATION_REASON_REVOKED)
    return Response(status_code=204)


# --- institutions ------------------------------------------------------------------------------
def list_institutions(core: Core, call: Call) -> Response:
    # Fields per https://docs.fiskil.com/data-api/api-reference/institutions; bare array (assumption)
    industry = call.query("industry")
    if industry is not None and industry not in ("banking", "energy"):
        raise bad_request(f"industry must be banking or energy, got {industry!r}")
    return JSONResponse([institution.to_json() for institution in INSTITUTIONS
                         if industry is None or institution.industry == industry])


def get_institution(core: Core, call: Call) -> Response:
    institution = INSTITUTIONS_BY_ID.get(call.params["id"])
    if institution is None:
        raise FiskilError(404, "institution_not_found", "institution not found")
    return JSONResponse(institution.to_json())


# --- banking data ------------------------------------------------------------------------------
def _granted_arrangements(core: Core, call: Call, permission: str) -> tuple[set[str] | None, str]:
    """The arrangements whose active consent grants `permission` for the end user; None when the
    no-consent policy says to answer with an empty list."""
    end_user_id = call.query("end_user_id")
    if not end_user_id:
        # Documented example error (https://docs.fiskil.com/data-api/api-reference/errors)
        raise FiskilError(400, "InvalidRequest", "The end_user_id parameter is required")
    if end_user_id not in core.state.end_users:
        raise FiskilError(A.DATA_UNKNOWN_END_USER_STATUS, A.DATA_UNKNOWN_END_USER_NAME, "end user not found")
    active = [consent for consent in core.state.consents.values()
              if consent.end_user_id == end_user_id and consent.active]
    granting = [consent for consent in active if permission in consent.permissions]
    if not granting:
        if core.config.no_consent_policy == "empty":
            return None, end_user_id
        name = A.NO_PERMISSION_NAME if active else A.NO_CONSENT_NAME
        message = (f"no active consent grants the {permission!r} permission" if active
                   else "the end user has no active consent")
        raise FiskilError(A.NO_CONSENT_STATUS, name, message)
    now = core.clock.now()
    for consent in granting:
        consent.last_accessed = now
    return {consent.arrangement_id for consent in granting}, end_user_id


# Cursors are tamper-evident: base64url(JSON key) "." base64url(HMAC-SHA256 over the route and the key,
# with a key random per core). Fiskil documents cursors only as opaque strings
# (https://docs.fiskil.com/data-api/api-reference/pagination); ours are what a forged, edited or
# other-endpoint cursor cannot pass, so only cursors this core handed out reach the keyset compare.
CURSOR_MAC_BYTES = 16
MAX_CURSOR_LENGTH = 1024


def _cursor_mac(core: Core, route: str, payload: bytes) -> bytes:
    return hmac.new(core.cursor_key, route.encode() + b"\n" + payload, hashlib.sha256).digest()[:CURSOR_MAC_BYTES]


def _encode_cursor(core: Core, route: str, key: tuple) -> str:
    payload = json.dumps(list(key), separators=(",", ":")).encode()
    return f"{_b64(payload)}.{_b64(_cursor_mac(core, route, payload))}"


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _decode_cursor(core: Core, route: str, value: str, parameter: str) -> tuple:
    """The keyset boundary inside a cursor this core issued for this route, else the same 400 for any
    garbage, forgery or cursor from another endpoint."""
    problem = bad_request(f"{parameter} is not a cursor this API issued; use links.next/links.prev")
    payload_text, dot, mac_text = value.partition(".")
    if len(value) > MAX_CURSOR_LENGTH or not dot:
        raise problem
    try:
        payload, mac = _unb64(payload_text), _unb64(mac_text)
    except (ValueError, TypeError):  # binascii.Error is a ValueError
        raise problem from None
    if not hmac.compare_digest(mac, _cursor_mac(core, route, payload)):
        raise problem
    return tuple(json.loads(payload))  # made by _encode_cursor from this route's own sort key


def _page_size(call: Call) -> int:
    raw = call.query("page[size]")
    if raw is None:
        return A.DEFAULT_PAGE_SIZE
    try:
        size = int(raw)
    except ValueError:
        raise bad_request(f"page[size] must be an integer, got {raw!r}") from None
    if size < 1 or size > A.MAX_PAGE_SIZE:
        # Capped at 1000 (https://docs.fiskil.com/data-api/api-reference/pagination); above: 400 (assumption)
        raise bad_request(f"page[size] must be between 1 and {A.MAX_PAGE_SIZE}, got {size}")
    return size


def _page_link(call: Call, cursor_param: str, cursor: str) -> str:
    params = [(key, value) for key, value in call.request.query_params.multi_items()
              if key not in ("page[after]", "page[before]")]
    params.append((cursor_param, cursor))
    query = urlencode(params, quote_via=quote, safe="[]")
    return f"{call.base_url}{call.request.url.path}?{query}"


def paginate(core: Core, call: Call, route: str, root: str, items: list[dict[str, Any]],
             key: Callable[[dict], tuple]) -> Response:
    """Keyset pagination over `items` in a stable order; links are full URLs on the public base."""
    size = _page_size(call)
    after, before = call.query("page[after]"), call.query("page[before]")
    if after and before:
        raise bad_request("send page[after] or page[before], not both")
    ordered = sorted(items, key=key)
    keys = [key(item) for item in ordered]
    if after:
        boundary = _decode_cursor(core, route, after, "page[after]")
        start = next((index for index, item_key in enumerate(keys) if item_key > boundary), len(keys))
        end = min(start + size, len(keys))
    elif before:
        boundary = _decode_cursor(core, route, before, "page[before]")
        end = next((index for index, item_key in enumerate(keys) if item_key >= boundary), len(keys))
        start = max(0, end - size)
    else:
        start, end = 0, min(size, len(keys))
    links: dict[str, str] = {}
    if end < len(keys) and end > start:
        links["next"] = _page_link(call, "page[after]", _encode_cursor(core, route, keys[end - 1]))
    if start > 0 and end > start:
        links["prev"] = _page_link(call, "page[before]", _encode_cursor(core, route, keys[start]))
    return JSONResponse({root: ordered[start:end], "links": links})


def _by_id(record: dict[str, Any]) -> tuple:
    return (record["fiskil_id"],)


def _newest_first(record: dict[str, Any]) -> tuple:
    stamp = record.get("posting_date_time") or record.get("execution_date_time")
    return (-data.parse_rfc3339(stamp), record["fiskil_id"])


def _data_endpoint(permission: str, root: str, table: str, key: Callable[[dict], tuple] = _by_id,
                   filters: Callable[[Call], Callable[[dict], bool]] | None = None) -> Handler:
    def handler(core: Core, call: Call) -> Response:
        arrangements, end_user_id = _granted_arrangements(core, call, permission)
        keep = filters(call) if filters else (lambda record: True)
        records = [] if arrangements is None else [
            record for record in getattr(core.state.user_data(end_user_id), table).values()
            if record["arrangement_id"] in arrangements and keep(record)]
        return paginate(core, call, call.request.url.path, root, records, key)

    return handler


def _account_filter(call: Call) -> Callable[[dict], bool]:
    wanted = set(call.request.query_params.getlist("account_id"))
    return lambda record: not wanted or record.get("account_id") in wanted


def _transaction_filter(call: Call) -> Callable[[dict], bool]:
    # account_id, from, to (posted time first, else execution time), status, secondary_category
    # (https://docs.fiskil.com/data-api/api-reference/getBankingTransactions)
    by_account = _account_filter(call)
    bounds = {}
    for name in ("from", "to"):
        raw = call.query(name)
        if raw is not None:
            try:
                bounds[name] = data.parse_rfc3339(raw)
            except ValueError:
                raise bad_request(f"{name} must be an RFC3339 date-time, e.g. 2024-01-31T00:00:00Z; got {raw!r}") from None
    status = call.query("status")
    if status is not None and status not in ("PENDING", "POSTED"):
        raise bad_request(f"status must be PENDING or POSTED, got {status!r}")
    categories = set(call.request.query_params.getlist("secondary_category"))

    def keep(record: dict[str, Any]) -> bool:
        if not by_account(record) or (status and record["status"] != status):
            return False
        if categories and record["category"]["secondary_category"] not in categories:
            return False
        stamp_text = record.get("posting_date_time") or record.get("execution_date_time")
        if bounds and not stamp_text:
            return False
        stamp = data.parse_rfc3339(stamp_text) if stamp_text else 0.0
        return ("from" not in bounds or stamp >= bounds["from"]) and ("to" not in bounds or stamp <= bounds["to"])

    return keep


# --- unknown paths, wrong methods and the exception handlers ----------------------------------------
def _shown_path(path: str) -> str:
    return path if len(path) <= 200 else path[:200] + "..."


def method_not_allowed(method: str, path: str, allowed: str | None = None) -> FiskilError:
    """The one 405 of the fake (core, Link page, control API and the edge's rule say the same)."""
    return FiskilError(405, A.METHOD_NOT_ALLOWED_NAME, f"{method} is not allowed on {_shown_path(path)}",
                       headers={"Allow": allowed} if allowed else None, shape="simple")


def _unknown_route(core: Core) -> Handler:
    def handler(_core: Core, call: Call) -> Response:
        allowed: set[str] = set()
        for route in core.app.routes:
            if isinstance(route, Route) and route.path != "/v1/{rest:path}":
                match, _ = route.matches(call.request.scope)
                if match == Match.PARTIAL:
                    allowed |= route.methods or set()
        if allowed:
            raise method_not_allowed(call.request.method, call.request.url.path, ", ".join(sorted(allowed)))
        raise FiskilError(404, None, f"no such endpoint: {call.request.method} {_shown_path(call.request.url.path)}")

    return handler


def exception_handlers() -> dict[Any, Callable]:
    """Outside /v1 (e.g. unknown root paths, a wrong method on the Link page or the control API):
    Fiskil-shaped JSON, never HTML or a stack trace."""

    async def http_error(request: Request, error: HTTPException) -> Response:
        method, path = request.method, request.url.path
        if error.status_code == 405:
            problem = method_not_allowed(method, path, (error.headers or {}).get("Allow"))
        elif error.status_code == 404:
            problem = FiskilError(404, "NotFound", f"no such endpoint: {method} {_shown_path(path)}")
        else:
            problem = FiskilError(error.status_code, None, str(error.detail), headers=error.headers)
        return error_response("simple", problem)

    async def server_error(request: Request, error: Exception) -> Response:
        log.error("unhandled error at %s: %s", request.url.path, type(error).__name__)
        return simple_error(500, "InternalServerError", "internal error")

    return {HTTPException: http_error, Exception: server_error}


def routes(core: Core) -> list[Route]:
    goa: Shape = "goa"
    simple: Shape = "simple"
    return [
        v1_route(core, "/v1/token", create_token, ["POST"], goa, auth=False),
        v1_route(core, "/v1/end-users", create_end_user, ["POST"], goa),
        v1_route(core, "/v1/end-users", list_end_users, ["GET"], goa),
        v1_route(core, "/v1/end-users/{id}", get_end_user, ["GET"], goa),
        v1_route(core, "/v1/end-users/{id}", update_end_user, ["POST"], goa),
        v1_route(core, "/v1/end-users/{id}", delete_end_user, ["DELETE"], goa),
        v1_route(core, "/v1/auth/session", create_auth_session, ["POST"], goa),
        v1_route(core, "/v1/consent", list_consents, ["GET"], goa),
        v1_route(core, "/v1/consent/{arrangement_id}", revoke_consent, ["DELETE"], goa),
        v1_route(core, "/v1/institutions", list_institutions, ["GET"], simple, auth=A.INSTITUTIONS_REQUIRE_TOKEN),
        v1_route(core, "/v1/institutions/{id}", get_institution, ["GET"], simple, auth=A.INSTITUTIONS_REQUIRE_TOKEN),
        v1_route(core, "/v1/banking/accounts", _data_endpoint("accounts", "accounts", "accounts"), ["GET"], simple),
        v1_route(core, "/v1/banking/balances",
                 _data_endpoint("balances", "balances", "balances", filters=_account_filter), ["GET"], simple),
        v1_route(core, "/v1/banking/transactions",
                 _data_endpoint("transactions", "transactions", "transactions", key=_newest_first,
                                filters=_transaction_filter), ["GET"], simple),
        v1_route(core, "/v1/banking/payees", _data_endpoint("payees", "payees", "payees"), ["GET"], simple),
        # (sic) triple "c": https://docs.fiskil.com/direct-debits
        v1_route(core, "/v1/banking/acccounts/direct-debits",
                 _data_endpoint("direct_debits", "direct_debits", "direct_debits", filters=_account_filter),
                 ["GET"], simple),
        v1_route(core, "/v1/banking/payments/scheduled",
                 _data_endpoint("scheduled_payments", "scheduled_payments", "scheduled_payments"), ["GET"], simple),
        v1_route(core, "/v1/{rest:path}", _unknown_route(core),
                 ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"], simple, auth=False),
    ]
