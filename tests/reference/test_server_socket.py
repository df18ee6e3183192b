"""The announced URL must accept connections at once, before uvicorn has started serving."""

from __future__ import annotations

import socket

from examples.reference_integration.server import bind_socket, socket_url


def test_a_connection_to_the_announced_url_queues_instead_of_being_refused():
    sock = bind_socket("127.0.0.1", 0)
    try:
        host, port = socket_url(sock).removeprefix("http://").split(":")
        # No server runs yet: the connect must still succeed (it waits in the listen backlog).
        with socket.create_connection((host, int(port)), timeout=2.0):
            pass
    finally:
        sock.close()
