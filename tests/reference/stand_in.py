"""A tiny Fiskil stand-in (Starlette) for the reference integration's unit tests.

It models only what those tests need, with knobs the real fake does not need: scripted responses,
a per-request log, instant token expiry. Behaviour follows docs/sources.md (tokens, goa errors,
bare-array consents, cursor pages with absolute links.next).
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

CLIENT_ID = "stand-in-client"
CLIENT_SECRET = "stand-in-secret-value-42"


@dataclass
class Scripted:
    """A canned answer for the next request whose path matches."""

    path: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    after: int = 0      # let this many matching requests through first
    times: int = 1      # then answer this many


@dataclass
class Seen:
    method: str
    path: str
    query: str
    authorization: str | None
    at: float


class StandInFiskil:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.base_url = ""
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.client_secret = CLIENT_SECRET
            self.token_ttl = 900
            self.valid_tokens: set[str] = set()
            self.issued: list[str] = []
            self.counter = itertools.count(1)
            self.script: list[Scripted] = []
            self.seen: list[Seen] = []
            self.end_users: dict[str, dict] = {}
            self.sessions: dict[str, dict] = {}
            self.consents: list[dict] = []
            self.accounts: list[dict] = []
            self.balances: list[dict] = []
            self.transactions: list[dict] = []

    # -- helpers used by tests ------------------------------------------------------------------

    def expire_tokens(self) -> None:
        with self.lock:
            self.valid_tokens.clear()

    def add_consent(self, end_user_id: str, arrangement_id: str = "arr-1", accounts: int = 2,
                    transactions_per_account: int = 5) -> None:
        with self.lock:
            self.consents.append({"arrangement_id": arrangement_id, "end_user_id": end_user_id,
                                  "active": True, "institution_id": "88888"})
            for a in range(accounts):
                account_id = f"{arrangement_id}-acc-{a}"
                self.accounts.append({"fiskil_id": f"bank_acc_{account_id}", "account_id": account_id,
                                      "arrangement_id": arrangement_id, "end_user_id": end_user_id})
                self.balances.append({"fiskil_id": f"bank_balance_{account_id}", "account_id": account_id,
                                      "arrangement_id": arrangement_id, "end_user_id": end_user_id,
                                      "current_balance": "10.00"})
                for t in range(transactions_per_account):
                    self.transactions.append({"fiskil_id": f"bank_tx_{account_id}_{t}", "account_id": account_id,
                                              "arrangement_id": arrangement_id, "end_user_id": end_user_id,
                                              "amount": "-1.00"})

    def revoke(self, arrangement_id: str) -> None:
        with self.lock:
            for consent in self.consents:
                if consent["arrangement_id"] == arrangement_id:
                    consent["active"] = False

    def count(self, path: str, method: str | None = None) -> int:
        return sum(1 for s in self.seen if s.path == path and (method is None or s.method == method))

    # -- the app --------------------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/v1/token", self._token, methods=["POST"]),
            Route("/v1/end-users", self._end_users, methods=["GET", "POST"]),
            Route("/v1/auth/session", self._auth_session, methods=["POST"]),
            Route("/v1/consent", self._consent, methods=["GET"]),
            Route("/v1/banking/{kind}", self._banking, methods=["GET"]),
        ])

    def _record(self, request: Request) -> Response | None:
        with self.lock:
            self.seen.append(Seen(request.method, request.url.path, request.url.query,
                                  request.headers.get("authorization"), time.monotonic()))
            for i, scripted in enumerate(self.script):
                if scripted.path == request.url.path:
                    if scripted.after > 0:
                        scripted.after -= 1
                        break
                    scripted.times -= 1
                    if scripted.times <= 0:
                        del self.script[i]
                    return JSONResponse(scripted.body if scripted.body is not None else
                                        {"id": "err_scripted", "name": "scripted", "message": "scripted"},
                                        scripted.status, headers=scripted.headers)
        return None

    def _authorised(self, request: Request) -> Response | None:
        scripted = self._record(request)
        if scripted is not None:
            return scripted
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer ") or header[7:] not in self.valid_tokens:
            return JSONResponse({"fault": False, "id": "err_auth", "message": "Unauthorized response.",
                                 "name": "unauthorized", "temporary": False, "timeout": False}, 401)
        return None

    async def _token(self, request: Request) -> Response:
        scripted = self._record(request)
        if scripted is not None:
            return scripted
        body = await request.json()
        if body.get("client_id") != CLIENT_ID or body.get("client_secret") != self.client_secret:
            return JSONResponse({"id": "err_creds", "name": "unauthorized", "message": "invalid credentials"}, 401)
        with self.lock:
            token = f"tok-{next(self.counter)}-abcdefghijkl"
            self.valid_tokens.add(token)
            self.issued.append(token)
        return JSONResponse({"token": token, "token_type": "Bearer", "expires_in": self.token_ttl})

    async def _end_users(self, request: Request) -> Response:
        if (denied := self._authorised(request)) is not None:
            return denied
        if request.method == "GET":
            email = request.query_params.get("email")
            return JSONResponse([u for u in self.end_users.values() if email in (None, u["email"])])
        body = await request.json()
        if any(u["email"] == body["email"] for u in self.end_users.values()):
            return JSONResponse({"fault": False, "id": "err_dup", "message": "user with that email already exists",
                                 "name": "end_user_already_exists", "temporary": False, "timeout": False}, 400)
        user_id = f"eu-{len(self.end_users) + 1}"
        self.end_users[user_id] = {"id": user_id, "email": body["email"], "name": body.get("name")}
        return JSONResponse({"end_user_id": user_id})

    async def _auth_session(self, request: Request) -> Response:
        if (denied := self._authorised(request)) is not None:
            return denied
        body = await request.json()
        session_id = f"sess-{len(self.sessions) + 1}"
        self.sessions[session_id] = body
        return JSONResponse({"auth_url": f"{self.base_url}/link?sess_id={session_id}", "session_id": session_id,
                             "expires_at": 0, "id": "client"})

    async def _consent(self, request: Request) -> Response:
        if (denied := self._authorised(request)) is not None:
            return denied
        user = request.query_params.get("end_user_id")
        return JSONResponse([c for c in self.consents if c["end_user_id"] == user])

    async def _banking(self, request: Request) -> Response:
        if (denied := self._authorised(request)) is not None:
            return denied
        kind = request.path_params["kind"]
        user = request.query_params.get("end_user_id")
        size = int(request.query_params.get("page[size]", "100"))
        after = int(request.query_params.get("page[after]", "0"))
        active = {c["arrangement_id"] for c in self.consents if c["active"]}
        items = [r for r in getattr(self, kind) if r["end_user_id"] == user and r["arrangement_id"] in active]
        page = items[after:after + size]
        body: dict[str, Any] = {kind: page, "links": {}}
        if after + size < len(items):
            body["links"]["next"] = (f"{self.base_url}/v1/banking/{kind}?end_user_id={user}"
                                     f"&page[size]={size}&page[after]={after + size}")
        return JSONResponse(body)
