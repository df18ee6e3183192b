"""The control API under /__harness/: how steps and testers steer the fake (clock, tokens, Link
outcomes, consents, data, rate limit, webhook target and its delivery log). JSON in, JSON out; bad
input gets a 400 {id,name,message} that says what to fix. Nothing here exists at the real Fiskil."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fakes.core import assumptions as A
from fakes.core import data, faults_control, jsonbody
from fakes.core.errors import FiskilError, error_response
from fakes.core.state import LINK_OUTCOMES, RateLimit, WebhookTarget
from harness.webhooks.signing import SigningSecretError, decode_secret

if TYPE_CHECKING:
    from fakes.core.app import Core

PREFIX = "/__harness"
ControlHandler = Callable[["Core", dict[str, Any], dict[str, str]], Any]

# Bounds of the harness's own making (nothing Fiskil documents): each keeps one request from making
# the fake unusable for everyone else (docs/fake.md, "Control API limits").
#: The fake clock may run at most 100 years ahead of real time (dates stay printable as RFC3339).
MAX_CLOCK_AHEAD_SECONDS = 100 * 365 * 86_400
#: Transactions generated per newly linked account (100,000 took ~5 s and ~600 MB).
MAX_TRANSACTIONS_PER_ACCOUNT = 10_000
#: Transactions one data/transactions call may add, modify or remove.
MAX_TRANSACTIONS_PER_CHANGE = 10_000
#: Seeds are unsigned 63-bit integers (as `fiskil-harness fake --seed` accepts).
MAX_SEED = 2**63 - 1
MAX_URL_LENGTH = 2048
#: A Retry-After beyond a day is no test anyone waits for.
MAX_RETRY_AFTER_SECONDS = 86_400


def _invalid(message: str) -> FiskilError:
    return FiskilError(400, "invalid_control_request", message)


def _number(body: dict[str, Any], name: str, *, minimum: float = 0, maximum: float | None = None,
            integer: bool = False, required: bool = True) -> Any:
    """A finite number (or integer) within bounds, or a 400 naming the bounds."""
    value = body.get(name)
    if value is None and not required:
        return None
    kind = int if integer else (int, float)
    finite = isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))
    if isinstance(value, bool) or not isinstance(value, kind) or not finite or value < minimum \
            or (maximum is not None and value > maximum):
        what = "an integer" if integer else "a finite number"
        bounds = f"between {minimum:g} and {maximum:g}" if maximum is not None else f">= {minimum:g}"
        raise _invalid(f"{name} must be {what} {bounds}, got {_shown(value)}")
    return value


def _shown(value: Any) -> str:
    """A value for an error message, never longer than a line."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _optional(value: Any, default: Any) -> Any:
    return default if value is None else value


