"""`KeepAliveTransport`: the registry client's HTTP/1.1 connections, on the standard library.

`RegistryClient` speaks `httpx` (requests, responses, redirects, auth, decoding, cookies);
this transport is the part underneath that opens connections, sends the bytes and reads
the answer, with `http.client`. Why not httpx's own transport (`httpcore` + `h11`): at
the sync's 16 threads it was over 40 % of the sync's Python time, and the sync is bound
by its one core. httpcore's pool examines every pooled connection, several times, under
its locks, on each request, and `h11` parses each response in Python. Here an idle
connection is popped from a list, and `http.client` parses the response. Measured on the
same registry, 16 threads (`docs/registry.md`, "The client's transport"): CPU per
manifest HEAD 680–760 µs with httpcore, 610–730 µs with urllib3 under httpx, 400–440 µs
here.

What the client relies on holds here, and `tests/registry/test_transport.py` checks it
against real sockets:
- errors come out as the same `httpx` exception classes. A connection that could not be
  made is `ConnectError` / `ConnectTimeout`: nothing was sent, so a retry is safe and a
  delete did not happen. Anything after the first byte went out (`WriteError`,
  `ReadTimeout`, `RemoteProtocolError`, `ReadError`) may have been carried out;
- a response is streamed: its body is read as the caller iterates. Closing a response
  whose body was read to the end gives its keep-alive connection back; closing one half
  read closes that connection;
- an idle connection the server has closed (or that sat idle past `keepalive_expiry`) is
  not reused: it is closed and a new one opened, before anything is sent on it;
- at most `max_connections` requests are open at once; one more waits up to the pool
  timeout, then fails with `PoolTimeout`, as with httpx's pool;
- no retries and no redirects here: the client decides both;
- TLS is verified with httpx's default context (certifi's roots) unless a context is given.
"""

from __future__ import annotations

import http.client
import select
import ssl
import threading
import time
import types
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

import httpx

_CHUNK = 64 * 1024
# http.client's own limits on a response's header section.
_MAX_LINE = 65536
_MAX_HEADERS = 100


def parse_headers(
    fp: Any, _class: type[http.client.HTTPMessage] = http.client.HTTPMessage
) -> http.client.HTTPMessage:
    """`http.client.parse_headers` without the `email` package's parser.

    The standard one joins the header lines and runs `email.parser` over them: 13 % of a
    sync's Python time after the move to `http.client`. Here each line is split at its
    first colon and stored in the same `HTTPMessage` (so `get`, `get_all` and `items`
    answer as before). Values lose surrounding whitespace (RFC 9110's optional
    whitespace); a folded continuation line (obsolete, RFC 9112 5.2) joins its header
    with one space; a line without a colon is skipped. The line and header-count limits
    are http.client's, with its errors."""
    message = _class()
    name: str | None = None
    value = ""
    count = 0
    while True:
        line = fp.readline(_MAX_LINE + 1)
        if len(line) > _MAX_LINE:
            raise http.client.LineTooLong("header line")
        if line in (b"\r\n", b"\n", b""):
            break
        count += 1
        if count > _MAX_HEADERS:
            raise http.client.HTTPException(f"got more than {_MAX_HEADERS} headers")
        text = line.decode("iso-8859-1")
        if text[0] in " \t":
            if name is not None:
                value = f"{value} {text.strip()}".strip()
            continue
        if name is not None:
            message[name] = value
            name = None
        field, colon, rest = text.partition(":")
        if colon and field and field == field.strip():
            name, value = field, rest.strip()
    if name is not None:
        message[name] = value
    return message


class _Response(http.client.HTTPResponse):
    """`http.client.HTTPResponse` whose headers are read by `parse_headers` above.

    `begin` is the standard library's own code (status line, 1xx skipping, framing,
    keep-alive), run with this module's `parse_headers` in place of http.client's: the
    same function object's code with other globals, so nothing else in the process is
    changed and nothing of http.client is copied here."""

    begin = types.FunctionType(
        http.client.HTTPResponse.begin.__code__,
        {**vars(http.client), "parse_headers": parse_headers},
        "begin",
        http.client.HTTPResponse.begin.__defaults__,
        http.client.HTTPResponse.begin.__closure__,
    )


class _Connection:
    """One `http.client` connection and when it was last given back."""

    __slots__ = ("conn", "idle_since", "key")

    def __init__(self, key: tuple[str, str, int], conn: http.client.HTTPConnection) -> None:
        self.key = key
        self.conn = conn
        self.idle_since = 0.0

    def usable(self, now: float, expiry: float) -> bool:
        """Still open on our side, and the server has not closed it (or sent anything
        unasked): an idle keep-alive socket that is readable is one the server closed."""
        sock = self.conn.sock
        if sock is None or now - self.idle_since > expiry:
            return False
        try:
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return not poller.poll(0)
        except (OSError, ValueError):
            return False


