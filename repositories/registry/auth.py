"""How the registry client authenticates.

The client speaks to one `Auth` object. Three come with the client:

- `Anonymous`: no credentials; a 401 is final.
- `Basic(username, password)`: HTTP Basic on every request.
- `BearerChallenge(username, password)`: the Docker/OCI token flow. A 401 carries
  ``WWW-Authenticate: Bearer realm=..., service=..., scope=...``; we call the realm
  with those parameters (and Basic credentials, or none for anonymous), cache the
  token per scope set until it expires, and retry. Once a realm is known, tokens
  are fetched *before* requests, so the 401 round trip happens once per client.

`TokenProvider` is the seam for Wharf minting its own tokens in-process: wrap any
object with ``token_for(scopes) -> str | None`` in `ProvidedTokens` and no HTTP
round trip to a token endpoint happens at all.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import httpx

from repositories.registry.errors import RegistryError, error_from_response, error_from_transport

# Refresh this long before a token's announced expiry, so a token does not die in flight.
EXPIRY_MARGIN_SECONDS = 10.0
# The token spec's default lifetime when `expires_in` is missing.
DEFAULT_EXPIRES_IN = 60
MAX_TOKEN_RESPONSE_BYTES = 1 << 20


@runtime_checkable
class TokenProvider(Protocol):
    """Anything that can hand out a bearer token for a set of scopes.

    Scopes use the registry syntax: ``repository:team/app:pull,push``,
    ``registry:catalog:*``. Return None to send the request without a token.
    """

    def token_for(self, scopes: list[str]) -> str | None: ...


class Auth(Protocol):
    """The client's view of authentication: a header before, a second chance after a 401."""

    def authorization(self, scopes: Sequence[str], http: httpx.Client) -> str | None:
        """The `Authorization` header value to send with a request needing `scopes`."""
        ...

    def after_challenge(
        self, challenges: Sequence[Challenge], scopes: Sequence[str], http: httpx.Client
    ) -> str | None:
        """After a 401: a new header value worth one retry, or None if retrying cannot help."""
        ...


