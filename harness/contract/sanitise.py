"""Replace secrets and personal data in recorded exchanges with STABLE placeholders.

Stable means: within one `Sanitiser` (one recording set) the same original always becomes the same
placeholder, so a recording still shows that the email sent on create is the one read back, and a
replay can still tell one end user from another. Placeholders keep the value's JSON type (a string
stays a string, an array stays an array, an object keeps its keys), so shape comparison (drift) is
unaffected.

Three rules, because recordings are shared and personal data must not survive in them:

1. **Key-based**: a value under a known personal or identifier key (names, nicknames, payer/payee,
   descriptions/references/messages, emails, phones, PayIDs and other identifiers, account/card/BSB
   numbers, ABN/ACN, dates of birth, addresses, secrets, tokens) is replaced WHOLE, wherever it sits.
   Some keys depend on their container: `name` is public under institutions, banks, merchants,
   billers and in error bodies; `message` is public only in an error body; every leaf under
   `phone_numbers`, `email_addresses` or `physical_addresses` (and similar) is redacted.
2. **Pattern pass**: emails, phone numbers, bearer tokens and JWT-like strings are replaced inside
   any other string.
3. **Distinctive learned values** (tokens, secrets, client ids, emails, phones, identifiers) are also
   replaced where they reappear inside other strings, e.g. percent-encoded in `links.next`. Names and
   free text are never replaced as substrings: a payee "Smith" must not turn "Smith St" into
   "Person 5 St".

Identifiers (end_user_id, arrangement_id, fiskil_id, ...) are not personal data and are kept: the
drift replay needs them to map recorded ids to the fake's ids. Field shapes come from
Fiskil's pages (https://docs.fiskil.com/payee, https://docs.fiskil.com/transactions,
https://docs.fiskil.com/data-api/api-reference/getCustomerIdentity; docs/sources.md).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote


def _norm(key: object) -> str:
    """`first_name`, `firstName` and `FIRST-NAME` are the same key."""
    return re.sub(r"[^a-z0-9]", "", str(key).lower())


_CATEGORY_KEYS: dict[str, tuple[str, ...]] = {
    "token": ("token", "access_token", "refresh_token", "id_token"),
    "client": ("client_id",),
    "secret": ("client_secret", "secret", "webhook_secret", "password", "api_key"),
    "email": ("email", "end_user_email", "email_address"),
    "name": ("first_name", "last_name", "middle_names", "middle_name", "given_name", "given_names", "family_name",
             "full_name", "account_name", "account_holder_name", "agent_first_name", "agent_last_name", "legal_name",
             "business_name", "nickname", "payer", "payee", "beneficiary_name"),
    "text": ("description", "extended_description", "reference", "payer_reference", "payee_reference",
             "lodgement_reference", "memo", "narrative", "remittance_information"),
    "phone": ("phone", "mobile", "mobile_number", "phone_number", "full_number", "telephone"),
    "identifier": ("identifier", "payid", "crn"),
    "account_number": ("account_number", "masked_number", "card_number", "masked_card_number", "iban"),
    "bsb": ("bsb",),
    "abn": ("abn", "acn", "arbn"),
    "dob": ("date_of_birth", "dob", "birth_date"),
    "address": ("address", "address_line1", "address_line2", "address_line3", "line1", "line2", "line3",
                "street_address", "street_name", "thoroughfare_number1", "thoroughfare_number2", "flat_unit_number",
                "building_name1", "building_name2", "lot_number", "postal_delivery_number", "locality_name", "dpid"),
}
#: Normalised field name -> category (the placeholder's look).
FIELD_CATEGORIES: dict[str, str] = {_norm(key): category for category, keys in _CATEGORY_KEYS.items() for key in keys}

#: `name` directly under these is an organisation's, not a person's (institutions, the beneficiary's
#: bank, merchants, billers, a direct debit's authorised entity, products, errors).
_PUBLIC_NAME_PARENTS = {_norm(k) for k in ("institution", "institutions", "merchant", "biller", "bank_address",
                                            "bank_details", "authorised_entity", "product", "products", "plan",
                                            "plans", "error", "errors", "financial_institution", "app")}
#: Containers whose every leaf is personal: keys holding "email" or "phone", and these address keys.
_ADDRESS_CONTAINERS = {_norm(k) for k in ("address", "addresses", "physical_addresses", "mailing_address",
                                           "residential_address", "postal_address", "registered_address", "location")}
#: Never redacted, also inside a personal container: discriminators and classifications.
_KEEP_KEYS = {_norm(k) for k in ("type", "purpose", "is_preferred", "country", "country_code", "provider")}

SENSITIVE_HEADERS = {"authorization", "x-fiskil-signature", "cookie", "set-cookie", "proxy-authorization"}

#: Learned values of these categories are distinctive enough to replace where they reappear inside
#: other strings (minimum length each); everything else is replaced only as a whole value.
_SUBSTRING_MIN_LENGTH = {"token": 4, "secret": 4, "client": 4, "email": 4, "phone": 8, "identifier": 8}
#: ... and these only where they stand alone (not part of an id such as bank_tx_0412345678).
_STANDALONE_CATEGORIES = {"phone", "identifier"}
_STANDALONE = r"(?<![\w.+/-]){}(?![\w])"

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_BEARER = re.compile(r"(?i)\bbearer\s+([A-Za-z0-9._~+/=-]{8,})")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}(?:\.[A-Za-z0-9_-]*)?")
# Australian numbers (+61 4xx xxx xxx, 04xx xxx xxx, (02) xxxx xxxx) and any E.164 number. Not after
# a word character, '.', '/' or '-' so ids, amounts and path segments are left alone.
_PHONE = re.compile(
    r"(?<![\w.+/-])(?:"
    r"(?:\+61[\s-]?(?:\(0\)\s?)?|0)[2-478](?:[\s-]?\d){8}"
    r"|\(0[2-478]\)\s?\d{4}[\s-]?\d{4}"
    r"|\+[1-9]\d{7,14}"
    r")(?!\w)"
)


def _placeholder(category: str, n: int) -> str:
    if category == "email":
        return f"user{n}@example.invalid"
    if category == "phone":
        return f"+6140000{n:04d}"
    if category == "bsb":
        return f"000-{n:03d}"
    if category == "abn":
        return f"00 000 000 {n:03d}"
    if category == "account_number":
        return f"ACCT{n:06d}"
    if category == "name":
        return f"Person {n}"
    if category == "text":
        return f"redacted text {n}"
    if category == "dob":
        return f"1900-{(n - 1) // 28 % 12 + 1:02d}-{(n - 1) % 28 + 1:02d}"
    if category == "address":
        return f"{n} Redacted Street"
    return f"redacted-{category}-{n}"


@dataclass(frozen=True)
class _Context:
    """Where a value sits: what decides whether `name`, `message` or a container's leaves are personal."""

    container: str | None = None  # category every leaf gets (inside phone_numbers, email_addresses, ...)
    public_name: bool = False  # `name` here is an organisation's
    error_root: bool = False  # this object is an error body (its name and message are the error's)

    def enter(self, key: str) -> _Context:
        k = _norm(key)
        container = self.container
        if container is None:
            if "email" in k:
                container = "email"
            elif "phone" in k:
                container = "phone"
            elif k in _ADDRESS_CONTAINERS:
                container = "address"
        return _Context(container=container, public_name=k in _PUBLIC_NAME_PARENTS, error_root=False)


