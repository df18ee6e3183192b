"""Recorded exchanges: their JSON format, where they come from, and how they are stored.

One file per exchange, `NNNN-METHOD-path.json`, holding

    {"seq": 1,
     "request":  {"method", "path", "query": {name: [values]}, "headers": {...}, "body": JSON|str|null},
     "response": {"status", "headers": {...}, "body": JSON|str|null}}

Only /v1 traffic is kept (not the Link page, the control API or WireMock's admin API), and only
the headers that matter for a contract (see KEPT_*_HEADERS). Files are written sanitised.

Sources of exchanges: a WireMock request journal (`exchanges_from_serve_events`, what `record`
uses) or an in-process httpx transport (`RecordingTransport`, used by tests and `export-mappings`).
"""

from __future__ import annotations

import base64
import gzip
import json
import re
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from harness.contract.sanitise import Sanitiser

KEPT_REQUEST_HEADERS = ("content-type", "authorization", "x-fiskil-version")
KEPT_RESPONSE_HEADERS = ("content-type", "retry-after", "location", "www-authenticate", "link")
KEPT_RESPONSE_PREFIXES = ("x-ratelimit-", "ratelimit-")


class RecordingError(ValueError):
    """A recording directory or file is missing or malformed; the message says which and why."""


def _keep(headers: dict[str, Any], names: Iterable[str], prefixes: tuple[str, ...] = ()) -> dict[str, str]:
    kept: dict[str, str] = {}
    for name, value in (headers or {}).items():
        lower = name.lower()
        if lower in names or lower.startswith(prefixes or ("\0",)):
            kept[lower] = ", ".join(value) if isinstance(value, list) else str(value)
    return kept


def _decode_body(raw: bytes | str | None, content_type: str) -> Any:
    """JSON bodies are stored as JSON (readable diffs); anything else as text; empty as None."""
    if raw is None:
        return None
    if isinstance(raw, bytes):
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        raw = raw.decode("utf-8", "replace")
    if not raw.strip():
        return None
    if "json" in content_type or "vnd.goa.error" in content_type or raw.lstrip()[:1] in ("{", "["):
        try:
            return json.loads(raw)
        except ValueError:
            pass
    return raw


def make_exchange(method: str, url: str, request_headers: dict[str, Any], request_body: bytes | str | None,
                  status: int, response_headers: dict[str, Any], response_body: bytes | str | None) -> dict[str, Any]:
    parts = urlsplit(url)
    req_headers = _keep(request_headers, KEPT_REQUEST_HEADERS)
    resp_headers = _keep(response_headers, KEPT_RESPONSE_HEADERS, KEPT_RESPONSE_PREFIXES)
    return {
        "request": {
            "method": method.upper(),
            "path": parts.path,
            "query": parse_qs(parts.query, keep_blank_values=True),
            "headers": req_headers,
            "body": _decode_body(request_body, req_headers.get("content-type", "")),
        },
        "response": {
            "status": int(status),
            "headers": resp_headers,
            "body": _decode_body(response_body, resp_headers.get("content-type", "")),
        },
    }


def is_contract_traffic(path: str) -> bool:
    return path == "/v1" or path.startswith("/v1/")


def _serve_event_body(part: dict[str, Any]) -> bytes | str | None:
    if part.get("bodyAsBase64"):
        return base64.b64decode(part["bodyAsBase64"])
    return part.get("body")


#: How WireMock answers when its proxy cannot reach the target: a 500 with this text and no
#: headers. Such an answer is WireMock's, not the API's, and is never stored as a recording.
PROXY_FAILURE_PREFIX = "Network failure trying to make a proxied request from WireMock"


def _oldest_first(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The journal lists events newest first and `loggedDate` has millisecond resolution: sort by
    (time, reverse journal position) so two events logged in the same millisecond keep their order."""
    indexed = list(enumerate(events))
    indexed.sort(key=lambda pair: (pair[1].get("request", {}).get("loggedDate", 0), -pair[0]))
    return [event for _, event in indexed]


def is_proxy_failure(event: dict[str, Any]) -> bool:
    """True when WireMock answered itself because proxying to the recorded API failed."""
    response = event.get("response") or {}
    if int(response.get("status", 0)) != 500:
        return False
    body = _serve_event_body(response)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    return isinstance(body, str) and body.startswith(PROXY_FAILURE_PREFIX)


def proxy_failures(events: list[dict[str, Any]]) -> list[str]:
    """`METHOD path` of every /v1 request the recorder could not pass on, oldest first."""
    failed = []
    for event in _oldest_first(events):
        request = event.get("request") or {}
        path = urlsplit(request.get("url", "")).path
        if is_contract_traffic(path) and is_proxy_failure(event):
            failed.append(f"{request.get('method', 'GET')} {path}")
    return failed


def exchanges_from_serve_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """WireMock serve events (`GET /__admin/requests`, newest first) -> /v1 exchanges, oldest first;
    WireMock's own proxy-failure answers are left out (see `proxy_failures`)."""
    exchanges = []
    for event in _oldest_first(events):
        request, response = event.get("request") or {}, event.get("response") or {}
        url = request.get("url", "")
        if not is_contract_traffic(urlsplit(url).path) or not response or is_proxy_failure(event):
            continue
        exchanges.append(make_exchange(
            request.get("method", "GET"), url, request.get("headers") or {}, _serve_event_body(request),
            int(response.get("status", 0)), response.get("headers") or {}, _serve_event_body(response),
        ))
    return _numbered(exchanges)


def _numbered(exchanges: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"seq": i, **exchange} for i, exchange in enumerate(exchanges, start=1)]


