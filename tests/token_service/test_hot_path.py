"""What a token request costs besides its one SQL query, and what it no longer runs.

The endpoint is answered ahead of the page middlewares (`TokenEndpointMiddleware`):
no session, language, CSRF or frame-options work, while the security headers, the
request id and the metrics still apply. No token costs a cache round trip: a
password's brute-force lock is read in the lookup's own query (`throttle`). Concurrent first checks of
the same password hash once per process. The Redis cache builds one client per pool.
Both databases (the PostgreSQL run uses Redis as its cache)."""

from __future__ import annotations

import secrets
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client

from accounts.registry_auth import password_cache, throttle
from portal.cache import RedisCache
from tests.conftest import World
from tests.token_service.conftest import basic

URL = "/service/token"
QUERY = {"service": "wharf-registry", "scope": "repository:acme/app:pull"}


def ask(client: Client, auth: str | None = None) -> Any:
    headers: dict[str, Any] = {"HTTP_AUTHORIZATION": auth} if auth else {}
    return client.get(URL, QUERY, **headers)


def test_the_token_answer_skips_the_page_middlewares_but_keeps_security_headers_and_request_id(
    world: World, credentials: dict[str, str | None], key_files: tuple[Path, Path]
) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(world.users["developer"])  # a browser's session cookie rides along
    response = ask(client, credentials["password"])
    assert response.status_code == 200, response.content
    assert response["X-Content-Type-Options"] == "nosniff"  # SecurityMiddleware still runs
    assert len(response["X-Request-ID"]) >= 16  # RequestContextMiddleware too
    assert int(response["Content-Length"]) == len(response.content)
    assert "no-store" in response["Cache-Control"] and response.has_header("Expires")
    # What the page middlewares would have added: none of it.
    assert not response.has_header("Vary") and not response.has_header("Content-Language")
    assert not response.has_header("X-Frame-Options") and not response.cookies
    # ... while a page still gets all of it.
    page = client.get("/")
    assert page.has_header("X-Frame-Options") and "Accept-Language" in page["Vary"]


def test_refusals_are_uncacheable_json_with_their_length_too(world: World) -> None:
    response = ask(Client(), basic("developer", "wrong"))
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "UNAUTHORIZED"
    assert int(response["Content-Length"]) == len(response.content)
    assert response["Cache-Control"].startswith("max-age=0") and "no-store" in response["Cache-Control"]
    assert response["WWW-Authenticate"].startswith("Basic")


class CountingCache:
    """The throttle's cache, counting the calls that are a round trip on Redis."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(cache, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return method(*args, **kwargs)

        return counted


@pytest.mark.parametrize("case", ["anonymous", "personal access token", "robot", "password"])
def test_a_token_costs_no_cache_round_trip(
    case: str,
    credentials: dict[str, str | None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    counting = CountingCache()
    monkeypatch.setattr(throttle, "cache", counting)
    ask(Client(), credentials[case])  # the first use may hash a password and touch last_used_at
    throttle._pulls.flush()  # the per-day pull counter writes every 100 tokens or 10 s, not now
    counting.calls.clear()
    assert ask(Client(), credentials[case]).status_code == 200
    assert counting.calls == []


def test_concurrent_first_checks_of_the_same_password_hash_once() -> None:
    password_cache.clear()
    hashes: list[int] = []
    user_pk, stored = 7, "pbkdf2_sha256$stored-hash"
    start = threading.Barrier(4)

    def check() -> None:
        start.wait()
        if password_cache.verified("dev", "secret", user_pk, stored):
            return
        with password_cache.one_check_at_a_time("dev", "secret"):
            if not password_cache.verified("dev", "secret", user_pk, stored):
                hashes.append(1)
                time.sleep(0.2)  # the slow hash
                password_cache.remember("dev", "secret", user_pk, stored)

    threads = [threading.Thread(target=check) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert hashes == [1]
    assert password_cache._checks == {}  # nothing left behind once everyone is through
    password_cache.clear()


def test_different_credentials_do_not_wait_for_each_other() -> None:
    with password_cache.one_check_at_a_time("dev", "secret"):
        done = threading.Event()

        def other() -> None:
            with password_cache.one_check_at_a_time("dev", "another"):
                done.set()

        thread = threading.Thread(target=other)
        thread.start()
        assert done.wait(5)
        thread.join()


def test_the_redis_cache_builds_one_client_per_pool() -> None:
    location = settings.CACHES["default"]["LOCATION"] if "redis" in settings.CACHES["default"]["BACKEND"].lower() else (
        "redis://127.0.0.1:6379/0"  # the SQLite run's cache is in process; Redis still runs here
    )
    backend = RedisCache(location, {})
    # Django's RedisCacheClient, which the stubs do not declare.
    client = backend._cache  # type: ignore[attr-defined]
    first = client.get_client()
    assert client.get_client() is first
    assert client.get_client(write=True) is first  # one server: reads and writes share its pool
    assert backend.get(f"wharf-test-absent-{secrets.token_hex(8)}", "default") == "default"  # it works
