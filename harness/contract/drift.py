"""Compare what Fiskil answered (a recording) with what the fake answers to the same request.

Structure, not values: a body is reduced to its *shape*, a map from JSON path to the set of JSON
types seen there (list items merged under `[]`). Direction matters:

- the fake always sends a field (in every object at that place) and the recording never has it
  -> Fiskil **removed** it: breaking (integrations tested against the fake may rely on it). A field
  the fake itself sometimes omits is optional, so its absence in a recording is no removal;
- the recording has a field the fake lacks -> Fiskil **added** it: additive (a warning);
- the recording has a (non-null) type at a place where the fake never sends it, in ANY item of a
  list (types are not merged away: one number among string amounts is a retyping) -> **type
  changed**: breaking;
- the recording has `null` where the fake only ever sends a non-null type -> **type changed** to
  null: breaking when the schema requires the field and does not allow null there (an integration
  may trust a required field), else additive (a warning: integrations tested on the fake never saw
  that null);
- a value of an enum field (the schema declares `enum`) that neither the schema nor the fake knows
  -> **new enum value**: additive;
- a different status or error `name` -> breaking;
- headers that matter: content-type media type (breaking), Retry-After / rate-limit headers
  (the fake sends one the recording lacks: breaking; the other way: additive).

Children of a list are only compared when the list has items on both sides (an empty list says
nothing about its items' shape).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from harness.contract.registry import find_route, load_schema, schema_for

BREAKING = "breaking"
ADDITIVE = "additive"

# header name prefixes whose presence a client may act on (backoff)
RATE_LIMIT_HEADERS = ("retry-after", "x-ratelimit-", "ratelimit-")


@dataclass(frozen=True)
class Finding:
    """One difference between the recording (Fiskil) and the fake."""

    seq: int
    endpoint: str  # "GET /v1/banking/transactions"
    kind: str  # status | error_name | field_removed | field_added | type_changed | enum_value_added | header_removed | header_added | content_type
    where: str  # a JSON path or header name ("" for status)
    recorded: str
    fake: str
    severity: str
    count: int = 1  # how many recorded exchanges showed this same difference (seq is the first)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Shape:
    """JSON path -> JSON types seen; array paths -> whether any item was seen."""

    types: dict[str, set[str]] = field(default_factory=dict)
    nonempty_arrays: set[str] = field(default_factory=set)
    values: dict[str, set[str]] = field(default_factory=dict)  # scalar string values by path (enum checks)
    counts: dict[str, int] = field(default_factory=dict)  # how many values were seen at a path
    objects: dict[str, int] = field(default_factory=dict)  # how many objects were seen at a path

    def always_present(self, path: str) -> bool:
        """True when every object at the field's parent carries the field."""
        return self.counts.get(path, 0) >= self.objects.get(_parent(path), 0) > 0


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"  # JSON has one number type; 1 vs 1.5 is a value, not a retyping
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def shape_of(body: Any) -> Shape:
    shape = Shape()

    def walk(value: Any, path: str) -> None:
        shape.types.setdefault(path, set()).add(json_type(value))
        shape.counts[path] = shape.counts.get(path, 0) + 1
        if isinstance(value, dict):
            shape.objects[path] = shape.objects.get(path, 0) + 1
            for key, item in value.items():
                walk(item, f"{path}.{key}" if path != "$" else str(key))
        elif isinstance(value, list):
            item_path = f"{path}[]" if path != "$" else "[]"
            if value:
                shape.nonempty_arrays.add(path)
            for item in value:
                walk(item, item_path)
        elif isinstance(value, str):
            shape.values.setdefault(path, set()).add(value)

    walk(body, "$")
    return shape


def _array_ancestors(path: str) -> list[str]:
    """`transactions[].category.x` -> ["transactions"]: the arrays a path sits inside."""
    ancestors = []
    index = path.find("[]")
    while index != -1:
        ancestors.append(path[:index] or "$")
        index = path.find("[]", index + 2)
    return ancestors


def _comparable(path: str, recorded: Shape, fake: Shape) -> bool:
    return all(a in recorded.nonempty_arrays and a in fake.nonempty_arrays for a in _array_ancestors(path))


