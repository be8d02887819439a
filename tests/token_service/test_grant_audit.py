"""Grants are audited in aggregate: one event per principal, address, access set and minute,
with the closing count; refusals stay one event each. Both databases."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts.registry_auth import grant_audit
from audit.models import AuditAction, AuditEvent
from audit.services import verify_chain
from tests.conftest import World
from tests.factories import PASSWORD
from tests.token_service.conftest import basic

MINUTE = 29_000_000  # a fixed minute (Unix time // 60): 2025-02-19T21:20Z


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The aggregation's clock, set to the start of MINUTE; `clock.minute = n` moves it."""

    class Clock:
        minute = MINUTE

        def __call__(self) -> float:
            return self.minute * 60.0 + 30

    fixed = Clock()
    monkeypatch.setattr(grant_audit, "_clock", fixed)
    return fixed


def ask(*scopes: str, auth: str | None = None, address: str = "10.0.0.1") -> int:
    headers = {"HTTP_AUTHORIZATION": auth} if auth else {}
    response = Client(REMOTE_ADDR=address).get(
        "/service/token", {"service": "wharf-registry", "scope": list(scopes)}, **headers
    )
    return response.status_code


def granted() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=AuditAction.REGISTRY_TOKEN_GRANTED).order_by("id"))


def test_tokens_of_one_principal_address_and_access_set_in_a_minute_make_one_event_with_their_count(
    world: World, clock: Any
) -> None:
    for _ in range(5):
        assert ask("repository:acme/app:pull,push", auth=basic("developer", PASSWORD)) == 200
    assert granted() == []  # nothing on the request path while the minute is open
    assert grant_audit.flush() == 1
    [event] = granted()
    assert event.actor_name == "developer" and event.actor_ip == "10.0.0.1"
    assert event.project_id == world.private.pk
    assert event.details["count"] == 5
    assert event.details["minute"] == "2025-02-19T21:20:00Z"
    assert event.details["access"] == [{"type": "repository", "name": "acme/app", "actions": ["pull", "push"]}]
    assert event.request_id  # the first request's id, to find it in the logs
    assert verify_chain() == (AuditEvent.objects.count(), None)


def test_a_new_minute_writes_the_closed_minute_and_opens_a_new_event(world: World, clock: Any) -> None:
    for _ in range(3):
        assert ask("repository:acme/app:pull", auth=basic("guest", PASSWORD)) == 200
    clock.minute = MINUTE + 1
    assert ask("repository:acme/app:pull", auth=basic("guest", PASSWORD)) == 200
    # The first request of the new minute wrote the closed one, with its closing count ...
    assert [e.details["count"] for e in granted()] == [3]
    # ... and counts itself in a new event, written when that minute closes.
    assert grant_audit.flush() == 1
    events = granted()
    assert [(e.details["minute"], e.details["count"]) for e in events] == [
        ("2025-02-19T21:20:00Z", 3),
        ("2025-02-19T21:21:00Z", 1),
    ]


def test_principals_addresses_and_access_sets_are_counted_apart(world: World, clock: Any) -> None:
    assert ask("repository:acme/app:pull", auth=basic("developer", PASSWORD)) == 200
    assert ask("repository:acme/app:pull", auth=basic("developer", PASSWORD)) == 200
    assert ask("repository:acme/app:pull", auth=basic("developer", PASSWORD), address="10.0.0.2") == 200
    assert ask("repository:acme/app:pull,push", auth=basic("developer", PASSWORD)) == 200
    assert ask("repository:acme/app:pull", auth=basic("maintainer", PASSWORD)) == 200
    assert ask("repository:pub/app:pull") == 200  # anonymous
    assert ask("repository:pub/app:pull") == 200
    assert grant_audit.flush() == 5
    counts = {
        (e.actor_kind, e.actor_name, e.actor_ip, tuple(e.details["access"][0]["actions"])): e.details["count"]
        for e in granted()
    }
    assert counts == {
        ("user", "developer", "10.0.0.1", ("pull",)): 2,
        ("user", "developer", "10.0.0.2", ("pull",)): 1,
        ("user", "developer", "10.0.0.1", ("pull", "push")): 1,
        ("user", "maintainer", "10.0.0.1", ("pull",)): 1,
        ("anonymous", "", "10.0.0.1", ("pull",)): 2,
    }


def test_a_token_granting_nothing_is_not_counted(world: World, clock: Any) -> None:
    assert ask("repository:acme/app:pull") == 200  # anonymous, private project: an empty token
    assert grant_audit.pending() == {}


def test_refusals_are_still_audited_one_by_one_in_the_request(world: World, clock: Any) -> None:
    for _ in range(3):
        assert ask("repository:acme/app:pull", auth=basic("developer", "wrong")) == 401
    refused = AuditEvent.objects.filter(action=AuditAction.REGISTRY_TOKEN_REFUSED)
    assert refused.count() == 3
    assert {e.target_name for e in refused} == {"developer"}
    assert grant_audit.pending() == {}


def test_too_many_distinct_keys_are_written_at_once(
    world: World, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(grant_audit, "MAX_PENDING", 2)
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        assert ask("repository:pub/app:pull", address=address) == 200
    assert len(granted()) == 3
    assert grant_audit.pending() == {}


def test_counts_survive_a_failed_write_and_go_out_with_the_next_flush(
    world: World, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert ask("repository:pub/app:pull") == 200

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("database unavailable")

    monkeypatch.setattr(grant_audit, "_event", broken)
    assert grant_audit.flush() == 0
    monkeypatch.undo()
    monkeypatch.setattr(grant_audit, "_clock", clock)
    assert ask("repository:pub/app:pull") == 200
    assert grant_audit.flush() == 1
    assert [e.details["count"] for e in granted()] == [2]
