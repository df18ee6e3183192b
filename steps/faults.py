"""Steps that make the network or Fiskil misbehave, through fault stubs on the WireMock edge.

Faults work the same in front of the fake and the sandbox; a reset before each scenario removes
them. Socket faults as seen by httpx: reset → ReadError, the others → RemoteProtocolError
(measured with httpx 0.28 against WireMock 3.13.2; tests/edge checks each).

PYTEST_DONT_REWRITE: the messages say what to fix; introspection would only add noise.
"""

from __future__ import annotations

import json

from pytest_bdd import given, parsers

from fakes.wiremock.edge import Fault

PATHS = {"transactions": "/v1/banking/transactions", "accounts": "/v1/banking/accounts", "balances": "/v1/banking/balances"}
SOCKET_FAULTS = {
    "connection reset": "connection_reset",
    "empty response": "empty_response",
    "malformed chunk": "malformed_chunk",
    "random data": "random_data",
}
LIST = "transactions|accounts|balances"


def _inject(edge, ctx, fault: Fault) -> None:
    edge.inject(fault)
    ctx.note(f"injected fault: {fault.kind} on {fault.method} {fault.url_path_pattern} times={fault.times}")


@given(parsers.re(rf"the next (?P<times>\d+) (?P<what>{LIST}) requests fail with (?:an? )?(?P<fault>[a-z ]+)$"))
def socket_fault(edge, ctx, times: str, what: str, fault: str) -> None:
    assert fault in SOCKET_FAULTS, f"unknown network fault {fault!r}; use one of {sorted(SOCKET_FAULTS)}"
    _inject(edge, ctx, Fault(SOCKET_FAULTS[fault], "GET", PATHS[what], times=int(times)))


def _error_body(status: int) -> str:
    # The simple Fiskil error shape of data endpoints (https://docs.fiskil.com/data-api/api-reference/errors).
    return json.dumps({"id": "err_harness-injected", "name": "harness_injected", "message": f"injected HTTP {status}"})


@given(parsers.re(rf"the next (?P<times>\d+) (?P<what>{LIST}) requests fail with HTTP (?P<status>\d+)"))
def http_burst(edge, ctx, times: str, what: str, status: str) -> None:
    code = int(status)
    _inject(edge, ctx, Fault("http_error", "GET", PATHS[what], times=int(times), status=code,
                             headers={"Content-Type": "application/json"}, body=_error_body(code)))


@given(parsers.re(rf"every (?P<what>{LIST}) request fails with HTTP (?P<status>\d+)"))
def http_persistent(edge, ctx, what: str, status: str) -> None:
    code = int(status)
    _inject(edge, ctx, Fault("http_error", "GET", PATHS[what], times=None, status=code,
                             headers={"Content-Type": "application/json"}, body=_error_body(code)))


@given(parsers.re(rf"Fiskil will answer (?P<scope>the next|every) (?P<what>{LIST}) request with 401 Unauthorized"))
def unauthorised(edge, ctx, scope: str, what: str) -> None:
    body = json.dumps({"name": "unauthorized", "id": "harness-injected", "message": "Unauthorized response.",
                       "fault": False, "temporary": False, "timeout": False})
    _inject(edge, ctx, Fault("http_error", "GET", PATHS[what], times=1 if scope == "the next" else None, status=401,
                             headers={"Content-Type": "application/vnd.goa.error"}, body=body))


@given(parsers.re(rf"the next (?P<what>{LIST}) request is answered only after (?P<ms>\d+) milliseconds"))
def slow_answer(edge, ctx, what: str, ms: str) -> None:
    _inject(edge, ctx, Fault("delay", "GET", PATHS[what], times=1, delay_ms=int(ms)))


@given(parsers.re(rf"the next (?P<what>{LIST}) request is refused with 429 and Retry-After (?P<seconds>\d+) seconds?"))
def rate_limited(edge, ctx, what: str, seconds: str) -> None:
    # Fiskil documents only that 429 exists (https://docs.fiskil.com/data-api/api-reference/errors);
    # Retry-After is the harness's assumption (fakes/core/assumptions.py).
    _inject(edge, ctx, Fault("http_error", "GET", PATHS[what], times=1, status=429,
                             headers={"Retry-After": seconds, "Content-Type": "application/json"}, body=_error_body(429)))
