"""Webhook receivers to point the checks at: one done right, and several with a classic mistake each.

Each is a small Starlette app (`POST /webhook`, `GET /observe` → {"message_ids": [...]}, one entry per
processing) served on 127.0.0.1 port 0 by `serve(app)` in a thread that is always reaped.
`FlakyReceiver` is a raw-socket endpoint that fails its first k requests with a 5xx, a timeout or a
TCP reset, for testing the emitter's retries.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

import uvicorn
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from harness.webhooks.signing import DEFAULT_SCHEME, HEX_RAW_SCHEME, SignatureScheme, verify

VerifyMode = Literal["raw", "none", "hex", "reserialised", "reserialised-compact"]


@dataclass
class ReceiverBehaviour:
    """What a receiver does right or wrong."""

    verify: VerifyMode = "raw"      # raw: verify the bytes as received (correct)
    dedupe: bool = True             # skip a message_id already processed (correct)
    delay_s: float = 0.0            # wait before answering (a slow, synchronous handler)
    fixed_status: int | None = None  # answer this status to everything (e.g. 500 forever)
    job_s: float = 0.0              # asynchronous processing: a job takes this long after the ack
    single_worker: bool = False     # jobs run one after another (a queue with one worker)


@dataclass
class ReceiverState:
    """What the receiver saw and did; thread-safe because tests read it from another thread."""

    processed: list[str] = field(default_factory=list)
    received: int = 0
    rejected: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def processed_ids(self) -> list[str]:
        with self.lock:
            return list(self.processed)


def _signature_ok(body: bytes, signature: str | None, secret: str, mode: VerifyMode, scheme: SignatureScheme) -> bool:
    if mode == "none":
        return True
    if mode == "hex":  # Fiskil's AI-tools snippet style: raw secret, hex digest (reported wrong)
        return verify(body, signature, secret, HEX_RAW_SCHEME)
    if mode in ("reserialised", "reserialised-compact"):
        try:
            value = json.loads(body)
        except ValueError:
            return False
        separators = (",", ":") if mode == "reserialised-compact" else None
        return verify(json.dumps(value, separators=separators).encode("utf-8"), signature, secret, scheme)
    return verify(body, signature, secret, scheme)


def receiver_app(secret: str, behaviour: ReceiverBehaviour | None = None,
                 scheme: SignatureScheme = DEFAULT_SCHEME) -> tuple[Starlette, ReceiverState]:
    """A receiver app and the state it records."""
    how = behaviour or ReceiverBehaviour()
    state = ReceiverState()
    seen: set[str] = set()

    def process(message_id: str) -> None:
        with state.lock:
            state.processed.append(message_id)

    jobs = _JobRunner(how.job_s, how.single_worker, process)

    async def webhook(request: Request) -> Response:
        body = await request.body()   # raw bytes, before any JSON parsing
        with state.lock:
            state.received += 1
        if how.delay_s:
            await asyncio.sleep(how.delay_s)
        if how.fixed_status is not None:
            return Response(status_code=how.fixed_status)
        if not _signature_ok(body, request.headers.get(scheme.header), secret, how.verify, scheme):
            with state.lock:
                state.rejected += 1
            return JSONResponse({"error": "invalid signature"}, status_code=401)
        try:
            message_id = str(json.loads(body)["message_id"])
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "body is not a Fiskil envelope"}, status_code=400)
        if how.dedupe:
            with state.lock:
                duplicate = message_id in seen
                seen.add(message_id)
            if duplicate:
                return JSONResponse({"status": "duplicate"})
        if how.job_s:  # ack now; a worker does the job later (Fiskil's advice: process asynchronously)
            jobs.submit(message_id)
            return JSONResponse({"status": "accepted"})
        # ack now, process after the response is sent
        return JSONResponse({"status": "accepted"}, background=BackgroundTask(process, message_id))

    async def observe(request: Request) -> Response:
        return JSONResponse({"message_ids": state.processed_ids()})

    app = Starlette(routes=[Route("/webhook", webhook, methods=["POST"]), Route("/observe", observe, methods=["GET"])])
    return app, state


class _JobRunner:
    """Asynchronous processing on the server's loop: each job takes `job_s`, one at a time or all at once.

    Real asyncio tasks (not Starlette background tasks) so the ack is independent of the work,
    like an app handing jobs to a queue.
    """

    def __init__(self, job_s: float, single_worker: bool, process: Callable[[str], None]) -> None:
        self.job_s = job_s
        self.single_worker = single_worker
        self.process = process
        self._tasks: set[asyncio.Task[None]] = set()   # keeps running jobs referenced
        self._queue: asyncio.Queue[str] | None = None  # made on the server's loop, on first use

    def submit(self, message_id: str) -> None:
        loop = asyncio.get_running_loop()
        if not self.single_worker:
            self._keep(loop.create_task(self._job(message_id)))
            return
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._keep(loop.create_task(self._worker(self._queue)))
        self._queue.put_nowait(message_id)

    def _keep(self, task: asyncio.Task[None]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _job(self, message_id: str) -> None:
        await asyncio.sleep(self.job_s)
        self.process(message_id)

    async def _worker(self, queue: asyncio.Queue[str]) -> None:
        while True:
            await self._job(await queue.get())


def good_receiver(secret: str) -> tuple[Starlette, ReceiverState]:
    return receiver_app(secret)


def accept_any_receiver(secret: str) -> tuple[Starlette, ReceiverState]:
    return receiver_app(secret, ReceiverBehaviour(verify="none"))


def hex_receiver(secret: str) -> tuple[Starlette, ReceiverState]:
    return receiver_app(secret, ReceiverBehaviour(verify="hex"))


def reserialising_receiver(secret: str, *, compact: bool = False) -> tuple[Starlette, ReceiverState]:
    return receiver_app(secret, ReceiverBehaviour(verify="reserialised-compact" if compact else "reserialised"))


def no_dedupe_receiver(secret: str) -> tuple[Starlette, ReceiverState]:
    return receiver_app(secret, ReceiverBehaviour(dedupe=False))


def queued_receiver(secret: str, job_s: float = 0.05) -> tuple[Starlette, ReceiverState]:
    """Correct and asynchronous: acks, then one worker does each job (deduped) in `job_s`."""
    return receiver_app(secret, ReceiverBehaviour(job_s=job_s, single_worker=True))


def queued_no_dedupe_receiver(secret: str, job_s: float = 0.5) -> tuple[Starlette, ReceiverState]:
    """No dedupe, one worker spending `job_s` per job: a duplicate is processed well after the first."""
    return receiver_app(secret, ReceiverBehaviour(dedupe=False, job_s=job_s, single_worker=True))


def delayed_no_dedupe_receiver(secret: str, job_s: float = 0.3) -> tuple[Starlette, ReceiverState]:
    """No dedupe, each delivery processed `job_s` after its own ack."""
    return receiver_app(secret, ReceiverBehaviour(dedupe=False, job_s=job_s))


def slow_receiver(secret: str, delay_s: float = 10.0) -> tuple[Starlette, ReceiverState]:
    return receiver_app(secret, ReceiverBehaviour(delay_s=delay_s))


def failing_receiver(secret: str) -> tuple[Starlette, ReceiverState]:
    return receiver_app(secret, ReceiverBehaviour(fixed_status=500))


#: name -> factory, for seeded-fault proofs and the CLI.
RECEIVERS: dict[str, Callable[..., tuple[Starlette, ReceiverState]]] = {
    "good": good_receiver,
    "accept-any": accept_any_receiver,
    "hex": hex_receiver,
    "reserialise": reserialising_receiver,
    "reserialise-compact": lambda secret: reserialising_receiver(secret, compact=True),
    "no-dedupe": no_dedupe_receiver,
    "queued": queued_receiver,
    "queued-no-dedupe": queued_no_dedupe_receiver,
    "delayed-no-dedupe": delayed_no_dedupe_receiver,
    "slow": slow_receiver,
    "500-forever": failing_receiver,
}


@dataclass
class Served:
    base_url: str

    @property
    def webhook_url(self) -> str:
        return self.base_url + "/webhook"

    @property
    def observe_url(self) -> str:
        return self.base_url + "/observe"


@contextmanager
def serve(app: Callable, *, start_timeout_s: float = 5.0) -> Iterator[Served]:
    """Serve an ASGI app with uvicorn on 127.0.0.1 port 0 in a thread; stopped and joined on exit."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error", lifespan="off",
                            access_log=False, timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="webhook-receiver", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + start_timeout_s
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the receiver server exited during start-up")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the receiver server did not start within {start_timeout_s} s")
            time.sleep(0.005)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield Served(f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(timeout=3)
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout=3)


