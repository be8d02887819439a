"""A scripted HTTP/1.1 server on a free port, for tests of the registry client's sockets.

Each connection is answered as a test says (keep-alive, hang up, never answer, chunked,
a redirect, a cookie), so the client's own reading and writing run for real: nothing
is mocked.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable

from tests.support.registry import free_port

Behaviour = Callable[["Served", socket.socket], None]
Serve = Callable[[Behaviour], "ScriptedServer"]


class Served:
    """What one connection received, in order."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.requests: list[tuple[str, bytes]] = []
        self.headers: list[dict[str, str]] = []  # each request's headers, names in lower case


class ScriptedServer:
    """Accepts connections; runs `behaviour(served, sock)` for each in its own thread."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.port = free_port()
        self.connections: list[Served] = []
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        self._listener.settimeout(0.1)
        while not self._stop:
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            served = Served(len(self.connections))
            self.connections.append(served)
            threading.Thread(target=self._run, args=(served, sock), daemon=True).start()

    def _run(self, served: Served, sock: socket.socket) -> None:
        with sock, contextlib.suppress(OSError):
            self.behaviour(served, sock)

    def close(self) -> None:
        self._stop = True
        self._thread.join(timeout=2)
        self._listener.close()


def read_request(sock: socket.socket, served: Served) -> bool:
    """Read one request (headers and a Content-Length or chunked body); False at EOF."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return False
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    body = b""
    if "content-length" in headers:
        length = int(headers["content-length"])
        body = rest
        while len(body) < length:
            body += sock.recv(65536)
    elif headers.get("transfer-encoding") == "chunked":
        while not rest.endswith(b"0\r\n\r\n"):
            rest += sock.recv(65536)
        while True:
            size_line, rest = rest.split(b"\r\n", 1)
            size = int(size_line, 16)
            if size == 0:
                break
            body += rest[:size]
            rest = rest[size + 2 :]
    served.requests.append((lines[0], body))
    served.headers.append(headers)
    return True


def answer(sock: socket.socket, body: bytes = b"ok", *, headers: tuple[str, ...] = ()) -> None:
    extra = "".join(f"{h}\r\n" for h in headers)
    sock.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body)
