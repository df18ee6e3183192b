"""The kit's own small Fiskil API client.

Steps use it to read what the target holds (to compare with what the subject stored) and, on the
sandbox target, to tidy up end users a run created. Every request carries `X-Harness-Probe: 1`, so
traffic assertions can tell the kit's reads from the subject's requests in the edge journal.

Fiskil facts used here (docs/sources.md):
- token: POST /v1/token with JSON client_id/client_secret → {"token", "expires_in"}
  (https://docs.fiskil.com/data-api/guides/getting-started/authentication)
- end users: POST /v1/end-users → {"end_user_id"}; GET/DELETE /v1/end-users/{id}
  (https://docs.fiskil.com/data-api/api-reference/createEndUser)
- auth session: POST /v1/auth/session (https://docs.fiskil.com/data-api/api-reference/addAuthSession)
- consents: GET /v1/consent?end_user_id= → bare array (https://docs.fiskil.com/data-api/api-reference/listConsents)
- data lists are named after the resource and paginate with `links.next` full URIs
  (https://docs.fiskil.com/data-api/api-reference/pagination)
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx

from harness.redaction import Redactor, default_redactor

PROBE_HEADER = "X-Harness-Probe"
#: A paginated read stops after this many pages: a fake that loops its `links.next` fails loudly.
MAX_PAGES = 500


class FiskilApiError(RuntimeError):
    """The target answered with an error; `status`, `name` and a redacted message say which."""

    def __init__(self, method: str, path: str, status: int, name: str, message: str) -> None:
        self.method, self.path, self.status, self.name, self.message = method, path, status, name, message
        super().__init__(f"{method} {path} → {status} {name}: {message}")


class FiskilClient:
    """Reads and writes the target the way an integration would, tagged as the kit's own traffic."""

    def __init__(
        self,
        http: httpx.Client,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        redactor: Redactor | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._http = http
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self._client_secret = client_secret
        self._redactor = redactor or default_redactor
        self._redactor.add(client_secret)
        self._timeout = timeout
        self._token: str | None = None
        self._lock = threading.Lock()
        #: end users this client created (the sandbox clean-up deletes them)
        self.created_end_users: list[str] = []

    def __repr__(self) -> str:
        return f"FiskilClient(base_url={self.base_url!r}, client_id={self.client_id!r})"

    # --- low level -------------------------------------------------------------------------------

    def _url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return f"{self.base_url}{path_or_url}"

    def _error(self, method: str, path: str, response: httpx.Response) -> FiskilApiError:
        name, message = "", response.text[:300]
        try:
            body = response.json()
            if isinstance(body, dict):
                name = str(body.get("name", ""))
                message = str(body.get("message", message))
        except ValueError:
            pass
        return FiskilApiError(method, path, response.status_code, name, self._redactor.redact(message))

    def token(self, *, renew: bool = False) -> str:
        """A bearer token, fetched once and renewed only when asked (after a 401)."""
        with self._lock:
            if self._token is None or renew:
                response = self._http.post(
                    self._url("/v1/token"),
                    json={"client_id": self.client_id, "client_secret": self._client_secret},
                    headers={PROBE_HEADER: "1"},
                    timeout=self._timeout,
                )
                if response.status_code != 200:
                    raise self._error("POST", "/v1/token", response)
                self._token = response.json()["token"]
                self._redactor.add(self._token)
            return self._token

    def request(self, method: str, path: str, *, expect: tuple[int, ...] = (200,), **kwargs: Any) -> httpx.Response:
        """One authorised request; a 401 renews the token once and retries."""
        for attempt in range(2):
            headers = {PROBE_HEADER: "1", "Authorization": f"Bearer {self.token(renew=attempt > 0)}"}
            headers.update(kwargs.pop("headers", {}) or {})
            response = self._http.request(method, self._url(path), headers=headers, timeout=self._timeout, **kwargs)
            if response.status_code != 401:
                break
        if response.status_code not in expect:
            raise self._error(method, path.split("?")[0], response)
        return response

    def pages(self, path: str, key: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Every record of a paginated list, following `links.next` until it is absent."""
        url: str | None = path
        query: dict[str, Any] | None = params
        for _ in range(MAX_PAGES):
            if url is None:
                return
            body = self.request("GET", url, params=query).json()
            yield from body.get(key) or []
            url = (body.get("links") or {}).get("next") or None
            query = None  # links.next is a full URI that already carries the cursor
        raise RuntimeError(f"{path}: more than {MAX_PAGES} pages; the target's links.next never ends")

    # --- end users and sessions -------------------------------------------------------------------

    def create_end_user(self, email: str, name: str, phone: str | None = None) -> str:
        body: dict[str, Any] = {"email": email, "name": name}
        if phone:
            body["phone"] = phone
        end_user_id = self.request("POST", "/v1/end-users", json=body, expect=(200, 201)).json()["end_user_id"]
        self.created_end_users.append(end_user_id)
        return end_user_id

    def get_end_user(self, end_user_id: str) -> dict[str, Any]:
        return self.request("GET", f"/v1/end-users/{end_user_id}").json()

    def delete_end_user(self, end_user_id: str) -> None:
        self.request("DELETE", f"/v1/end-users/{end_user_id}", expect=(200, 202, 204, 404))

    def create_auth_session(
        self, end_user_id: str, redirect_uri: str, cancel_uri: str, institution_id: str | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"end_user_id": end_user_id, "redirect_uri": redirect_uri, "cancel_uri": cancel_uri}
        if institution_id:
            body["institution_id"] = institution_id
        return self.request("POST", "/v1/auth/session", json=body, expect=(200, 201)).json()

    # --- what the target holds ------------------------------------------------------------------

    def consents(self, end_user_id: str, active: bool | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"end_user_id": end_user_id}
        if active is not None:
            params["active"] = "true" if active else "false"
        return list(self.request("GET", "/v1/consent", params=params).json())

    def accounts(self, end_user_id: str) -> list[dict[str, Any]]:
        return list(self.pages("/v1/banking/accounts", "accounts", {"end_user_id": end_user_id}))

    def balances(self, end_user_id: str) -> list[dict[str, Any]]:
        return list(self.pages("/v1/banking/balances", "balances", {"end_user_id": end_user_id}))

    def transactions(self, end_user_id: str, account_id: str | None = None, page_size: int | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"end_user_id": end_user_id}
        if account_id:
            params["account_id"] = account_id
        if page_size:
            params["page[size]"] = page_size
        return list(self.pages("/v1/banking/transactions", "transactions", params))
