"""The schema hook: every /v1 JSON response the fake core serves is checked against its schema.

The core calls observers registered with `Core.on_response` for each /v1 response; an observer
that raises turns the response into a 500 `contract_violation` carrying the message (see
docs/architecture.md). So a fake that drifts from the modelled contract fails loudly in every
scenario instead of teaching integrations the wrong shape.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from harness.contract.registry import find_route
from harness.contract.validation import ContractViolation, response_errors

GOA_MEDIA_TYPE = "application/vnd.goa.error"
#: Keys only the goa error shape has (https://docs.fiskil.com/data-api/api-reference/createEndUser).
GOA_ONLY_KEYS = {"fault", "temporary", "timeout"}


class _ServedResponse(Protocol):
    method: str
    path: str
    route: str
    status: int
    headers: dict
    body: bytes


class _HasOnResponse(Protocol):
    def on_response(self, callback: Any) -> None: ...


def _content_type(headers: Any) -> str:
    for key, value in dict(headers or {}).items():
        if str(key).lower() == "content-type":
            return str(value)
    return ""


def _error_media_type_problem(response: _ServedResponse, content_type: str) -> str | None:
    """The fake serves goa errors as application/vnd.goa.error, as Fiskil's OP pages list for core
    resources (https://docs.fiskil.com/data-api/api-reference/createEndUser), and the simple shape
    as JSON: an error body in one shape under the other's media type is a violation."""
    if response.status < 400 or find_route(response.method, response.path) is None:
        return None
    try:
        body = json.loads(response.body or b"")
    except ValueError:
        return None  # response_errors reports a body that is not JSON
    if not isinstance(body, dict):
        return None
    media = content_type.split(";", 1)[0].strip().lower()
    endpoint = f"{response.method.upper()} {getattr(response, 'route', None) or response.path} {response.status}"
    if GOA_ONLY_KEYS <= set(body):
        if media != GOA_MEDIA_TYPE:
            return f"{endpoint}: a goa error must be served as {GOA_MEDIA_TYPE}, not {media or 'no content-type'}"
    elif media == GOA_MEDIA_TYPE:
        return f"{endpoint}: {GOA_MEDIA_TYPE} is for goa errors, but the body is not goa-shaped"
    return None


def check_served_response(response: _ServedResponse) -> None:
    """Raise ContractViolation when a served /v1 response breaks its schema; ignore anything else."""
    if not response.path.startswith("/v1"):
        return
    body = response.body or b""
    if not body.strip():
        if response.status in (204, 304):
            return
    content_type = _content_type(response.headers) or "application/json"
    problems = response_errors(response.method, response.path, response.status, body, content_type,
                               route=getattr(response, "route", None) or None)
    media_problem = _error_media_type_problem(response, content_type)
    if media_problem:
        problems.append(media_problem)
    if problems:
        raise ContractViolation("; ".join(problems))


def build_checked_core(config: Any = None) -> Any:
    """A fake core with the schema hook already installed: what `fiskil-harness fake`, `check` and
    drift serve, so every response they hand out is held to the modelled contract."""
    from fakes.core.app import build_core

    core = build_core(config)
    install_schema_hook(core)
    return core


def install_schema_hook(core: _HasOnResponse) -> None:
    """Register the schema validator on a core (`core.on_response`). Call once per core."""
    if getattr(core, "_contract_hook_installed", False):
        return
    core.on_response(check_served_response)
    try:
        core._contract_hook_installed = True  # type: ignore[attr-defined]
    except AttributeError:  # a core with __slots__: double installation only costs a second check
        pass