def _schema_nodes(schema_name: str) -> dict[str, list[tuple[dict[str, Any], bool]]]:
    """JSON path (shape notation) -> every schema node describing it, each with whether its parent
    object requires it; follows local $refs and anyOf/oneOf/allOf alternatives."""
    found: dict[str, list[tuple[dict[str, Any], bool]]] = {}

    def walk(node: Any, path: str, required: bool, depth: int = 0) -> None:
        if not isinstance(node, dict) or depth > 20:
            return
        if "$ref" in node:
            walk(load_schema(node["$ref"].rsplit("/", 1)[-1]), path, required, depth + 1)
        found.setdefault(path, []).append((node, required))
        needed = set(node.get("required") or [])
        for key, sub in (node.get("properties") or {}).items():
            walk(sub, f"{path}.{key}" if path != "$" else key, key in needed, depth + 1)
        if isinstance(node.get("items"), dict):
            walk(node["items"], f"{path}[]" if path != "$" else "[]", False, depth + 1)
        for keyword in ("anyOf", "oneOf", "allOf"):
            for sub in node.get(keyword) or []:
                walk(sub, path, required, depth + 1)

    walk(load_schema(schema_name), "$", True)
    return found


def enum_paths(schema_name: str) -> dict[str, set[str]]:
    """JSON path (shape notation) -> the enum a schema declares there."""
    return {path: {str(v) for node, _ in nodes if "enum" in node for v in node["enum"]}
            for path, nodes in _schema_nodes(schema_name).items() if any("enum" in node for node, _ in nodes)}


def _null_is_breaking(schema_name: str | None, path: str) -> bool:
    """A recorded null breaks the contract where the schema requires the field and allows no null."""
    nodes = _schema_nodes(schema_name).get(path, []) if schema_name else []
    typed = [node for node, _ in nodes if "type" in node]
    required = any(required for _, required in nodes)
    allows_null = any(node["type"] == "null" or (isinstance(node["type"], list) and "null" in node["type"])
                      for node in typed)
    return required and bool(typed) and not allows_null


def _media_type(headers: dict[str, str]) -> str:
    value = _header(headers, "content-type") or ""
    return value.split(";", 1)[0].strip().lower()