FailMode = Literal["500", "timeout", "reset"]


class FlakyReceiver:
    """A raw HTTP endpoint that fails the first `fail_first` requests in `mode`, then answers 200.

    Raw sockets make a real TCP reset possible (SO_LINGER 0), which an ASGI app cannot produce.
    Context manager: the listening socket and its thread are closed on exit.
    """

    def __init__(self, fail_first: int, mode: FailMode = "500", hang_s: float = 1.0) -> None:
        self.fail_first = fail_first
        self.mode = mode
        self.hang_s = hang_s          # "timeout": how long to hold the request unanswered
        self.requests: list[bytes] = []  # raw bodies, in arrival order
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._sock.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}/webhook"
        self._thread = threading.Thread(target=self._serve, name="flaky-receiver", daemon=True)
        self._workers: list[threading.Thread] = []

    def __enter__(self) -> FlakyReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=3)
        for worker in self._workers:
            worker.join(timeout=self.hang_s + 1)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            worker = threading.Thread(target=self._handle, args=(conn,), daemon=True)
            self._workers.append(worker)
            worker.start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(2)
            try:
                body = _read_request(conn)
            except OSError:
                return
            if body is None:  # a bare connect (e.g. the checks' pre-flight) is not a request
                return
            with self._lock:
                self.requests.append(body)
                index = len(self.requests)
            if index > self.fail_first:
                _respond(conn, 200, b'{"status":"accepted"}')
            elif self.mode == "500":
                _respond(conn, 503, b'{"error":"try later"}')
            elif self.mode == "timeout":
                self._stop.wait(self.hang_s)
            else:  # reset: close with SO_LINGER 0 so the peer gets RST, not FIN
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def _read_request(conn: socket.socket) -> bytes | None:
    """The body of one HTTP request; None when the peer closed before sending a full request head."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return body


def _respond(conn: socket.socket, status: int, body: bytes) -> None:
    reason = {200: "OK", 503: "Service Unavailable"}.get(status, "Status")
    head = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode("ascii")
    conn.sendall(head + body)