class _Body(httpx.SyncByteStream):
    """A response's body, read from its connection as httpx iterates it."""

    def __init__(
        self,
        transport: KeepAliveTransport,
        connection: _Connection,
        response: http.client.HTTPResponse,
        request: httpx.Request,
    ) -> None:
        self._transport = transport
        self._connection = connection
        self._response = response
        self._request = request
        self._released = False
        self._failed = False

    def __iter__(self) -> Iterator[bytes]:
        response = self._response
        try:
            while not response.isclosed():
                chunk = response.read1(_CHUNK)
                if not chunk:
                    break
                yield chunk
            if response.length:  # http.client ends a body cut short quietly
                raise http.client.IncompleteRead(b"", response.length)
        except (http.client.HTTPException, OSError) as exc:
            # The connection is mid-response (a timeout) or gone: never give it back.
            self._failed = True
            self._response.close()
            raise _read_error(exc, self._request) from exc

    def close(self) -> None:
        if self._released:
            return
        self._released = True
        response = self._response
        # http.client closes the response once its body has been read to the end; a HEAD,
        # 204 or 304 answer has no body to read.
        complete = response.isclosed() or (response.length == 0 and not response.chunked)
        reusable = complete and not response.will_close and not self._failed
        response.close()  # the response's file, not the connection's socket
        self._transport._give_back(self._connection, reusable)


def _read_error(exc: BaseException, request: httpx.Request | None) -> httpx.TransportError:
    """After the request went out: anything that goes wrong may mean it was carried out."""
    message = str(exc) or type(exc).__name__
    if isinstance(exc, TimeoutError):
        return httpx.ReadTimeout(message, request=request)
    if isinstance(exc, http.client.HTTPException):  # RemoteDisconnected, BadStatusLine, IncompleteRead
        return httpx.RemoteProtocolError(message, request=request)
    return httpx.ReadError(message, request=request)


def connection_key(url: httpx.URL) -> tuple[str, str, int]:
    """What pooled connections are kept by: scheme, host and port (the scheme's default if none)."""
    return (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))


