"""Helpers for the API tests: JSON clients per persona and a fast password hasher."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from audit.models import AuditEvent
from tests.conftest import World


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    # The personas are created per test; PBKDF2 would dominate the run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class JsonClient:
    """A test client that sends JSON bodies, logged in as one persona (or not at all)."""

    def __init__(self, client: Client, **headers: str) -> None:
        self.client = client
        self.headers = headers

    def request(self, method: str, url: str, data: Any = None, **extra: Any) -> Any:
        call = getattr(self.client, method.lower())
        if method.upper() in ("GET", "HEAD"):
            return call(url, data, headers=self.headers, **extra)
        return call(url, data, content_type="application/json", headers=self.headers, **extra)

    def get(self, url: str, data: Any = None, **extra: Any) -> Any:
        return self.request("GET", url, data, **extra)

    def post(self, url: str, data: Any = None, **extra: Any) -> Any:
        return self.request("POST", url, data, **extra)

    def patch(self, url: str, data: Any = None, **extra: Any) -> Any:
        return self.request("PATCH", url, data, **extra)

    def delete(self, url: str, data: Any = None, **extra: Any) -> Any:
        return self.request("DELETE", url, data, **extra)


@pytest.fixture
def api(world: World) -> Callable[[str], JsonClient]:
    """`api("guest")`: a JSON client with a session for that persona."""
    return lambda persona: JsonClient(world.client(persona))


@pytest.fixture
def last_event_id(db: Any) -> Callable[[], int]:
    """The id of the newest audit event (0 if none), to find the events a call wrote."""
    return lambda: AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
