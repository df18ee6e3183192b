"""A thin client for WireMock 3's admin API: plain JSON dicts over one shared httpx.Client.

No model classes on purpose: the PyPI client's models silently drop fields they do not know
(`urlPathTemplate`, `serveEventListeners`, ...), so stubs and patterns stay the JSON WireMock
documents, and callers can pass any field WireMock accepts.
"""

from __future__ import annotations

from typing import Any

import httpx

JSON = dict[str, Any]


class WireMockAdminError(RuntimeError):
    """WireMock refused an admin call; carries the status and WireMock's own explanation."""

    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        super().__init__(f"WireMock admin {method} {path} answered {status}: {body[:2000]}")
        self.status = status
        self.body = body


def request_pattern(
    method: str | None = None,
    url_path_pattern: str | None = None,
    headers: dict[str, str] | None = None,
    body_contains: str | None = None,
) -> JSON:
    """Build a WireMock request pattern from the filters the journal calls accept.

    `headers` values match exactly; `url_path_pattern` is a Java regex over the path (no query).
    """
    pattern: JSON = {"method": (method or "ANY").upper()}
    if url_path_pattern is not None:
        pattern["urlPathPattern"] = url_path_pattern
    if headers:
        pattern["headers"] = {name: {"equalTo": value} for name, value in headers.items()}
    if body_contains is not None:
        pattern["bodyPatterns"] = [{"contains": body_contains}]
    return pattern


class WireMockAdmin:
    """Admin calls on one WireMock server (`base_url` without `/__admin`)."""

    def __init__(self, base_url: str, client: httpx.Client, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = client
        self._timeout = timeout

    # -- plumbing -----------------------------------------------------------------------------

    def _call(self, method: str, path: str, body: JSON | None = None, *, ok: tuple[int, ...] = (200, 201, 204)) -> Any:
        response = self._client.request(method, f"{self.base_url}/__admin{path}", json=body, timeout=self._timeout)
        if response.status_code not in ok:
            raise WireMockAdminError(method, path, response.status_code, response.text)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return response.text

    # -- health and lifecycle -----------------------------------------------------------------

    def health(self) -> JSON:
        return self._call("GET", "/health")

    def is_healthy(self) -> bool:
        try:
            return self.health().get("status") == "healthy"
        except (httpx.TransportError, WireMockAdminError):
            return False

    def reset(self) -> None:
        """Drop all stubs, the journal and scenario states (`POST /__admin/reset`)."""
        self._call("POST", "/reset")

    def shutdown(self) -> None:
        """Ask the JVM to exit; the process owner still waits for and reaps it."""
        try:
            self._call("POST", "/shutdown")
        except httpx.TransportError:
            pass  # the server may close the connection while shutting down

    # -- stubs --------------------------------------------------------------------------------

    def add_stub(self, mapping: JSON) -> str:
        """Add one stub mapping; returns the id WireMock assigned (or kept)."""
        return self._call("POST", "/mappings", mapping)["id"]

    def upsert_stub(self, mapping: JSON) -> str:
        """Add a stub with a fixed `id`, or replace the one with that id in place: no moment in which
        neither answers (WireMock refuses a second POST with a taken id)."""
        stub_id = mapping["id"]
        path = f"/mappings/{stub_id}"
        response = self._client.put(f"{self.base_url}/__admin{path}", json=mapping, timeout=self._timeout)
        if response.status_code == 200:
            return stub_id
        if response.status_code != 404:
            raise WireMockAdminError("PUT", path, response.status_code, response.text)
        return self.add_stub(mapping)

    def remove_stub(self, stub_id: str) -> None:
        self._call("DELETE", f"/mappings/{stub_id}", ok=(200, 204, 404))

    def remove_stubs_by_metadata(self, json_path: str) -> None:
        """Remove every stub whose metadata matches the JSONPath (e.g. `$.harness_fault`)."""
        self._call("POST", "/mappings/remove-by-metadata", {"matchesJsonPath": json_path})

    def stubs(self) -> list[JSON]:
        return self._call("GET", "/mappings")["mappings"]

    def reset_scenarios(self) -> None:
        self._call("POST", "/scenarios/reset")

    def scenarios(self) -> list[JSON]:
        return self._call("GET", "/scenarios")["scenarios"]

    # -- request journal ----------------------------------------------------------------------

    def serve_events(self, limit: int | None = None) -> list[JSON]:
        """Every logged serve event (request + response), newest first as WireMock keeps them."""
        path = "/requests" if limit is None else f"/requests?limit={int(limit)}"
        return self._call("GET", path)["requests"]

    def find_requests(self, pattern: JSON) -> list[JSON]:
        """Logged requests (no responses) matching a request pattern, oldest first."""
        return self._call("POST", "/requests/find", pattern)["requests"]

    def count_requests(self, pattern: JSON) -> int:
        return int(self._call("POST", "/requests/count", pattern)["count"])

    def reset_journal(self) -> None:
        self._call("DELETE", "/requests")

    def unmatched_requests(self) -> list[JSON]:
        return self._call("GET", "/requests/unmatched")["requests"]

    def near_misses_for_unmatched(self) -> list[JSON]:
        """For each request no stub matched, the closest stubs and how they differ."""
        return self._call("GET", "/requests/unmatched/near-misses")["nearMisses"]

    def near_misses_for_request(self, logged_request: JSON) -> list[JSON]:
        return self._call("POST", "/near-misses/request", logged_request)["nearMisses"]

    def near_misses_for_pattern(self, pattern: JSON) -> list[JSON]:
        """Logged requests that came closest to a pattern (why did my expected call not match?)."""
        return self._call("POST", "/near-misses/request-pattern", pattern)["nearMisses"]

    # -- recording ----------------------------------------------------------------------------

    def start_recording(self, target_base_url: str, **spec: Any) -> None:
        """Record traffic proxied to `target_base_url`; extra keys go into the record spec as-is."""
        self._call("POST", "/recordings/start", {"targetBaseUrl": target_base_url, **spec})

    def stop_recording(self) -> list[JSON]:
        """Stop recording; returns the stub mappings made from what was recorded."""
        return self._call("POST", "/recordings/stop")["mappings"]

    def recording_status(self) -> str:
        return self._call("GET", "/recordings/status")["status"]

    def snapshot(self, **spec: Any) -> list[JSON]:
        """Turn the current journal into stub mappings (spec keys as WireMock documents them)."""
        return self._call("POST", "/recordings/snapshot", spec)["mappings"]