class Answer(NamedTuple):
    """A whole response read by `KeepAliveTransport.read_small`."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes


def _send(
    connection: _Connection,
    method: str,
    target: str,
    headers: Iterable[tuple[Any, Any]],
    timeouts: dict[str, float | None],
    request: httpx.Request | None,
    *,
    body: object = None,
    chunked: bool = False,
) -> http.client.HTTPResponse:
    """Send one request on `connection` and read the status line and headers."""
    conn = connection.conn
    assert conn.sock is not None
    conn.sock.settimeout(timeouts.get("write"))
    try:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders(body, encode_chunked=chunked)  # type: ignore[arg-type]
    except TimeoutError as exc:
        raise httpx.WriteTimeout(str(exc) or "write timed out", request=request) from exc
    except (http.client.HTTPException, OSError) as exc:
        raise httpx.WriteError(str(exc) or type(exc).__name__, request=request) from exc
    conn.sock.settimeout(timeouts.get("read"))
    try:
        return conn.getresponse()
    except (http.client.HTTPException, OSError) as exc:
        raise _read_error(exc, request) from exc


class KeepAliveTransport(httpx.BaseTransport):
    """An `httpx` transport with a LIFO pool of `http.client` keep-alive connections."""

    def __init__(
        self,
        *,
        max_connections: int = 20,
        keepalive_expiry: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._slots = threading.BoundedSemaphore(max(1, max_connections))
        self._lock = threading.Lock()
        self._idle: list[_Connection] = []
        self._keepalive_expiry = keepalive_expiry
        self._ssl_context = ssl_context
        self._closed = False

    # --- the pool -------------------------------------------------------------------

    def _take(self, key: tuple[str, str, int]) -> _Connection | None:
        """The most recently used idle connection to `key` that can still be used."""
        now = time.monotonic()
        stale: list[_Connection] = []
        found = None
        with self._lock:
            for index in range(len(self._idle) - 1, -1, -1):
                candidate = self._idle[index]
                if candidate.key != key:
                    continue
                del self._idle[index]
                if candidate.usable(now, self._keepalive_expiry):
                    found = candidate
                    break
                stale.append(candidate)
        for connection in stale:
            connection.conn.close()
        return found

    def _give_back(self, connection: _Connection, reusable: bool) -> None:
        try:
            if reusable and not self._closed:
                connection.idle_since = time.monotonic()
                with self._lock:
                    self._idle.append(connection)
            else:
                connection.conn.close()
        finally:
            self._slots.release()

    def _open(self, key: tuple[str, str, int], connect_timeout: float | None) -> _Connection:
        scheme, host, port = key
        conn: http.client.HTTPConnection
        if scheme == "https":
            if self._ssl_context is None:
                self._ssl_context = httpx.create_ssl_context()
            conn = http.client.HTTPSConnection(host, port, timeout=connect_timeout, context=self._ssl_context)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=connect_timeout)
        conn.response_class = _Response
        conn.connect()  # raises before anything is sent
        return _Connection(key, conn)

    def _checkout(
        self, key: tuple[str, str, int], timeouts: dict[str, float | None], request: httpx.Request | None
    ) -> _Connection:
        """A slot and a connection to `key` (an idle one, else a new one), its failures as
        httpx's: nothing was sent on it. The caller gives both back with `_give_back`."""
        pool_timeout = timeouts.get("pool")
        if not self._slots.acquire(timeout=pool_timeout if pool_timeout is not None else -1):
            raise httpx.PoolTimeout("no connection free within the pool timeout", request=request)
        try:
            connection = self._take(key)
            if connection is None:
                connection = self._open(key, timeouts.get("connect"))
        except TimeoutError as exc:
            self._slots.release()
            raise httpx.ConnectTimeout(str(exc) or "connect timed out", request=request) from exc
        except OSError as exc:  # refused, unreachable, name not found, TLS handshake
            self._slots.release()
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from exc
        except BaseException:
            self._slots.release()
            raise
        return connection

    # --- a request ------------------------------------------------------------------

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {url.scheme!r}", request=request)
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        connection = self._checkout(connection_key(url), timeouts, request)
        try:
            response = self._exchange(connection, request, timeouts)
        except BaseException:
            self._give_back(connection, reusable=False)
            raise
        return httpx.Response(
            status_code=response.status,
            headers=response.getheaders(),
            stream=_Body(self, connection, response, request),
            extensions={
                "http_version": b"HTTP/1.1",
                "reason_phrase": (response.reason or "").encode("latin-1", "replace"),
            },
        )

    def _exchange(
        self, connection: _Connection, request: httpx.Request, timeouts: dict[str, float | None]
    ) -> http.client.HTTPResponse:
        """Send the request and read the status line and headers."""
        headers = request.headers
        body: object = None
        chunked = False
        if "content-length" in headers:
            body = request.read()
        elif "transfer-encoding" in headers:
            stream = request.stream
            if not isinstance(stream, httpx.SyncByteStream):
                raise TypeError("an async request body cannot be sent by a sync transport")
            body, chunked = iter(stream), True
        # httpx has set Host, Accept-Encoding and the rest; send exactly those.
        target = request.url.raw_path.decode("ascii")
        return _send(connection, request.method, target, headers.raw, timeouts, request, body=body, chunked=chunked)

    def read_small(
        self,
        key: tuple[str, str, int],
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        timeouts: dict[str, float | None],
        limit: int,
    ) -> Answer | None:
        """One request without a body, its whole answer read here: no `httpx.Request` or
        `httpx.Response` is built. For the registry client's many small reads (manifest GET
        and HEAD, config blobs), where httpx's request and response machinery was half of
        their CPU (`RegistryClient._read_small`). `headers` are sent as given (Host
        included); no content decoding, cookies, redirects or retries happen here.

        None when the body is longer than `limit` (its connection is closed, not read to
        the end). Errors are `handle_request`'s: `ConnectError`/`ConnectTimeout` when
        nothing was sent, the others after.
        """
        connection = self._checkout(key, timeouts, None)
        reusable = False
        try:
            response = _send(connection, method, target, headers, timeouts, None)
            try:
                if response.length is not None and response.length > limit:
                    response.close()
                    return None
                body = response.read(limit + 1)
                if len(body) > limit:
                    return None
                if response.length:  # http.client ends a body cut short quietly
                    raise http.client.IncompleteRead(body, response.length)
            except (http.client.HTTPException, OSError) as exc:
                raise _read_error(exc, None) from exc
            reusable = response.isclosed() and not response.will_close
            response.close()
            return Answer(response.status, response.msg, body)
        finally:
            self._give_back(connection, reusable)

    def close(self) -> None:
        self._closed = True
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.conn.close()

