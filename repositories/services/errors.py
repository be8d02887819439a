"""Errors the content services raise to their callers (views, API, tasks)."""

from __future__ import annotations


class RegistryActionFailed(Exception):
    """The registry did not carry out a change; Wharf's rows are unchanged."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.message = message
        self.transient = transient
