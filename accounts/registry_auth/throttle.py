"""Brute-force protection: failed logins (token service Basic auth and the login form) counted in the cache.

Per account and per client address, in a fixed window from the first failure:
after `WHARF_TOKEN_FAILURES_PER_ACCOUNT` (or `..._PER_ADDRESS`) failures, further
attempts get 429 until the window ends, even with the right password (otherwise
the lock would tell an attacker when they guessed right). Success does not reset
the counters for the same reason.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

_PREFIX = "wharf:token-fail"


def _account_key(username: str) -> str:
    # Hashed: usernames from the network may hold anything, cache keys may not.
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


def check(username: str, address: str | None) -> Lock | None:
    """The lock in force for this account or address, if any. One cache round trip."""
    limits = _limits(username, address)
    counts = cache.get_many([key for key, _, _ in limits])
    for key, limit, reason in limits:
        if int(counts.get(key, 0)) >= limit:
            return Lock(reason, settings.WHARF_TOKEN_FAILURE_WINDOW)
    return None


def record_failure(username: str, address: str | None) -> Lock | None:
    """Count one failure; returns the lock if this very failure tripped it (audit it once)."""
    tripped: Lock | None = None
    window = settings.WHARF_TOKEN_FAILURE_WINDOW
    for key, limit, reason in _limits(username, address):
        # add() starts the window; incr() is atomic on Redis, so concurrent failures all count.
        cache.add(key, 0, timeout=window)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=window)
            count = 1
        if count == limit and tripped is None:
            tripped = Lock(reason, window)
    return tripped


def clear(username: str, address: str | None) -> None:
    """Forget the failures of an account and address (an admin's unlock; tests)."""
    cache.delete_many([key for key, _, _ in _limits(username, address)])


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
