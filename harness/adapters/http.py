"""HttpSubject: a partner app behind the HTTP adapter contract v1 (docs/adapter-contract.md).

A partner exposes a handful of JSON endpoints in a test build of their app; the kit drives them
exactly as it drives the in-process reference integration. Every answer is checked against the
contract, and a wrong answer raises `AdapterContractError` naming the endpoint, what it expected
and what came back, so a partner reading a failed scenario knows which handler to fix.

The kit cannot see inside the partner's process, so two things come from the environment:
- `HARNESS_SUBJECT_WEBHOOK_URL`: where the fake delivers webhooks for the app (optional);
- `HARNESS_SUBJECT_WEBHOOK_SECRET`: the signing secret the app verifies with (the same value it is
  configured with; never printed).
`fiskil-harness check` sets both from `--webhook-url` / `--webhook-secret-env`.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any
from urllib.parse import quote, urlparse

import httpx

from harness.adapters.protocol import ConsentView, SubjectState, SyncResult, UserError
from harness.redaction import default_redactor
from harness.webhooks.signing import secret_forms

CONTRACT_VERSION = "1"
WEBHOOK_URL_ENV = "HARNESS_SUBJECT_WEBHOOK_URL"
WEBHOOK_SECRET_ENV = "HARNESS_SUBJECT_WEBHOOK_SECRET"
TIMEOUT_ENV = "HARNESS_ADAPTER_TIMEOUT"
#: A sync may retry with backoff inside the partner's app; 30 s bounds it without cutting a sane one short.
DEFAULT_TIMEOUT_S = 30.0
BODY_EXCERPT = 300
MAX_LANDING_REDIRECTS = 5


class AdapterContractError(RuntimeError):
    """The partner's adapter endpoint answered outside the contract; the message says how."""


def _excerpt(response: httpx.Response) -> str:
    text = response.text.strip().replace("\n", " ")
    if len(text) > BODY_EXCERPT:
        text = text[:BODY_EXCERPT] + "…"
    return default_redactor.redact(text) or "(empty body)"


