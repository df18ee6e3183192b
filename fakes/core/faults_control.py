"""`/__harness/faults`: network faults over HTTP, for testers who run `fiskil-harness fake` on its own
and drive it from another language (the pytest kit uses `Edge.inject` directly; both land on the same
WireMock stubs, so either sees the other's faults).

The core cannot fault its own traffic: the faults live on the WireMock edge in front of it.
FakeStack hands its Edge to the core (`core.edge_faults`, like `core.webhook_log`); a core without
one answers 409 `edge_unavailable`. These handlers call WireMock's admin API over HTTP, so they run
outside the core's state lock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import httpx

from fakes.core.errors import FiskilError

if TYPE_CHECKING:
    from fakes.core.app import Core

#: Body field -> Fault attribute (the control API says path_pattern; Fault says url_path_pattern).
FIELDS: dict[str, str] = {"kind": "kind", "method": "method", "path_pattern": "url_path_pattern", "times": "times",
                          "status": "status", "headers": "headers", "body": "body", "delay_ms": "delay_ms"}


class FaultController(Protocol):
    """What the core needs from the edge (fakes.wiremock.edge.Edge is one)."""

    def inject(self, fault: Any) -> str: ...
    def faults(self) -> list[dict[str, Any]]: ...
    def remove_fault(self, group: str) -> bool: ...
    def clear_faults(self) -> None: ...


def _invalid(message: str) -> FiskilError:
    return FiskilError(400, "invalid_control_request", message)


def _controller(core: Core) -> FaultController:
    if core.edge_faults is None:
        raise FiskilError(409, "edge_unavailable",
                          "this core has no WireMock edge in front of it, so it cannot inject network faults: "
                          "run it with `fiskil-harness fake` (or inside a FakeStack), which adds the edge")
    return core.edge_faults


def _calling_the_edge(action: Any) -> Any:
    """Run one edge call; WireMock's refusals and an unreachable edge become Fiskil-shaped errors."""
    from fakes.wiremock.admin import WireMockAdminError

    try:
        return action()
    except WireMockAdminError as error:
        raise _invalid(f"the edge refused the fault (WireMock {error.status}): {error.body[:300]}") from None
    except httpx.TransportError as error:
        raise FiskilError(503, "edge_unreachable",
                          f"the WireMock edge did not answer ({type(error).__name__}); is it still running?") from None


def fault_add(core: Core, body: dict, params: dict) -> Any:
    from fakes.wiremock.edge import FAULT_KINDS, Fault

    controller = _controller(core)
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise _invalid(f"unknown field(s) {', '.join(unknown)}; a fault has: {', '.join(FIELDS)}")
    if not isinstance(body.get("kind"), str):
        raise _invalid(f"kind is required: one of {', '.join(FAULT_KINDS)}")
    fault = Fault(**{FIELDS[name]: value for name, value in body.items() if value is not None or name == "times"})
    try:
        fault.validate()
    except (ValueError, TypeError) as error:  # in the control API's words, not the Python API's
        raise _invalid(str(error).replace("url_path_pattern", "path_pattern")) from None
    try:
        group = _calling_the_edge(lambda: controller.inject(fault))
    except ValueError as error:  # e.g. a delay on an edge that proxies nowhere
        raise _invalid(str(error)) from None
    return {"id": group, **fault.describe()}


def fault_list(core: Core, body: dict, params: dict) -> Any:
    controller = _controller(core)
    return {"faults": _calling_the_edge(controller.faults)}


def fault_clear(core: Core, body: dict, params: dict) -> Any:
    controller = _controller(core)
    _calling_the_edge(controller.clear_faults)
    return {"faults": []}


def fault_remove(core: Core, body: dict, params: dict) -> Any:
    controller = _controller(core)
    fault_id = params["fault_id"]
    if not _calling_the_edge(lambda: controller.remove_fault(fault_id)):
        raise FiskilError(404, "fault_not_found", f"no fault {fault_id[:60]!r} on the edge; GET /__harness/faults lists them")
    return {"removed": fault_id}
