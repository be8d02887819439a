from __future__ import annotations

import base64

import httpx
import pytest

from repositories.registry.auth import (
    Basic,
    BearerChallenge,
    ProvidedTokens,
    parse_www_authenticate,
)
from repositories.registry.errors import RegistryError
from tests.registry.fakes import FakeRegistry, error

REALM = "http://auth.test/token"


def test_challenge_parser_keeps_commas_inside_quoted_scope() -> None:
    [challenge] = parse_www_authenticate(
        'Bearer realm="https://auth.example/token",service="registry.example",'
        'scope="repository:team/app:pull,push",error="insufficient_scope"'
    )
    assert challenge.scheme == "bearer"
    assert challenge.realm == "https://auth.example/token"
    assert challenge.service == "registry.example"
    assert challenge.scopes == ["repository:team/app:pull,push"]
    assert challenge.error == "insufficient_scope"


def test_challenge_parser_handles_spaces_escapes_unquoted_values_and_several_challenges() -> None:
    challenges = parse_www_authenticate(
        'BEARER  realm = "https://a/t" , service=reg, scope="repository:a:pull repository:b:pull",'
        ' x="say \\"hi\\"", Basic realm="fallback"'
    )
    assert [c.scheme for c in challenges] == ["bearer", "basic"]
    assert challenges[0].realm == "https://a/t"
    assert challenges[0].service == "reg"
    assert challenges[0].scopes == ["repository:a:pull", "repository:b:pull"]
    assert challenges[0].params["x"] == 'say "hi"'
    assert challenges[1].realm == "fallback"


@pytest.mark.parametrize(
    "junk", ["", "=", ",,,", 'Bearer realm="unterminated', "Basic dXNlcjpwYXNz==", '"="']
)
def test_challenge_parser_never_raises_on_junk(junk: str) -> None:
    parse_www_authenticate(junk)


