"""The facts a token request needs, read in one SQL query per request.

A token request asks about one principal (nobody, a user, a personal access token or a
robot) and the few projects its scopes name. Each function here reads the principal's
row and those projects, with the user's membership role in each, in a single statement:
the principal's row LEFT JOINed to the named projects (and to the user's membership row of
each). The answer is facts only (flags, a role name, a public flag); what they allow is
decided by `accounts.permissions` through `grants.compute_grants`, never here.

Hand-written SQL rather than the ORM because this is the registry's hottest path: the
ORM's compile step cost more than the query. The role read here is the highest of the
membership row's and the user's teams' (`permissions.highest_role`), as
`ProjectQuerySet.with_role` reads it; `tests/token_service/test_lookup.py` checks the two
agree on every user and project of the test world.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections
from django.db.models.base import ModelState
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import ApiToken, RobotAccount, User
from accounts.permissions import highest_role

from . import throttle


@dataclass(frozen=True)
class ProjectFacts:
    """An existing project named by a scope: its id, whether it is public, the user's role."""

    pk: int
    is_public: bool
    role: str | None = None


Projects = dict[str, ProjectFacts]

_USER_FIELDS = ("id", "username", "password", "is_active", "is_superuser", "source")
_TOKEN_FIELDS = ("id", "user_id", "name", "scopes", "expires_at", "revoked_at")
_ROBOT_FIELDS = (
    "id", "project_id", "name", "project_names", "can_pull", "can_push", "can_delete",
    "repository_patterns", "expires_at", "enabled",
)


def _table(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _project_tables() -> tuple[str, str]:
    from repositories.models import Membership, Project  # the app registry is ready by request time

    return _table(Project), _table(Membership)


def _team_tables() -> tuple[str, str]:
    from accounts.models import TeamMember
    from repositories.models import ProjectTeam

    return _table(ProjectTeam), _table(TeamMember)


def _columns(alias: str, model: Any, names: Sequence[str]) -> str:
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(model._meta.get_field(name).column)}" for name in names)


def _in(names: Sequence[str]) -> str:
    return ", ".join(["%s"] * len(names))


def _project_join(names: Sequence[str], user_column: str | None) -> tuple[str, str]:
    """The select list and LEFT JOINs adding the named projects (and the role) to a row."""
    project, membership = _project_tables()
    if not names:
        return ", NULL, NULL, NULL, NULL, NULL", ""
    joins = f" LEFT JOIN {project} p ON p.name IN ({_in(names)})"
    role = team_role = "NULL"
    if user_column is not None:
        project_team, team_member = _team_tables()
        joins += f" LEFT JOIN {membership} m ON m.project_id = p.id AND m.user_id = {user_column}"
        # One row per team of the user's that holds a role in the project (usually none).
        team_ids = f"SELECT tm.team_id FROM {team_member} tm WHERE tm.user_id = {user_column}"  # noqa: S608  (quoted table names)
        joins += f" LEFT JOIN {project_team} pt ON pt.project_id = p.id AND pt.team_id IN ({team_ids})"
        role, team_role = "m.role", "pt.role"
    return f", p.name, p.id, p.is_public, {role}, {team_role}", joins


def _projects(rows: Iterable[Sequence[Any]]) -> Projects:
    """The project columns (the last five of each row) as ProjectFacts by name.

    A project comes once per team of the user's that holds a role there; the user's role
    is the highest of their own and those (`permissions.highest_role`, the one rule).
    """
    roles: dict[str, list[str | None]] = {}
    found: Projects = {}
    for row in rows:
        name, pk, is_public, role, team_role = row[-5:]
        if name is None:
            continue
        held = roles.setdefault(name, [])
        held += [role, team_role]
        if team_role is None and len(held) == 2:
            best = role  # the usual row: the user's own role (or none) and no team's
        else:
            highest = highest_role(held)
            best = highest.value if highest else None
        found[name] = ProjectFacts(pk=pk, is_public=bool(is_public), role=best)
    return found


