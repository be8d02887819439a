"""`last_used_at` of tokens and robots, touched at most once a minute per process.

The process remembers when it last touched each row, so a busy pipeline costs no query
for it; the UPDATE is conditional, so several processes do not all write the same minute.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

from django.utils import timezone

TOUCH_EVERY_SECONDS = 60
MAX_REMEMBERED = 10_000

_lock = threading.Lock()
_touched: dict[tuple[str, int], float] = {}


def touch_last_used(model: Any, pk: int) -> None:
    """Set `last_used_at` to now unless this process did within the last minute, or the row
    says it was used within the last minute."""
    key, now = (model._meta.label, pk), time.monotonic()
    with _lock:
        last = _touched.get(key)
        if last is not None and now - last < TOUCH_EVERY_SECONDS:
            return
        if len(_touched) >= MAX_REMEMBERED:
            _touched.clear()
        _touched[key] = now
    moment = timezone.now()
    recent = moment - dt.timedelta(seconds=TOUCH_EVERY_SECONDS)
    model._default_manager.filter(pk=pk).exclude(last_used_at__gt=recent).update(last_used_at=moment)


def forget() -> None:
    """Forget what this process touched (tests)."""
    with _lock:
        _touched.clear()
