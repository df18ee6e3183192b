"""The schema hook: every /v1 JSON response the fake core serves is checked against its schema.

The core calls observers registered with `Core.on_response` for each /v1 response; an observer
that raises turns the response into a 500 `contract_violation` carrying the message (see
docs/architecture.md). So a fake that drifts from the modelled contract fails loudly in every
scenario instead of teaching integrations the wrong shape.
"""

from __future__ import annotations

from typing import Any, Protocol

from harness.contract.validation import ContractViolation, response_errors


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


def check_served_response(response: _ServedResponse) -> None:
    """Raise ContractViolation when a served /v1 response breaks its schema; ignore anything else."""
    if not response.path.startswith("/v1"):
        return
    body = response.body or b""
    if not body.strip():
        if response.status in (204, 304):
            return
    problems = response_errors(response.method, response.path, response.status, body,
                               _content_type(response.headers) or "application/json",
                               route=getattr(response, "route", None) or None)
    if problems:
        raise ContractViolation("; ".join(problems))


def install_schema_hook(core: _HasOnResponse) -> None:
    """Register the schema validator on a core (`core.on_response`). Call once per core."""
    if getattr(core, "_contract_hook_installed", False):
        return
    core.on_response(check_served_response)
    try:
        core._contract_hook_installed = True  # type: ignore[attr-defined]
    except AttributeError:  # a core with __slots__: double installation only costs a second check
        pass
