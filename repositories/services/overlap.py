"""Database work on a second connection, beside the caller's.

A query's server time runs in the database process, on another core, while this process
waits with the GIL released. A preview or a run waits that way on several statements
whose answers it needs only later (the artifacts while it reads the tags, what a
deletion frees while it sums the advice and renders the page): started on a second
connection in a thread, the server works on them while this process goes on.

`Beside(fn).result()` equals `fn()` but for when the work happened. It runs `fn` in a
thread only where that gains something and another connection sees what this one sees:
on a database served by another process (PostgreSQL, not SQLite: SQLite runs in this
process and makes its rows under the GIL, so a second thread only competed with the
first; measured, a 100,000-tag preview went from 1.36-1.44 to 1.55 s on SQLite), and
outside any transaction (inside one, this connection may see rows it has not committed,
and its snapshot may differ). Otherwise `fn` runs when `result()` is called, in the
caller's thread. So SQLite and tests inside a transaction take the inline path, and
`tests/retention_runs/test_overlap.py` runs both on committed rows.

The thread's connection is closed when `fn` returns: it is not the request's, so
nothing else would close it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from django.db import connection, connections

T = TypeVar("T")


def may_overlap() -> bool:
    """Whether work on a second connection would run beside this thread's (a database in
    another process) and see the same rows (no transaction open here)."""
    return connection.vendor != "sqlite" and not connection.in_atomic_block


class Beside(Generic[T]):
    """`fn()` started on a second connection where that is safe (`may_overlap`); its value
    (or its exception) comes from `result()`, once or many times, and `fn` runs once."""

    def __init__(self, fn: Callable[[], T]) -> None:
        self._fn: Callable[[], T] | None = fn
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        if may_overlap():
            self._thread = threading.Thread(target=self._run, args=(True,), name="wharf-beside", daemon=True)
            self._thread.start()

    @property
    def overlapped(self) -> bool:
        """Whether `fn` runs (or ran) in a thread of its own."""
        return self._thread is not None

    def _run(self, own_thread: bool) -> None:
        fn, self._fn = self._fn, None
        assert fn is not None
        try:
            self._value = fn()
        except BaseException as exc:  # handed to the caller by `result()`
            self._error = exc
        finally:
            if own_thread:
                connections.close_all()  # this thread's connections only (they are per thread)

    def result(self) -> T:
        """`fn()`'s value, or its exception raised here."""
        if self._thread is not None:
            self._thread.join()
        elif self._fn is not None:
            self._run(False)
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]  # set by `_run` when no error