class TokenRegistry:
    """A registry that wants a bearer token, and its token endpoint, on one fake transport."""

    def __init__(self, expires_in: int | None = 300) -> None:
        self.issued: list[tuple[str, list[str], str | None]] = []
        self.expires_in = expires_in

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.test":
            scopes = request.url.params.get_list("scope")
            token = f"tok{len(self.issued)}"
            self.issued.append((token, scopes, request.headers.get("Authorization")))
            body: dict[str, object] = {"access_token": token}
            if self.expires_in is not None:
                body["expires_in"] = self.expires_in
            return httpx.Response(200, json=body)
        auth = request.headers.get("Authorization", "")
        path = request.url.path
        repo = path.split("/")[2] if path.count("/") > 3 else ""
        wanted = f"repository:team/{path.split('/')[3]}:pull" if repo == "team" else "registry:catalog:*"
        granted = next((scopes for token, scopes, _ in self.issued if auth == f"Bearer {token}"), None)
        if granted is None or wanted not in granted:
            return httpx.Response(
                401,
                headers={"WWW-Authenticate": f'Bearer realm="{REALM}",service="reg.test",scope="{wanted}"'},
                json={"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]},
            )
        return httpx.Response(200, json={"name": "team/x", "tags": ["b", "a"]})


def test_bearer_flow_fetches_a_token_with_service_scope_and_credentials_then_retries() -> None:
    backend = TokenRegistry()
    fake = FakeRegistry(backend)
    client = fake.client(auth=BearerChallenge("alice", "s3cret"))
    assert client.tags("team/app") == ["a", "b"]
    [(token, scopes, basic)] = backend.issued
    assert scopes == ["repository:team/app:pull"]
    assert basic == "Basic " + base64.b64encode(b"alice:s3cret").decode()
    token_request = next(r for r in fake.requests if r.url.host == "auth.test")
    assert token_request.url.params["service"] == "reg.test"
    assert fake.requests[-1].headers["Authorization"] == f"Bearer {token}"
    assert client.request_count == 2  # the 401 and the retry; the token call is not the registry's


def test_bearer_tokens_are_cached_per_scope_set_and_sent_before_any_challenge() -> None:
    backend = TokenRegistry()
    fake = FakeRegistry(backend)
    client = fake.client(auth=BearerChallenge())
    client.tags("team/app")
    client.tags("team/app")
    client.tags("team/app")
    assert len(backend.issued) == 1
    client.tags("team/web")  # another repository: another scope, another token
    assert [scopes for _, scopes, _ in backend.issued] == [
        ["repository:team/app:pull"],
        ["repository:team/web:pull"],
    ]
    client.tags("team/app")
    assert len(backend.issued) == 2
    # One 401 in all: once the realm is known, tokens are fetched before each request.
    assert client.request_count == 6


def test_anonymous_bearer_flow_sends_no_credentials_to_the_token_endpoint() -> None:
    backend = TokenRegistry()
    client = FakeRegistry(backend).client(auth=BearerChallenge())
    client.tags("team/app")
    assert backend.issued[0][2] is None


def test_bearer_token_is_refetched_after_it_expires() -> None:
    now = [1000.0]
    backend = TokenRegistry(expires_in=None)  # spec default: 60 seconds
    client = FakeRegistry(backend).client(auth=BearerChallenge(clock=lambda: now[0]))
    client.tags("team/app")
    now[0] += 45
    client.tags("team/app")
    assert len(backend.issued) == 1
    now[0] += 15  # within the safety margin of the 60 s lifetime
    client.tags("team/app")
    assert len(backend.issued) == 2


def test_token_endpoint_refusing_credentials_is_a_permanent_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.test":
            return error(401, "UNAUTHORIZED", "bad credentials")
        return httpx.Response(401, headers={"WWW-Authenticate": f'Bearer realm="{REALM}",service="s"'})

    client = FakeRegistry(handler).client(auth=BearerChallenge("alice", "wrong"))
    with pytest.raises(RegistryError) as caught:
        client.ping()
    assert (caught.value.transient, caught.value.status) == (False, 401)


def test_basic_credentials_go_with_every_request_and_a_401_is_final() -> None:
    fake = FakeRegistry(lambda request: error(401, "UNAUTHORIZED", "no"))
    client = fake.client(auth=Basic("bob", "pw"))
    with pytest.raises(RegistryError) as caught:
        client.ping()
    assert caught.value.code == "UNAUTHORIZED"
    assert all(r.headers["Authorization"].startswith("Basic ") for r in fake.requests)


class Minter:
    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def token_for(self, scopes: list[str]) -> str | None:
        self.calls.append(scopes)
        return "minted-" + ",".join(scopes)


def test_provided_tokens_are_sent_upfront_with_no_token_endpoint_round_trip() -> None:
    minter = Minter()
    fake = FakeRegistry(lambda request: httpx.Response(200, json={"tags": ["x"]}))
    client = fake.client(auth=ProvidedTokens(minter))
    client.tags("team/app")
    assert minter.calls == [["repository:team/app:pull"]]
    assert fake.requests[0].headers["Authorization"] == "Bearer minted-repository:team/app:pull"
    assert len(fake.requests) == 1


def test_scope_the_registry_asks_for_instead_of_ours_is_remembered() -> None:
    issued: list[list[str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.test":
            issued.append(request.url.params.get_list("scope"))
            return httpx.Response(200, json={"token": "catalog-and-more"})
        if request.headers.get("Authorization") != "Bearer catalog-and-more":
            return httpx.Response(
                401,
                headers={
                    "WWW-Authenticate": f'Bearer realm="{REALM}",scope="registry:catalog:* repository:x:pull"'
                },
            )
        return httpx.Response(200, json={"repositories": ["x"]})

    client = FakeRegistry(handler).client(auth=BearerChallenge())
    assert client.catalog() == ["x"]
    assert client.catalog() == ["x"]
    assert issued == [["registry:catalog:*", "repository:x:pull"]]
    assert client.request_count == 3  # one 401 only, on the very first call
