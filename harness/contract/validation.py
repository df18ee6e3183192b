"""Validate a response body against its schema and say *where* it breaks, in words a person can act on.

A message reads "GET /v1/banking/transactions 200: transactions[0].amount: required property missing".
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from jsonschema import ValidationError

from harness.contract.registry import find_route, schema_for, validator_for


class ContractViolation(AssertionError):
    """A response does not match the modelled Fiskil contract."""


def json_path(parts: Iterable[str | int]) -> str:
    """`["transactions", 0, "amount"]` -> `transactions[0].amount` (`$` for the root)."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "$"


def _describe(error: ValidationError) -> tuple[str, str]:
    """(json path, what is wrong) for one jsonschema error."""
    path = list(error.absolute_path)
    if error.validator == "required":
        # jsonschema reports at the parent object; name the missing field itself
        missing = error.message.split("'")[1] if "'" in error.message else str(error.message)
        return json_path([*path, missing]), "required property missing"
    if error.validator == "type":
        expected = error.validator_value
        expected_text = " or ".join(expected) if isinstance(expected, list) else str(expected)
        return json_path(path), f"expected {expected_text}, got {_json_type(error.instance)}"
    if error.validator == "enum":
        return json_path(path), f"value {error.instance!r} is not one of {error.validator_value}"
    if error.validator in ("anyOf", "oneOf") and error.context:
        # report the alternative that got furthest: the deepest sub-error
        deepest = max(error.context, key=lambda e: len(e.absolute_path))
        return _describe(deepest)
    return json_path(path), error.message


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


_INDEX = re.compile(r"\[\d+\]")


def _collapse(described: list[tuple[str, str]]) -> list[str]:
    """The same problem at the same place in many list items is one line,
    `transactions[*].amount: required property missing (100 items)`, so a message naming the
    field is not cut off after the first few of a hundred identical ones."""
    groups: dict[tuple[str, str], list[str]] = {}
    for path, problem in described:
        groups.setdefault((_INDEX.sub("[*]", path), problem), []).append(path)
    lines = []
    for (general, problem), paths in groups.items():
        if len(paths) == 1:
            lines.append(f"{paths[0]}: {problem}")
        else:
            lines.append(f"{general}: {problem} ({len(paths)} items)")
    return lines


def schema_errors(schema_name: str, body: Any) -> list[str]:
    """Every violation of one schema as "path: problem", sorted by path for stable messages;
    repeats across list items collapsed into one counted line."""
    errors = sorted(validator_for(schema_name).iter_errors(body),
                    key=lambda e: ([(0, p, "") if isinstance(p, int) else (1, 0, str(p)) for p in e.absolute_path], e.message))
    return _collapse([_describe(error) for error in errors])


def response_errors(method: str, path: str, status: int, body: bytes | str | Any, content_type: str = "application/json",
                    *, route: str | None = None) -> list[str]:
    """Violations of a served response, each prefixed with the endpoint (the route template when
    given, e.g. /v1/end-users/{id}, else the path); [] when fine or unmodelled."""
    path = path.split("?", 1)[0]
    name = schema_for(method, path, status)
    endpoint = f"{method.upper()} {route or path} {status}"
    if name is None:
        route = find_route(method, path)
        if route is not None and status < 400 and status not in route.success:
            return [f"{endpoint}: status {status} is not a modelled outcome (expected one of {sorted(route.success)})"]
        return []
    if isinstance(body, (bytes, str)):
        # goa errors are JSON under their own media type (application/vnd.goa.error)
        if "json" not in content_type.lower() and "vnd.goa.error" not in content_type.lower():
            return [f"{endpoint}: content-type {content_type!r} is not JSON"]
        try:
            body = json.loads(body)
        except ValueError as exc:
            return [f"{endpoint}: body is not JSON ({exc})"]
    return [f"{endpoint}: {error}" for error in schema_errors(name, body)]


def assert_response_valid(method: str, path: str, status: int, body: bytes | str | Any, content_type: str = "application/json") -> None:
    """Raise ContractViolation naming the endpoint and every broken field."""
    problems = response_errors(method, path, status, body, content_type)
    if problems:
        raise ContractViolation("; ".join(problems))


def assert_valid(schema_name: str, instance: Any, *, what: str = "") -> None:
    """Raise ContractViolation if `instance` breaks `schema_name` (used for webhook bodies too)."""
    problems: Sequence[str] = schema_errors(schema_name, instance)
    if problems:
        prefix = f"{what}: " if what else f"{schema_name}: "
        raise ContractViolation("; ".join(prefix + p for p in problems))
