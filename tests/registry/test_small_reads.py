"""The client's small reads (manifest GET and HEAD, config blobs) without httpx's machinery.

`RegistryClient._read_small` takes only a plain answer (200, or 404 to a HEAD) itself;
everything else is sent again through httpx (`_send`), which retries, answers token
challenges, follows redirects and keeps cookies. These tests run both paths against a
scripted server on real sockets (nothing mocked) and check what each request carried,
how many were sent, and that the answers are the same whichever path read them.
"""

from __future__ import annotations

import gzip
import socket
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from repositories.registry.auth import Basic, BearerChallenge
from repositories.registry.builder import build_image
from repositories.registry.client import RegistryClient
from repositories.registry.errors import DigestMismatch, ManifestTooLarge, RegistryError
from tests.support.scripted_http import ScriptedServer, Serve, Served, read_request

IMAGE = build_image()
MANIFEST = IMAGE.raw
DIGEST = IMAGE.digest
CONFIG = IMAGE.blobs[0]
NAME = "team/app"

Reply = Callable[[str, str, dict[str, str]], bytes | None]


def respond(status: str, body: bytes = b"", *headers: str, head: bool = False, length: bool = True) -> bytes:
    lines = [f"HTTP/1.1 {status}", *headers]
    if length:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (b"" if head else body)


def registry_like(served: Served, sock: socket.socket, reply: Reply | None = None) -> None:
    """A registry of one image, keep-alive; `reply` may answer a request first (None: as usual)."""
    while read_request(sock, served):
        line = served.requests[-1][0]
        method, target, _ = line.split(" ")
        special = reply(method, target, served.headers[-1]) if reply else None
        if special is not None:
            sock.sendall(special)
            continue
        head = method == "HEAD"
        if target == f"/v2/{NAME}/manifests/v1" or target == f"/v2/{NAME}/manifests/{DIGEST}":
            sock.sendall(
                respond(
                    "200 OK",
                    MANIFEST,
                    f"Docker-Content-Digest: {DIGEST}",
                    f"Content-Type: {IMAGE.media_type}",
                    head=head,
                )
            )
        elif target == f"/v2/{NAME}/blobs/{CONFIG.digest}":
            sock.sendall(respond("200 OK", CONFIG.data, head=head))
        else:
            body = b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}'
            sock.sendall(respond("404 Not Found", body, "Content-Type: application/json", head=head))


def start(serve: Serve, reply: Reply | None = None) -> ScriptedServer:
    return serve(lambda served, sock: registry_like(served, sock, reply))


def requests_of(server: ScriptedServer) -> list[str]:
    return [line for served in server.connections for line, _ in served.requests]


def headers_of(server: ScriptedServer) -> list[dict[str, str]]:
    return [headers for served in server.connections for headers in served.headers]


