"""An HTTP proxy in front of a real registry that can start failing: the "remote that
fails half-way" of the replication tests.

It forwards every request (chunked upload bodies included) to the registry and
rewrites `Location` headers to itself. After `fail_after` manifests were stored it
answers 503 to everything, as a registry whose storage went away would, until
`heal()`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from tests.support.registry import free_port

_HOP = {"host", "transfer-encoding", "content-length", "connection", "keep-alive"}


class FlakyProxy:
    def __init__(self, upstream: str, *, fail_after: int | None = None) -> None:
        self.upstream = upstream.rstrip("/")
        self.port = free_port()
        self.fail_after = fail_after
        self.manifests_stored = 0
        self.failing = False
        self.refused = 0
        self._lock = threading.Lock()
        self._http = httpx.Client(timeout=30.0)
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FlakyProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._http.close()

    def heal(self) -> None:
        with self._lock:
            self.failing = False
            self.fail_after = None

    def _stored_manifest(self) -> None:
        with self._lock:
            self.manifests_stored += 1
            if self.fail_after is not None and self.manifests_stored >= self.fail_after:
                self.failing = True

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def _body(self) -> bytes:
                if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                    return b"".join(self._chunks())
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _chunks(self) -> Iterator[bytes]:
                while True:
                    size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return
                    yield self.rfile.read(size)
                    self.rfile.readline()

            def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
                self.send_response(status)
                for key, value in headers:
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _forward(self) -> None:
                body = self._body()
                if proxy.failing:
                    with proxy._lock:
                        proxy.refused += 1
                    message = b'{"errors":[{"code":"UNAVAILABLE","message":"storage went away"}]}'
                    self._answer(503, [("Content-Type", "application/json")], message)
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                response = proxy._http.request(
                    self.command, proxy.upstream + self.path, headers=headers, content=body or None
                )
                out = []
                for key, value in response.headers.multi_items():
                    if key.lower() in _HOP or key.lower() == "content-encoding":
                        continue
                    if key.lower() == "location":
                        value = value.replace(proxy.upstream, proxy.url)
                    out.append((key, value))
                if self.command == "PUT" and "/manifests/" in self.path and response.status_code == 201:
                    proxy._stored_manifest()
                self._answer(response.status_code, out, response.content if self.command != "HEAD" else b"")

            def _head(self) -> None:
                # HEAD answers carry the upstream's Content-Length, not an empty body's.
                if proxy.failing:
                    self._answer(503, [], b"")
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                response = proxy._http.request("HEAD", proxy.upstream + self.path, headers=headers)
                self.send_response(response.status_code)
                for key, value in response.headers.multi_items():
                    if key.lower() not in _HOP:
                        self.send_header(key, value)
                self.send_header("Content-Length", response.headers.get("Content-Length", "0"))
                self.end_headers()

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward
            do_HEAD = _head

        return Handler
