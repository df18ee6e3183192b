"""Turn recorded exchanges into plain WireMock 3 stub mappings that answer the same requests
without the Python core (for partners who want a fake in any language).

Rules, chosen so a re-run of the same @sandbox_safe features matches:
- a stub per exchange: method + urlPath + exact query parameters; the bearer token must be equal to
  the recorded one (or absent when the recording had none); JSON request bodies match with
  `equalToJson`;
- every token the API issued is rewritten to ONE constant token, so the token a scenario gets
  never depends on how many scenarios ran before;
- identical requests that got different answers (create twice -> 200 then 400) become a WireMock
  scenario that steps through the answers in recorded order and then repeats the last one;
- absolute URLs pointing at the recorded API (links.next, auth_url) are rewritten to
  `{{request.baseUrl}}` with the response-template transformer, so they point at the WireMock
  serving them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

EXPORTED_TOKEN = "exported-harness-token"
BASE_URL_TEMPLATE = "{{request.baseUrl}}"
# An auth session's expires_at is "now + 5 days" when served, not when recorded
# (https://docs.fiskil.com/data-api/guides/core-concepts/auth-sessions).
SESSION_EXPIRY_TEMPLATE = "{{now offset='5 days' format='unix'}}"
_EXPIRY_MARK = "__harness_session_expiry__"


def _issued_tokens(exchanges: list[dict[str, Any]]) -> set[str]:
    tokens = set()
    for exchange in exchanges:
        body = exchange["response"].get("body")
        if exchange["request"]["path"] == "/v1/token" and isinstance(body, dict) and isinstance(body.get("token"), str):
            tokens.add(body["token"])
    return tokens


def _replace_strings(value: Any, replace: Any) -> Any:
    if isinstance(value, dict):
        return {k: _replace_strings(v, replace) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_strings(v, replace) for v in value]
    if isinstance(value, str):
        return replace(value)
    return value


def _request_pattern(request: dict[str, Any], tokens: set[str], other_params: set[str]) -> dict[str, Any]:
    """`other_params`: query names other requests to this path use; they must be absent here, or a
    first-page stub would also answer `?page[after]=...` (WireMock ignores unlisted parameters)."""
    pattern: dict[str, Any] = {"method": request["method"], "urlPath": request["path"]}
    query = request.get("query") or {}
    params: dict[str, Any] = {
        name: ({"equalTo": values[0]} if len(values) == 1 else {"hasExactly": [{"equalTo": v} for v in values]})
        for name, values in sorted(query.items())
    }
    params.update({name: {"absent": True} for name in sorted(other_params - set(query))})
    if params:
        pattern["queryParameters"] = params
    auth = (request.get("headers") or {}).get("authorization")
    if auth:
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else auth
        value = f"Bearer {EXPORTED_TOKEN}" if token in tokens else auth
        pattern["headers"] = {"Authorization": {"equalTo": value}}
    else:
        pattern["headers"] = {"Authorization": {"absent": True}}
    body = request.get("body")
    if isinstance(body, (dict, list)):
        pattern["bodyPatterns"] = [{"equalToJson": body, "ignoreExtraElements": False}]
    elif isinstance(body, str) and body:
        pattern["bodyPatterns"] = [{"equalTo": body}]
    return pattern


def _response(response: dict[str, Any], recorded_base: str | None, tokens: set[str], path: str = "") -> dict[str, Any]:
    def rewrite(text: str) -> str:
        if text in tokens:
            return EXPORTED_TOKEN
        if recorded_base and text.startswith(recorded_base):
            return BASE_URL_TEMPLATE + text[len(recorded_base):]
        return text

    body = _replace_strings(response.get("body"), rewrite)
    if path == "/v1/auth/session" and isinstance(body, dict) and isinstance(body.get("expires_at"), int):
        body = {**body, "expires_at": _EXPIRY_MARK}
    headers = {name: value for name, value in (response.get("headers") or {}).items() if name != "content-length"}
    result: dict[str, Any] = {"status": response["status"], "headers": headers}
    if body is not None:
        text = json.dumps(body) if isinstance(body, (dict, list)) else str(body)
        text = text.replace(f'"{_EXPIRY_MARK}"', SESSION_EXPIRY_TEMPLATE)
        result["body"] = text
        if "{{" in text:
            result["transformers"] = ["response-template"]
    return result


def build_mappings(exchanges: list[dict[str, Any]], recorded_base: str | None = None) -> list[dict[str, Any]]:
    """WireMock mappings (one per exchange, scenario-chained where requests repeat)."""
    tokens = _issued_tokens(exchanges)
    params_by_path: dict[tuple[str, str], set[str]] = {}
    for exchange in exchanges:
        key = (exchange["request"]["method"], exchange["request"]["path"])
        params_by_path.setdefault(key, set()).update((exchange["request"].get("query") or {}).keys())
    stubs = []
    for exchange in exchanges:
        request = _request_pattern(exchange["request"], tokens,
                                   params_by_path[(exchange["request"]["method"], exchange["request"]["path"])])
        stubs.append({"request": request, "response": _response(exchange["response"], recorded_base, tokens, exchange["request"]["path"]),
                      "_key": json.dumps(request, sort_keys=True)})
    by_key: dict[str, list[dict[str, Any]]] = {}
    for stub in stubs:
        by_key.setdefault(stub["_key"], []).append(stub)
    mappings = []
    for key, group in by_key.items():
        distinct = []
        for stub in group:  # consecutive identical answers collapse into one step
            if not distinct or distinct[-1]["response"] != stub["response"]:
                distinct.append(stub)
        name = "harness-" + hashlib.sha256(key.encode()).hexdigest()[:12]
        for index, stub in enumerate(distinct):
            mapping = {"name": f"{name}-{index + 1}", "request": stub["request"], "response": stub["response"],
                       "metadata": {"harness_export": True}}
            if len(distinct) > 1:
                mapping["scenarioName"] = name
                mapping["requiredScenarioState"] = "Started" if index == 0 else f"step-{index + 1}"
                if index + 1 < len(distinct):
                    mapping["newScenarioState"] = f"step-{index + 2}"
            mappings.append(mapping)
    return mappings


def write_mappings(out_dir: Path | str, mappings: list[dict[str, Any]]) -> list[Path]:
    """Write `<out_dir>/mappings/NNNN-name.json` (WireMock's --root-dir layout) and `__files/`."""
    root = Path(out_dir)
    (root / "mappings").mkdir(parents=True, exist_ok=True)
    (root / "__files").mkdir(exist_ok=True)
    written = []
    for index, mapping in enumerate(mappings, start=1):
        path = root / "mappings" / f"{index:04d}-{mapping['name']}.json"
        path.write_text(json.dumps(mapping, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        written.append(path)
    return written
