"""Fixtures for the edge tests: a tiny upstream to proxy to, and one WireMock JVM per module."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from fakes.wiremock.edge import Edge
from fakes.wiremock.process import WireMockProcess


async def _echo(request: Request) -> JSONResponse:
    """Answers with what it received, so tests can see what the proxy forwarded."""
    return JSONResponse(
        {
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "host": request.headers.get("host"),
            "body": (await request.body()).decode(),
            "upstream": True,
        }
    )


class UpstreamServer:
    """A Starlette echo app on 127.0.0.1 port 0 in a uvicorn thread; stopped and joined on exit."""

    def __init__(self) -> None:
        app = Starlette(routes=[Route("/{rest:path}", _echo, methods=["GET", "POST", "PUT", "DELETE"])])
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
        self._thread = threading.Thread(target=self._server.run, name="edge-test-upstream", daemon=True)
        self.url = ""

    def __enter__(self) -> UpstreamServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError("the test upstream did not start")
            time.sleep(0.005)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)


@pytest.fixture(scope="module")
def upstream() -> Iterator[UpstreamServer]:
    with UpstreamServer() as server:
        yield server


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0) as client:
        yield client


@pytest.fixture(scope="module")
def wiremock() -> Iterator[WireMockProcess]:
    with WireMockProcess() as process:
        yield process


@pytest.fixture
def edge(wiremock: WireMockProcess, http: httpx.Client, upstream: UpstreamServer) -> Edge:
    """A freshly reset edge proxying to the echo upstream."""
    edge = Edge(wiremock.base_url, http)
    edge.admin.reset()
    edge.proxy_to(upstream.url)
    return edge
