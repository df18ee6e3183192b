"""`--tags`: a Gherkin tag expression, checked in the user's own terms before pytest sees it.

Gherkin tags become pytest markers ('@a and not @b' → 'a and not b'). Handing a broken expression
to pytest's -m gives errors about a string the user never wrote (the @ gone, columns shifted), and
an unknown tag silently matches nothing; here both are explained with the registered tags listed.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from harness.cli import UsageError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
_TOKEN = re.compile(r"\s*(?:(?P<tag>@[\w-]+)|(?P<word>\b(?:and|or|not)\b)|(?P<paren>[()])|(?P<other>\S+))")
EXAMPLE = "'@link_and_sync and not @slow'"


def registered_tags(pyproject: Path = PROJECT_ROOT / "pyproject.toml") -> list[str]:
    """The tags a feature may carry: the markers registered in pyproject.toml (pytest runs --strict-markers)."""
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    markers = data.get("tool", {}).get("pytest", {}).get("ini_options", {}).get("markers", [])
    return sorted(marker.split(":", 1)[0].strip() for marker in markers)


def _tokens(expression: str) -> list[tuple[str, str, int]]:
    """(kind, text, column) for each token; column counts from 1 in the user's string."""
    found = []
    for match in _TOKEN.finditer(expression):
        kind = match.lastgroup or "other"
        found.append((kind, match.group(kind), match.start(kind) + 1))
    return found


class _Parser:
    """expr := term ('or' term)* ; term := factor ('and' factor)* ; factor := 'not' factor | TAG | '(' expr ')'."""

    def __init__(self, expression: str) -> None:
        self.expression = expression
        self.tokens = _tokens(expression)
        self.position = 0
        self.tags: list[str] = []

    def fail(self, expected: str) -> UsageError:
        if self.position < len(self.tokens):
            _, text, column = self.tokens[self.position]
            where = f"found {text!r} at column {column}"
        else:
            where = "found the end of the expression"
        previous = self.tokens[self.position - 1][1] if self.position else None
        after = f" after {previous!r}" if previous else ""
        return UsageError(f"--tags {self.expression!r}: expected {expected}{after}, {where} (write e.g. {EXAMPLE})")

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def parse(self) -> None:
        self.expr()
        if self.peek() is not None:
            raise self.fail("'and', 'or' or ')'")

    def expr(self) -> None:
        self.term()
        while (token := self.peek()) and token[1] == "or":
            self.position += 1
            self.term()

    def term(self) -> None:
        self.factor()
        while (token := self.peek()) and token[1] == "and":
            self.position += 1
            self.factor()

    def factor(self) -> None:
        token = self.peek()
        if token is None:
            raise self.fail("a tag such as @slow")
        kind, text, _ = token
        if text == "not":
            self.position += 1
            self.factor()
        elif kind == "tag":
            self.tags.append(text)
            self.position += 1
        elif text == "(":
            self.position += 1
            self.expr()
            if (closing := self.peek()) is None or closing[1] != ")":
                raise self.fail("')'")
            self.position += 1
        elif kind == "other" and re.fullmatch(r"[\w-]+", text):
            raise self.fail(f"a tag such as @{text} (tags start with @)")
        else:
            raise self.fail("a tag such as @slow")


def tags_to_markexpr(tags: str, known: list[str] | None = None) -> str:
    """Check a Gherkin tag expression and turn it into pytest's -m form; UsageError says what is wrong."""
    parser = _Parser(tags.strip())
    parser.parse()
    known = registered_tags() if known is None else known
    unknown = sorted({tag for tag in parser.tags if tag[1:] not in known})
    if unknown:
        raise UsageError(f"--tags: unknown tag{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
                         f"the tags are: {', '.join('@' + tag for tag in known)}")
    return re.sub(r"@([\w-]+)", r"\1", tags.strip())
