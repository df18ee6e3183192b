"""`LinkBrowser`: plays the end user's browser through the fake's hosted Link page with plain form
posts, and stops at the final redirect (to the integration's redirect_uri or cancel_uri) without
following it off the fake, so the caller decides who "lands" there."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

import httpx

from fakes.core import assumptions as A

MAX_STEPS = 12
SANDBOX_OTP = "123456"
_STEP = re.compile(r'<main data-step="([a-z]+)"([^>]*)>')
_ATTR = re.compile(r'data-([a-z-]+)="([^"]*)"')
_FORM = re.compile(r'<form method="post" action="([^"]+)" data-action="([a-z]+)">(.*?)</form>', re.S)
_INPUT = re.compile(r'<input type="(hidden|radio|checkbox)" name="([a-z_]+)" value="([^"]*)"')
_ALERT = re.compile(r'<p class="error"[^>]*>(.*?)</p>', re.S)


class LinkBrowserError(RuntimeError):
    """The Link page did something the browser cannot continue from; the message says what."""


@dataclass
class LinkResult:
    final_url: str  # where the browser was sent (redirect_uri or cancel_uri + query)
    outcome: str  # "redirect" or "cancel"; "error" when the page refused the session (AUTH_SESSION_INVALID)
    params: dict[str, str] = field(default_factory=dict)  # query parameters of final_url
    consent_id: str | None = None


class LinkBrowser:
    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def complete(self, auth_url: str, *, outcome: str = "success", institution_id: str = A.SANDBOX_BANK_ID,
                 username: str | None = None, accounts: str = "all") -> LinkResult:
        """Walk the flow. `outcome` picks the magic username (or presses Cancel for
        AUTH_SESSION_CANCELLED); `accounts` is "all", "first" or comma-separated account fiskil_ids."""
        link_origin = _origin(auth_url)
        login = username or (A.SUCCESS_USERNAME if outcome == "success" else f"{A.ERROR_USERNAME_PREFIX}{outcome}")
        response = self.client.get(auth_url, follow_redirects=False)
        for _ in range(MAX_STEPS):
            if response.is_redirect:
                location = response.headers["location"]
                if _origin(location) == link_origin and urlsplit(location).path.startswith(A.LINK_PATH):
                    response = self.client.get(location, follow_redirects=False)
                    continue
                return _result(location, "cancel" if "error_type=" in location else "redirect")
            step, attrs = _page_step(response.text)
            if step == "error":
                return LinkResult(str(response.url), "error", {"error_type": attrs.get("error-type", "")})
            if step == "result":
                params = dict(parse_qsl(html.unescape(attrs.get("params", ""))))
                return LinkResult(str(response.url), attrs.get("outcome", ""), params, params.get("consent_id"))
            forms = _forms(response.text)
            alert = _ALERT.search(response.text)
            if alert and step in ("institution", "accounts"):
                raise LinkBrowserError(f"Link page refused the {step} step: {html.unescape(alert.group(1))}")
            if outcome == "AUTH_SESSION_CANCELLED":
                response = self._post(forms, "cancel", {})
            elif step == "institution":
                response = self._post(forms, "institution", {"institution_id": institution_id})
            elif step == "login":
                if alert:
                    raise LinkBrowserError(f"Link page refused the username: {html.unescape(alert.group(1))}")
                response = self._post(forms, "login", {"username": login})
            elif step == "otp":
                response = self._post(forms, "otp", {"otp": SANDBOX_OTP})
            elif step == "accounts":
                offered = forms["accounts"][1].get("account_ids", [])
                response = self._post(forms, "accounts", {"account_ids": _pick(offered, accounts)})
            elif step == "confirm":
                response = self._post(forms, "confirm", {})
            else:
                raise LinkBrowserError(f"unexpected Link page (step {step!r}, status {response.status_code})")
        raise LinkBrowserError(f"Link flow did not finish within {MAX_STEPS} pages")

    def _post(self, forms: dict[str, tuple[str, dict[str, list[str]]]], action: str,
              values: dict[str, str | list[str]]) -> httpx.Response:
        if action not in forms:
            raise LinkBrowserError(f"the page has no {action!r} form (has: {', '.join(forms)})")
        url, fields = forms[action]
        data: dict[str, str | list[str]] = {name: found[0] for name, found in fields.items() if name == "sess_id"}
        data.update(values)
        return self.client.post(url, data=data, follow_redirects=False)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _page_step(text: str) -> tuple[str, dict[str, str]]:
    match = _STEP.search(text)
    if not match:
        raise LinkBrowserError("not a Link page (no data-step marker)")
    return match.group(1), dict(_ATTR.findall(match.group(2)))


def _forms(text: str) -> dict[str, tuple[str, dict[str, list[str]]]]:
    forms = {}
    for action_url, action, inner in _FORM.findall(text):
        fields: dict[str, list[str]] = {}
        for _kind, name, value in _INPUT.findall(inner):
            fields.setdefault(name, []).append(html.unescape(value))
        forms[action] = (html.unescape(action_url), fields)
    return forms


def _pick(offered: list[str], accounts: str) -> list[str]:
    if accounts == "all":
        return offered
    if accounts == "first":
        return offered[:1]
    wanted = [item.strip() for item in accounts.split(",") if item.strip()]
    unknown = [item for item in wanted if item not in offered]
    if unknown:
        raise LinkBrowserError(f"accounts {', '.join(unknown)} are not offered; offered: {', '.join(offered)}")
    return wanted


def _result(location: str, outcome: str) -> LinkResult:
    params = dict(parse_qsl(urlsplit(location).query))
    return LinkResult(location, outcome, params, params.get("consent_id"))
