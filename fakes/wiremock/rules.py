"""The edge's standing rules: the stub mappings every harness edge has before any fault is injected.

- one proxy stub per method the target serves (GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS), at
  priority 10: WireMock matches one method or ANY, so "every other method" is what no proxy takes;
- every other method (TRACE, PROPFIND, BREW...) gets the fake's one Fiskil-shaped 405 at priority
  11, below the proxies (WireMock's TRACE proxying also failed with a 500 HTML page);
- a request the edge extension (ext/HarnessEdge.java) marked as unreadable gets a 400 at priority 3.

Ids are fixed (uuid5 of the rule's name), so writing a rule again replaces it instead of doubling it.
FakeStack writes these as files into the WireMock root dir's `mappings/` before the JVM starts:
WireMock's own reset (`POST /__admin/reset`, `POST /__admin/mappings/reset`) reloads that folder,
so the usual WireMock reset no longer leaves the fake without its proxy.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from fakes.core import assumptions as A
from fakes.wiremock.admin import JSON

PROXY_PRIORITY = 10
METHOD_NOT_ALLOWED_PRIORITY = 11
REJECT_PRIORITY = 3
PROXIED_METHODS: tuple[str, ...] = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
PROXY_METADATA_KEY = "harness_proxy"
RULE_METADATA_KEY = "harness_rule"
#: Header the edge extension sets on a request it had to make parseable (the client's own is dropped).
REJECT_HEADER = "X-Harness-Edge-Rejected"
#: Reason code (shared with HarnessEdge.java) -> what the 400 tells the client to fix.
REJECTIONS: dict[str, str] = {
    "bad-url": "the URL has a '%' that does not start a %XX escape (two hex digits): encode a literal "
               "'%' as %25; the request was not passed on",
    "bad-gzip-body": "the body is labelled Content-Encoding: gzip (or starts like gzip) but is not valid gzip "
                     "data: send it uncompressed, or compress all of it; the request was not passed on",
}
MAPPINGS_FILE = "fiskil-harness-standing-rules.json"
_NAMESPACE = uuid.UUID("6f1d2a0e-5b7c-4c1e-9a57-2f0a3c6e8b11")


def rule_id(name: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, name))


def _error_body(name: str, message: str) -> str:
    """A templated Fiskil simple-shape error; `message` may use {{request.method}} (a token: JSON-safe)."""
    return json.dumps({"id": "err_{{randomValue type='UUID'}}", "name": name, "message": message})


def proxy_mappings(target_url: str) -> list[JSON]:
    """The proxy stubs: every method the target serves goes to `target_url`."""
    parts = urlsplit(target_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"proxy target must be an absolute http(s) URL, got {target_url!r}")
    target = target_url.rstrip("/")
    return [{"id": rule_id(f"proxy/{method}"), "priority": PROXY_PRIORITY,
             "request": {"method": method, "urlPattern": ".*"},
             "response": {"proxyBaseUrl": target},
             "metadata": {PROXY_METADATA_KEY: True}}
            for method in PROXIED_METHODS]


def guard_mappings() -> list[JSON]:
    """The 405 for methods no proxy takes, and the 400s for requests the extension marked."""
    # The path is the raw one (regexExtract of request.url): WireMock's {{request.path}} is decoded
    # and could put a '"' into the JSON. A raw URL holds no '"' or '\\' (the extension encodes them).
    not_allowed = {
        "id": rule_id("method-not-allowed"), "priority": METHOD_NOT_ALLOWED_PRIORITY,
        "request": {"method": "ANY", "urlPattern": ".*"},
        "response": {"status": 405, "headers": {"Content-Type": "application/json",
                                                "Allow": ", ".join(PROXIED_METHODS)},
                     "body": _error_body(A.METHOD_NOT_ALLOWED_NAME, "{{request.method}} is not allowed on "
                                                             "{{regexExtract request.url '^[^?]*'}}"),
                     "transformers": ["response-template"]},
        "metadata": {RULE_METADATA_KEY: "method-not-allowed"},
    }
    rejections = [{
        "id": rule_id(f"reject/{reason}"), "priority": REJECT_PRIORITY,
        "request": {"method": "ANY", "urlPattern": ".*", "headers": {REJECT_HEADER: {"equalTo": reason}}},
        "response": {"status": A.MALFORMED_REQUEST_STATUS, "headers": {"Content-Type": "application/json"},
                     "body": _error_body(A.MALFORMED_REQUEST_NAME, message),
                     "transformers": ["response-template"]},
        "metadata": {RULE_METADATA_KEY: f"reject/{reason}"},
    } for reason, message in REJECTIONS.items()]
    return [not_allowed, *rejections]


def standing_mappings(target_url: str | None) -> list[JSON]:
    """Everything an edge starts with: the guard rules, and the proxy when there is a target."""
    return [*(proxy_mappings(target_url) if target_url else []), *guard_mappings()]


def write_mapping_file(root_dir: Path, mappings: list[JSON]) -> Path:
    """Put `mappings` where WireMock loads them at start and again on every reset."""
    folder = root_dir / "mappings"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / MAPPINGS_FILE
    path.write_text(json.dumps({"mappings": mappings}, indent=1))
    return path
