"""Client behaviour the real registry cannot be made to show: faults, lies, huge bodies."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import httpx
import pytest

from repositories.registry.client import MAX_MANIFEST_SIZE, RegistryClient
from repositories.registry.errors import (
    DigestMismatch,
    InvalidContent,
    ManifestTooLarge,
    RegistryError,
    RegistryUnavailable,
)
from repositories.registry.manifests import OCI_MANIFEST
from tests.registry.fakes import FakeRegistry, chunks, error
from tests.support.images import build_image


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


IMAGE = build_image()


def serve_manifest(body: bytes, announced: str | None = None) -> FakeRegistry:
    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"Content-Type": OCI_MANIFEST, "Docker-Content-Digest": announced or digest_of(body)}
        return httpx.Response(200, headers=headers, content=body)

    return FakeRegistry(handler)


def test_transient_503_is_retried_with_growing_backoff_then_succeeds() -> None:
    answers = [503, 503, 200]

    def handler(request: httpx.Request) -> httpx.Response:
        status = answers.pop(0)
        return httpx.Response(status, json={"tags": ["v1"]} if status == 200 else {})

    fake = FakeRegistry(handler)
    client = fake.client(max_retries=3, backoff_base=1.0)
    assert client.tags("team/app") == ["v1"]
    assert len(fake.requests) == 3 == client.request_count
    first, second = fake.sleeps
    assert 0.5 <= first <= 1.0 and 1.0 <= second <= 2.0


def test_retries_are_bounded_and_end_in_registry_unavailable() -> None:
    fake = FakeRegistry(lambda request: error(503, "UNAVAILABLE", "maintenance"))
    client = fake.client(max_retries=2)
    with pytest.raises(RegistryUnavailable) as caught:
        client.tags("team/app")
    assert len(fake.requests) == 3
    assert (caught.value.transient, caught.value.status, caught.value.code) == (True, 503, "UNAVAILABLE")


def test_404_is_not_retried_and_is_permanent() -> None:
    fake = FakeRegistry(lambda request: error(404, "MANIFEST_UNKNOWN", "manifest unknown"))
    client = fake.client(max_retries=5)
    with pytest.raises(RegistryError) as caught:
        client.get_manifest("team/app", "v1")
    assert len(fake.requests) == 1
    assert (caught.value.transient, caught.value.status, caught.value.code) == (
        False,
        404,
        "MANIFEST_UNKNOWN",
    )


def test_429_honours_retry_after_within_the_backoff_cap() -> None:
    answers = [httpx.Response(429, headers={"Retry-After": "3"}), httpx.Response(200, json={"tags": []})]
    fake = FakeRegistry(lambda request: answers.pop(0))
    client = fake.client(backoff_base=0.1, backoff_max=4.0)
    assert client.tags("team/app") == []
    assert 1.5 <= fake.sleeps[0] <= 3.0


def test_connect_errors_are_retried_then_raised_as_transient() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    fake = FakeRegistry(handler)
    with pytest.raises(RegistryUnavailable) as caught:
        fake.client(max_retries=1).ping()
    assert len(fake.requests) == 2
    assert caught.value.status is None


@pytest.mark.parametrize(
    "failure", [httpx.ReadTimeout, httpx.ConnectTimeout, httpx.RemoteProtocolError, httpx.ReadError]
)
def test_timeouts_and_broken_connections_are_transient(failure: type[httpx.TransportError]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise failure("gone", request=request)

    with pytest.raises(RegistryUnavailable) as caught:
        FakeRegistry(handler).client(max_retries=0).head_manifest("team/app", "v1")
    assert failure.__name__ in caught.value.message


@pytest.mark.parametrize(
    ("failures", "may_have_happened"),
    [
        ([httpx.ConnectError], False),
        ([httpx.ConnectTimeout, httpx.ConnectError], False),
        ([httpx.ReadTimeout], True),
        ([httpx.RemoteProtocolError], True),
        # A retry that cannot connect does not undo what the first, unanswered attempt may have done.
        ([httpx.ReadError, httpx.ConnectError], True),
    ],
)
def test_an_unanswered_request_may_have_happened_a_refused_one_did_not(
    failures: list[type[httpx.TransportError]], may_have_happened: bool
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise failures[len(fake.requests) - 1]("gone", request=request)

    fake = FakeRegistry(handler)
    with pytest.raises(RegistryUnavailable) as caught:
        fake.client(max_retries=len(failures) - 1).delete_manifest("team/app", IMAGE.digest)
    assert len(fake.requests) == len(failures)
    assert caught.value.may_have_happened is may_have_happened


def test_manifest_fetched_by_digest_must_hash_to_that_digest() -> None:
    other = digest_of(b"something else")
    fake = serve_manifest(IMAGE.raw, announced=other)
    with pytest.raises(DigestMismatch) as caught:
        fake.client().get_manifest("team/app", other)
    assert caught.value.expected == other
    assert caught.value.actual == IMAGE.digest
    assert caught.value.transient is False


def test_manifest_by_tag_must_match_the_announced_digest() -> None:
    fake = serve_manifest(IMAGE.raw, announced=digest_of(b"lie"))
    with pytest.raises(DigestMismatch):
        fake.client().get_manifest("team/app", "v1")


def test_manifest_accept_header_lists_the_four_manifest_types() -> None:
    fake = serve_manifest(IMAGE.raw)
    manifest = fake.client().get_manifest("team/app", "v1")
    assert manifest.digest == IMAGE.digest
    accept = fake.requests[0].headers["Accept"]
    for media_type in (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ):
        assert media_type in accept


class _Stream(httpx.SyncByteStream):
    """A response body produced lazily, so a test can see how much was actually read."""

    def __init__(self, total: int, counter: list[int]) -> None:
        self.total = total
        self.counter = counter

    def __iter__(self) -> Iterator[bytes]:
        yield from chunks(self.total, self.counter)


def test_manifest_above_4_mib_is_refused_from_content_length_before_reading() -> None:
    produced = [0]
    size = MAX_MANIFEST_SIZE + 1

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            headers={"Content-Type": OCI_MANIFEST, "Content-Length": str(size)},
            stream=_Stream(size, produced),
        )

    with pytest.raises(ManifestTooLarge) as caught:
        FakeRegistry(handler).client().get_manifest("team/app", "big")
    assert caught.value.size == size and caught.value.limit == MAX_MANIFEST_SIZE
    assert produced[0] == 0
    assert "4194304" in caught.value.message


def test_manifest_above_4_mib_without_content_length_stops_reading_at_the_limit() -> None:
    produced = [0]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"Content-Type": OCI_MANIFEST}, stream=_Stream(50 * 1024 * 1024, produced)
        )

    with pytest.raises(ManifestTooLarge):
        FakeRegistry(handler).client().get_manifest("team/app", "big")
    assert MAX_MANIFEST_SIZE < produced[0] < MAX_MANIFEST_SIZE + 256 * 1024


def test_blob_must_hash_to_its_digest() -> None:
    claimed = digest_of(b"the real config")
    fake = FakeRegistry(lambda request: httpx.Response(200, content=b"tampered config"))
    with pytest.raises(DigestMismatch):
        fake.client().get_blob("team/app", claimed)


def test_config_blob_above_its_cap_is_refused() -> None:
    data = b"x" * 2048
    fake = FakeRegistry(lambda request: httpx.Response(200, content=data))
    with pytest.raises(ManifestTooLarge):
        fake.client().get_blob("team/app", digest_of(data), max_size=1024)


def test_streamed_blob_is_verified_after_the_last_chunk() -> None:
    good = b"layer bytes" * 10000
    fake = FakeRegistry(lambda request: httpx.Response(200, content=good))
    client = fake.client()
    with client.open_blob("team/app", digest_of(good)) as stream:
        assert b"".join(stream.iter_bytes(1000)) == good
        assert stream.verified
    with client.open_blob("team/app", digest_of(b"other")) as stream, pytest.raises(DigestMismatch):
        for _ in stream.iter_bytes():
            pass


def test_catalog_follows_relative_next_links() -> None:
    pages = {
        None: (["a", "b"], '</v2/_catalog?last=b&n=2>; rel="next"'),
        "b": (["c"], None),
    }

    def handler(request: httpx.Request) -> httpx.Response:
        names, link = pages[request.url.params.get("last")]
        return httpx.Response(200, json={"repositories": names}, headers={"Link": link} if link else {})

    fake = FakeRegistry(handler)
    assert fake.client().catalog(page_size=2) == ["a", "b", "c"]
    assert [str(r.url) for r in fake.requests] == [
        "http://registry.test/v2/_catalog?n=2",
        "http://registry.test/v2/_catalog?last=b&n=2",
    ]


def test_next_link_to_another_host_is_refused() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={"repositories": ["a"]},
            headers={"Link": '<http://evil.test/v2/_catalog?last=a>; rel="next"'},
        )

    with pytest.raises(InvalidContent):
        FakeRegistry(handler).client().catalog()


def test_catalog_page_size_above_1000_is_refused_before_asking() -> None:
    fake = FakeRegistry(lambda request: httpx.Response(200, json={}))
    with pytest.raises(ValueError):
        fake.client().catalog(page_size=1001)
    assert fake.requests == []


def test_paginated_tags_are_merged_and_sorted() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("last") is None:
            return httpx.Response(
                200,
                json={"name": "team/app", "tags": ["v10", "latest"]},
                headers={"Link": '</v2/team/app/tags/list?last=v10&n=2>; rel="next"'},
            )
        return httpx.Response(200, json={"name": "team/app", "tags": ["v2", "alpha"]})

    assert FakeRegistry(handler).client().tags("team/app", page_size=2) == ["alpha", "latest", "v10", "v2"]


@pytest.mark.parametrize("name", ["../etc", "Team/App", "a//b", "a/", "x" * 300])
def test_invalid_repository_names_never_reach_the_registry(name: str) -> None:
    fake = FakeRegistry(lambda request: httpx.Response(200, json={}))
    with pytest.raises(RegistryError) as caught:
        fake.client().tags(name)
    assert caught.value.code == "NAME_INVALID"
    assert fake.requests == []


def test_delete_tag_uses_delete_by_reference_where_supported() -> None:
    fake = FakeRegistry(lambda request: httpx.Response(202))
    client = fake.client()
    client.delete_tag("team/app", "v1")
    assert [(r.method, r.url.path) for r in fake.requests] == [("DELETE", "/v2/team/app/manifests/v1")]
    assert client.delete_by_tag_supported is True


def test_failed_tombstone_delete_puts_the_original_manifest_back() -> None:
    stored: dict[str, bytes] = {"v1": IMAGE.raw}

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "DELETE" and path.endswith("/v1"):
            return error(400, "DIGEST_INVALID", "provided digest did not match uploaded content")
        if request.method == "DELETE":
            return error(405, "UNSUPPORTED", "The operation is unsupported.")
        if request.method == "GET":
            body = stored["v1"]
            return httpx.Response(200, content=body, headers={"Content-Type": OCI_MANIFEST})
        if request.method == "HEAD":
            return httpx.Response(200)
        if request.method == "PUT":
            stored["v1"] = request.content
            return httpx.Response(201, headers={"Docker-Content-Digest": digest_of(request.content)})
        raise AssertionError(request)

    client = FakeRegistry(handler).client()
    with pytest.raises(RegistryError) as caught:
        client.delete_tag("team/app", "v1")
    assert caught.value.code == "UNSUPPORTED"
    assert stored["v1"] == IMAGE.raw
    assert client.delete_by_tag_supported is False


def test_put_manifest_under_a_digest_it_does_not_match_is_refused_locally() -> None:
    fake = FakeRegistry(lambda request: httpx.Response(201))
    with pytest.raises(DigestMismatch):
        fake.client().put_manifest("team/app", digest_of(b"x"), json.dumps({}).encode(), OCI_MANIFEST)
    assert fake.requests == []


def test_a_cookie_the_registry_sets_is_sent_back_and_responses_without_one_leave_the_jar_alone() -> None:
    """The client skips http.cookiejar for responses with no Set-Cookie (`client._Cookies`), but
    a registry behind a load balancer with sticky sessions still gets its cookie back. (The
    real registry sets no cookie, hence the fake.)"""
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("Cookie"))
        if len(seen) == 2:
            return httpx.Response(200, json={"name": "app", "tags": ["v1"]}, headers={"Set-Cookie": "lb=node-2; Path=/"})
        return httpx.Response(200, json={"name": "app", "tags": ["v1"]})

    client = FakeRegistry(handler).client()
    for _ in range(4):
        assert client.tags("app") == ["v1"]
    assert seen == [None, None, "lb=node-2", "lb=node-2"]


def test_paths_are_joined_below_a_base_url_with_a_path() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={"name": "team/app", "tags": ["v1"]})

    client = RegistryClient("http://registry.test/mirror/", transport=httpx.MockTransport(handler))
    client.ping()
    assert client.tags("team/app", page_size=5) == ["v1"]
    assert seen == ["http://registry.test/mirror/v2/", "http://registry.test/mirror/v2/team/app/tags/list?n=5"]
