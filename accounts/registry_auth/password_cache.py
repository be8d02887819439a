"""Verified passwords, remembered in the process for a short while.

A password costs one deliberately slow hash (PBKDF2, a good part of a second of CPU);
`docker login` and every pull of a pipeline that logs in with a password would pay it
on each token. After a successful check this remembers, keyed by an HMAC of the username
and password under SECRET_KEY (never the password itself), which user row it matched
and that row's password hash at the time. A later request with the same credentials is
verified without hashing only if the user row read by that request's own query still
has the same id and the same stored hash: a password change (or reset) replaces the
hash, so it invalidates at once, in every process, with no message between them. The
account's other state (active or not, memberships, admin flag) is read fresh on every
request and is never cached here.

`WHARF_TOKEN_PASSWORD_CACHE_SECONDS` (default 300) bounds how long an entry lives; 0
disables the cache. Wrong passwords are never remembered.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

MAX_ENTRIES = 10_000  # a bound on memory; when full the cache starts afresh

_clock = time.monotonic  # tests move it
_lock = threading.Lock()
_entries: dict[bytes, tuple[float, int, str]] = {}
_checks: dict[bytes, tuple[threading.Lock, int]] = {}  # credentials being hashed now: lock, holders


def _key(username: str, password: str) -> bytes:
    message = username.encode() + b"\x00" + password.encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).digest()


def _ttl() -> int:
    return int(settings.WHARF_TOKEN_PASSWORD_CACHE_SECONDS)


def verified(username: str, password: str, user_pk: int, stored_hash: str) -> bool:
    """Whether these credentials were verified for this user row, whose stored hash has not changed."""
    if _ttl() <= 0:
        return False
    key = _key(username, password)
    with _lock:
        entry = _entries.get(key)
    if entry is None:
        return False
    expires, pk, remembered_hash = entry
    if _clock() >= expires or pk != user_pk or not hmac.compare_digest(remembered_hash, stored_hash):
        with _lock:
            _entries.pop(key, None)
        return False
    return True


def remember(username: str, password: str, user_pk: int, stored_hash: str) -> None:
    """Note a successful check of `password` against the user row with `stored_hash`."""
    ttl = _ttl()
    if ttl <= 0:
        return
    key = _key(username, password)
    with _lock:
        if len(_entries) >= MAX_ENTRIES:
            _entries.clear()
        _entries[key] = (_clock() + ttl, user_pk, stored_hash)


@contextmanager
def one_check_at_a_time(username: str, password: str) -> Iterator[None]:
    """Run concurrent first checks of the same credentials in this process one after the
    other, so that the first one's hash serves the rest (they find its entry when they get
    their turn: call `verified` again inside). Without it a pipeline starting a few jobs at
    once makes each thread hash the same password, each taking a good part of a second of
    CPU from everyone else. A no-op when the cache is off."""
    if _ttl() <= 0:
        yield
        return
    key = _key(username, password)
    with _lock:
        check, holders = _checks.get(key, (threading.Lock(), 0))
        _checks[key] = (check, holders + 1)
    try:
        with check:
            yield
    finally:
        with _lock:
            check, holders = _checks[key]
            if holders <= 1:
                del _checks[key]
            else:
                _checks[key] = (check, holders - 1)


def clear() -> None:
    """Forget every entry (tests)."""
    with _lock:
        _entries.clear()