@dataclass(frozen=True)
class Challenge:
    """One challenge of a `WWW-Authenticate` header: scheme (lower case) and parameters."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def realm(self) -> str | None:
        return self.params.get("realm")

    @property
    def service(self) -> str | None:
        return self.params.get("service")

    @property
    def scopes(self) -> list[str]:
        """The scope parameter may hold several scopes separated by spaces."""
        return self.params.get("scope", "").split()

    @property
    def error(self) -> str | None:
        return self.params.get("error")


def _skip_spaces(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t":
        i += 1
    return i


def _read_token(text: str, i: int) -> tuple[str, int]:
    start = i
    while i < len(text) and text[i] not in ' \t,="':
        i += 1
    return text[start:i], i


def _read_quoted(text: str, i: int) -> tuple[str, int]:
    """A quoted-string starting after the opening quote; backslash escapes the next char."""
    out: list[str] = []
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
        elif ch == '"':
            return "".join(out), i + 1
        else:
            out.append(ch)
            i += 1
    return "".join(out), i  # unterminated: take what is there rather than fail


def parse_www_authenticate(header: str) -> list[Challenge]:
    """Parse a `WWW-Authenticate` value into challenges (RFC 7235 grammar, tolerantly).

    Quoted values may contain commas (``scope="repository:a:pull,push"``); several
    challenges may share one header (``Bearer realm="x", Basic realm="y"``).
    Malformed pieces are skipped, never raised: the header comes from the network.
    """
    challenges: list[Challenge] = []
    current: Challenge | None = None
    i = 0
    n = len(header)
    while i < n:
        i = _skip_spaces(header, i)
        if i < n and header[i] == ",":
            i += 1
            continue
        word, j = _read_token(header, i)
        if not word:
            i = j + 1  # stray character: skip it
            continue
        k = _skip_spaces(header, j)
        if k < n and header[k] == "=":
            # A parameter of the current challenge (or token68 padding, which we ignore).
            k = _skip_spaces(header, k + 1)
            if k < n and header[k] == '"':
                value, k = _read_quoted(header, k + 1)
            else:
                value, k = _read_token(header, k)
            if current is not None:
                current.params[word.lower()] = value
            i = k
        else:
            current = Challenge(scheme=word.lower())
            challenges.append(current)
            i = j
    return challenges


class Anonymous:
    """No credentials at all."""

    def authorization(self, scopes: Sequence[str], http: httpx.Client) -> str | None:
        return None

    def after_challenge(
        self, challenges: Sequence[Challenge], scopes: Sequence[str], http: httpx.Client
    ) -> str | None:
        return None


def _basic_header(username: str, password: str) -> str:
    raw = f"{username}:{password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


class Basic:
    """HTTP Basic credentials sent with every request."""

    def __init__(self, username: str, password: str) -> None:
        self._header = _basic_header(username, password)

    def authorization(self, scopes: Sequence[str], http: httpx.Client) -> str | None:
        return self._header

    def after_challenge(
        self, challenges: Sequence[Challenge], scopes: Sequence[str], http: httpx.Client
    ) -> str | None:
        return None  # the credentials were already sent; a second try would be the same

    def __repr__(self) -> str:
        return "Basic(***)"


class ProvidedTokens:
    """Adapts a `TokenProvider` (e.g. Wharf's own token minting) to `Auth`."""

    def __init__(self, provider: TokenProvider) -> None:
        self.provider = provider

    def authorization(self, scopes: Sequence[str], http: httpx.Client) -> str | None:
        token = self.provider.token_for(list(scopes))
        return f"Bearer {token}" if token else None

    def after_challenge(
        self, challenges: Sequence[Challenge], scopes: Sequence[str], http: httpx.Client
    ) -> str | None:
        # The registry may ask for a scope we did not predict; one retry with exactly that.
        for challenge in challenges:
            if challenge.scheme == "bearer" and challenge.scopes and set(challenge.scopes) != set(scopes):
                token = self.provider.token_for(challenge.scopes)
                return f"Bearer {token}" if token else None
        return None


@dataclass
class _CachedToken:
    token: str
    expires_at: float


class BearerChallenge:
    """The registry token flow, with a per-scope-set token cache.

    Thread-safe: the client may be shared by worker threads of a sync.
    """

    def __init__(
        self,
        username: str | None = None,
        password: str | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._basic = _basic_header(username, password or "") if username is not None else None
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[frozenset[str], _CachedToken] = {}
        # Scopes the registry asked for instead of the ones we predicted, so the next
        # request of the same kind gets the right token up front (no 401 each time).
        self._asked_for: dict[frozenset[str], list[str]] = {}
        self.realm: str | None = None
        self.service: str | None = None
        self.token_requests = 0

    def __repr__(self) -> str:
        return f"BearerChallenge(realm={self.realm!r}, credentials={'yes' if self._basic else 'no'})"

    def authorization(self, scopes: Sequence[str], http: httpx.Client) -> str | None:
        if self.realm is None:
            return None  # no challenge seen yet: we do not know where tokens come from
        with self._lock:
            wanted = self._asked_for.get(frozenset(scopes), list(scopes))
        return self._bearer(wanted, http)

    def after_challenge(
        self, challenges: Sequence[Challenge], scopes: Sequence[str], http: httpx.Client
    ) -> str | None:
        bearer = next((c for c in challenges if c.scheme == "bearer" and c.realm), None)
        if bearer is None:
            basic = next((c for c in challenges if c.scheme == "basic"), None)
            return self._basic if basic is not None else None
        self.realm = bearer.realm
        self.service = bearer.service
        wanted = bearer.scopes or list(scopes)
        key = frozenset(wanted)
        with self._lock:
            # The token we sent was refused (revoked, or scope too narrow): never reuse it.
            self._cache.pop(key, None)
            if bearer.scopes:
                self._asked_for[frozenset(scopes)] = wanted
        return self._bearer(wanted, http)

    def _bearer(self, scopes: list[str], http: httpx.Client) -> str:
        key = frozenset(scopes)
        now = self._clock()
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and cached.expires_at > now:
                return f"Bearer {cached.token}"
        token, expires_in = self._fetch(scopes, http)
        lifetime = max(expires_in - min(EXPIRY_MARGIN_SECONDS, expires_in / 4), 0.0)
        with self._lock:
            self._cache[key] = _CachedToken(token=token, expires_at=now + lifetime)
        return f"Bearer {token}"

    def _fetch(self, scopes: list[str], http: httpx.Client) -> tuple[str, float]:
        assert self.realm is not None
        params: list[tuple[str, str | int | float | bool | None]] = []
        if self.service:
            params.append(("service", self.service))
        params.extend(("scope", scope) for scope in sorted(scopes))
        headers = {"Authorization": self._basic} if self._basic else {}
        what = f"token from {httpx.URL(self.realm).host}"
        self.token_requests += 1
        try:
            response = http.get(self.realm, params=params, headers=headers)
        except httpx.TransportError as exc:
            raise error_from_transport(exc, what) from exc
        if response.status_code != 200:
            raise error_from_response(response, what)
        if len(response.content) > MAX_TOKEN_RESPONSE_BYTES:
            raise RegistryError(f"{what}: response too large", transient=False)
        try:
            payload = response.json()
        except ValueError as exc:
            raise RegistryError(f"{what}: response is not JSON", transient=False) from exc
        if not isinstance(payload, dict):
            raise RegistryError(f"{what}: response is not a JSON object", transient=False)
        token = payload.get("token") or payload.get("access_token")
        if not isinstance(token, str) or not token:
            raise RegistryError(f"{what}: response has no token", transient=False)
        expires_in = payload.get("expires_in")
        if isinstance(expires_in, bool) or not isinstance(expires_in, int | float) or expires_in <= 0:
            expires_in = DEFAULT_EXPIRES_IN
        return token, float(expires_in)