class Sanitiser:
    """One per recording set: remembers original -> placeholder so placeholders stay stable."""

    def __init__(self, extra_secrets: list[str] | None = None) -> None:
        self._lock = threading.Lock()
        self._by_original: dict[str, str] = {}
        self._placeholders: set[str] = set()
        self._substring: dict[str, str] = {}  # distinctive originals replaced inside other strings
        self._standalone: set[str] = set()  # ... of which these only where they stand alone
        self._counters: dict[str, int] = {}
        for secret in extra_secrets or []:
            self.learn(secret, "secret")

    # -- learning -------------------------------------------------------------------------------
    def learn(self, value: str, category: str) -> str:
        """Remember a sensitive value; returns its placeholder (the same one every time)."""
        with self._lock:
            if value in self._placeholders:
                return value  # already sanitised (a second pass, or a placeholder sent back)
            if value in self._by_original:
                return self._by_original[value]
            self._counters[category] = self._counters.get(category, 0) + 1
            placeholder = _placeholder(category, self._counters[category])
            self._by_original[value] = placeholder
            self._placeholders.add(placeholder)
            if len(value) >= _SUBSTRING_MIN_LENGTH.get(category, 10**9):
                self._substring[value] = placeholder
                if category in _STANDALONE_CATEGORIES:
                    self._standalone.add(value)
            return placeholder

    @property
    def originals(self) -> list[str]:
        """Everything learned so far (tests scan stored files for these)."""
        with self._lock:
            return list(self._by_original)

    # -- whole values ---------------------------------------------------------------------------
    def _category(self, key: str, ctx: _Context) -> str | None:
        k = _norm(key)
        if k in _KEEP_KEYS or k.endswith("utype"):
            return None
        if ctx.container is not None:
            return ctx.container
        if k == "name":
            return None if ctx.public_name or ctx.error_root else "name"
        if k == "message":
            return None if ctx.error_root else "text"
        return FIELD_CATEGORIES.get(k)

    def _redact(self, value: Any, category: str, ctx: _Context) -> Any:
        """The whole value replaced, JSON type kept."""
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str):
            return self.learn(value, category) if value.strip() else value
        if isinstance(value, (int, float)):
            digits = re.sub(r"\D", "", self.learn(str(value), category)) or "0"
            return type(value)(int(digits[-15:]))
        if isinstance(value, list):
            return [self._redact(item, category, ctx) for item in value]
        if isinstance(value, dict):
            cleaned = {}
            for key, item in value.items():
                inner = ctx.enter(str(key))
                k = _norm(key)
                keep = k in _KEEP_KEYS or k.endswith("utype")
                cleaned[key] = item if keep else self._redact(item, self._category(str(key), ctx) or category, inner)
            return cleaned
        return value

    def _clean(self, value: Any, ctx: _Context) -> Any:
        if isinstance(value, dict):
            cleaned = {}
            for key, item in value.items():
                category = self._category(str(key), ctx)
                inner = ctx.enter(str(key))
                cleaned[key] = self._redact(item, category, inner) if category else self._clean(item, inner)
            return cleaned
        if isinstance(value, list):
            return [self._clean(item, ctx) for item in value]  # items share the list's context
        if isinstance(value, str):
            return self._scrub_text(value)
        return value

    # -- inside strings ---------------------------------------------------------------------------
    def _scrub_text(self, text: str) -> str:
        """Distinctive learned values (raw and percent-encoded), then emails, tokens and phones."""
        with self._lock:
            pairs = sorted(self._substring.items(), key=lambda kv: len(kv[0]), reverse=True)
            standalone = set(self._standalone)
        for original, placeholder in pairs:
            if original not in text:
                pass
            elif original in standalone:
                text = re.sub(_STANDALONE.format(re.escape(original)), lambda _m, p=placeholder: p, text)
            else:
                text = text.replace(original, placeholder)
            encoded = quote(original, safe="")  # URLs carry values percent-encoded (email=a%40b.com)
            if encoded != original and encoded in text:
                text = text.replace(encoded, quote(placeholder, safe=""))
        text = _BEARER.sub(lambda m: m.group(0).replace(m.group(1), self.learn(m.group(1), "token")), text)
        text = _JWT.sub(lambda m: self.learn(m.group(0), "token"), text)
        text = _EMAIL.sub(lambda m: m.group(0) if m.group(0).endswith("@example.invalid")
                          else self.learn(m.group(0), "email"), text)
        return _PHONE.sub(lambda m: self.learn(m.group(0), "phone"), text)

    # -- public ---------------------------------------------------------------------------------
    def _sanitise_part(self, part: dict[str, Any], body_ctx: _Context) -> dict[str, Any]:
        clean = dict(part)
        headers = {}
        for name, value in (part.get("headers") or {}).items():
            if name.lower() in SENSITIVE_HEADERS and isinstance(value, str):
                token = _BEARER.match(value.strip())
                headers[name] = f"Bearer {self.learn(token.group(1), 'token')}" if token else self.learn(value, "token")
            else:
                headers[name] = self._scrub_text(value) if isinstance(value, str) else value
        if "headers" in part:
            clean["headers"] = headers
        if "body" in part:
            clean["body"] = self._clean(part["body"], body_ctx)
        if isinstance(part.get("path"), str):
            clean["path"] = self._scrub_text(part["path"])
        if isinstance(part.get("query"), dict):
            clean["query"] = {name: self._query_values(name, values) for name, values in part["query"].items()}
        return clean

    def _query_values(self, name: str, values: Any) -> list[Any]:
        """A query parameter is judged by its name like a JSON key (?email=... is an email)."""
        category = self._category(name, _Context())
        items = values if isinstance(values, list) else [values]
        if category:
            return [self._redact(value, category, _Context()) for value in items]
        return [self._scrub_text(value) if isinstance(value, str) else value for value in items]

    def sanitise_exchange(self, exchange: dict[str, Any]) -> dict[str, Any]:
        """A sanitised copy of one recorded exchange (see harness.contract.recording for its shape)."""
        request = exchange.get("request") or {}
        response = exchange.get("response") or {}
        status = response.get("status")
        path = str(request.get("path", ""))
        response_ctx = _Context(public_name=path.startswith("/v1/institutions"),
                                error_root=isinstance(status, int) and status >= 400)

        def once() -> dict[str, Any]:
            clean = dict(exchange)
            if "request" in exchange:
                clean["request"] = self._sanitise_part(request, _Context())
            if "response" in exchange:
                clean["response"] = self._sanitise_part(response, response_ctx)
            return clean

        once()  # learn everything first: a token issued in the response also goes in the request's URL
        return once()

    def sanitise_text(self, text: str) -> str:
        """Sanitise free text (a log line, a report cell) with everything learned so far."""
        return self._scrub_text(text)


SanitiseFn = Callable[[dict[str, Any]], dict[str, Any]]
