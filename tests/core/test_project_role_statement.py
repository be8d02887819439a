"""`get_project`'s lookup (`repositories.access._project_with_role`) runs `with_role`'s own
statement, compiled once per process with stand-ins for the user and the name: for every
persona of the permission matrix (own roles, team roles, none, anonymous) and every project,
on both databases, it answers what the ORM queryset answers, field for field."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection

from repositories import access
from repositories.models import Project
from tests.conftest import MATRIX_PERSONAS, World


def _as_orm(user: Any, name: str) -> Any:
    return next(iter(access._with_role_query(user, name)), None)


def _fields(project: Any) -> dict[str, Any]:
    return {field.attname: getattr(project, field.attname) for field in Project._meta.concrete_fields} | {
        "my_role": project.my_role
    }


@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
def test_the_compiled_statement_answers_what_the_queryset_does(world: World, persona: str) -> None:
    user = AnonymousUser() if persona == "anonymous" else world.user(persona)
    for name in (world.private.name, world.public.name, "no-such-project"):
        expected, got = _as_orm(user, name), access._project_with_role(user, name)
        if expected is None:
            assert got is None
        else:
            assert got is not None and _fields(got) == _fields(expected), (persona, name)
    if persona != "anonymous":  # the anonymous lookup stays the ORM's (no join to build)
        assert access._PROJECT_WITH_ROLE.compiled(connection.alias) is not None


def test_stand_ins_are_where_the_user_and_the_name_go(world: World) -> None:
    """Its self-check: another user and name give the stand-ins' statement with them put in."""
    compiled = access._PROJECT_WITH_ROLE.compiled(connection.alias)
    assert compiled is not None and all(compiled.slots)
    user = world.user("maintainer")
    check_sql, check_params = access._with_role_of(user.pk, "acme").query.get_compiler(connection.alias).as_sql()
    assert check_sql == compiled.sql
    assert tuple(check_params) == compiled.fill([user.pk, "acme"])