def _string(body: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise _invalid(f"{name} must be a non-empty string, got {_shown(value)}")
    return value


def info(core: Core, body: dict, params: dict) -> Any:
    return {"core_url": core.core_url, "public_base_url": core.config.public_base_url or core.core_url,
            "seed": core.state.seed, "now": core.clock.now(), "client_id": core.config.client_id}


def reset(core: Core, body: dict, params: dict) -> Any:
    """All state back to fresh, the edge's injected faults included (runs outside the state lock:
    core.reset() takes it, and clearing faults is a call to WireMock)."""
    seed = _number(body, "seed", integer=True, maximum=MAX_SEED, required=False)
    core.reset(seed)
    if core.edge_faults is not None:
        faults_control.fault_clear(core, {}, {})
    return {"seed": core.state.seed}


def clock_advance(core: Core, body: dict, params: dict) -> Any:
    """Checked against the bound before the clock moves: a refused jump changes nothing."""
    seconds = _number(body, "seconds")
    ahead = max(0.0, core.clock.now() - time.time())
    if seconds > MAX_CLOCK_AHEAD_SECONDS - ahead:
        raise _invalid(f"seconds must be at most {max(0.0, MAX_CLOCK_AHEAD_SECONDS - ahead):.0f}: the fake clock "
                       f"may run at most {MAX_CLOCK_AHEAD_SECONDS} s (100 years) ahead of real time and is "
                       f"{ahead:.0f} s ahead now (POST /__harness/reset brings it back); got {_shown(seconds)}")
    now = core.clock.advance(seconds)
    core.sweep()  # expiry that the jump caused shows up (and emits) right away
    return {"now": now}


def clock_freeze(core: Core, body: dict, params: dict) -> Any:
    return {"now": core.clock.freeze(), "frozen": True}


def clock_resume(core: Core, body: dict, params: dict) -> Any:
    return {"now": core.clock.resume(), "frozen": False}


def tokens_expire(core: Core, body: dict, params: dict) -> Any:
    token = body.get("token")
    after = _number(body, "after_requests", integer=True, required=False)
    if token is not None and after is not None:
        raise _invalid("send token or after_requests, not both")
    if after is not None:
        core.state.expire_after_requests = after
        return {"expires_after_requests": after}
    if token is not None:
        record = core.state.tokens.get(token) if isinstance(token, str) else None
        if record is None:
            raise _invalid("token is not one this fake issued")
        record.revoked = True
        return {"expired": 1}
    live = [record for record in core.state.tokens.values() if not record.revoked]
    for record in live:
        record.revoked = True
    return {"expired": len(live)}


def link_outcome(core: Core, body: dict, params: dict) -> Any:
    outcome = body.get("outcome")
    if not isinstance(outcome, str) or outcome not in LINK_OUTCOMES:
        raise _invalid(f"outcome must be one of {', '.join(LINK_OUTCOMES)}, got {_shown(outcome)}")
    end_user_id, session_id = _string(body, "end_user_id"), _string(body, "session_id")
    if not end_user_id and not session_id:
        raise _invalid("send end_user_id or session_id: whose next Link flow gets this outcome")
    if session_id and session_id not in core.state.sessions:
        raise _invalid(f"no auth session {_shown(session_id)}")
    if end_user_id and end_user_id not in core.state.end_users:
        raise _invalid(f"no end user {_shown(end_user_id)}")
    if session_id:
        core.state.outcome_by_session[session_id] = outcome
    if end_user_id:
        core.state.outcome_by_user[end_user_id] = outcome
    return {"outcome": outcome, "end_user_id": end_user_id, "session_id": session_id}


def _consent(core: Core, params: dict) -> Any:
    consent = core.state.consents.get(params["arrangement_id"])
    if consent is None:
        raise FiskilError(404, "consent_not_found", f"no consent {params['arrangement_id']!r}")
    return consent


def consent_revoke(core: Core, body: dict, params: dict) -> Any:
    consent = _consent(core, params)
    changed = core.end_consent(consent, A.TERMINATION_REASON_REVOKED)
    return {"arrangement_id": consent.arrangement_id, "active": consent.active, "changed": changed}


def consent_expire(core: Core, body: dict, params: dict) -> Any:
    consent = _consent(core, params)
    changed = core.end_consent(consent, A.TERMINATION_REASON_EXPIRED)
    return {"arrangement_id": consent.arrangement_id, "active": consent.active, "changed": changed}


def data_transactions(core: Core, body: dict, params: dict) -> Any:
    """Change a user's transactions between syncs; emits banking.transactions.sync.completed per
    affected active consent unless {"emit": false}."""
    end_user_id = _string(body, "end_user_id", required=True)
    action = body.get("action")
    if end_user_id not in core.state.end_users:
        raise _invalid(f"no end user {_shown(end_user_id)}")
    if not isinstance(action, str) or action not in ("add", "modify", "remove"):
        raise _invalid(f"action must be add, modify or remove, got {_shown(action)}")
    count = _number(body, "count", integer=True, minimum=1, maximum=MAX_TRANSACTIONS_PER_CHANGE, required=False) or 1
    ids = body.get("fiskil_ids")
    if ids is not None and (not isinstance(ids, list) or not all(isinstance(item, str) for item in ids)):
        raise _invalid("fiskil_ids must be a list of transaction fiskil_id strings")
    if ids is not None and len(ids) > MAX_TRANSACTIONS_PER_CHANGE:
        raise _invalid(f"fiskil_ids may list at most {MAX_TRANSACTIONS_PER_CHANGE} transactions, got {len(ids)}")
    emit = body.get("emit", True)
    if not isinstance(emit, bool):
        raise _invalid(f"emit must be true or false, got {_shown(emit)}")
    # Everything is checked before anything changes: a refused request leaves the data as it was.
    store = core.state.data.get(end_user_id)
    live = {consent.arrangement_id for consent in core.state.consents.values()
            if consent.end_user_id == end_user_id and consent.active}
    accounts = sorted((a for a in store.accounts.values() if a["arrangement_id"] in live),
                      key=lambda a: a["fiskil_id"]) if store else []
    if store is None or not accounts:
        raise _invalid("the end user has no account under an active consent; link one first")
    targets: list[str] = []
    if action != "add":
        if ids is not None:
            unknown = [item for item in ids if item not in store.transactions]
            if unknown:
                raise _invalid(f"unknown transaction fiskil_ids: {_shown(', '.join(unknown))}")
            targets = list(dict.fromkeys(ids))  # a repeated id is changed once
        else:  # the newest `count` posted transactions, a stable choice
            candidates = sorted((t for t in store.transactions.values() if t["arrangement_id"] in live),
                                key=lambda t: (t["execution_date_time"], t["fiskil_id"]), reverse=True)
            targets = [t["fiskil_id"] for t in candidates[:count]]
    changed: list[str] = []
    store.serial += 1
    if action == "add":
        for index in range(count):  # index < MAX_TRANSACTIONS_PER_CHANGE keeps serials apart
            account = accounts[index % len(accounts)]
            for record in data.extra_transactions(account, core.state.seed, store.serial * 10_000 + index, 1,
                                                  core.clock.now()):
                store.transactions[record["fiskil_id"]] = record
                changed.append(record["fiskil_id"])
    else:
        for fiskil_id in targets:
            if action == "remove":
                del store.transactions[fiskil_id]
            else:
                store.transactions[fiskil_id] = data.modified(store.transactions[fiskil_id], core.state.seed, store.serial)
            changed.append(fiskil_id)
    if emit:
        for consent in core.state.consents.values():
            if consent.arrangement_id in live and consent.end_user_id == end_user_id:
                core.emit("banking.transactions.sync.completed", consent, account_ids=consent.account_ids)
    return {"action": action, "fiskil_ids": changed}


def data_volume(core: Core, body: dict, params: dict) -> Any:
    core.state.transactions_per_account = _number(body, "transactions_per_account", integer=True,
                                                  maximum=MAX_TRANSACTIONS_PER_ACCOUNT)
    return {"transactions_per_account": core.state.transactions_per_account}


def rate_limit_set(core: Core, body: dict, params: dict) -> Any:
    limit = RateLimit(requests=_number(body, "requests", integer=True, minimum=1),
                      window_seconds=_number(body, "window_seconds", minimum=0.001),
                      retry_after=_optional(_number(body, "retry_after", integer=True, minimum=0,
                                                    maximum=MAX_RETRY_AFTER_SECONDS, required=False), 1))
    core.state.rate_limit, core.state.rate_windows = limit, {}
    return {"requests": limit.requests, "window_seconds": limit.window_seconds, "retry_after": limit.retry_after}


def rate_limit_clear(core: Core, body: dict, params: dict) -> Any:
    core.state.rate_limit, core.state.rate_windows = None, {}
    return {"rate_limit": None}


def events(core: Core, body: dict, params: dict) -> Any:
    return list(core.state.events)


def webhook_deliveries(core: Core, body: dict, params: dict) -> Any:
    """The delivery log, like Fiskil Console's Webhook Logs (payload, attempts, response status:
    https://docs.fiskil.com/data-api/guides/account-access/monitoring-and-logs)."""
    if core.webhook_log is None:
        raise FiskilError(404, "webhook_log_unavailable",
                          "this core delivers no webhooks itself, so it has no delivery log: "
                          "run it inside a FakeStack (`fiskil-harness fake`), which adds the dispatcher")
    return core.webhook_log()


def _webhook_url(value: Any) -> str:
    """An absolute http(s) URL the dispatcher can actually post to."""
    if not isinstance(value, str) or not value:
        raise _invalid(f"url must be an absolute http(s) URL, got {_shown(value)}")
    if len(value) > MAX_URL_LENGTH or any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise _invalid(f"url must be an absolute http(s) URL without spaces or control characters, "
                       f"at most {MAX_URL_LENGTH} characters")
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number 0-65535
    except ValueError:
        raise _invalid(f"url has an invalid port: {_shown(value)}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _invalid(f"url must be an absolute http(s) URL with a host, e.g. "
                       f"http://127.0.0.1:8000/webhooks/fiskil; got {_shown(value)}")
    return value


def webhook_set(core: Core, body: dict, params: dict) -> Any:
    url, secret = _webhook_url(body.get("url")), body.get("secret")
    if not isinstance(secret, str) or not secret:
        raise _invalid("secret must be a non-empty string")
    try:
        decode_secret(secret)  # what the dispatcher will do with it, so a bad secret fails here, not per delivery
    except SigningSecretError as error:
        raise _invalid(f"secret cannot sign like Fiskil: {error}") from None
    core.state.webhook_target = WebhookTarget(url, secret)
    return {"url": url, "secret_set": True}  # the secret itself is never echoed


def webhook_clear(core: Core, body: dict, params: dict) -> Any:
    core.state.webhook_target = None
    return {"url": None}


def _route(core: Core, path: str, handler: ControlHandler, method: str) -> Route:
    locked = handler not in UNLOCKED

    def run(body_bytes: bytes, params: dict[str, str]) -> Response:
        try:
            body: Any = jsonbody.parse(body_bytes) if body_bytes.strip() else {}
            if not isinstance(body, dict):
                raise _invalid("body must be a JSON object")
            if locked:
                with core.lock:
                    result = handler(core, body, params)
            else:
                result = handler(core, body, params)
        except jsonbody.BodyError as error:
            return error_response("simple", _invalid(str(error)))
        except FiskilError as error:
            return error_response("simple", error)
        finally:
            core.flush_events()
        return JSONResponse(result)

    async def endpoint(request: Request) -> Response:
        return await run_in_threadpool(run, await request.body(), dict(request.path_params))

    return Route(PREFIX + path, endpoint, methods=[method])


#: Handlers that take the state lock themselves or call the edge over HTTP (never under the lock).
UNLOCKED: tuple[ControlHandler, ...] = (reset, faults_control.fault_add, faults_control.fault_list,
                                        faults_control.fault_clear, faults_control.fault_remove)


def routes(core: Core) -> list[Route]:
    table: list[tuple[str, str, ControlHandler]] = [
        ("GET", "/info", info),
        ("POST", "/reset", reset),
        ("POST", "/clock/advance", clock_advance),
        ("POST", "/clock/freeze", clock_freeze),
        ("POST", "/clock/resume", clock_resume),
        ("POST", "/tokens/expire", tokens_expire),
        ("PUT", "/link-outcome", link_outcome),
        ("POST", "/consents/{arrangement_id}/revoke", consent_revoke),
        ("POST", "/consents/{arrangement_id}/expire", consent_expire),
        ("POST", "/data/transactions", data_transactions),
        ("PUT", "/data/volume", data_volume),
        ("PUT", "/rate-limit", rate_limit_set),
        ("DELETE", "/rate-limit", rate_limit_clear),
        ("GET", "/events", events),
        ("GET", "/webhook-deliveries", webhook_deliveries),
        ("PUT", "/webhook", webhook_set),
        ("DELETE", "/webhook", webhook_clear),
        ("POST", "/faults", faults_control.fault_add),
        ("GET", "/faults", faults_control.fault_list),
        ("DELETE", "/faults", faults_control.fault_clear),
        ("DELETE", "/faults/{fault_id}", faults_control.fault_remove),
    ]
    return [_route(core, path, handler, method) for method, path, handler in table]