def _aware(value: Any) -> dt.datetime | None:
    """A datetime column read through a bare cursor (SQLite gives text or naive UTC)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, dt.UTC)
    return value  # type: ignore[no-any-return]


def _json(model: Any, name: str, value: Any, db: Any) -> Any:
    return model._meta.get_field(name).from_db_value(value, None, db)


def _instance(model: Any, values: dict[str, Any], alias: str = DEFAULT_DB_ALIAS) -> Any:
    """A model instance holding `values` (by attname), its other fields deferred.

    What `Model.from_db` builds, without `Model.__init__`'s walk over every field (half
    the lookup's Python time): a field missing from the instance's `__dict__` is
    deferred, exactly as Django marks them, and loads on access. None of these models
    has a `post_init` receiver (the signal `__init__` would send).
    """
    instance = model.__new__(model)
    instance.__dict__.update(values)
    state = instance._state = ModelState()
    state.adding, state.db = False, alias
    return instance


def _user(values: Sequence[Any], alias: str) -> User:
    """A User with only the fields the token service reads (the others deferred)."""
    pk, username, password, is_active, is_superuser, source = values
    fields = {"id": pk, "username": username, "password": password, "source": source}
    return _instance(User, {**fields, "is_active": bool(is_active), "is_superuser": bool(is_superuser)}, alias)  # type: ignore[no-any-return]


# The statements depend only on the database vendor and how many projects are named:
# built once each (building them cost more than running them).


@lru_cache(maxsize=256)
def _anonymous_sql(vendor: str, count: int) -> str:
    project, _ = _project_tables()
    names = ["?"] * count
    return f"SELECT NULL, p.name, p.id, p.is_public, NULL, NULL FROM {project} p WHERE p.name IN ({_in(names)})"  # noqa: S608  (quoted table names, values as parameters)


@lru_cache(maxsize=256)
def _user_sql(vendor: str, count: int) -> str:
    select, joins = _project_join(["?"] * count, "u.id")
    return f"SELECT {_columns('u', User, _USER_FIELDS)}{select} FROM {_table(User)} u{joins} WHERE u.username = %s"  # noqa: S608


@lru_cache(maxsize=256)
def _user_lock_sql(vendor: str, count: int) -> str:
    """`_user_sql` with the account's and the address's lock as two more columns
    (`throttle.lock_columns_sql`)."""
    select, joins = _project_join(["?"] * count, "u.id")
    return (
        f"SELECT {_columns('u', User, _USER_FIELDS)}, {throttle.lock_columns_sql()}{select} "  # noqa: S608
        f"FROM {_table(User)} u{joins} WHERE u.username = %s"
    )


@lru_cache(maxsize=256)
def _token_sql(vendor: str, count: int) -> str:
    select, joins = _project_join(["?"] * count, "u.id")
    return (
        f"SELECT {_columns('t', ApiToken, _TOKEN_FIELDS)}, {_columns('u', User, _USER_FIELDS)}{select} "  # noqa: S608
        f"FROM {_table(ApiToken)} t JOIN {_table(User)} u ON u.id = t.user_id{joins} "
        "WHERE t.key_hash = %s AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > %s)"
    )


@lru_cache(maxsize=256)
def _robot_sql(vendor: str, count: int) -> str:
    from repositories.models import Project

    select, joins = _project_join(["?"] * count, None)
    return (
        f"SELECT {_columns('r', RobotAccount, _ROBOT_FIELDS)}, rp.name{select} "  # noqa: S608
        f"FROM {_table(RobotAccount)} r LEFT JOIN {_table(Project)} rp ON rp.id = r.project_id{joins} "
        "WHERE r.secret_hash = %s"
    )


def _execute(db: Any, cursor: Any, kind: str, count: int, sql: str, params: list[Any]) -> None:
    """Run one of the statements above (`kind` and the number of project names identify it).

    On PostgreSQL, as a statement prepared once per connection: planning the token query
    cost more than running it (0.35 ms a query, 0.10 ms prepared, measured on the token
    bench's rows), and this is the registry's hottest path. Prepared statements live as
    long as the connection and survive a rollback; the set of names prepared is kept on the
    connection wrapper beside the driver connection it belongs to, so a reconnect starts
    afresh. Off with WHARF_DB_PREPARED_STATEMENTS=false (a transaction-pooling proxy).
    """
    if db.vendor != "postgresql" or not settings.WHARF_DB_PREPARED_STATEMENTS:
        cursor.execute(sql, params)
        return
    raw = db.connection
    state: tuple[Any, set[str]] | None = getattr(db, "_wharf_prepared", None)
    if state is None or state[0] is not raw:
        state = db._wharf_prepared = (raw, set())
    name = f"wharf_{kind}_{count}"
    execute = f"EXECUTE {name}({', '.join(['%s'] * len(params))})"
    if name in state[1]:
        try:
            cursor.execute(execute, params)
            return
        except DatabaseError:
            # The server forgot it (DISCARD ALL by a proxy): prepare again, unless the failure
            # aborted a transaction, where nothing more can run.
            if db.in_atomic_block:
                raise
            state[1].discard(name)
    pieces = sql.split("%s")  # the statements hold no other `%s` (names are quoted identifiers)
    numbered = pieces[0] + "".join(f"${n}{piece}" for n, piece in enumerate(pieces[1:], start=1))
    cursor.execute(f"PREPARE {name} AS {numbered}")
    state[1].add(name)
    cursor.execute(execute, params)


def anonymous_projects(names: Sequence[str]) -> Projects:
    """The existing projects among `names`; no query when there are none."""
    if not names:
        return {}
    db = connections[DEFAULT_DB_ALIAS]  # one look-up of the thread's connection, not one per attribute
    with db.cursor() as cursor:
        _execute(db, cursor, "anonymous", len(names), _anonymous_sql(db.vendor, len(names)), list(names))
        return _projects(cursor.fetchall())


def user_by_username(username: str, names: Sequence[str]) -> tuple[User | None, Projects]:
    """The user with this username (exact, as `ModelBackend` looks it up) and the projects."""
    db = connections[DEFAULT_DB_ALIAS]
    with db.cursor() as cursor:
        _execute(db, cursor, "user", len(names), _user_sql(db.vendor, len(names)), [*names, username])
        rows = cursor.fetchall()
    if not rows:
        return None, {}
    return _user(rows[0][: len(_USER_FIELDS)], db.alias), _projects(rows)


def user_and_lock(
    username: str, names: Sequence[str], address: str | None
) -> tuple[User | None, Projects, throttle.Lock | None]:
    """`user_by_username` and, in the same statement, the brute-force lock in force for the
    account or the address (`throttle`). No row means no such user: the caller then asks
    `throttle.check` (a guess at a missing account is locked like any other)."""
    db = connections[DEFAULT_DB_ALIAS]
    now = timezone.now()
    params = [*throttle.lock_params(username, address, db.ops.adapt_datetimefield_value(now)), *names, username]
    with db.cursor() as cursor:
        _execute(db, cursor, "user_lock", len(names), _user_lock_sql(db.vendor, len(names)), params)
        rows = cursor.fetchall()
    if not rows:
        return None, {}, None
    first = rows[0]
    width = len(_USER_FIELDS)
    lock = throttle.lock_from(_aware(first[width]), _aware(first[width + 1]), now)
    return _user(first[:width], db.alias), _projects(rows), lock


def token_by_hash(key_hash: str, names: Sequence[str]) -> tuple[ApiToken | None, Projects]:
    """The personal access token with this secret hash, not revoked nor expired, with its
    user (active or not: the caller decides) and the projects."""
    db = connections[DEFAULT_DB_ALIAS]
    now = db.ops.adapt_datetimefield_value(timezone.now())
    with db.cursor() as cursor:
        _execute(db, cursor, "token", len(names), _token_sql(db.vendor, len(names)), [*names, key_hash, now])
        rows = cursor.fetchall()
    if not rows:
        return None, {}
    first = rows[0]
    pk, user_id, name, scopes, expires_at, revoked_at = first[: len(_TOKEN_FIELDS)]
    token: ApiToken = _instance(
        ApiToken,
        {
            "id": pk,
            "user_id": user_id,
            "name": name,
            "scopes": _json(ApiToken, "scopes", scopes, db),
            "expires_at": _aware(expires_at),
            "revoked_at": _aware(revoked_at),
        },
        db.alias,
    )
    # Cached as the `user` relation, as select_related would (the descriptor's checks cost more).
    token._state.fields_cache["user"] = _user(first[len(_TOKEN_FIELDS) : len(_TOKEN_FIELDS) + len(_USER_FIELDS)], db.alias)
    return token, _projects(rows)


def robot_by_hash(secret_hash: str, names: Sequence[str]) -> tuple[RobotAccount | None, Projects]:
    """The robot account with this secret hash (enabled or not: the caller decides), its own
    project's name, and the projects (robots hold no membership role)."""
    from repositories.models import Project

    db = connections[DEFAULT_DB_ALIAS]
    with db.cursor() as cursor:
        _execute(db, cursor, "robot", len(names), _robot_sql(db.vendor, len(names)), [*names, secret_hash])
        rows = cursor.fetchall()
    if not rows:
        return None, {}
    first = rows[0]
    values = dict(zip(_ROBOT_FIELDS, first[: len(_ROBOT_FIELDS)], strict=True))
    for name in ("project_names", "repository_patterns"):
        values[name] = _json(RobotAccount, name, values[name], db)
    for name in ("can_pull", "can_push", "can_delete", "enabled"):
        values[name] = bool(values[name])
    values["expires_at"] = _aware(values["expires_at"])
    robot: RobotAccount = _instance(RobotAccount, values, db.alias)
    if values["project_id"] is not None:
        project = _instance(Project, {"id": values["project_id"], "name": first[len(_ROBOT_FIELDS)]}, db.alias)
        robot._state.fields_cache["project"] = project
    return robot, _projects(rows)
