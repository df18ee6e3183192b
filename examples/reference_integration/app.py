"""The integration's web app: Link landing pages, the Fiskil webhook endpoint, the HTTP adapter contract v1.

The adapter contract (docs/adapter-contract.md) is what a partner app exposes in a test build so
the kit can drive it; the reference integration serves it too, over the same service methods.
"""

from __future__ import annotations

import html
import logging

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.concurrency import run_in_threadpool

from examples.reference_integration.fiskil_client import FiskilError, FiskilUnavailable
from examples.reference_integration.service import CANCELLED_PATH, COMPLETE_PATH, ReferenceIntegration

log = logging.getLogger("reference_integration.app")

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body><main><h1>{title}</h1><p>{message}</p><p><a href="/">Back to the app</a></p></main></body></html>
"""


def _page(title: str, message: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(title=html.escape(title), message=html.escape(message)), status)


def _problem(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status)


def build_app(integration: ReferenceIntegration) -> Starlette:
    """A Starlette app over one ReferenceIntegration."""

    async def landing(request: Request) -> Response:
        outcome = await run_in_threadpool(integration.land, str(request.url))
        titles = {"connected": "Bank connected", "cancelled": "Bank not connected", "unknown": "Link expired"}
        return _page(titles[outcome.outcome], outcome.message, 404 if outcome.outcome == "unknown" else 200)

    async def webhook(request: Request) -> Response:
        raw = await request.body()      # the raw bytes: the signature covers exactly these
        status = await run_in_threadpool(integration.handle_webhook, raw, request.headers)
        return Response(status_code=status)

    async def create_end_user(request: Request) -> Response:
        body = await _json(request)
        if not isinstance(body, dict) or not body.get("email") or not body.get("name"):
            return _problem(400, "bad_request", 'send a JSON object {"email": "...", "name": "..."}')
        end_user_id = await run_in_threadpool(integration.create_end_user, str(body["email"]), str(body["name"]))
        return JSONResponse({"end_user_id": end_user_id})

    async def start_link(request: Request) -> Response:
        body = await _json(request, default={})
        if not isinstance(body, dict):
            return _problem(400, "bad_request", 'send {} or {"institution_id": "..."}')
        institution_id = body.get("institution_id")
        auth_url = await run_in_threadpool(integration.start_link, request.path_params["end_user_id"],
                                           str(institution_id) if institution_id else None)
        return JSONResponse({"auth_url": auth_url})

    async def sync(request: Request) -> Response:
        result = await run_in_threadpool(integration.sync, request.path_params["end_user_id"])
        return JSONResponse({"status": result.status, "message": result.message})

    async def snapshot(request: Request) -> Response:
        state = await run_in_threadpool(integration.snapshot, request.path_params["end_user_id"])
        return JSONResponse({
            "consents": [{"id": c.id, "active": c.active} for c in state.consents],
            "accounts": state.accounts,
            "transactions": state.transactions,
            "last_error": ({"code": state.last_error.code, "message": state.last_error.message}
                           if state.last_error else None),
            "soft_deleted": state.soft_deleted,  # optional in contract v1
        })

    async def webhook_events(request: Request) -> Response:
        ids = await run_in_threadpool(integration.processed_webhooks)
        return JSONResponse({"message_ids": ids})

    async def reset(request: Request) -> Response:
        await run_in_threadpool(integration.reset)
        return Response(status_code=204)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def fiskil_failed(request: Request, exc: Exception) -> Response:
        log.error("%s %s failed: %s", request.method, request.url.path, exc)
        if isinstance(exc, FiskilError):
            return _problem(502, exc.name, f"Fiskil answered {exc.status}: {exc}")
        return _problem(502, "fiskil_unavailable", str(exc))

    routes = [
        Route(COMPLETE_PATH + "/{state}", landing, methods=["GET"]),
        Route(CANCELLED_PATH + "/{state}", landing, methods=["GET"]),
        Route("/webhooks/fiskil", webhook, methods=["POST"]),
        Route("/end-users", create_end_user, methods=["POST"]),
        Route("/end-users/{end_user_id}/link", start_link, methods=["POST"]),
        Route("/end-users/{end_user_id}/sync", sync, methods=["POST"]),
        Route("/end-users/{end_user_id}", snapshot, methods=["GET"]),
        Route("/webhook-events", webhook_events, methods=["GET"]),
        Route("/reset", reset, methods=["POST"]),
        Route("/health", health, methods=["GET"]),
    ]
    return Starlette(routes=routes, exception_handlers={FiskilError: fiskil_failed,
                                                        FiskilUnavailable: fiskil_failed})


async def _json(request: Request, default: object = None) -> object:
    raw = await request.body()
    if not raw.strip():
        return default
    try:
        return await request.json()
    except ValueError:
        return None
