"""The WireMock edge in front of the target: the standing rules (proxy, 405, 400s: rules.py),
injected faults and the journal.

Priorities: fault/override stubs at 1, the edge extension's 400s at 3, the proxy stubs at 10, the 405
for any other method at 11 (WireMock picks the lowest number; among equal priorities the newest stub
wins, so the latest injected fault takes precedence).

Two kinds of traffic are never faulted and are left out of the journal views by default, because
they are the kit talking to the target, not the subject under test:
- the control API (`/__harness/...`);
- probe requests tagged `X-Harness-Probe: 1` (the kit's own FiskilClient reading target state).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import httpx

from fakes.wiremock import rules
from fakes.wiremock.admin import JSON, WireMockAdmin

FaultKind = Literal["connection_reset", "empty_response", "malformed_chunk", "random_data", "delay", "http_error"]

PROXY_PRIORITY = rules.PROXY_PRIORITY
FAULT_PRIORITY = 1
#: One fault with `times=N` is N stub mappings (a WireMock scenario); bounded so one call stays quick.
MAX_FAULT_TIMES = 100
#: Longer than any client timeout worth testing; keeps a typo from hanging WireMock's threads for hours.
MAX_DELAY_MS = 300_000
CONTROL_PREFIX = "/__harness/"
PROBE_HEADER = "X-Harness-Probe"
FAULT_METADATA_KEY = "harness_fault"

# Our names -> WireMock's socket-level fault names.
_WIREMOCK_FAULTS: dict[str, str] = {
    "connection_reset": "CONNECTION_RESET_BY_PEER",
    "empty_response": "EMPTY_RESPONSE",
    "malformed_chunk": "MALFORMED_RESPONSE_CHUNK",
    "random_data": "RANDOM_DATA_THEN_CLOSE",
}
FAULT_KINDS: tuple[str, ...] = (*_WIREMOCK_FAULTS, "delay", "http_error")


@dataclass
class Fault:
    """One misbehaviour of the target, scoped by method and URL path regex (Java syntax)."""

    kind: FaultKind
    method: str = "ANY"
    url_path_pattern: str = ".*"
    times: int | None = None  # the next N matching requests; None = until removed
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    delay_ms: int = 0

    def validate(self) -> None:
        """Raise ValueError naming what to fix; called before anything reaches WireMock."""
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; use one of {', '.join(FAULT_KINDS)}")
        if self.times is not None and (not isinstance(self.times, int) or isinstance(self.times, bool) or self.times < 1):
            raise ValueError(f"times must be a positive integer or None (until removed), got {self.times!r}")
        if self.times is not None and self.times > MAX_FAULT_TIMES:
            raise ValueError(f"times must be at most {MAX_FAULT_TIMES} (or None: until removed), got {self.times}")
        if not isinstance(self.delay_ms, int) or isinstance(self.delay_ms, bool) or not 0 <= self.delay_ms <= MAX_DELAY_MS:
            raise ValueError(f"delay_ms must be an integer between 0 and {MAX_DELAY_MS}, got {self.delay_ms!r}")
        if not isinstance(self.method, str) or not re.fullmatch(r"[A-Za-z]{1,20}", self.method):
            raise ValueError(f"method must be an HTTP method such as GET or POST, or ANY; got {self.method!r}")
        if self.kind == "delay" and self.delay_ms <= 0:
            raise ValueError("a 'delay' fault needs delay_ms > 0")
        if self.kind == "http_error" and (not isinstance(self.status, int) or isinstance(self.status, bool)
                                          or not 100 <= self.status <= 599):
            raise ValueError(f"status must be an HTTP status 100-599, got {self.status!r}")
        if not isinstance(self.headers, dict) or not all(
                isinstance(name, str) and isinstance(value, str) and re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name)
                and "\r" not in value and "\n" not in value for name, value in self.headers.items()):
            raise ValueError("headers must map header names to single-line string values")
        if not isinstance(self.body, str):
            raise ValueError(f"body must be a string, got {type(self.body).__name__}")
        if not isinstance(self.url_path_pattern, str):
            raise ValueError(f"url_path_pattern must be a string (a regex), got {self.url_path_pattern!r}")
        try:
            re.compile(self.url_path_pattern)
        except re.error as exc:
            raise ValueError(f"url_path_pattern {self.url_path_pattern!r} is not a valid regex: {exc}") from exc

    def describe(self) -> JSON:
        """The fault as the control API shows it (GET /__harness/faults)."""
        return {"kind": self.kind, "method": self.method.upper(), "path_pattern": self.url_path_pattern,
                "times": self.times, "status": self.status, "headers": dict(self.headers), "body": self.body,
                "delay_ms": self.delay_ms}


@dataclass
class JournalEntry:
    """One request the edge served, with the status it answered (oldest first in lists)."""

    method: str
    url: str  # path + query as received
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str] = field(repr=False)  # may hold bearer tokens: kept out of repr
    body: str = field(repr=False)  # may hold the client secret (POST /v1/token)
    status: int  # 0 when a socket-level fault answered (no HTTP response was sent)
    logged_at: float  # unix seconds

    def header(self, name: str) -> str | None:
        """Case-insensitive header lookup (HTTP header names are case-insensitive)."""
        wanted = name.lower()
        return next((value for key, value in self.headers.items() if key.lower() == wanted), None)

    @property
    def is_probe(self) -> bool:
        return self.header(PROBE_HEADER) == "1"

    @property
    def is_control(self) -> bool:
        return self.path.startswith(CONTROL_PREFIX)


def entry_from_serve_event(event: JSON) -> JournalEntry:
    """One WireMock serve event (from GET /__admin/requests) as a JournalEntry."""
    request = event.get("request", {})
    url = request.get("url", "")
    parts = urlsplit(url)
    headers = {
        name: ", ".join(value) if isinstance(value, list) else str(value)
        for name, value in (request.get("headers") or {}).items()
    }
    response = event.get("response") or {}
    # A socket-level fault sent no HTTP status at all, whatever WireMock logs: report 0.
    status = 0 if response.get("fault") else response.get("status") or 0
    return JournalEntry(
        method=request.get("method", ""),
        url=url,
        path=parts.path,
        query={key: values for key, values in parse_qs(parts.query, keep_blank_values=True).items()},
        headers=headers,
        body=request.get("body") or "",
        status=int(status),
        logged_at=float(request.get("loggedDate", 0)) / 1000.0,
    )




class Edge:
    """Faults and journal on a running WireMock (our own JVM, or the one behind `--fake-url`)."""

    def __init__(self, base_url: str, client: httpx.Client, *, proxy_target: str | None = None) -> None:
        """`proxy_target`: the proxy an already-running edge has. Optional: when it is not given,
        `reset()` and a `delay` fault read it from the edge's own proxy stubs."""
        self.base_url = base_url.rstrip("/")
        self.admin = WireMockAdmin(self.base_url, client)
        self._proxy_target: str | None = proxy_target.rstrip("/") if proxy_target else None
        self._fault_stub_ids: dict[str, list[str]] = {}

    @property
    def proxy_target(self) -> str | None:
        return self._proxy_target

    # -- proxy --------------------------------------------------------------------------------

    def proxy_to(self, target_url: str) -> None:
        """Send every method the target serves to `target_url` (http or https), and put the
        standing rules in place (rules.py: 405 for other methods, 400 for unreadable requests).

        WireMock sets the proxied request's Host from `target_url` (we do not pass
        --preserve-host-header), so a remote API such as https://api.fiskil.com sees its own name.
        Idempotent: the rules have fixed ids, so a second call replaces them.
        """
        mappings = rules.standing_mappings(target_url)  # validates the URL first
        self._proxy_target = target_url.rstrip("/")
        self._install(mappings)

    def _install(self, mappings: list[JSON]) -> None:
        for mapping in mappings:
            self.admin.upsert_stub(mapping)

    def discover_proxy_target(self) -> str | None:
        """The proxy target this edge's proxy stubs hold (whoever installed them), else None."""
        for stub in self.admin.stubs():
            if (stub.get("metadata") or {}).get(rules.PROXY_METADATA_KEY):
                target = (stub.get("response") or {}).get("proxyBaseUrl")
                if target:
                    return str(target).rstrip("/")
        return None

    def _known_proxy_target(self) -> str | None:
        if self._proxy_target is None:
            self._proxy_target = self.discover_proxy_target()
        return self._proxy_target

    def reset(self) -> None:
        """Drop faults, overrides, scenario states and the journal; the standing rules stay.

        Never leaves the edge without the proxy it had: the target is read from the edge before
        the reset when this Edge was not told it (WireMock's reset reloads the root dir's mapping
        files; the rules are put back over HTTP as well, for an edge started without them).
        """
        target = self._known_proxy_target()
        self.admin.reset()
        self._fault_stub_ids.clear()
        loaded = {stub["id"]: stub for stub in self.admin.stubs()}  # usually all there, from the file
        self._install([mapping for mapping in rules.standing_mappings(target)
                       if mapping["id"] not in loaded
                       or loaded[mapping["id"]].get("response", {}).get("proxyBaseUrl")
                       != mapping["response"].get("proxyBaseUrl")])

    # -- faults -------------------------------------------------------------------------------

    def inject(self, fault: Fault) -> str:
        """Install a fault; returns its group id (for `remove_fault`).

        `times=N` is a WireMock scenario of N stubs, each moving the state one step on; once the
        N-th has fired no fault stub matches and the proxy answers again.
        """
        fault.validate()
        if fault.kind == "delay" and self._known_proxy_target() is None:
            raise ValueError("a 'delay' fault proxies the real answer late, and this edge has no proxy: "
                             "call proxy_to() first")
        group = uuid.uuid4().hex[:12]
        request = self._fault_request(fault)
        response = self._fault_response(fault)
        metadata = {FAULT_METADATA_KEY: {"group": group, "kind": fault.kind, "spec": fault.describe()}}
        stubs: list[JSON] = []
        if fault.times is None:
            stubs.append({"priority": FAULT_PRIORITY, "request": request, "response": response, "metadata": metadata})
        else:
            scenario = f"harness-fault-{group}"
            for hit in range(fault.times):
                stubs.append(
                    {
                        "priority": FAULT_PRIORITY,
                        "request": request,
                        "response": response,
                        "metadata": metadata,
                        "scenarioName": scenario,
                        "requiredScenarioState": "Started" if hit == 0 else f"hit-{hit}",
                        "newScenarioState": f"hit-{hit + 1}",
                    }
                )
        ids: list[str] = []
        try:
            for stub in stubs:
                ids.append(self.admin.add_stub(stub))
        except BaseException:
            for stub_id in ids:  # never leave half a fault behind
                self.admin.remove_stub(stub_id)
            raise
        self._fault_stub_ids[group] = ids
        return group

    def faults(self) -> list[JSON]:
        """The faults installed on this edge (by any Edge object), oldest first, each as
        `{"id", "kind", "method", "path_pattern", "times", "remaining", "status", "headers", "body",
        "delay_ms"}`; `remaining` is None for a fault that lasts until removed."""
        groups: dict[str, JSON] = {}
        for stub in reversed(self.admin.stubs()):  # WireMock lists newest first
            marker = (stub.get("metadata") or {}).get(FAULT_METADATA_KEY)
            if not isinstance(marker, dict) or "group" not in marker:
                continue
            spec = marker.get("spec") or {"kind": marker.get("kind")}
            groups.setdefault(marker["group"], {"id": marker["group"], **spec})
        states = {scenario.get("name"): scenario.get("state") for scenario in self.admin.scenarios()}
        for group, fault in groups.items():
            fault["remaining"] = None
            if fault.get("times"):
                state = states.get(f"harness-fault-{group}", "Started")
                fired = int(state.split("-", 1)[1]) if state and state.startswith("hit-") else 0
                fault["remaining"] = max(0, fault["times"] - fired)
        return list(groups.values())

    def remove_fault(self, group: str) -> bool:
        """Remove one fault by its id (whichever Edge object installed it); False when unknown."""
        ids = self._fault_stub_ids.pop(group, None)
        if ids is None:
            ids = [stub["id"] for stub in self.admin.stubs()
                   if ((stub.get("metadata") or {}).get(FAULT_METADATA_KEY) or {}).get("group") == group]
        for stub_id in ids:
            self.admin.remove_stub(stub_id)
        return bool(ids)

    def clear_faults(self) -> None:
        """Remove every fault stub, also ones another Edge object added to the same WireMock."""
        self.admin.remove_stubs_by_metadata(f"$.{FAULT_METADATA_KEY}")
        self._fault_stub_ids.clear()

    @staticmethod
    def _fault_request(fault: Fault) -> JSON:
        # The negative look-ahead keeps the control API reachable whatever the pattern says.
        return {
            "method": fault.method.upper(),
            "urlPathPattern": f"(?!{re.escape(CONTROL_PREFIX)})(?:{fault.url_path_pattern})",
            "headers": {PROBE_HEADER: {"absent": True}},
        }

    def _fault_response(self, fault: Fault) -> JSON:
        response: JSON
        if fault.kind in _WIREMOCK_FAULTS:
            response = {"fault": _WIREMOCK_FAULTS[fault.kind]}
        elif fault.kind == "delay":
            response = {"proxyBaseUrl": self._known_proxy_target()}
        else:
            response = {"status": fault.status, "headers": dict(fault.headers), "body": fault.body}
        if fault.delay_ms:
            response["fixedDelayMilliseconds"] = fault.delay_ms
        return response

    # -- journal ------------------------------------------------------------------------------

    def requests(
        self,
        method: str | None = None,
        path_pattern: str | None = None,
        *,
        include_control: bool = False,
        include_probes: bool = False,
    ) -> list[JournalEntry]:
        """Requests the edge served, oldest first; `path_pattern` is a Python regex over the path."""
        compiled = re.compile(path_pattern) if path_pattern is not None else None
        wanted_method = method.upper() if method and method.upper() != "ANY" else None
        entries = [entry_from_serve_event(event) for event in self.admin.serve_events()]
        entries.reverse()  # WireMock lists newest first
        selected = [
            entry
            for entry in entries
            if (include_control or not entry.is_control)
            and (include_probes or not entry.is_probe)
            and (wanted_method is None or entry.method == wanted_method)
            and (compiled is None or compiled.fullmatch(entry.path))
        ]
        selected.sort(key=lambda entry: entry.logged_at)  # stable: same-millisecond entries keep order
        return selected

    def count(self, method: str | None = None, path_pattern: str | None = None, **options: Any) -> int:
        return len(self.requests(method, path_pattern, **options))

    def near_misses(self) -> list[JSON]:
        """Why unmatched requests missed (useful when the proxy is not installed)."""
        return self.admin.near_misses_for_unmatched()
