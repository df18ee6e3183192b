"""Which schema describes which response: (method, route template, status) -> schema file.

Routes are matched on the concrete path with a regex built from the template, so a caller may pass
either `/v1/end-users/{id}` or `/v1/end-users/eu_123`. Error statuses (>= 400) map to the error shape
the route family uses (goa on core resources, the simple shape on data endpoints), see
https://docs.fiskil.com/data-api/api-reference/errors and
https://docs.fiskil.com/data-api/api-reference/createEndUser.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

SCHEMA_DIR = Path(__file__).with_name("schemas")
SCHEMA_BASE = "https://schemas.fiskil-harness.invalid/"

# The error shape of a route family (for every status >= 400).
GOA = "goa-error.json"
SIMPLE = "simple-error.json"
ANY_ERROR = "any-error.json"


@dataclass(frozen=True)
class Route:
    """One modelled endpoint: its template, its success schemas by status and its error family."""

    method: str
    template: str
    success: dict[int, str | None]  # status -> schema file (None: no body, e.g. 204)
    error_schema: str
    paginated: bool = False
    root_key: str | None = None  # the list's array key on paginated endpoints
    pattern: re.Pattern[str] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        regex = re.sub(r"\\\{[^}]+\\\}", r"[^/]+", re.escape(self.template))
        object.__setattr__(self, "pattern", re.compile(f"^{regex}/?$"))

    def matches(self, method: str, path: str) -> bool:
        return method.upper() == self.method and bool(self.pattern.match(path))


def _list(template: str, schema: str, root_key: str) -> Route:
    return Route("GET", template, {200: schema}, SIMPLE, paginated=True, root_key=root_key)


# Every endpoint the fake models (docs/fake.md), with the source that fixes its shape.
ROUTES: tuple[Route, ...] = (
    # https://docs.fiskil.com/data-api/guides/getting-started/authentication
    Route("POST", "/v1/token", {200: "token.json"}, ANY_ERROR),
    # https://docs.fiskil.com/data-api/api-reference/createEndUser and friends (goa errors)
    Route("POST", "/v1/end-users", {200: "end-user-created.json", 201: "end-user-created.json"}, GOA),
    Route("GET", "/v1/end-users", {200: "end-user-list.json"}, GOA),
    Route("GET", "/v1/end-users/{id}", {200: "end-user.json"}, GOA),
    Route("POST", "/v1/end-users/{id}", {204: None, 200: None}, GOA),
    Route("DELETE", "/v1/end-users/{id}", {204: None, 200: None}, GOA),
    # https://docs.fiskil.com/data-api/api-reference/addAuthSession
    Route("POST", "/v1/auth/session", {200: "auth-session.json", 201: "auth-session.json"}, GOA),
    # https://docs.fiskil.com/data-api/api-reference/listConsents
    Route("GET", "/v1/consent", {200: "consent-list.json"}, GOA),
    Route("DELETE", "/v1/consent/{arrangement_id}", {204: None, 200: None}, GOA),
    # https://docs.fiskil.com/data-api/api-reference/institutions (error shape undocumented)
    Route("GET", "/v1/institutions", {200: "institution-list.json"}, ANY_ERROR),
    Route("GET", "/v1/institutions/{id}", {200: "institution.json"}, ANY_ERROR),
    # Banking data: https://docs.fiskil.com/data-api/api-reference/getBankingTransactions etc.
    _list("/v1/banking/accounts", "banking-accounts.json", "accounts"),
    _list("/v1/banking/balances", "banking-balances.json", "balances"),
    _list("/v1/banking/transactions", "banking-transactions.json", "transactions"),
    _list("/v1/banking/payees", "banking-payees.json", "payees"),
    # sic: three c's, https://docs.fiskil.com/direct-debits
    _list("/v1/banking/acccounts/direct-debits", "banking-direct-debits.json", "direct_debits"),
    _list("/v1/banking/payments/scheduled", "banking-scheduled-payments.json", "scheduled_payments"),
)


class UnknownSchema(LookupError):
    """No schema file by that name in harness/contract/schemas."""


@cache
def _schema_store() -> dict[str, dict[str, Any]]:
    store = {}
    for path in sorted(SCHEMA_DIR.glob("*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        store[path.name] = schema
    return store


def schema_names() -> list[str]:
    return sorted(_schema_store())


def load_schema(name: str) -> dict[str, Any]:
    try:
        return _schema_store()[name]
    except KeyError:
        raise UnknownSchema(f"no schema {name!r}; known: {', '.join(schema_names())}") from None


@cache
def _referencing_registry() -> Registry:
    resources = [(SCHEMA_BASE + name, Resource.from_contents(schema)) for name, schema in _schema_store().items()]
    return Registry().with_resources(resources)


@cache
def validator_for(name: str) -> Draft202012Validator:
    """A compiled validator for one schema file; `$ref`s between files resolve locally."""
    return Draft202012Validator(load_schema(name), registry=_referencing_registry())


def find_route(method: str, path: str) -> Route | None:
    path = path.split("?", 1)[0]
    for route in ROUTES:
        if route.matches(method, path):
            return route
    return None


def schema_for(method: str, path: str, status: int) -> str | None:
    """The schema file for a response, or None when nothing is modelled (or no body is expected)."""
    route = find_route(method, path)
    if route is None:
        return None
    if status >= 400:
        return route.error_schema
    return route.success.get(status)