class RecordingTransport(httpx.BaseTransport):
    """Wraps a transport and keeps every /v1 exchange that passes through it, in order."""

    def __init__(self, inner: httpx.BaseTransport | None = None) -> None:
        self._inner = inner or httpx.HTTPTransport()
        self._lock = threading.Lock()
        self._exchanges: list[dict[str, Any]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        if is_contract_traffic(request.url.path):
            body = response.read()
            exchange = make_exchange(request.method, str(request.url), dict(request.headers), request.content,
                                     response.status_code, dict(response.headers), body)
            with self._lock:
                self._exchanges.append(exchange)
        return response

    def close(self) -> None:
        self._inner.close()

    @property
    def exchanges(self) -> list[dict[str, Any]]:
        with self._lock:
            return _numbered(list(self._exchanges))


def _file_name(exchange: dict[str, Any]) -> str:
    request = exchange["request"]
    slug = re.sub(r"[^A-Za-z0-9]+", "-", request["path"]).strip("-")[:60] or "root"
    return f"{exchange['seq']:04d}-{request['method']}-{slug}.json"


def write_recordings(out_dir: Path | str, exchanges: list[dict[str, Any]], sanitiser: Sanitiser | None = None) -> list[Path]:
    """Sanitise and store exchanges, one file each; returns the files written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sanitiser = sanitiser or Sanitiser()
    written = []
    for exchange in exchanges:
        clean = sanitiser.sanitise_exchange(exchange)
        path = out / _file_name(clean)
        path.write_text(json.dumps(clean, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        written.append(path)
    return written


def read_recordings(directory: Path | str) -> list[dict[str, Any]]:
    """Every exchange file of a recording directory, in recorded order."""
    root = Path(directory)
    if not root.is_dir():
        raise RecordingError(f"{root} is not a directory of recordings (make one with `fiskil-harness record --out {root}`)")
    exchanges = []
    for path in sorted(root.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise RecordingError(f"{path} is not valid JSON: {exc}") from exc
        if not isinstance(data, dict) or "request" not in data or "response" not in data:
            continue  # not an exchange file (e.g. a README or a drift report someone put there)
        _check_exchange(path, data)
        exchanges.append(data)
    if not exchanges:
        raise RecordingError(f"{root} holds no recorded exchanges (*.json with request and response)")
    return sorted(exchanges, key=lambda e: e.get("seq", 0))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_headers(path: Path, where: str, headers: Any) -> None:
    if headers is None:
        return
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise RecordingError(f"{path}: {where}.headers must be an object of header name -> string")


def _check_exchange(path: Path, data: dict[str, Any]) -> None:
    """Hand-edited recordings: every field the replay reads has the type the format says (module
    docstring), so a typo is one clear message naming the file and the field, not a stack trace."""
    request, response = data["request"], data["response"]
    if "seq" in data and not (_is_int(data["seq"]) and data["seq"] >= 0):
        raise RecordingError(f"{path}: seq must be a whole number, got {data['seq']!r}")
    if not isinstance(request, dict):
        raise RecordingError(f"{path}: request must be an object")
    if not isinstance(response, dict):
        raise RecordingError(f"{path}: response must be an object")
    for key in ("method", "path"):
        if key not in request:
            raise RecordingError(f"{path}: request.{key} is missing")
    if not isinstance(request["method"], str) or not request["method"].isalpha():
        raise RecordingError(f"{path}: request.method must be an HTTP method such as \"GET\", got {request['method']!r}")
    if not isinstance(request["path"], str) or not request["path"].startswith("/"):
        raise RecordingError(f"{path}: request.path must be a string starting with /, got {request['path']!r}")
    query = request.get("query")
    if query is not None and not (isinstance(query, dict) and all(
            isinstance(values, list) and all(isinstance(v, str) for v in values) for values in query.values())):
        raise RecordingError(f"{path}: request.query must be an object of name -> list of strings, "
                             f'e.g. {{"end_user_id": ["eu_1"]}}, got {query!r}'[:300])
    _check_headers(path, "request", request.get("headers"))
    if "status" not in response:
        raise RecordingError(f"{path}: response.status is missing")
    if not (_is_int(response["status"]) and 100 <= response["status"] <= 599):
        raise RecordingError(f"{path}: response.status must be an HTTP status number (100-599), got {response['status']!r}")
    _check_headers(path, "response", response.get("headers"))