def check_adapter_url(url: str) -> str:
    """The base URL of the adapter: http(s), with a host; returned without a trailing slash."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValueError(f"the adapter URL must be an http(s) base URL such as http://127.0.0.1:8000, got {url!r}")
    return url.rstrip("/")


class HttpSubject:
    """Implements harness.adapters.protocol.Subject over the HTTP adapter contract v1."""

    webhook_url: str | None

    def __init__(
        self,
        base_url: str,
        *,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = check_adapter_url(base_url)
        self.webhook_url = webhook_url
        self._webhook_secret = webhook_secret
        if webhook_secret:  # also the trimmed and re-encoded forms a receiver may echo
            default_redactor.add_all(secret_forms(webhook_secret))
        self._harness_config: Any = None
        # Our own client: the subject lives for the whole session, apart from the steps' shared one.
        self._http = httpx.Client(timeout=httpx.Timeout(timeout_s, connect=5.0), transport=transport,
                                  follow_redirects=False)

    @classmethod
    def from_env(cls, base_url: str, env: dict[str, str] | None = None) -> HttpSubject:
        env = dict(os.environ) if env is None else env
        raw_timeout = env.get(TIMEOUT_ENV) or str(DEFAULT_TIMEOUT_S)
        try:
            timeout = float(raw_timeout)
        except ValueError:
            raise ValueError(f"{TIMEOUT_ENV} must be a number of seconds, got {raw_timeout!r}") from None
        return cls(base_url, webhook_url=env.get(WEBHOOK_URL_ENV) or None,
                   webhook_secret=env.get(WEBHOOK_SECRET_ENV) or None, timeout_s=timeout)

    # The plugin stores its SubjectConfig here and reads `webhook_secret` from it when it registers
    # the subject's webhook with the fake. A partner app verifies with ITS secret, so ours wins.
    @property
    def harness_config(self) -> Any:
        return self._harness_config

    @harness_config.setter
    def harness_config(self, config: Any) -> None:
        if config is not None and self._webhook_secret and dataclasses.is_dataclass(config):
            config = dataclasses.replace(config, webhook_secret=self._webhook_secret)
        self._harness_config = config

    # -- plumbing -------------------------------------------------------------------------------

    def _call(self, method: str, path: str, expected: str, json: Any = None,
              ok: tuple[int, ...] = (200,)) -> httpx.Response:
        url = self.base_url + path
        try:
            response = self._http.request(method, url, json=json)
        except httpx.TimeoutException:
            raise AdapterContractError(
                f"adapter {method} {path}: no answer within {self._http.timeout.read:g} s (expected {expected}); "
                "is the app stuck, or does it wait on something the fake never sends?") from None
        except httpx.TransportError as exc:
            raise AdapterContractError(
                f"adapter {method} {path}: cannot reach {self.base_url} ({type(exc).__name__}); "
                "is the app running and is --subject/--adapter its base URL?") from None
        if response.status_code not in ok:
            raise AdapterContractError(
                f"adapter {method} {path} answered {response.status_code}, expected "
                f"{' or '.join(map(str, ok))} with {expected}; body: {_excerpt(response)}")
        return response

    def _json_object(self, response: httpx.Response, method: str, path: str, expected: str) -> dict[str, Any]:
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            raise AdapterContractError(
                f"adapter {method} {path} answered {response.status_code} but not with a JSON object; "
                f"expected {expected}; body: {_excerpt(response)}")
        return payload

    @staticmethod
    def _field(payload: dict[str, Any], name: str, kind: type | tuple[type, ...], where: str, expected: str) -> Any:
        value = payload.get(name)
        # bool is an int in Python: a count must not be True/False
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise AdapterContractError(
                f"adapter {where}: field {name!r} is {value!r} ({type(value).__name__}); expected {expected}")
        return value

    @staticmethod
    def _id(end_user_id: str) -> str:
        return quote(end_user_id, safe="")

    # -- Subject --------------------------------------------------------------------------------

    def create_end_user(self, email: str, name: str) -> str:
        expected = '{"end_user_id": "<Fiskil end user id>"}'
        response = self._call("POST", "/end-users", expected, json={"email": email, "name": name})
        payload = self._json_object(response, "POST", "/end-users", expected)
        value = self._field(payload, "end_user_id", str, "POST /end-users", "a non-empty string")
        if not value.strip():
            raise AdapterContractError("adapter POST /end-users: end_user_id is empty; expected the Fiskil end user id")
        return value

    def start_link(self, end_user_id: str, institution_id: str | None = None) -> str:
        path = f"/end-users/{self._id(end_user_id)}/link"
        expected = '{"auth_url": "<the auth_url Fiskil returned>"}'
        body = {"institution_id": institution_id} if institution_id else {}
        payload = self._json_object(self._call("POST", path, expected, json=body), "POST", path, expected)
        auth_url = self._field(payload, "auth_url", str, f"POST {path}", "the auth_url from POST /v1/auth/session")
        if urlparse(auth_url).scheme not in ("http", "https"):
            raise AdapterContractError(f"adapter POST {path}: auth_url {auth_url!r} is not an http(s) URL")
        return auth_url

    def land(self, url: str) -> None:
        """A plain browser GET on the app's redirect_uri / cancel_uri; its own redirects are followed."""
        current = url
        for _ in range(MAX_LANDING_REDIRECTS + 1):
            try:
                response = self._http.get(current)
            except httpx.HTTPError as exc:
                raise AdapterContractError(
                    f"landing page {default_redactor.redact(current)}: no answer ({type(exc).__name__}); "
                    "the redirect_uri/cancel_uri the app gave Fiskil must be served by the app") from None
            if response.is_redirect and response.headers.get("location"):
                current = str(response.url.join(response.headers["location"]))
                continue
            if response.status_code >= 500:
                raise AdapterContractError(
                    f"landing page {default_redactor.redact(current)} answered {response.status_code}; "
                    f"a browser returning from Fiskil must get a page, not a server error; body: {_excerpt(response)}")
            return
        raise AdapterContractError(f"landing page {url}: more than {MAX_LANDING_REDIRECTS} redirects")

    def sync(self, end_user_id: str) -> SyncResult:
        path = f"/end-users/{self._id(end_user_id)}/sync"
        expected = '{"status": "ok" | "error", "message": "..."}'
        payload = self._json_object(self._call("POST", path, expected, json={}), "POST", path, expected)
        status = payload.get("status")
        if status not in ("ok", "error"):
            raise AdapterContractError(f"adapter POST {path}: status is {status!r}; expected \"ok\" or \"error\"")
        message = payload.get("message") or ""
        if not isinstance(message, str):
            raise AdapterContractError(f"adapter POST {path}: message is {type(message).__name__}; expected a string")
        return SyncResult(status=status, message=message)

    def snapshot(self, end_user_id: str) -> SubjectState:
        path = f"/end-users/{self._id(end_user_id)}"
        expected = '{"consents": [{"id", "active"}], "accounts": int, "transactions": int, "last_error": null | {"code", "message"}}'
        payload = self._json_object(self._call("GET", path, expected), "GET", path, expected)
        where = f"GET {path}"
        consents_raw = self._field(payload, "consents", list, where, 'a list of {"id": str, "active": bool}')
        consents = []
        for item in consents_raw:
            if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not isinstance(item.get("active"), bool):
                raise AdapterContractError(f"adapter {where}: consent {item!r} is not {{\"id\": str, \"active\": bool}}")
            consents.append(ConsentView(id=item["id"], active=item["active"]))
        accounts = self._field(payload, "accounts", int, where, "the number of live accounts (int)")
        transactions = self._field(payload, "transactions", int, where, "the number of live transactions (int)")
        if "last_error" not in payload:
            raise AdapterContractError(f"adapter {where}: field 'last_error' is missing; expected null or {{\"code\", \"message\"}}")
        raw_error = payload["last_error"]
        last_error = None
        if raw_error is not None:
            if not isinstance(raw_error, dict) or not isinstance(raw_error.get("code"), str) \
                    or not isinstance(raw_error.get("message"), str):
                raise AdapterContractError(
                    f"adapter {where}: last_error {raw_error!r} is not null or {{\"code\": str, \"message\": str}}")
            last_error = UserError(code=raw_error["code"], message=raw_error["message"])
        soft_deleted = payload.get("soft_deleted")  # optional: records kept but marked deleted
        if soft_deleted is not None and (not isinstance(soft_deleted, int) or isinstance(soft_deleted, bool)):
            raise AdapterContractError(f"adapter {where}: soft_deleted {soft_deleted!r} is not an int (or leave it out)")
        return SubjectState(consents=consents, accounts=accounts, transactions=transactions, last_error=last_error,
                            soft_deleted=soft_deleted)

    def processed_webhooks(self) -> list[str]:
        expected = '{"message_ids": ["<one entry per processing>"]}'
        payload = self._json_object(self._call("GET", "/webhook-events", expected), "GET", "/webhook-events", expected)
        ids = self._field(payload, "message_ids", list, "GET /webhook-events", "a list of message_id strings")
        return [str(i) for i in ids]

    def reset(self) -> bool:
        """POST /reset is optional: 404/405 means the kit uses fresh end users per scenario."""
        response = self._call("POST", "/reset", "204 (or 404 when reset is not supported)", ok=(200, 204, 404, 405))
        return response.status_code in (200, 204)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HttpSubject:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
