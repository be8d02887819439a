"""The rows `world` shares between the tests of a module (tests/support/shared_rows.py):
made once, and still each test's own: what one test writes or changes in memory is gone
for the next. The tests run in the order written."""

from __future__ import annotations

import pytest

from repositories.models import Membership
from tests.conftest import World

pytestmark = pytest.mark.django_db

SEEN: dict[str, int] = {}


def test_a_test_changes_the_shared_rows_and_its_copy(world: World) -> None:
    SEEN["project"] = world.private.pk
    guest = world.users["guest"]
    guest.first_name = "Changed"
    guest.save(update_fields=["first_name"])
    world.users["padmin"].first_name = "In memory only"
    Membership.objects.filter(user=guest).delete()
    world.user("team_guest")  # made on first use, with its teams


def test_the_next_test_gets_the_same_rows_as_they_were_made(world: World) -> None:
    assert world.private.pk == SEEN["project"], "the module's rows were made again"
    guest = world.users["guest"]
    assert guest.first_name == "" and world.users["padmin"].first_name == ""
    guest.refresh_from_db()
    assert guest.first_name == ""
    assert Membership.objects.filter(user=guest).count() == 2
    assert "team_guest" not in world.users
    assert not type(guest).objects.filter(username="team_guest").exists()
