"""Fiskil's two error body shapes, and the exception handlers raise to produce them.

- goa shape on core resources (end users, auth session, consent, token), media type
  application/vnd.goa.error: {fault, id, message, name, temporary, timeout}
  (https://docs.fiskil.com/data-api/api-reference/createEndUser).
- simple shape on data endpoints: {id, name, message} with an err_<uuid> id
  (https://docs.fiskil.com/data-api/api-reference/errors).
"""

from __future__ import annotations

import json
import secrets
import uuid
from typing import Literal, Protocol

from starlette.responses import Response

Shape = Literal["goa", "simple"]


class IdMaker(Protocol):
    """What error rendering needs from `fakes.core.state.IdSource`."""

    def uuid(self) -> str: ...

    def urlsafe(self, nbytes: int) -> str: ...

GOA_MEDIA_TYPE = "application/vnd.goa.error"


def new_error_id(uuid_text: str | None = None) -> str:
    """Simple-shape error ids look like err_<uuid4> in Fiskil's examples."""
    return f"err_{uuid_text or uuid.uuid4()}"


class FiskilError(Exception):
    """Raised anywhere inside a handler; turned into the route's error shape."""

    def __init__(self, status: int, name: str | None, message: str, *, headers: dict[str, str] | None = None,
                 shape: Shape | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.name = name
        self.message = message
        self.headers = headers or {}
        self.shape = shape  # None: use the route's shape
        # name None: the conventional name for this status in the shape rendered (DEFAULT_NAMES)


def goa_error(status: int, name: str, message: str, headers: dict[str, str] | None = None,
              error_id: str | None = None) -> Response:
    body = {
        "fault": status >= 500,
        "id": error_id or secrets.token_urlsafe(6),  # goa ids are short random strings
        "message": message,
        "name": name,
        "temporary": status in (429, 503),
        "timeout": False,
    }
    return Response(json.dumps(body), status_code=status, media_type=GOA_MEDIA_TYPE, headers=headers)


def simple_error(status: int, name: str, message: str, headers: dict[str, str] | None = None,
                 error_id: str | None = None) -> Response:
    body = {"id": error_id or new_error_id(), "name": name, "message": message}
    return Response(json.dumps(body), status_code=status, media_type="application/json", headers=headers)


#: Conventional names when a handler does not pick one. goa names are goa's defaults (bad_request,
#: unauthorized are documented on the OP pages); "InvalidRequest" is the documented simple example.
DEFAULT_NAMES: dict[Shape, dict[int, str]] = {
    "goa": {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
            405: "method_not_allowed", 429: "rate_limited", 500: "internal_error"},
    "simple": {400: "InvalidRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
               405: "MethodNotAllowed", 429: "rate_limited", 500: "InternalServerError"},
}


def error_response(shape: Shape, error: FiskilError, ids: IdMaker | None = None) -> Response:
    """The error in its shape; `ids` (the core's seeded id source) makes the error id repeatable."""
    used: Shape = error.shape or shape
    name = error.name or DEFAULT_NAMES[used].get(error.status, "error")
    if used == "goa":
        return goa_error(error.status, name, error.message, error.headers, ids.urlsafe(6) if ids else None)
    return simple_error(error.status, name, error.message, error.headers, new_error_id(ids.uuid()) if ids else None)


def bad_request(message: str, name: str | None = None) -> FiskilError:
    """400 with the given name, or the shape's conventional one (bad_request / InvalidRequest)."""
    return FiskilError(400, name, message)
