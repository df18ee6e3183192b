"""The journal as the audit sees it: the edge's JournalEntry plus what the response said.

Rules need a little more than `Edge.requests()` keeps (the response's Retry-After and body for
`links.next`, the scheme the request arrived on, how long the edge took to answer), so the audit
reads WireMock's serve events itself and extends each `JournalEntry`. Only the integration's own
requests are kept: the kit's probe requests (`X-Harness-Probe: 1`), its `/__harness`, `/__admin`
and `/__subject` (webhook deliveries routed through the edge) paths, and the browser's requests for
the hosted Link page (`/link...`) are dropped, so counts and rules see what the integration sent.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from fakes.wiremock.edge import JournalEntry
from fakes.wiremock.edge import entry_from_serve_event as edge_journal_entry

KIT_PREFIXES = ("/__harness", "/__admin", "/__subject")
#: The fake's hosted Link page (fakes/core/assumptions.py LINK_PATH): the customer's browser, not the integration.
LINK_PAGE_PATH = "/link"


@dataclass
class AuditEntry(JournalEntry):
    """A journal entry with the response headers and body and the request's scheme."""

    response_headers: dict[str, str] = field(default_factory=dict, repr=False)
    response_body: str = field(default="", repr=False)
    scheme: str = "http"
    served_s: float = 0.0        # how long the edge took to answer (WireMock timing.totalTime)

    def response_header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.response_headers.items() if k.lower() == wanted), None)

    def json_body(self) -> Any:
        try:
            return json.loads(self.response_body) if self.response_body else None
        except ValueError:
            return None


def is_kit_traffic(entry: JournalEntry) -> bool:
    return entry.is_probe or entry.path.startswith(KIT_PREFIXES)


def is_link_page(entry: JournalEntry) -> bool:
    """A browser request for the hosted Link page (GET /link?sess_id=..., POST /link/<step>)."""
    return entry.path == LINK_PAGE_PATH or entry.path.startswith(LINK_PAGE_PATH + "/")


def is_integration_traffic(entry: JournalEntry) -> bool:
    return not (is_kit_traffic(entry) or is_link_page(entry))


def _flat(headers: dict[str, Any] | None) -> dict[str, str]:
    return {k: ", ".join(v) if isinstance(v, list) else str(v) for k, v in (headers or {}).items()}


def entry_from_serve_event(event: dict[str, Any]) -> AuditEntry:
    base = edge_journal_entry(event)
    request, response = event.get("request", {}), event.get("response") or {}
    body = response.get("body")
    if body is None and response.get("bodyAsBase64"):
        body = base64.b64decode(response["bodyAsBase64"]).decode("utf-8", errors="replace")
    scheme = urlsplit(request.get("absoluteUrl", "")).scheme or "http"
    total_ms = (event.get("timing") or {}).get("totalTime")
    return AuditEntry(
        method=base.method, url=base.url, path=base.path, query=base.query, headers=base.headers,
        body=base.body, status=base.status, logged_at=base.logged_at,
        response_headers=_flat(response.get("headers")), response_body=body or "", scheme=scheme,
        served_s=max(0.0, float(total_ms)) / 1000.0 if isinstance(total_ms, (int, float)) else 0.0,
    )


def from_serve_events(events: list[dict[str, Any]], since: float | None = None) -> list[AuditEntry]:
    """The integration's requests only, oldest first, optionally from `since` (unix seconds) on."""
    entries = [entry_from_serve_event(e) for e in events]
    entries = [e for e in entries if is_integration_traffic(e) and (since is None or e.logged_at >= since)]
    entries.sort(key=lambda e: e.logged_at)
    return entries


def load_journal(admin: Any, since: float | None = None) -> list[AuditEntry]:
    """Read a running edge's journal through its `WireMockAdmin`."""
    return from_serve_events(admin.serve_events(), since)
