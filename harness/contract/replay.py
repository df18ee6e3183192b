"""Replay a recording against the fake, in order, translating recorded ids into the fake's ids.

A recording made on Fiskil's sandbox is full of ids the fake never issued (tokens, end users,
sessions, pagination cursors). The replayer keeps one map `recorded id -> fake id`:

1. Before sending, every request string that is a known recorded id (a path segment, a query value,
   a body value, the bearer token) is swapped for the fake's id. Unknown values go out unchanged,
   so a deliberately bogus id (the 404 scenarios) stays bogus.
2. After the fake answers, the recorded and the fake response bodies are walked side by side and
   the values of id-like fields (and the cursors inside `links.next`/`links.prev`) are paired.
3. A token request that succeeded in the recording is sent with the fake's own credentials (the
   recorded secret was sanitised away); one that failed is sent as recorded (still wrong). Bearer
   tokens do not go through the id map: a request Fiskil accepted is sent with the replayer's own
   token (fetched from the fake with the replay credentials), one Fiskil refused with 401 is sent
   with its recorded (made-up or expired) token. So how a recorded token response looks (a renamed
   `token` field, say) is reported once on the token exchange and never cascades into every
   authenticated call.
4. An end user that a successful recorded request uses but that no earlier response introduced
   existed before the recording started (the sandbox's pre-consented user,
   FISKIL_SANDBOX_END_USER_ID): the replayer creates one on the fake and links it through the
   hosted Link page, then maps the recorded id to it.
5. The Link flow itself is not /v1 traffic, so it is not in a recording. When a recorded answer
   shows that an end user had consented by then (a successful banking read, or a non-empty consent
   list) and the replay created an auth session for that end user that nobody completed, the
   replayer completes it on the fake's Link page first (success outcome, all accounts).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from harness.target import CLIENT_ID_ENV, CLIENT_SECRET_ENV

ID_FIELDS = {"end_user_id", "id", "session_id", "arrangement_id", "consent_id", "fiskil_id",
             "account_id", "transaction_id", "payee_id"}
CURSOR_PARAMS = ("page[after]", "page[before]")
#: Renew the replayer's own token once this share of its lifetime has passed.
TOKEN_RENEW_SHARE = 0.5


class ReplayCredentialsError(RuntimeError):
    """The fake refused the replay credentials; the message names the variables to set."""


@dataclass
class ReplayedExchange:
    recorded: dict[str, Any]  # the recorded exchange
    fake: dict[str, Any]  # {status, headers, body} from the fake
    sent_path: str  # the translated path actually sent


@dataclass
class Replayer:
    """Sends recorded requests to `base_url` in order; see the module docstring for the id rules."""

    http: httpx.Client
    base_url: str
    client_id: str
    client_secret: str
    provision_end_user: Callable[["Replayer"], str] | None = None
    timeout: float = 10.0
    ids: dict[str, str] = field(default_factory=dict)
    _known_end_users: set[str] = field(default_factory=set)
    _pending_sessions: dict[str, str] = field(default_factory=dict)  # fake end user id -> auth_url
    _token: str | None = None
    _token_renew_at: float = 0.0

    # -- translation --------------------------------------------------------------------------
    def translate(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.ids.get(value, value)
        if isinstance(value, list):
            return [self.translate(v) for v in value]
        if isinstance(value, dict):
            return {k: self.translate(v) for k, v in value.items()}
        return value

    def _translate_path(self, path: str) -> str:
        return "/".join(self.ids.get(segment, segment) for segment in path.split("/"))

    def learn(self, recorded: Any, fake: Any, key: str = "") -> None:
        """Pair id-like values of two bodies walked side by side (lists by index)."""
        if isinstance(recorded, dict) and isinstance(fake, dict):
            for k, rec_value in recorded.items():
                if k in fake:
                    self.learn(rec_value, fake[k], k)
            if isinstance(recorded.get("links"), dict) and isinstance(fake.get("links"), dict):
                for rel in ("next", "prev"):
                    self._learn_cursor(recorded["links"].get(rel), fake["links"].get(rel))
        elif isinstance(recorded, list) and isinstance(fake, list):
            for rec_item, fake_item in zip(recorded, fake):
                self.learn(rec_item, fake_item, key)
        elif isinstance(recorded, str) and isinstance(fake, str) and key in ID_FIELDS and recorded != fake:
            self.ids.setdefault(recorded, fake)
            if key == "end_user_id" or key == "id":
                self._known_end_users.add(recorded)

    def _learn_cursor(self, recorded_url: Any, fake_url: Any) -> None:
        if not (isinstance(recorded_url, str) and isinstance(fake_url, str)):
            return
        rec_q, fake_q = parse_qs(urlsplit(recorded_url).query), parse_qs(urlsplit(fake_url).query)
        for name in CURSOR_PARAMS:
            if rec_q.get(name) and fake_q.get(name):
                self.ids.setdefault(rec_q[name][0], fake_q[name][0])

    # -- end users that existed before the recording ------------------------------------------
    def _end_user_refs(self, request: dict[str, Any]) -> list[str]:
        refs = list((request.get("query") or {}).get("end_user_id") or [])
        body = request.get("body")
        if isinstance(body, dict) and isinstance(body.get("end_user_id"), str):
            refs.append(body["end_user_id"])
        parts = request["path"].split("/")
        if len(parts) > 3 and parts[1:3] == ["v1", "end-users"]:
            refs.append(parts[3])
        return refs

    def _provision_missing_end_users(self, exchange: dict[str, Any]) -> None:
        if int(exchange["response"]["status"]) >= 400 or self.provision_end_user is None:
            return
        for ref in self._end_user_refs(exchange["request"]):
            if ref not in self.ids and ref not in self._known_end_users:
                self.ids[ref] = self.provision_end_user(self)
                self._known_end_users.add(ref)

    # -- consents given through the Link page (not in the recording) --------------------------
    def _implies_consent(self, exchange: dict[str, Any]) -> bool:
        request, response = exchange["request"], exchange["response"]
        if int(response["status"]) >= 400 or request["method"] != "GET":
            return False
        if request["path"].startswith("/v1/banking/"):
            return True
        return request["path"] == "/v1/consent" and bool(response.get("body"))

    def _complete_pending_link(self, exchange: dict[str, Any]) -> None:
        if not self._implies_consent(exchange):
            return
        for ref in self._end_user_refs(exchange["request"]):
            auth_url = self._pending_sessions.pop(self.ids.get(ref, ref), None)
            if auth_url:
                from fakes.link_browser import LinkBrowser

                LinkBrowser(self.http).complete(auth_url, outcome="success")

    def _remember_session(self, path: str, body: Any, fake: dict[str, Any]) -> None:
        if path == "/v1/auth/session" and fake["status"] < 400 and isinstance(body, dict) and isinstance(fake["body"], dict):
            if body.get("end_user_id") and fake["body"].get("auth_url"):
                self._pending_sessions[body["end_user_id"]] = fake["body"]["auth_url"]

    # -- sending ------------------------------------------------------------------------------
    def fake_token(self) -> str:
        """The replayer's own token from the fake (replay credentials), renewed before it expires."""
        if self._token is None or time.monotonic() >= self._token_renew_at:
            response = self.http.post(f"{self.base_url}/v1/token", timeout=self.timeout,
                                      json={"client_id": self.client_id, "client_secret": self.client_secret})
            body = _json_or_text(response)
            if response.status_code != 200 or not isinstance(body, dict) or not isinstance(body.get("token"), str):
                raise ReplayCredentialsError(
                    f"the fake at {self.base_url} refused the replay credentials (POST /v1/token answered "
                    f"{response.status_code}); set {CLIENT_ID_ENV} and {CLIENT_SECRET_ENV} to the credentials "
                    "that fake was started with")
            lifetime = body.get("expires_in") if isinstance(body.get("expires_in"), int) else 900
            self._token = body["token"]
            self._token_renew_at = time.monotonic() + lifetime * TOKEN_RENEW_SHARE
        return self._token

    def send(self, exchange: dict[str, Any]) -> ReplayedExchange:
        request = exchange["request"]
        self._provision_missing_end_users(exchange)
        self._complete_pending_link(exchange)
        method, path = request["method"], self._translate_path(request["path"])
        query = {k: self.translate(v) for k, v in (request.get("query") or {}).items()}
        headers = {k: v for k, v in (request.get("headers") or {}).items() if k.lower() != "content-length"}
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer ") and int(exchange["response"]["status"]) != 401:
            headers["authorization"] = f"Bearer {self.fake_token()}"
        body = self.translate(request.get("body"))
        if method == "POST" and path == "/v1/token" and int(exchange["response"]["status"]) < 400 and isinstance(body, dict):
            body = {**body, "client_id": self.client_id, "client_secret": self.client_secret}
        kwargs: dict[str, Any] = {"params": query, "headers": headers, "timeout": self.timeout}
        if isinstance(body, (dict, list)):
            kwargs["json"] = body
        elif isinstance(body, str):
            kwargs["content"] = body.encode()
        response = self.http.request(method, f"{self.base_url}{path}", **kwargs)
        fake = {"status": response.status_code, "headers": dict(response.headers), "body": _json_or_text(response)}
        self.learn(exchange["response"].get("body"), fake["body"])
        self._remember_session(path, body, fake)
        return ReplayedExchange(exchange, fake, path)

    def replay(self, exchanges: list[dict[str, Any]]) -> list[ReplayedExchange]:
        return [self.send(exchange) for exchange in exchanges]


def _json_or_text(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text


def link_consented_end_user(replayer: Replayer) -> str:
    """Create an end user on the fake and complete the hosted Link flow for it (success outcome)."""
    from fakes.link_browser import LinkBrowser

    token = replayer.fake_token()
    headers = {"Authorization": f"Bearer {token}"}
    base = replayer.base_url
    n = len(replayer.ids) + 1
    created = replayer.http.post(f"{base}/v1/end-users", headers=headers, timeout=replayer.timeout,
                                 json={"email": f"drift-replay-{n}@example.invalid", "name": f"Drift Replay {n}"})
    created.raise_for_status()
    end_user_id = created.json()["end_user_id"]
    session = replayer.http.post(f"{base}/v1/auth/session", headers=headers, timeout=replayer.timeout,
                                 json={"end_user_id": end_user_id, "redirect_uri": "http://127.0.0.1:9/done",
                                       "cancel_uri": "http://127.0.0.1:9/cancel"})
    session.raise_for_status()
    LinkBrowser(replayer.http).complete(session.json()["auth_url"], outcome="success")
    return end_user_id
