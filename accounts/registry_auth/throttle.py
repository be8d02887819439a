"""Brute-force protection: failed logins (token service Basic auth and the login form), counted in the database.

Per account and per client address, in a fixed window from the first failure:
after `WHARF_TOKEN_FAILURES_PER_ACCOUNT` (or `..._PER_ADDRESS`) failures, further
attempts get 429 until the window ends, even with the right password (otherwise
the lock would tell an attacker when they guessed right). Success does not reset
the counters for the same reason.

The counts live in `LoginFailure` rows, not in the cache:
- every process sees the same counts. The embedded default runs several web workers,
  each with its own in-memory cache, which counted each worker's failures apart (an
  attacker got the limit once per worker, and a lock held in one worker only);
- the token service reads an account's and address's lock in the same statement as the
  user's row (`lookup.user_and_lock`), so a password costs no extra round trip for it
  (it was a Redis round trip per request on PostgreSQL + Redis). Failures are written
  with one upsert per key, atomic on both databases; expired rows are purged hourly
  (`accounts.tasks.purge_login_failures`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

_PREFIX = "wharf:token-fail"


def _account_key(username: str) -> str:
    # Hashed: usernames from the network may hold anything; the key stays short and fixed.
    return f"{_PREFIX}:user:{hashlib.sha256(username.lower().encode()).hexdigest()[:32]}"


def _address_key(address: str) -> str:
    return f"{_PREFIX}:addr:{hashlib.sha256(address.encode()).hexdigest()[:32]}"


@dataclass(frozen=True)
class Lock:
    """Why and for how long requests are refused."""

    reason: str
    retry_after: int


def _limits(username: str, address: str | None) -> list[tuple[str, int, str]]:
    limits = [(_account_key(username), settings.WHARF_TOKEN_FAILURES_PER_ACCOUNT, "account")]
    if address:
        limits.append((_address_key(address), settings.WHARF_TOKEN_FAILURES_PER_ADDRESS, "address"))
    return limits


def _seconds_left(ends: dt.datetime, now: dt.datetime) -> int:
    return max(1, math.ceil((ends - now).total_seconds()))


def _names() -> tuple[str, str, str, str]:
    """`LoginFailure`'s table and its key, count and window-end columns, quoted."""
    from accounts.models import LoginFailure

    quote = connection.ops.quote_name
    table, key, failures, ends = (quote(name) for name in (LoginFailure._meta.db_table, "key", "failures", "window_ends"))
    return table, key, failures, ends


def lock_columns_sql() -> str:
    """Two SQL expressions, the account's and the address's lock: the end of a window whose
    count has reached its limit, else NULL. The one place the rule is written: `check` selects
    them alone, `lookup.user_and_lock` beside the user's row. Parameters: `lock_params`."""
    table, key, failures, ends = _names()
    one = f"(SELECT f.{ends} FROM {table} f WHERE f.{key} = %s AND f.{ends} > %s AND f.{failures} >= %s)"  # noqa: S608
    return f"{one}, {one}"


def check(username: str, address: str | None) -> Lock | None:
    """The lock in force for this account or address, if any. One query."""
    from .lookup import _aware  # lookup reads the lock columns with the user's row

    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {lock_columns_sql()}",
            lock_params(username, address, connection.ops.adapt_datetimefield_value(now)),
        )
        account_ends, address_ends = cursor.fetchone()
    return lock_from(_aware(account_ends), _aware(address_ends), now)


def lock_params(username: str, address: str | None, now: Any) -> list[Any]:
    """The parameters of `lookup`'s lock columns: (key, now, limit) for the account, then
    for the address (a key no row has when there is no address). `now` as the database
    takes it."""
    account_key = _account_key(username)
    address_key = _address_key(address) if address else ""
    return [
        account_key, now, settings.WHARF_TOKEN_FAILURES_PER_ACCOUNT,
        address_key, now, settings.WHARF_TOKEN_FAILURES_PER_ADDRESS,
    ]


