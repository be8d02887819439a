"""The registry client's transport against real sockets: what the client relies on.

A scripted server on a free port answers each connection as a test says (keep-alive,
hang up, never answer, chunked), so the transport's own reading and writing run for
real; nothing here is mocked. The client's error meanings built on top (may the request
have happened?) are checked through `RegistryClient` itself.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import httpx
import pytest

from repositories.registry.client import RegistryClient
from repositories.registry.errors import RegistryUnavailable
from repositories.registry.transport import KeepAliveTransport, _Response, parse_headers
from tests.support.registry import free_port
from tests.support.scripted_http import ScriptedServer, Serve, Served, answer, read_request

DIGEST = "sha256:" + "a" * 64


def keep_alive(served: Served, sock: socket.socket) -> None:
    while read_request(sock, served):
        answer(sock, b"x" * 10)


def transport_client(server: ScriptedServer, **kwargs: Any) -> httpx.Client:
    return httpx.Client(base_url=server.url, transport=KeepAliveTransport(**kwargs), timeout=5.0)


def test_sequential_requests_share_one_keep_alive_connection(serve: Serve) -> None:
    server = serve(keep_alive)
    with transport_client(server) as http:
        for _ in range(20):
            assert http.get("/v2/").content == b"x" * 10
            assert http.head("/v2/").status_code == 200
    assert len(server.connections) == 1
    assert len(server.connections[0].requests) == 40


def test_a_registry_client_reuses_its_connection_by_default(serve: Serve) -> None:
    server = serve(keep_alive)
    client = RegistryClient(server.url)
    assert isinstance(client._http._transport, KeepAliveTransport)
    for _ in range(5):
        client.ping()
    assert len(server.connections) == 1


def test_a_proxy_in_the_environment_keeps_httpx_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    client = RegistryClient("https://registry.example")
    assert not isinstance(client._http._transport, KeepAliveTransport)


def test_a_connection_closed_by_the_server_while_idle_is_not_reused(serve: Serve) -> None:
    def one_answer_then_hang_up(served: Served, sock: socket.socket) -> None:
        if read_request(sock, served):
            answer(sock)  # keep-alive by HTTP/1.1 default, yet the server closes it

    server = serve(one_answer_then_hang_up)
    with transport_client(server) as http:
        assert http.get("/v2/").status_code == 200
        time.sleep(0.2)  # the close reaches the idle socket
        assert http.get("/v2/").status_code == 200  # no error: a fresh connection
    assert [len(c.requests) for c in server.connections] == [1, 1]


def test_a_half_read_body_drops_its_connection_a_fully_read_one_keeps_it(serve: Serve) -> None:
    def big(served: Served, sock: socket.socket) -> None:
        while read_request(sock, served):
            answer(sock, b"y" * 1_000_000)

    server = serve(big)
    with transport_client(server) as http:
        with http.stream("GET", "/blob") as response:
            next(response.iter_raw(1000))
        assert len(http.get("/blob").content) == 1_000_000
        assert len(http.get("/blob").content) == 1_000_000
    assert [len(c.requests) for c in server.connections] == [1, 2]


def test_connection_close_is_honoured(serve: Serve) -> None:
    def closing(served: Served, sock: socket.socket) -> None:
        if read_request(sock, served):
            answer(sock, headers=("Connection: close",))

    server = serve(closing)
    with transport_client(server) as http:
        for _ in range(3):
            assert http.get("/v2/").content == b"ok"
    assert len(server.connections) == 3


def test_idle_connections_expire(serve: Serve) -> None:
    server = serve(keep_alive)
    with transport_client(server, keepalive_expiry=0.0) as http:
        http.get("/v2/")
        time.sleep(0.01)
        http.get("/v2/")
    assert len(server.connections) == 2


def test_chunked_upload_arrives_whole_and_repeated_headers_stay_separate(serve: Serve) -> None:
    def echo(served: Served, sock: socket.socket) -> None:
        while read_request(sock, served):
            answer(sock, served.requests[-1][1], headers=("Link: <a>; rel=x", "Link: <b>; rel=next"))

    server = serve(echo)
    with transport_client(server) as http:
        response = http.post("/upload", content=iter([b"abc", b"", b"defg"]))
        assert response.content == b"abcdefg"
        assert response.headers.get_list("link") == ["<a>; rel=x", "<b>; rel=next"]
        assert http.put("/upload", content=b"\x00" * 70_000).content == b"\x00" * 70_000


def test_more_requests_than_connections_wait_for_one_then_time_out(serve: Serve) -> None:
    server = serve(keep_alive)
    http = httpx.Client(
        base_url=server.url,
        transport=KeepAliveTransport(max_connections=1),
        timeout=httpx.Timeout(5.0, pool=0.2),
    )
    with http:
        with http.stream("GET", "/v2/"), pytest.raises(httpx.PoolTimeout):
            http.get("/v2/")
        assert http.get("/v2/").status_code == 200  # the slot came back with the close


def test_a_refused_connection_is_a_delete_that_did_not_happen() -> None:
    port = free_port()  # nothing listens there
    client = RegistryClient(f"http://127.0.0.1:{port}", max_retries=0)
    with pytest.raises(RegistryUnavailable) as caught:
        client.delete_manifest("team/app", DIGEST)
    assert "ConnectError" in caught.value.message
    assert caught.value.may_have_happened is False


def test_a_request_the_server_hung_up_on_may_have_happened(serve: Serve) -> None:
    def hang_up(served: Served, sock: socket.socket) -> None:
        read_request(sock, served)  # the delete arrived; no answer

    server = serve(hang_up)
    client = RegistryClient(server.url, max_retries=0)
    with pytest.raises(RegistryUnavailable) as caught:
        client.delete_manifest("team/app", DIGEST)
    assert server.connections[0].requests[0][0].startswith("DELETE /v2/team/app/manifests/")
    assert "RemoteProtocolError" in caught.value.message
    assert caught.value.may_have_happened is True


def test_an_unanswered_request_times_out_and_may_have_happened(serve: Serve) -> None:
    release = threading.Event()

    def silent(served: Served, sock: socket.socket) -> None:
        read_request(sock, served)
        release.wait(5)

    server = serve(silent)
    client = RegistryClient(server.url, max_retries=0, timeout=httpx.Timeout(0.3))
    try:
        with pytest.raises(RegistryUnavailable) as caught:
            client.delete_manifest("team/app", DIGEST)
    finally:
        release.set()
    assert "ReadTimeout" in caught.value.message
    assert caught.value.may_have_happened is True


def test_a_body_cut_short_is_a_transport_error(serve: Serve) -> None:
    def cut(served: Served, sock: socket.socket) -> None:
        read_request(sock, served)
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this")

    server = serve(cut)
    with transport_client(server) as http, pytest.raises(httpx.RemoteProtocolError):
        http.get("/v2/")


@pytest.mark.parametrize(
    "block",
    [
        b"Content-Type: application/json\r\nContent-Length: 12\r\n\r\n",
        b"Docker-Content-Digest: sha256:abc\r\nLink: <a>; rel=x\r\nlink: <b>; rel=next\r\n\r\n",
        b"Set-Cookie: lb=1; Path=/\r\nSet-Cookie: other=2\r\nX-Empty:\r\nX-Latin: caf\xe9\r\n\r\n",
        b'WWW-Authenticate: Bearer realm="https://a/token",service="r",scope="repository:x:pull"\n\n',
        b"\r\n",
    ],
)
def test_headers_are_read_as_http_client_reads_them(block: bytes) -> None:
    import http.client
    import io

    ours = parse_headers(io.BytesIO(block + b"body"))
    theirs = http.client.parse_headers(io.BytesIO(block + b"body"))
    assert ours.items() == theirs.items()
    assert ours.get_all("link") == theirs.get_all("link")


def test_header_oddities_and_limits() -> None:
    import http.client
    import io

    folded = parse_headers(io.BytesIO(b"X-A:  one \r\n  two\r\nno colon here\r\nX-B:\tb \r\n\r\n"))
    assert folded.items() == [("X-A", "one two"), ("X-B", "b")]
    with pytest.raises(http.client.LineTooLong):
        parse_headers(io.BytesIO(b"X: " + b"a" * 70_000 + b"\r\n\r\n"))
    with pytest.raises(http.client.HTTPException, match="more than 100 headers"):
        parse_headers(io.BytesIO(b"X: 1\r\n" * 101 + b"\r\n"))


def test_responses_are_read_with_the_fast_header_parser(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[object] = []

    def counted(fp: Any, _class: Any = None) -> Any:
        calls.append(fp)
        return parse_headers(fp)

    monkeypatch.setitem(_Response.begin.__globals__, "parse_headers", counted)
    server = serve(keep_alive)
    with transport_client(server) as http:
        assert http.get("/v2/").headers["content-length"] == "10"
        assert http.head("/v2/").status_code == 200
    assert len(calls) == 2


def test_a_body_that_timed_out_half_way_never_serves_the_next_request(serve: Serve) -> None:
    def slow_body(served: Served, sock: socket.socket) -> None:
        while read_request(sock, served):
            if served.index == 0 and len(served.requests) == 1:
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nfirst")
                time.sleep(0.5)  # the rest comes after the client gave up
                sock.sendall(b"-late")
            else:
                answer(sock, b"second")

    server = serve(slow_body)
    http = httpx.Client(base_url=server.url, transport=KeepAliveTransport(), timeout=httpx.Timeout(0.2))
    with http:
        with pytest.raises(httpx.ReadTimeout):
            http.get("/v2/")
        time.sleep(0.05)  # before the late bytes arrive: the socket does not look closed yet
        assert http.get("/v2/").content == b"second"
    assert len(server.connections) == 2
