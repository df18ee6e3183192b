"""Parse a request's JSON body so nothing that is not plain JSON text gets into the fake's state.

One parser for the /v1 routes and the control API. Why it is stricter than `json.loads`:
- NaN / Infinity / -Infinity are not JSON (RFC 8259) but Python accepts them, and a non-finite
  number reaching the clock or a counter breaks every later request;
- "\\ud800" (a lone surrogate) parses into a str that cannot be encoded as UTF-8, so storing it
  poisons every later response that shows it (e.g. GET /v1/end-users for everyone);
- deep nesting raises RecursionError, not ValueError.
Every failure is a `BodyError` whose message says what to fix; callers turn it into a 400.
"""

from __future__ import annotations

import json
import math
from typing import Any

#: Deeper than any Fiskil request body needs; far below Python's recursion limit.
MAX_DEPTH = 32


class BodyError(ValueError):
    """The body is not acceptable JSON; the message says what to fix."""


def _reject_constant(name: str) -> Any:
    raise BodyError(f"body holds {name}, which is not a JSON number: send a finite number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # e.g. 1e400 overflows to inf
        raise BodyError(f"body holds the number {text[:40]}, too large for a double: send a finite number")
    return value


def parse(raw: bytes) -> Any:
    """The decoded JSON value, or BodyError."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BodyError(f"body is not UTF-8 text (byte {error.start}): send JSON encoded as UTF-8") from None
    try:
        value = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError:
        raise BodyError(f"body is nested too deeply: at most {MAX_DEPTH} levels of arrays and objects") from None
    except BodyError:
        raise
    except ValueError as error:  # json.JSONDecodeError, and ints too long to convert
        raise BodyError(f"body is not valid JSON: {error}") from None
    check(value)
    return value


def check(value: Any) -> None:
    """Depth and text checks on a parsed value, iteratively (no recursion on hostile input)."""
    pending: list[tuple[Any, int, str]] = [(value, 1, "")]
    while pending:
        item, depth, where = pending.pop()
        if isinstance(item, (dict, list)):
            if depth > MAX_DEPTH:
                raise BodyError(f"body is nested too deeply: at most {MAX_DEPTH} levels of arrays and objects")
            if isinstance(item, dict):
                for key, child in item.items():
                    _text(key, f"a key in {_place(where)}")
                    pending.append((child, depth + 1, f"{where}.{key}" if where else key))
            else:
                pending.extend((child, depth + 1, f"{where}[{index}]") for index, child in enumerate(item))
        elif isinstance(item, str):
            _text(item, _place(where))


def _place(where: str) -> str:
    """'body', or "body field 'name'" (cut short: a key may be long)."""
    return "body" if not where else f"body field {where[:60]!r}"


def _text(value: str, where: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BodyError(f"{where} is not valid Unicode text (it holds a lone UTF-16 surrogate such as "
                        "\\ud800): send real characters") from None
