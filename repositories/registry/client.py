"""`RegistryClient`: every call Wharf makes to the OCI registry.

One pooled keep-alive `httpx.Client` per `RegistryClient`, explicit timeouts,
bounded retries with exponential backoff and jitter for transient failures only,
and digest verification of everything read. Safe to share between threads (httpx's
client is; our counters take a lock).

Registry quirks handled here are recorded in docs/registry.md (Distribution 2.8):
relative `Link` headers, unsorted tag lists, no delete by tag.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import httpx

from repositories.registry.auth import Anonymous, Auth, parse_www_authenticate
from repositories.registry.errors import (
    DigestMismatch,
    InvalidContent,
    ManifestTooLarge,
    RegistryError,
    error_from_status,
    error_from_transport,
    is_transient_status,
)
from repositories.registry.manifests import (
    DIGEST_RE,
    MANIFEST_MEDIA_TYPES,
    OCI_EMPTY,
    OCI_MANIFEST,
    TOMBSTONE_ANNOTATION,
    Manifest,
    parse_manifest,
)
from repositories.registry.transport import Answer, KeepAliveTransport, connection_key

MAX_MANIFEST_SIZE = 4 * 1024 * 1024
MAX_CONFIG_SIZE = 8 * 1024 * 1024
MAX_LIST_RESPONSE_SIZE = 16 * 1024 * 1024
MAX_PAGE_SIZE = 1000  # Distribution answers 400 PAGINATION_NUMBER_INVALID above this
MAX_PAGES = 100_000  # a registry looping its Link headers must not loop us forever
ACCEPT_MANIFESTS = ", ".join(MANIFEST_MEDIA_TYPES)
# Connections kept per client; callers running more requests at once (the sync) ask for more,
# since a thread waiting for a free connection is a request the registry could have served.
DEFAULT_MAX_CONNECTIONS = 20
EMPTY_JSON = b"{}"
DIGEST = "Docker-Content-Digest"
TYPE = "Content-Type"

# Distribution's reference grammar: we check names before they go into a URL path.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
REPOSITORY_RE = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")

_CHUNK = 64 * 1024


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _hasher_for(digest: str) -> Any:
    algorithm = digest.split(":", 1)[0]
    if algorithm not in ("sha256", "sha512"):
        raise RegistryError(
            f"unsupported digest algorithm {algorithm!r}", transient=False, code="DIGEST_INVALID"
        )
    return hashlib.new(algorithm)


def _digest_of(data: bytes, like: str) -> str:
    """Hash `data` with the algorithm of the digest `like`."""
    hasher = _hasher_for(like)
    hasher.update(data)
    return f"{like.split(':', 1)[0]}:{hasher.hexdigest()}"


def is_digest(reference: str) -> bool:
    return bool(DIGEST_RE.match(reference))


def check_repository(name: str) -> str:
    if len(name) > 255 or not REPOSITORY_RE.match(name):
        raise RegistryError(f"invalid repository name {name[:100]!r}", transient=False, code="NAME_INVALID")
    return name


def check_reference(reference: str) -> str:
    if not (TAG_RE.match(reference) or is_digest(reference)):
        raise RegistryError(f"invalid reference {reference[:140]!r}", transient=False, code="TAG_INVALID")
    return reference


def check_digest(digest: str) -> str:
    """A syntactically valid digest in an algorithm we can verify."""
    if not is_digest(digest):
        raise RegistryError(f"invalid digest {digest[:140]!r}", transient=False, code="DIGEST_INVALID")
    _hasher_for(digest)
    return digest


def _pull(repository: str) -> list[str]:
    return [f"repository:{repository}:pull"]


def _push(repository: str) -> list[str]:
    return [f"repository:{repository}:pull,push"]


def _delete(repository: str) -> list[str]:
    return [f"repository:{repository}:delete"]


CATALOG_SCOPE = ["registry:catalog:*"]


# Bodies up to this size are drained before a response is let go, so its keep-alive
# connection goes back to the pool: closing an unread streaming response makes httpx
# drop the connection, which cost a new TCP connection per HEAD/DELETE.
_DRAIN_LIMIT = 64 * 1024


def _release(response: httpx.Response) -> None:
    """Let a response go, keeping its connection reusable when that is cheap."""
    if not response.is_closed:
        declared = response.headers.get("Content-Length", "")
        small = declared.isdigit() and int(declared) <= _DRAIN_LIMIT
        if response.request.method == "HEAD" or small:
            with suppress(httpx.HTTPError):
                response.read()
    response.close()


class _Cookies(httpx.Cookies):
    """httpx's cookie jar, skipping the responses that set no cookie.

    httpx hands every response to `http.cookiejar`, building urllib request and response
    stand-ins for it: 5 % of a sync's Python time, for registries that set no cookie. A
    response with `Set-Cookie` (a load balancer's sticky session, say) is still stored and
    sent back, as before."""

    def extract_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers:
            super().extract_cookies(response)


class _HttpClient(httpx.Client):
    """`httpx.Client` with the jar above (its `cookies` property is what httpx itself reads)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._jar = _Cookies(kwargs.get("cookies"))

    @property  # type: ignore[override]
    def cookies(self) -> httpx.Cookies:
        return self._jar

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        self._jar = _Cookies(cookies)


_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy")


def _environment_proxies() -> bool:
    """Whether the environment names a proxy that httpx would use (trust_env)."""
    return any(os.environ.get(name) or os.environ.get(name.upper()) for name in _PROXY_VARIABLES)


class BlobStream:
    """A blob being read: iterate `iter_bytes()`; the digest is checked after the last chunk.

    A mismatch raises `DigestMismatch` from the iterator, so a consumer that stores
    chunks as they come must discard what it stored when that happens.
    """

    def __init__(self, response: httpx.Response, digest: str, max_size: int | None) -> None:
        self._response = response
        self.digest = digest
        self.max_size = max_size
        length = response.headers.get("Content-Length")
        self.size: int | None = int(length) if length and length.isdigit() else None
        self.bytes_read = 0
        self.verified = False

    def iter_bytes(self, chunk_size: int = _CHUNK) -> Iterator[bytes]:
        hasher = _hasher_for(self.digest)
        try:
            for chunk in self._response.iter_bytes(chunk_size):
                self.bytes_read += len(chunk)
                if self.max_size is not None and self.bytes_read > self.max_size:
                    raise ManifestTooLarge(
                        f"blob {self.digest} is larger than {self.max_size} bytes", limit=self.max_size
                    )
                hasher.update(chunk)
                yield chunk
        except httpx.DecodingError as exc:
            raise InvalidContent(f"blob {self.digest}: body cannot be decoded ({exc})") from exc
        except httpx.TransportError as exc:
            raise error_from_transport(exc, f"reading blob {self.digest}") from exc
        actual = f"{self.digest.split(':', 1)[0]}:{hasher.hexdigest()}"
        if actual != self.digest:
            raise DigestMismatch(
                f"blob content hashes to {actual}, not {self.digest}", expected=self.digest, actual=actual
            )
        self.verified = True


class RegistryClient:
    """A typed client for one registry (Distribution 2.8+ / OCI Distribution Spec).

    `request_count` counts HTTP requests sent to the registry (retries and auth
    round trips included; token endpoint calls excluded), for run records.
    """

    def __init__(
        self,
        base_url: str,
        *,
        auth: Auth | None = None,
        timeout: float | httpx.Timeout = 10.0,
        max_retries: int = 3,
        backoff_base: float = 0.2,
        backoff_max: float = 5.0,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        user_agent: str = "wharf-registry-client/1",
    ) -> None:
        self.base_url = httpx.URL(base_url.rstrip("/") + "/")
        # Request paths are joined to this as strings: httpx's own merge of a relative URL
        # parses twice (34 µs against 13 µs for one absolute URL, per request).
        self._prefix = str(self.base_url)
        self.auth: Auth = auth or Anonymous()
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self._sleep = sleep
        self._lock = threading.Lock()
        self.request_count = 0
        # None until we learn whether the registry deletes by tag (OCI 1.1) or not (2.8).
        self.delete_by_tag_supported: bool | None = None
        if not isinstance(timeout, httpx.Timeout):
            # A short connect timeout: a dead registry should fail fast and be retried.
            timeout = httpx.Timeout(timeout, connect=min(timeout, 5.0))
        # The transport small reads go through directly (`_read_small`); None: all go through httpx.
        self._small: KeepAliveTransport | None = None
        if transport is None and not _environment_proxies():
            # httpx's own transport cost over 40 % of a sync's CPU (repositories/registry/transport.py).
            # With a proxy set in the environment, httpx's transports take the proxy into account.
            transport = self._small = KeepAliveTransport(max_connections=max_connections, keepalive_expiry=30.0)
        url = self.base_url
        self._small_key = connection_key(url)
        self._small_path = url.raw_path.decode("ascii")  # "/" or a prefix such as "/registry/"
        self._small_headers = [("Host", url.netloc.decode("ascii")), ("User-Agent", user_agent)]
        self._small_timeouts = timeout.as_dict()
        # Set once a blob GET answered with a redirect (storage serving blobs elsewhere):
        # from then on blob reads go through httpx, which follows redirects.
        self._blobs_redirect = False
        self._http = _HttpClient(
            base_url=self.base_url,
            timeout=timeout,
            limits=httpx.Limits(
                max_connections=max_connections,
                max_keepalive_connections=max_connections,
                keepalive_expiry=30.0,
            ),
            headers={"User-Agent": user_agent},
            follow_redirects=True,  # blob GETs may redirect to storage; httpx drops auth cross-origin
            transport=transport,
        )

    # --- lifecycle -----------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RegistryClient({str(self.base_url)!r})"

    # --- the one request path --------------------------------------------------------

    def _backoff(self, attempt: int, response: httpx.Response | None) -> float:
        delay = min(self.backoff_max, self.backoff_base * (2.0**attempt))
        if response is not None and response.status_code == 429:
            retry_after = response.headers.get("Retry-After", "")
            if retry_after.isdigit():
                delay = min(self.backoff_max, max(delay, float(retry_after)))
        # Equal jitter: never hammer in lockstep, never retry immediately.
        return delay / 2 + random.uniform(0, delay / 2)

    def _count(self) -> None:
        with self._lock:
            self.request_count += 1

    def _send(
        self,
        method: str,
        url: str | httpx.URL,
        *,
        scopes: Sequence[str],
        what: str,
        headers: dict[str, str] | None = None,
        content: bytes | Iterable[bytes] | None = None,
        params: dict[str, str] | None = None,
        max_retries: int | None = None,
    ) -> httpx.Response:
        """Send with auth and retries; return the *open, streaming* response. Caller closes it.

        Transient failures are retried up to `max_retries` times (the client's, unless
        given: a streamed body cannot be sent twice, so its callers pass 0 and retry the
        whole copy), then raised as `RegistryUnavailable`. Any other status is returned
        for the caller to judge.
        """
        retries = self.max_retries if max_retries is None else max_retries
        attempt = 0
        challenged = False
        sent = False  # some attempt reached the registry and got no answer
        authorization = self.auth.authorization(scopes, self._http)
        while True:
            request_headers = dict(headers or {})
            if authorization:
                request_headers["Authorization"] = authorization
            request = self._http.build_request(
                method,
                self._prefix + url if isinstance(url, str) else url,
                headers=request_headers,
                content=content,
                params=params,
            )
            self._count()
            try:
                response = self._http.send(request, stream=True)
            except httpx.TransportError as exc:
                sent = sent or not isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout))
                if attempt < retries:
                    self._sleep(self._backoff(attempt, None))
                    attempt += 1
                    continue
                error = error_from_transport(exc, what)
                error.unsent = error.unsent and not sent  # an earlier attempt may have been carried out
                raise error from exc
            if response.status_code == 401 and not challenged:
                challenged = True
                challenges = parse_www_authenticate(response.headers.get("WWW-Authenticate", ""))
                try:
                    retry_with = (
                        self.auth.after_challenge(challenges, scopes, self._http) if challenges else None
                    )
                except BaseException:
                    _release(response)
                    raise
                if retry_with:
                    _release(response)
                    authorization = retry_with
                    continue
                return response  # the caller turns the 401 body into the error
            if is_transient_status(response.status_code) and attempt < retries:
                delay = self._backoff(attempt, response)
                _release(response)
                self._sleep(delay)
                attempt += 1
                continue
            return response

    def _read_small(
        self, method: str, path: str, *, scopes: Sequence[str], limit: int, accept: str | None = None
    ) -> Answer | None:
        """A GET or HEAD whose whole answer is read at once, without httpx's request machinery;
        None when it must go the way of `_send` instead, which the caller then does.

        The manifest and config reads of a sync: building and reading httpx's request and
        response objects was half of their CPU (about 450 against 235 us a manifest GET,
        docs/registry.md), on a machine whose cores the registry needs too. Only a plain
        answer is taken here: 200 (or 404 to a HEAD), no `Set-Cookie`, no content encoding
        (none is asked for), a body within `limit`. Anything else (a 401 asking for a new
        token, a redirect, a retryable status, an error to explain, a connection that
        failed) is left to `_send`, which sends the request again with its retries,
        challenges and redirects: these requests change nothing, so sending one twice is
        safe, and every send is counted. Off when httpx carries the requests (a proxy from
        the environment, a transport given) or when cookies are to be sent back.
        """
        transport = self._small
        if transport is None or self._http.cookies:
            return None
        headers = [*self._small_headers]
        if accept is not None:
            headers.append(("Accept", accept))
        authorization = self.auth.authorization(scopes, self._http)
        if authorization:
            headers.append(("Authorization", authorization))
        self._count()
        try:
            answer = transport.read_small(
                self._small_key, method, self._small_path + path, headers, self._small_timeouts, limit
            )
        except httpx.TransportError:
            return None
        if answer is None:
            return None
        status, found = answer.status, answer.headers
        if status == 200 or (status == 404 and method == "HEAD"):
            if "set-cookie" not in found and found.get("content-encoding", "identity") == "identity":
                return answer
        elif 300 <= status < 400 and "/blobs/" in path:
            self._blobs_redirect = True
        return None

    def _fail(self, response: httpx.Response, what: str) -> RegistryError:
        """Read (a bounded part of) an error body and build the error; closes the response."""
        try:
            body = b""
            for chunk in response.iter_bytes(_CHUNK):
                body += chunk
                if len(body) >= 65536:
                    break
        except httpx.RequestError:  # broken connection or undecodable body: keep the status
            body = b""
        finally:
            _release(response)
        return error_from_status(response.status_code, body, what, reason=response.reason_phrase)

    def _read_capped(self, response: httpx.Response, limit: int, what: str) -> bytes:
        """The whole body, refusing before reading it all when it is above `limit`."""
        try:
            length = response.headers.get("Content-Length", "")
            if length.isdigit() and int(length) > limit:
                raise ManifestTooLarge(
                    f"{what}: {int(length)} bytes is above the {limit}-byte limit",
                    limit=limit,
                    size=int(length),
                )
            chunks: list[bytes] = []
            total = 0
            for chunk in response.iter_bytes(_CHUNK):
                total += len(chunk)
                if total > limit:
                    raise ManifestTooLarge(f"{what}: more than the {limit}-byte limit", limit=limit)
                chunks.append(chunk)
            return b"".join(chunks)
        except httpx.DecodingError as exc:
            raise InvalidContent(f"{what}: body cannot be decoded ({exc})") from exc
        except httpx.TransportError as exc:
            raise error_from_transport(exc, what) from exc
        finally:
            _release(response)

    def _json(self, response: httpx.Response, what: str) -> Any:
        body = self._read_capped(response, MAX_LIST_RESPONSE_SIZE, what)
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidContent(f"{what}: response is not JSON") from exc

    def _next_link(self, response: httpx.Response, what: str) -> httpx.URL | None:
        """The `rel="next"` target, resolved against the request (2.8 sends it relative)."""
        link = response.links.get("next", {}).get("url")
        if not link:
            return None
        target = response.request.url.join(link)
        if (target.scheme, target.host, target.port) != (
            self.base_url.scheme,
            self.base_url.host,
            self.base_url.port,
        ):
            # Following it would send our credentials to another host.
            raise InvalidContent(f"{what}: next page link points to another host")
        return target

    # --- reads -------------------------------------------------------------------------

    def ping(self) -> None:
        """Check that the registry answers `/v2/` (after authentication)."""
        response = self._send("GET", "v2/", scopes=[], what="ping")
        if response.status_code != 200:
            raise self._fail(response, "ping")
        _release(response)

    def iter_catalog(self, page_size: int = 100) -> Iterator[str]:
        """Repository names, page by page, following `Link` headers."""
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        url: str | httpx.URL = f"v2/_catalog?n={page_size}"
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            response = self._send("GET", url, scopes=CATALOG_SCOPE, what="catalog")
            if response.status_code != 200:
                raise self._fail(response, "catalog")
            next_url = self._next_link(response, "catalog")
            payload = self._json(response, "catalog")
            names = payload.get("repositories") if isinstance(payload, dict) else None
            if names is None:
                names = []
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise InvalidContent("catalog: repositories must be a list of strings")
            yield from names
            if next_url is None:
                return
            if str(next_url) in seen:
                raise InvalidContent("catalog: pagination loops")
            seen.add(str(next_url))
            url = next_url
        raise InvalidContent("catalog: too many pages")

    def catalog(self, page_size: int = 100) -> list[str]:
        """All repository names, sorted."""
        return sorted(set(self.iter_catalog(page_size)))

    def tags(self, repository: str, page_size: int | None = None) -> list[str]:
        """All tags of a repository, sorted (2.8 returns them unsorted, in one page)."""
        check_repository(repository)
        what = f"tags of {repository}"
        url: str | httpx.URL = f"v2/{repository}/tags/list"
        if page_size is not None:
            if not 1 <= page_size <= MAX_PAGE_SIZE:
                raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
            url = f"v2/{repository}/tags/list?n={page_size}"
        tags: set[str] = set()
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            response = self._send("GET", url, scopes=_pull(repository), what=what)
            if response.status_code != 200:
                raise self._fail(response, what)
            next_url = self._next_link(response, what)
            payload = self._json(response, what)
            page = payload.get("tags") if isinstance(payload, dict) else None
            if page is None:
                page = []  # a repository whose tags were all deleted answers "tags": null
            if not isinstance(page, list) or not all(isinstance(t, str) for t in page):
                raise InvalidContent(f"{what}: tags must be a list of strings")
            tags.update(page)
            if next_url is None:
                return sorted(tags)
            if str(next_url) in seen:
                raise InvalidContent(f"{what}: pagination loops")
            seen.add(str(next_url))
            url = next_url
        raise InvalidContent(f"{what}: too many pages")

    def _verify(self, body: bytes, reference: str, announced: str | None, what: str) -> str:
        """The digest of `body`, checked against the reference (if a digest) and the header.

        A header in an algorithm we do not know is ignored (nothing to check it with);
        a digest reference in such an algorithm was refused before the request.
        """
        claims = [reference] if is_digest(reference) else []
        if announced and announced.split(":", 1)[0] in ("sha256", "sha512"):
            claims.append(announced)
        for claimed in claims:
            actual = _digest_of(body, claimed)
            if actual != claimed:
                raise DigestMismatch(
                    f"{what}: content hashes to {actual}, not {claimed}", expected=claimed, actual=actual
                )
        return claims[0] if claims else _sha256(body)

    def get_manifest(self, repository: str, reference: str, *, max_size: int = MAX_MANIFEST_SIZE) -> Manifest:
        """Fetch and parse a manifest by tag or digest, verifying its digest.

        Raises `ManifestTooLarge` (above `max_size`, before downloading it all),
        `DigestMismatch`, `InvalidContent`, or `RegistryError` with status 404 and
        code MANIFEST_UNKNOWN when it does not exist.
        """
        check_repository(repository)
        check_reference(reference)
        what = (
            f"manifest {repository}@{reference}"
            if is_digest(reference)
            else f"manifest {repository}:{reference}"
        )
        path = f"v2/{repository}/manifests/{reference}"
        answer = self._read_small("GET", path, scopes=_pull(repository), limit=max_size, accept=ACCEPT_MANIFESTS)
        if answer is not None:
            body, announced, content_type = answer.body, answer.headers.get(DIGEST), answer.headers.get(TYPE)
        else:
            response = self._send(
                "GET", path, scopes=_pull(repository), what=what, headers={"Accept": ACCEPT_MANIFESTS}
            )
            if response.status_code != 200:
                raise self._fail(response, what)
            announced, content_type = response.headers.get(DIGEST), response.headers.get(TYPE)
            body = self._read_capped(response, max_size, what)
        digest = self._verify(body, reference, announced or None, what)
        return parse_manifest(body, digest=digest, media_type=content_type)

    def head_manifest(self, repository: str, reference: str) -> str | None:
        """The digest a tag (or digest) resolves to, or None if there is no such manifest."""
        check_repository(repository)
        check_reference(reference)
        what = f"manifest {repository}:{reference}"
        path = f"v2/{repository}/manifests/{reference}"
        answer = self._read_small("HEAD", path, scopes=_pull(repository), limit=0, accept=ACCEPT_MANIFESTS)
        if answer is not None:
            status, digest = answer.status, answer.headers.get(DIGEST, "")
        else:
            response = self._send(
                "HEAD", path, scopes=_pull(repository), what=what, headers={"Accept": ACCEPT_MANIFESTS}
            )
            status, digest = response.status_code, response.headers.get(DIGEST, "")
            if status not in (200, 404):
                raise self._fail(response, what)
            _release(response)
        if status == 404:
            return None
        if not is_digest(digest):
            raise InvalidContent(f"{what}: HEAD answered without a valid Docker-Content-Digest")
        return digest

    def _open_blob_response(self, repository: str, digest: str) -> httpx.Response:
        check_repository(repository)
        check_digest(digest)
        what = f"blob {repository}@{digest}"
        response = self._send("GET", f"v2/{repository}/blobs/{digest}", scopes=_pull(repository), what=what)
        if response.status_code != 200:
            raise self._fail(response, what)
        return response

    def get_blob(self, repository: str, digest: str, *, max_size: int = MAX_CONFIG_SIZE) -> bytes:
        """A small blob (e.g. an image config) in memory, size-capped and digest-verified."""
        check_repository(repository)
        check_digest(digest)
        what = f"blob {repository}@{digest}"
        answer = None
        if not self._blobs_redirect:
            answer = self._read_small("GET", f"v2/{repository}/blobs/{digest}", scopes=_pull(repository), limit=max_size)
        if answer is not None:
            body = answer.body
        else:
            body = self._read_capped(self._open_blob_response(repository, digest), max_size, what)
        actual = _digest_of(body, digest)
        if actual != digest:
            raise DigestMismatch(f"{what}: content hashes to {actual}", expected=digest, actual=actual)
        return body

    @contextmanager
    def open_blob(self, repository: str, digest: str, *, max_size: int | None = None) -> Iterator[BlobStream]:
        """Stream a blob (e.g. a layer): ``with client.open_blob(r, d) as s: for c in s.iter_bytes(): ...``."""
        response = self._open_blob_response(repository, digest)
        try:
            yield BlobStream(response, digest, max_size)
        finally:
            _release(response)

    def blob_exists(self, repository: str, digest: str) -> bool:
        check_repository(repository)
        check_digest(digest)
        what = f"blob {repository}@{digest}"
        response = self._send("HEAD", f"v2/{repository}/blobs/{digest}", scopes=_pull(repository), what=what)
        _release(response)
        if response.status_code == 200:
            return True
        if response.status_code == 404:
            return False
        raise error_from_status(response.status_code, b"", what, reason=response.reason_phrase)

    # --- writes ------------------------------------------------------------------------

    def upload_blob(self, repository: str, data: bytes, *, skip_existing: bool = True) -> str:
        """Upload a blob (POST then monolithic PUT ?digest=) and return its digest."""
        check_repository(repository)
        digest = _sha256(data)
        if skip_existing and self.blob_exists(repository, digest):
            return digest
        what = f"upload of {digest} to {repository}"
        scopes = _push(repository)
        response = self._send("POST", f"v2/{repository}/blobs/uploads/", scopes=scopes, what=what)
        if response.status_code != 202:
            raise self._fail(response, what)
        _release(response)
        target = self._upload_location(response, what).copy_merge_params({"digest": digest})
        response = self._send(
            "PUT",
            target,
            scopes=scopes,
            what=what,
            content=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        if response.status_code not in (201, 204):
            raise self._fail(response, what)
        _release(response)
        announced = response.headers.get("Docker-Content-Digest")
        if announced and announced != digest:
            raise DigestMismatch(f"{what}: registry stored {announced}", expected=digest, actual=announced)
        return digest

    def _upload_location(self, response: httpx.Response, what: str) -> httpx.URL:
        location = response.headers.get("Location")
        if not location:
            raise InvalidContent(f"{what}: no Location header on upload start")
        target = self.base_url.join(location)
        if target.host != self.base_url.host or target.port != self.base_url.port:
            raise InvalidContent(f"{what}: upload location points to another host")
        return target

    def mount_blob(self, repository: str, digest: str, from_repository: str) -> httpx.URL | None:
        """Ask the registry to link blob `digest` of `from_repository` into `repository`
        (a cross-repository mount: no byte is sent). Returns None when it was mounted,
        else the location of the upload session the registry opened instead (it does
        that when it cannot mount, e.g. the blob is not there or the token may not read
        the source), which `upload_blob_stream` can use."""
        check_repository(repository)
        check_repository(from_repository)
        check_digest(digest)
        what = f"mount of {digest} from {from_repository} into {repository}"
        response = self._send(
            "POST",
            f"v2/{repository}/blobs/uploads/",
            scopes=[*_push(repository), *_pull(from_repository)],
            what=what,
            params={"mount": digest, "from": from_repository},
        )
        if response.status_code == 201:
            _release(response)
            return None
        if response.status_code != 202:
            raise self._fail(response, what)
        _release(response)
        return self._upload_location(response, what)

    def upload_blob_stream(
        self, repository: str, digest: str, chunks: Iterable[bytes], *, location: httpx.URL | None = None
    ) -> None:
        """Upload a blob whose digest is known from an iterator of chunks, in one
        streamed PUT (chunked transfer: nothing is held in memory). The registry checks
        the digest. Not retried here (the body cannot be replayed): callers retry the
        whole copy on `RegistryUnavailable`."""
        check_repository(repository)
        check_digest(digest)
        what = f"upload of {digest} to {repository}"
        scopes = _push(repository)
        if location is None:
            response = self._send("POST", f"v2/{repository}/blobs/uploads/", scopes=scopes, what=what)
            if response.status_code != 202:
                raise self._fail(response, what)
            _release(response)
            location = self._upload_location(response, what)
        target = location.copy_merge_params({"digest": digest})
        response = self._send(
            "PUT",
            target,
            scopes=scopes,
            what=what,
            content=chunks,
            headers={"Content-Type": "application/octet-stream"},
            max_retries=0,
        )
        if response.status_code not in (201, 204):
            raise self._fail(response, what)
        _release(response)

    def put_manifest(self, repository: str, reference: str, body: bytes, media_type: str) -> str:
        """Store manifest bytes under a tag (or digest); returns the digest."""
        check_repository(repository)
        check_reference(reference)
        digest = _sha256(body)
        if is_digest(reference) and _digest_of(body, reference) != reference:
            raise DigestMismatch(
                "manifest body does not match the digest it is put under", expected=reference, actual=digest
            )
        what = f"push of manifest {repository}:{reference}"
        response = self._send(
            "PUT",
            f"v2/{repository}/manifests/{reference}",
            scopes=_push(repository),
            what=what,
            content=body,
            headers={"Content-Type": media_type},
        )
        if response.status_code not in (200, 201):
            raise self._fail(response, what)
        _release(response)
        announced = response.headers.get("Docker-Content-Digest")
        if announced and announced.startswith("sha256:") and announced != digest:
            raise DigestMismatch(f"{what}: registry stored {announced}", expected=digest, actual=announced)
        return digest

    def delete_manifest(self, repository: str, digest: str, *, missing_ok: bool = False) -> bool:
        """Delete a manifest by digest: on 2.8 this removes *every* tag pointing at it.

        Returns False when it was already gone and `missing_ok`, True when deleted.
        """
        check_repository(repository)
        check_digest(digest)
        what = f"delete of {repository}@{digest}"
        response = self._send(
            "DELETE", f"v2/{repository}/manifests/{digest}", scopes=_delete(repository), what=what
        )
        if response.status_code in (200, 202):
            _release(response)
            return True
        if response.status_code == 404 and missing_ok:
            _release(response)
            return False
        raise self._fail(response, what)

    def delete_tag(self, repository: str, tag: str) -> None:
        """Remove ONE tag, leaving other tags on the same digest in place.

        OCI 1.1 registries delete by tag. Distribution 2.8 answers
        ``400 DIGEST_INVALID``; there we move the tag onto a unique throwaway manifest
        (a tombstone) and delete that manifest's digest, which takes only this tag
        with it. Which way works is remembered per client.
        """
        check_repository(repository)
        if not TAG_RE.match(tag):
            raise RegistryError(f"invalid tag {tag[:140]!r}", transient=False, code="TAG_INVALID")
        what = f"delete of tag {repository}:{tag}"
        if self.delete_by_tag_supported is not False:
            response = self._send(
                "DELETE", f"v2/{repository}/manifests/{tag}", scopes=_delete(repository), what=what
            )
            if response.status_code in (200, 202):
                _release(response)
                self.delete_by_tag_supported = True
                return
            error = self._fail(response, what)
            if not (error.status == 400 and error.code in ("DIGEST_INVALID", "UNSUPPORTED")):
                raise error
            self.delete_by_tag_supported = False
        self._delete_tag_by_tombstone(repository, tag)

    def _delete_tag_by_tombstone(self, repository: str, tag: str) -> None:
        what = f"delete of tag {repository}:{tag}"
        # Keep the original so that a failed final DELETE can put the tag back as it was.
        original = self.get_manifest(repository, tag)
        self.upload_blob(repository, EMPTY_JSON)
        tombstone = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": OCI_EMPTY, "digest": _sha256(EMPTY_JSON), "size": len(EMPTY_JSON)},
                "layers": [],
                "annotations": {TOMBSTONE_ANNOTATION: secrets.token_hex(16)},
            },
            separators=(",", ":"),
        ).encode()
        digest = self.put_manifest(repository, tag, tombstone, OCI_MANIFEST)
        try:
            self.delete_manifest(repository, digest)
        except RegistryError as exc:
            try:
                self.put_manifest(repository, tag, original.raw, original.media_type)
            except RegistryError:
                exc.message = f"{what}: failed, and the tag now points at tombstone {digest} ({exc.message})"
            raise