def lock_from(account_ends: dt.datetime | None, address_ends: dt.datetime | None, now: dt.datetime) -> Lock | None:
    """The lock read by `lookup`'s lock columns: each is the end of a window whose count
    reached its limit, or NULL."""
    if account_ends is not None:
        return Lock("account", _seconds_left(account_ends, now))
    if address_ends is not None:
        return Lock("address", _seconds_left(address_ends, now))
    return None


def _upsert_sql() -> str:
    table, key, failures, ends = _names()
    # The SET expressions read the row as it was (both databases); a window that has ended
    # starts again at this failure.
    return (
        f"INSERT INTO {table} ({key}, {failures}, {ends}) VALUES (%s, 1, %s) "  # noqa: S608  (quoted names)
        f"ON CONFLICT ({key}) DO UPDATE SET "
        f"{failures} = CASE WHEN {table}.{ends} > %s THEN {table}.{failures} + 1 ELSE 1 END, "
        f"{ends} = CASE WHEN {table}.{ends} > %s THEN {table}.{ends} ELSE excluded.{ends} END "
        f"RETURNING {failures}"
    )


def record_failure(username: str, address: str | None) -> Lock | None:
    """Count one failure; returns the lock if this very failure tripped it (audit it once).

    One atomic upsert per key: concurrent failures all count, on both databases.
    """
    tripped: Lock | None = None
    window = settings.WHARF_TOKEN_FAILURE_WINDOW
    now = timezone.now()
    adapt = connection.ops.adapt_datetimefield_value
    ends, at = adapt(now + dt.timedelta(seconds=window)), adapt(now)
    sql = _upsert_sql()
    with connection.cursor() as cursor:
        for key, limit, reason in _limits(username, address):
            cursor.execute(sql, [key, ends, at, at])
            (count,) = cursor.fetchone()
            if count == limit and tripped is None:
                tripped = Lock(reason, window)
    return tripped


def clear(username: str, address: str | None) -> None:
    """Forget the failures of an account and address (an admin's unlock; tests)."""
    from accounts.models import LoginFailure

    LoginFailure.objects.filter(key__in=[key for key, _, _ in _limits(username, address)]).delete()


def purge_expired() -> int:
    """Delete the rows whose window has ended (they lock nothing); how many went."""
    from accounts.models import LoginFailure

    deleted, _ = LoginFailure.objects.filter(window_ends__lte=timezone.now()).delete()
    return deleted


class _PullCounter:
    """Pull-only tokens, counted per day in the cache, flushed in batches.

    A cache increment costs a network round trip; a token should not. Each process
    counts in memory and adds its count to the cache every `FLUSH_EVERY` tokens or
    `FLUSH_SECONDS`, whichever comes first (a crash loses at most that much).
    """

    FLUSH_EVERY = 100
    FLUSH_SECONDS = 10.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, int] = {}
        self._count = 0  # the sum of `_pending`
        self._last_flush = time.monotonic()

    def add(self) -> None:
        day = time.strftime("%Y-%m-%d", time.gmtime())  # the UTC day, as timezone.now() gives it
        with self._lock:
            self._pending[day] = self._pending.get(day, 0) + 1
            self._count += 1
            due = self._count >= self.FLUSH_EVERY or time.monotonic() - self._last_flush >= self.FLUSH_SECONDS
        if due:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            pending, self._pending, self._count = self._pending, {}, 0
            self._last_flush = time.monotonic()
        for day, count in pending.items():
            key = f"wharf:token-pulls:{day}"
            cache.add(key, 0, timeout=3 * 86400)
            try:
                cache.incr(key, count)
            except ValueError:  # expired between add and incr
                cache.set(key, count, timeout=3 * 86400)


_pulls = _PullCounter()


def count_pull_token() -> None:
    """Count a successful pull-only token: counted, not audited one by one."""
    _pulls.add()


def pull_tokens_on(day: str) -> int:
    """Pull-only tokens issued on `day` (YYYY-MM-DD), while the cache keeps the counter.

    Flushes this process's pending count first; other processes' last few seconds may
    not be in yet.
    """
    _pulls.flush()
    return int(cache.get(f"wharf:token-pulls:{day}", 0))
