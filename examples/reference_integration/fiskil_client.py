"""The integration's Fiskil API client: token cache, 401 renewal, retries, pagination, safe logs.

Contract: docs/sources.md. Token: POST /v1/token with client_id/client_secret in a JSON
body, `Authorization: Bearer <token>` on every other call, no refresh tokens
(https://docs.fiskil.com/data-api/api-reference/authentication). Lists are cursor-paginated with
`page[size]` and `links.next` given as a full URI (https://docs.fiskil.com/data-api/api-reference/pagination).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx

from examples.reference_integration.config import ConfigurationError, Settings
from examples.reference_integration.faults import TIGHT_LOOP_ATTEMPTS
from examples.reference_integration.retry import RETRYABLE_STATUSES, BackoffPolicy, parse_retry_after
from examples.reference_integration.token_cache import CachedToken, IssuedToken, TokenCache

log = logging.getLogger("reference_integration.fiskil")

#: Fiskil caps page[size] at 1000 (https://docs.fiskil.com/data-api/api-reference/pagination).
MAX_PAGE_SIZE = 1000
#: A hard bound on pages per list, so a looping links.next can never spin forever.
MAX_PAGES = 10_000


class FiskilError(RuntimeError):
    """Fiskil answered with an error we will not (or no longer) retry."""

    def __init__(self, status: int, name: str, error_id: str | None, message: str) -> None:
        self.status = status
        self.name = name
        self.error_id = error_id
        super().__init__(message)


class FiskilUnavailable(RuntimeError):
    """Fiskil could not be reached (transport errors) after every allowed retry."""


def error_fields(response: httpx.Response) -> tuple[str, str | None, str]:
    """(name, id, message) from either Fiskil error shape; both carry id/name/message
    (https://docs.fiskil.com/data-api/api-reference/errors, goa shape on OP pages)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return ("http_" + str(response.status_code), None, f"HTTP {response.status_code}")
    name = str(body.get("name") or f"http_{response.status_code}")
    error_id = body.get("id")
    message = str(body.get("message") or f"HTTP {response.status_code}")
    return name, (str(error_id) if error_id is not None else None), message


class FiskilClient:
    """One instance per integration; safe to share between threads."""

    def __init__(self, settings: Settings, *, http: httpx.Client | None = None,
                 backoff: BackoffPolicy | None = None) -> None:
        self.settings = settings
        self._owns_http = http is None
        self.http = http or httpx.Client(base_url=settings.api_url, timeout=settings.http_timeout)
        self.backoff = backoff or BackoffPolicy(
            base=settings.backoff_base,
            cap=settings.backoff_cap,
            max_retries=settings.max_retries,
            honour_retry_after=not settings.has_fault("ignore_retry_after"),
            immediate=settings.has_fault("no_backoff"),
        )
        self.tokens = TokenCache(self._fetch_token,
                                 renew_on_expiry=not settings.has_fault("no_token_renewal"))
        self.token_requests = 0

    def close(self) -> None:
        if self._owns_http:
            self.http.close()

    # -- tokens ---------------------------------------------------------------------------------

    def _fetch_token(self) -> IssuedToken:
        """POST /v1/token with retries for transient failures; rejected credentials fail at once."""
        credentials = {"client_id": self.settings.client_id, "client_secret": self.settings.client_secret}
        rejections = 0
        attempt = 0
        while True:
            self.token_requests += 1
            try:
                response = self.http.post(self._url("/v1/token"), json=credentials)
            except httpx.TransportError as exc:
                self._log_transport("POST", "/v1/token", exc)
                if attempt >= self.backoff.max_retries:
                    raise FiskilUnavailable("Fiskil token endpoint unreachable after retries") from None
                self.backoff.wait(attempt)
                attempt += 1
                continue
            self._log_response(response)
            if response.status_code in (400, 401, 403):
                rejections += 1
                # Seeded fault: hammer the token endpoint instead of failing with a clear error.
                if self.settings.has_fault("tight_credential_loop") and rejections < TIGHT_LOOP_ATTEMPTS:
                    continue
                raise ConfigurationError(
                    f"Fiskil rejected the client credentials (HTTP {response.status_code}): check "
                    "FISKIL_CLIENT_ID and FISKIL_CLIENT_SECRET against the API key in Fiskil Console"
                )
            if response.status_code in RETRYABLE_STATUSES and attempt < self.backoff.max_retries:
                self.backoff.wait(attempt, parse_retry_after(response.headers.get("Retry-After")))
                attempt += 1
                continue
            if response.status_code != 200:
                name, error_id, message = error_fields(response)
                raise FiskilError(response.status_code, name, error_id, f"token request failed: {message}")
            body = response.json()
            token = body.get("token") or body.get("access_token")
            if not token:
                raise FiskilError(200, "invalid_token_response", None, "token response had no token")
            expires_in = body.get("expires_in")
            return IssuedToken(str(token), float(expires_in) if expires_in is not None else None)

    def _token(self) -> CachedToken:
        if self.settings.has_fault("token_per_request"):
            # Seeded fault: a brand-new token for every call.
            return CachedToken(self._fetch_token().value, -1)
        return self.tokens.current()

    # -- requests -------------------------------------------------------------------------------

    def request(self, method: str, url: str, *, params: dict[str, Any] | None = None,
                json: Any = None) -> httpx.Response:
        """An authorised call: one token renewal on 401, bounded retries with backoff.

        Returns the final response (2xx or a non-retryable error status, for the caller to read).
        """
        renewed = False
        attempt = 0
        while True:
            token = self._token()
            headers = {"Authorization": f"Bearer {token.value}", "Accept": "application/json"}
            if self.settings.has_fault("log_token"):
                log.info("calling %s %s with Authorization: Bearer %s", method, url, token.value)
            try:
                response = self.http.request(method, self._url(url), params=params, json=json,
                                             headers=headers)
            except httpx.TransportError as exc:
                self._log_transport(method, url, exc)
                if attempt >= self.backoff.max_retries:
                    raise FiskilUnavailable(f"Fiskil unreachable for {method} {_path(url)} after "
                                            f"{attempt + 1} attempts") from None
                self.backoff.wait(attempt)
                attempt += 1
                continue
            self._log_response(response)
            if response.status_code == 401 and not renewed and not self.settings.has_fault("no_token_renewal"):
                renewed = True      # renew once; a second 401 is returned to the caller
                if token.generation >= 0:
                    self.tokens.renew_after_rejection(token)
                continue
            if response.status_code in RETRYABLE_STATUSES and attempt < self.backoff.max_retries:
                self.backoff.wait(attempt, parse_retry_after(response.headers.get("Retry-After")))
                attempt += 1
                continue
            return response

    def get_json(self, url: str, params: dict[str, Any] | None = None) -> Any:
        return self._json(self.request("GET", url, params=params))

    def post_json(self, url: str, body: Any) -> Any:
        return self._json(self.request("POST", url, json=body))

    def pages(self, path: str, root_key: str, params: dict[str, Any]) -> Iterator[list[dict]]:
        """Yield each page's items, following links.next exactly as given until there is none."""
        size = min(self.settings.page_size, MAX_PAGE_SIZE)
        url: str | None = path
        query: dict[str, Any] | None = {**params, "page[size]": size}
        for _ in range(MAX_PAGES):
            body = self.get_json(url, query)
            if not isinstance(body, dict):
                raise FiskilError(200, "invalid_page", None, f"{path}: a page was not a JSON object")
            yield list(body.get(root_key) or [])
            links = body.get("links")
            url = links.get("next") if isinstance(links, dict) else None
            query = None        # links.next already carries the cursor and the filters
            if not url or self.settings.has_fault("first_page_only"):
                return
        raise FiskilError(0, "too_many_pages", None, f"{path}: more than {MAX_PAGES} pages")

    # -- helpers --------------------------------------------------------------------------------

    def _json(self, response: httpx.Response) -> Any:
        if response.is_success:
            return response.json() if response.content else None
        name, error_id, message = error_fields(response)
        raise FiskilError(response.status_code, name, error_id, message)

    def _url(self, url: str) -> str:
        # Absolute URLs (links.next) are used as given; paths go to the configured base URL.
        return url if url.startswith(("http://", "https://")) else self.settings.api_url + url

    def _log_response(self, response: httpx.Response) -> None:
        method = response.request.method
        path = response.request.url.path
        if response.is_success:
            log.info("%s %s -> %s", method, path, response.status_code)
            return
        name, error_id, _ = error_fields(response)
        # The error id is what Fiskil Support asks for (go-live checklist); it is not a secret.
        log.warning("%s %s -> %s %s error_id=%s", method, path, response.status_code, name, error_id)

    @staticmethod
    def _log_transport(method: str, url: str, exc: httpx.TransportError) -> None:
        log.warning("%s %s -> transport error %s", method, _path(url), type(exc).__name__)


def _path(url: str) -> str:
    """The path of a URL only: query strings can carry cursors and are not worth logging."""
    return httpx.URL(url).path