@pytest.fixture
def sends(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The requests that went through httpx's `Client.send` (the full path)."""
    seen: list[str] = []
    original = httpx.Client.send

    def counted(self: httpx.Client, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        seen.append(f"{request.method} {request.url.raw_path.decode()}")
        return original(self, request, **kwargs)

    monkeypatch.setattr(httpx.Client, "send", counted)
    return seen


def test_plain_reads_skip_httpx_and_send_what_it_would(serve: Serve, sends: list[str]) -> None:
    server = start(serve)
    client = RegistryClient(server.url, auth=Basic("robot", "secret"), user_agent="wharf-test/1")
    manifest = client.get_manifest(NAME, "v1")
    assert (manifest.digest, manifest.media_type) == (DIGEST, IMAGE.media_type)
    assert client.head_manifest(NAME, "v1") == DIGEST
    assert client.get_blob(NAME, CONFIG.digest) == CONFIG.data
    assert client.head_manifest(NAME, "v2") is None  # a 404 to a HEAD is an answer

    assert sends == []
    assert client.request_count == 4
    assert len(server.connections) == 1  # one keep-alive connection for all four
    assert requests_of(server) == [
        f"GET /v2/{NAME}/manifests/v1 HTTP/1.1",
        f"HEAD /v2/{NAME}/manifests/v1 HTTP/1.1",
        f"GET /v2/{NAME}/blobs/{CONFIG.digest} HTTP/1.1",
        f"HEAD /v2/{NAME}/manifests/v2 HTTP/1.1",
    ]
    first, _, blob, _ = headers_of(server)
    assert first["host"] == f"127.0.0.1:{server.port}"
    assert first["user-agent"] == "wharf-test/1"
    assert first["authorization"].startswith("Basic ")
    assert "application/vnd.oci.image.manifest.v1+json" in first["accept"]
    assert "accept-encoding" not in first  # identity: nothing to decode
    assert "accept" not in blob


def test_the_same_answers_through_httpx(serve: Serve, sends: list[str]) -> None:
    """A transport given to the client (or a proxy in the environment) leaves every read to httpx."""
    server = start(serve)
    client = RegistryClient(server.url, transport=httpx.HTTPTransport())
    assert client.get_manifest(NAME, "v1").digest == DIGEST
    assert client.head_manifest(NAME, "v1") == DIGEST
    assert client.get_blob(NAME, CONFIG.digest) == CONFIG.data
    assert client.head_manifest(NAME, "v2") is None
    assert len(sends) == 4 and client.request_count == 4


def test_a_base_url_with_a_path_prefix_keeps_it(serve: Serve, sends: list[str]) -> None:
    def prefixed(method: str, target: str, headers: dict[str, str]) -> bytes | None:
        if target == f"/mirror/v2/{NAME}/manifests/v1":
            return respond("200 OK", MANIFEST, f"Docker-Content-Digest: {DIGEST}", head=True)
        return respond("400 Bad Request", b"not under the prefix")

    server = start(serve, prefixed)
    client = RegistryClient(server.url + "/mirror")
    assert client.head_manifest(NAME, "v1") == DIGEST
    assert requests_of(server) == [f"HEAD /mirror/v2/{NAME}/manifests/v1 HTTP/1.1"]
    assert sends == []


def test_a_token_challenge_is_answered_through_httpx_then_reads_are_plain_again(
    serve: Serve, sends: list[str]
) -> None:
    issued: list[str] = []
    order: list[str] = []
    blob_authorization: list[str | None] = []

    def tokens(method: str, target: str, headers: dict[str, str]) -> bytes | None:
        order.append(target)
        if "/blobs/" in target:
            blob_authorization.append(headers.get("authorization"))
        if target.startswith("/token"):
            issued.append(target)
            return respond("200 OK", b'{"token": "t0k3n", "expires_in": 300}', "Content-Type: application/json")
        if headers.get("authorization") != "Bearer t0k3n":
            challenge = (
                f'WWW-Authenticate: Bearer realm="http://127.0.0.1:{port}/token",'
                f'service="registry",scope="repository:{NAME}:pull"'
            )
            return respond("401 Unauthorized", b'{"errors":[{"code":"UNAUTHORIZED"}]}', challenge)
        return None

    server = start(serve, tokens)
    port = server.port
    client = RegistryClient(server.url, auth=BearerChallenge())
    assert client.get_manifest(NAME, "v1").digest == DIGEST
    assert client.get_blob(NAME, CONFIG.digest) == CONFIG.data
    # The plain read met the 401; httpx sent it again, met the 401, fetched a token and
    # sent it a third time. With the token known, the blob read was plain.
    manifest = f"/v2/{NAME}/manifests/v1"
    assert order == [manifest, manifest, *issued, manifest, f"/v2/{NAME}/blobs/{CONFIG.digest}"]
    assert len(sends) == 3 and not any("/blobs/" in sent for sent in sends)
    assert blob_authorization == ["Bearer t0k3n"]
    assert client.request_count == 4  # token requests are not the registry's


def test_a_redirected_blob_is_followed_by_httpx_and_later_blobs_go_there_at_once(
    serve: Serve, sends: list[str]
) -> None:
    def redirect(method: str, target: str, headers: dict[str, str]) -> bytes | None:
        if target.startswith(f"/v2/{NAME}/blobs/"):
            return respond("307 Temporary Redirect", b"", f"Location: /storage/{CONFIG.digest}")
        if target.startswith("/storage/"):
            return respond("200 OK", CONFIG.data)
        return None

    server = start(serve, redirect)
    client = RegistryClient(server.url)
    assert client.get_blob(NAME, CONFIG.digest) == CONFIG.data
    assert client.get_blob(NAME, CONFIG.digest) == CONFIG.data
    blob_reads = [line for line in requests_of(server) if "/blobs/" in line]
    # Plain read (307), httpx's (307, followed), then httpx's only: 3, not 4.
    assert len(blob_reads) == 3
    assert client.get_manifest(NAME, "v1").digest == DIGEST  # manifests stay plain
    assert sends[-1] == f"GET /v2/{NAME}/blobs/{CONFIG.digest}"


def test_a_cookie_is_kept_and_sent_back_through_httpx(serve: Serve, sends: list[str]) -> None:
    def sticky(method: str, target: str, headers: dict[str, str]) -> bytes | None:
        if "cookie" not in headers:
            return respond(
                "200 OK",
                MANIFEST,
                f"Docker-Content-Digest: {DIGEST}",
                f"Content-Type: {IMAGE.media_type}",
                "Set-Cookie: lb=node-2; Path=/",
                head=method == "HEAD",
            )
        return None

    server = start(serve, sticky)
    client = RegistryClient(server.url)
    assert client.get_manifest(NAME, "v1").digest == DIGEST
    assert client.head_manifest(NAME, "v1") == DIGEST
    headers = headers_of(server)
    assert "cookie" not in headers[0] and "cookie" not in headers[1]
    assert headers[2]["cookie"] == "lb=node-2"  # the jar is not empty: httpx carries it
    assert len(sends) == 2 and client.request_count == 3


def test_an_encoded_body_is_decoded_through_httpx(serve: Serve) -> None:
    def gzipped(method: str, target: str, headers: dict[str, str]) -> bytes | None:
        if target.endswith("/manifests/v1"):
            return respond(
                "200 OK",
                gzip.compress(MANIFEST),
                f"Docker-Content-Digest: {DIGEST}",
                f"Content-Type: {IMAGE.media_type}",
                "Content-Encoding: gzip",
            )
        return None

    server = start(serve, gzipped)
    client = RegistryClient(server.url)
    assert client.get_manifest(NAME, "v1").digest == DIGEST
    assert len(requests_of(server)) == 2


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_over_the_limit_is_refused(serve: Serve, chunked: bool) -> None:
    big = b"{" + b" " * 5000 + b"}"

    def large(method: str, target: str, headers: dict[str, str]) -> bytes | None:
        if not chunked:
            return respond("200 OK", big, f"Docker-Content-Digest: {DIGEST}")
        return (
            f"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nDocker-Content-Digest: {DIGEST}\r\n\r\n"
            f"{len(big):x}\r\n".encode()
            + big
            + b"\r\n0\r\n\r\n"
        )

    server = start(serve, large)
    client = RegistryClient(server.url)
    with pytest.raises(ManifestTooLarge):
        client.get_manifest(NAME, "v1", max_size=1000)
    assert client.request_count == 2
    with pytest.raises(ManifestTooLarge):
        client.get_blob(NAME, CONFIG.digest, max_size=1000)


def test_errors_and_wrong_content_read_as_before(serve: Serve) -> None:
    def wrong(method: str, target: str, headers: dict[str, str]) -> bytes | None:
        if target.endswith("/manifests/v1"):
            return respond("200 OK", MANIFEST + b" ", f"Docker-Content-Digest: {DIGEST}")
        if target.endswith(f"/blobs/{CONFIG.digest}"):
            return respond("200 OK", CONFIG.data + b" ")
        return None

    server = start(serve, wrong)
    client = RegistryClient(server.url)
    with pytest.raises(DigestMismatch):
        client.get_manifest(NAME, "v1")
    with pytest.raises(RegistryError) as caught:
        client.get_manifest(NAME, "missing")
    assert (caught.value.status, caught.value.code) == (404, "MANIFEST_UNKNOWN")
    with pytest.raises(DigestMismatch):
        client.get_blob(NAME, CONFIG.digest)
    # The two mismatches were plain reads; the 404 was sent again through httpx for its error body.
    assert client.request_count == 4


def test_a_connection_that_fails_is_retried_through_httpx(serve: Serve) -> None:
    def hang_up_first(served: Served, sock: socket.socket) -> None:
        if served.index == 0:
            read_request(sock, served)
            return  # no answer: the plain read fails after sending
        registry_like(served, sock)

    server = serve(hang_up_first)
    client = RegistryClient(server.url)
    assert client.get_manifest(NAME, "v1").digest == DIGEST
    assert len(server.connections) == 2
    assert client.request_count == 2