def _header(headers: dict[str, str], name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return value
    return None


def _rate_limit_headers(headers: dict[str, str]) -> set[str]:
    return {k.lower() for k in (headers or {}) if k.lower().startswith(RATE_LIMIT_HEADERS)}


def _error_name(body: Any) -> str | None:
    return body.get("name") if isinstance(body, dict) and isinstance(body.get("name"), str) else None


def _types_text(types: set[str]) -> str:
    return "|".join(sorted(types))


def compare_exchange(seq: int, method: str, path: str, recorded: dict[str, Any], fake: dict[str, Any]) -> list[Finding]:
    """Findings for one request: `recorded` and `fake` are responses {status, headers, body}."""
    route = find_route(method, path)
    endpoint = f"{method.upper()} {route.template if route else path.split('?', 1)[0]}"
    findings: list[Finding] = []

    def add(kind: str, where: str, rec: Any, fk: Any, severity: str) -> None:
        findings.append(Finding(seq, endpoint, kind, where, str(rec), str(fk), severity))

    rec_status, fake_status = int(recorded["status"]), int(fake["status"])
    if rec_status != fake_status:
        add("status", "", rec_status, fake_status, BREAKING)
        return findings  # different outcomes: comparing their bodies would only add noise

    rec_headers, fake_headers = recorded.get("headers") or {}, fake.get("headers") or {}
    rec_media, fake_media = _media_type(rec_headers), _media_type(fake_headers)
    if rec_media and fake_media and rec_media != fake_media:
        add("content_type", "content-type", rec_media, fake_media, BREAKING)
    rec_rl, fake_rl = _rate_limit_headers(rec_headers), _rate_limit_headers(fake_headers)
    for name in sorted(fake_rl - rec_rl):
        add("header_removed", name, "absent", "present", BREAKING)
    for name in sorted(rec_rl - fake_rl):
        add("header_added", name, "present", "absent", ADDITIVE)

    rec_body, fake_body = _decode(recorded.get("body")), _decode(fake.get("body"))
    if rec_status >= 400:
        rec_name, fake_name = _error_name(rec_body), _error_name(fake_body)
        if rec_name != fake_name:
            add("error_name", "name", rec_name, fake_name, BREAKING)
    if rec_body is None or fake_body is None:
        return findings

    rec_shape, fake_shape = shape_of(rec_body), shape_of(fake_body)
    for p in sorted(set(fake_shape.types) - set(rec_shape.types)):
        if (_comparable(p, rec_shape, fake_shape) and rec_shape.objects.get(_parent(p))
                and fake_shape.always_present(p)):
            add("field_removed", p, "absent", _types_text(fake_shape.types[p]), BREAKING)
    for p in sorted(set(rec_shape.types) - set(fake_shape.types)):
        if _comparable(p, rec_shape, fake_shape) and _parent(p) in fake_shape.types:
            add("field_added", p, _types_text(rec_shape.types[p]), "absent", ADDITIVE)
    schema = schema_for(method, path, rec_status)
    for p in sorted(set(rec_shape.types) & set(fake_shape.types)):
        if not _comparable(p, rec_shape, fake_shape):
            continue
        rec_t, fake_t = rec_shape.types[p] - {"null"}, fake_shape.types[p] - {"null"}
        if rec_t and fake_t and rec_t - fake_t:
            add("type_changed", p, _types_text(rec_shape.types[p]), _types_text(fake_shape.types[p]), BREAKING)
        elif fake_t and "null" in rec_shape.types[p] and "null" not in fake_shape.types[p]:
            severity = BREAKING if _null_is_breaking(schema, p) else ADDITIVE
            add("type_changed", p, _types_text(rec_shape.types[p]), _types_text(fake_t), severity)

    if schema:
        for p, allowed in enum_paths(schema).items():
            known = allowed | fake_shape.values.get(p, set())
            for value in sorted(rec_shape.values.get(p, set()) - known):
                add("enum_value_added", p, value, "|".join(sorted(allowed)), ADDITIVE)
    return findings


def _parent(path: str) -> str:
    """The path of the container a field sits in (only the outermost missing field is reported)."""
    if path.endswith("[]"):
        return path[:-2] or "$"
    if "." in path:
        return path.rsplit(".", 1)[0]
    return "$"


def _decode(body: Any) -> Any:
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        if not body.strip():
            return None
        try:
            return json.loads(body)
        except ValueError:
            return None
    return body


def collapse(findings: list[Finding]) -> list[Finding]:
    """One finding per distinct difference (endpoint, kind, place, values, severity), counted: a
    change Fiskil made shows once, not once per recorded exchange (e.g. every token request)."""
    first: dict[tuple[str, ...], Finding] = {}
    counts: dict[tuple[str, ...], int] = {}
    for f in findings:
        key = (f.endpoint, f.kind, f.where, f.recorded, f.fake, f.severity)
        first.setdefault(key, f)
        counts[key] = counts.get(key, 0) + 1
    return [replace(f, count=counts[key]) for key, f in first.items()]


def is_breaking(findings: list[Finding]) -> bool:
    return any(f.severity == BREAKING for f in findings)


def format_table(findings: list[Finding]) -> str:
    """A fixed-width table: one finding a row, breaking first."""
    if not findings:
        return "no drift: every replayed response matches the recording's status, headers and shape"
    rows = [("severity", "#", "endpoint", "kind", "where", "recorded (Fiskil)", "fake")]
    for f in sorted(findings, key=lambda f: (f.severity != BREAKING, f.seq, f.kind, f.where)):
        seq = str(f.seq) if f.count == 1 else f"{f.seq} (x{f.count})"
        rows.append((f.severity.upper(), seq, f.endpoint, f.kind, f.where or "-", _cut(f.recorded), _cut(f.fake)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    breaking = sum(f.severity == BREAKING for f in findings)
    lines.append(f"{breaking} breaking, {len(findings) - breaking} additive")
    return "\n".join(lines)


def _cut(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
