"""The brute-force lock's counts live in the database (`throttle`, `LoginFailure`).

Every web process sees the same counts (the embedded default's in-memory cache is per
process, so counting there gave an attacker the limit once per worker), and the token
service reads a password's lock in the same statement as the user's row. Both databases."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts.models import LoginFailure
from accounts.registry_auth import throttle
from accounts.tasks import purge_login_failures
from tests.conftest import World
from tests.factories import PASSWORD
from tests.token_service.conftest import basic

URL = "/service/token"


def ask(auth: str) -> Any:
    return Client().get(URL, {"service": "wharf-registry", "scope": "repository:acme/app:pull"}, HTTP_AUTHORIZATION=auth)


def test_the_lock_outlives_the_cache(world: World, settings: Any) -> None:
    settings.WHARF_TOKEN_FAILURES_PER_ACCOUNT = 3
    for _ in range(3):
        assert ask(basic("developer", "guess")).status_code == 401
    cache.clear()  # what another process's separate cache would know: nothing

    assert ask(basic("developer", PASSWORD)).status_code == 429
    assert LoginFailure.objects.get(key=throttle._account_key("developer")).failures == 3


def test_a_guess_at_an_account_that_does_not_exist_is_locked_too(world: World, settings: Any) -> None:
    settings.WHARF_TOKEN_FAILURES_PER_ACCOUNT = 2
    assert [ask(basic("nobody", "guess")).status_code for _ in range(3)] == [401, 401, 429]


def test_retry_after_is_the_time_left_in_the_window(world: World, settings: Any) -> None:
    settings.WHARF_TOKEN_FAILURES_PER_ACCOUNT = 2
    for _ in range(2):
        throttle.record_failure("developer", None)
    LoginFailure.objects.filter(key=throttle._account_key("developer")).update(
        window_ends=timezone.now() + dt.timedelta(seconds=42)
    )
    response = ask(basic("developer", PASSWORD))
    assert response.status_code == 429
    assert 40 <= int(response["Retry-After"]) <= 42
    assert throttle.check("developer", None) == throttle.Lock("account", int(response["Retry-After"]))


def test_an_ended_window_locks_nothing_and_starts_again_at_the_next_failure(world: World, settings: Any) -> None:
    settings.WHARF_TOKEN_FAILURES_PER_ACCOUNT = 2
    for _ in range(2):
        throttle.record_failure("developer", "10.0.0.9")
    assert throttle.check("developer", "10.0.0.9") is not None
    LoginFailure.objects.update(window_ends=timezone.now() - dt.timedelta(seconds=1))

    assert throttle.check("developer", "10.0.0.9") is None
    assert ask(basic("developer", PASSWORD)).status_code == 200
    assert throttle.record_failure("developer", "10.0.0.9") is None
    row = LoginFailure.objects.get(key=throttle._account_key("developer"))
    assert row.failures == 1 and row.window_ends > timezone.now()


def test_usernames_differing_in_case_share_one_count(world: World, settings: Any) -> None:
    settings.WHARF_TOKEN_FAILURES_PER_ACCOUNT = 2
    throttle.record_failure("Developer", None)
    assert throttle.record_failure("DEVELOPER", None) == throttle.Lock("account", settings.WHARF_TOKEN_FAILURE_WINDOW)


@pytest.mark.django_db(transaction=True)
def test_concurrent_failures_all_count_and_trip_the_lock_once(settings: Any) -> None:
    settings.WHARF_TOKEN_FAILURES_PER_ACCOUNT = 20
    start = threading.Barrier(4)
    tripped: list[throttle.Lock] = []

    def fail() -> None:
        try:
            start.wait()
            for _ in range(10):
                lock = throttle.record_failure("developer", None)
                if lock is not None:
                    tripped.append(lock)
        finally:
            connection.close()

    threads = [threading.Thread(target=fail) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert LoginFailure.objects.get(key=throttle._account_key("developer")).failures == 40
    assert len(tripped) == 1


def test_the_hourly_purge_deletes_only_ended_windows(world: World) -> None:
    throttle.record_failure("developer", "10.0.0.1")
    throttle.record_failure("guest", None)
    LoginFailure.objects.filter(key=throttle._account_key("guest")).update(window_ends=timezone.now())

    assert purge_login_failures() == 1
    assert set(LoginFailure.objects.values_list("key", flat=True)) == {
        throttle._account_key("developer"),
        throttle._address_key("10.0.0.1"),
    }
