"""Replace secrets and personal data in recorded exchanges with STABLE placeholders.

Stable means: within one `Sanitiser` (one recording set) the same original always becomes the same
placeholder, so a recording still shows that the email sent on create is the one read back, and a
replay can still tell one end user from another. Placeholders keep the value's JSON type, so shape
comparison (drift) is unaffected.

Two passes per exchange: (1) sensitive values are learned from where they sit (JSON keys, query
parameters, the Authorization header) and from their look (emails, bearer/JWT-like tokens); (2)
every learned original is replaced wherever it occurs, also inside URLs such as `links.next`.
Identifiers (end_user_id, arrangement_id, fiskil_id, ...) are not personal data and are kept: the
drift replay needs them to map recorded ids to the fake's ids.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

# Field name -> category. Categories decide the placeholder's look.
FIELD_CATEGORIES: dict[str, str] = {
    "token": "token",
    "access_token": "token",
    "refresh_token": "token",
    "id_token": "token",
    "client_id": "client",
    "client_secret": "secret",
    "secret": "secret",
    "webhook_secret": "secret",
    "password": "secret",
    "email": "email",
    "end_user_email": "email",
    "name": "name",
    "first_name": "name",
    "last_name": "name",
    "middle_names": "name",
    "account_name": "name",
    "agent_first_name": "name",
    "agent_last_name": "name",
    "legal_name": "name",
    "business_name": "name",
    "phone": "phone",
    "mobile": "phone",
    "phone_number": "phone",
    "account_number": "account_number",
    "masked_number": "account_number",
    "card_number": "account_number",
    "bsb": "bsb",
    "abn": "abn",
    "acn": "abn",
    "arbn": "abn",
}

# Names that are not a person's: an institution's, a merchant's or an error's name is public data
# (and error names are what drift compares). `name` is not personal under these parents, nor in an
# object carrying one of the marker keys (an error has `message`, an institution `industry`).
_NON_PERSONAL_NAME_PARENTS = {"institution", "institutions", "merchant", "biller", "error"}
_NON_PERSONAL_NAME_MARKERS = {"message", "industry", "logo", "icon", "fault"}

# Shorter originals are only replaced where they are the whole value: replacing "Al" inside every
# string would mangle unrelated text.
_MIN_SUBSTRING_LENGTH = 4

SENSITIVE_HEADERS = {"authorization", "x-fiskil-signature", "cookie", "set-cookie", "proxy-authorization"}

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_BEARER = re.compile(r"(?i)\bbearer\s+([A-Za-z0-9._~+/=-]{8,})")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}(?:\.[A-Za-z0-9_-]*)?")


def _placeholder(category: str, n: int, original: str) -> str:
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
    return f"redacted-{category}-{n}"


class Sanitiser:
    """One per recording set: remembers original -> placeholder so placeholders stay stable."""

    def __init__(self, extra_secrets: list[str] | None = None) -> None:
        self._lock = threading.Lock()
        self._by_original: dict[str, str] = {}
        self._counters: dict[str, int] = {}
        for secret in extra_secrets or []:
            self.learn(secret, "secret")

    # -- learning -------------------------------------------------------------------------------
    def learn(self, value: str, category: str) -> str:
        """Remember a sensitive value; returns its placeholder (the same one every time)."""
        with self._lock:
            if value in self._by_original:
                return self._by_original[value]
            self._counters[category] = self._counters.get(category, 0) + 1
            placeholder = _placeholder(category, self._counters[category], value)
            self._by_original[value] = placeholder
            return placeholder

    @property
    def originals(self) -> list[str]:
        """Everything learned so far (tests scan stored files for these)."""
        with self._lock:
            return list(self._by_original)

    def _learn_from_json(self, value: Any, parent: str = "") -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                category = FIELD_CATEGORIES.get(str(key).lower())
                if category == "name" and (
                    parent.lower() in _NON_PERSONAL_NAME_PARENTS or _NON_PERSONAL_NAME_MARKERS & set(value)
                ):
                    category = None
                if category and isinstance(item, (str, int)) and not isinstance(item, bool) and str(item).strip():
                    self.learn(str(item), category)
                else:
                    self._learn_from_json(item, str(key))
        elif isinstance(value, list):
            for item in value:
                self._learn_from_json(item, parent)
        elif isinstance(value, str):
            self._learn_from_text(value)

    def _learn_from_text(self, text: str) -> None:
        for match in _EMAIL.finditer(text):
            if not match.group(0).endswith("@example.invalid"):
                self.learn(match.group(0), "email")
        for match in _BEARER.finditer(text):
            if not match.group(1).startswith("redacted-"):
                self.learn(match.group(1), "token")
        for match in _JWT.finditer(text):
            self.learn(match.group(0), "token")

    # -- replacing --------------------------------------------------------------------------------
    def _replace_text(self, text: str) -> str:
        with self._lock:
            pairs = sorted(self._by_original.items(), key=lambda kv: len(kv[0]), reverse=True)
        for original, placeholder in pairs:
            if len(original) < _MIN_SUBSTRING_LENGTH:
                if text == original:
                    return placeholder
                continue
            if original in text:
                text = text.replace(original, placeholder)
            # URLs carry values percent-encoded (email=a%40b.com)
            encoded = _percent_encode(original)
            if encoded != original and encoded in text:
                text = text.replace(encoded, _percent_encode(placeholder))
        return text

    def _replace_json(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {key: self._replace_json(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self._replace_json(item) for item in value]
        if isinstance(value, str):
            return self._replace_text(value)
        if isinstance(value, int) and not isinstance(value, bool):
            # numbers learned as sensitive (an abn sent as a number) keep their type
            replaced = self._replace_text(str(value))
            return value if replaced == str(value) else replaced
        return value

    # -- public ---------------------------------------------------------------------------------
    def sanitise_exchange(self, exchange: dict[str, Any]) -> dict[str, Any]:
        """A sanitised copy of one recorded exchange (see harness.contract.recording for its shape)."""
        request = exchange.get("request", {})
        response = exchange.get("response", {})
        # pass 1: learn
        for part in (request, response):
            self._learn_from_json(part.get("body"))
            for name, value in (part.get("headers") or {}).items():
                if name.lower() in SENSITIVE_HEADERS and isinstance(value, str):
                    token = _BEARER.match(value.strip())
                    self.learn(token.group(1) if token else value, "token")
                elif isinstance(value, str):
                    self._learn_from_text(value)
        for name, values in (request.get("query") or {}).items():
            category = FIELD_CATEGORIES.get(name.lower())
            for value in values:
                if category:
                    self.learn(value, category)
                else:
                    self._learn_from_text(value)
        self._learn_from_text(request.get("path", ""))
        # pass 2: replace everywhere
        return self._replace_json(exchange)

    def sanitise_text(self, text: str) -> str:
        """Sanitise free text (a log line, a report cell) with everything learned so far."""
        self._learn_from_text(text)
        return self._replace_text(text)


def _percent_encode(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


SanitiseFn = Callable[[dict[str, Any]], dict[str, Any]]
