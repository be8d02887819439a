from __future__ import annotations

from audit.context import Actor
from audit.services import verify_chain
from repositories.services.projects import create_project


def test_create_project_writes_chained_audit(world):
    create_project(actor=Actor.for_user(world.users["developer"]), name="newproj", creator=world.users["developer"])
    checked, broken = verify_chain()
    assert checked == 2 and broken is None
