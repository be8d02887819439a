"""Parsing the `scope` parameters of a token request.

Grammar (Distribution token spec): ``type[(class)]:name:action[,action...]``,
e.g. ``repository:team/app:pull,push`` or ``registry:catalog:*``. The name sits
between the first and the last ':' (parsed from both ends, so a name holding a
':' cannot shift the actions). One parameter may also hold several scopes
separated by spaces.

Everything here is hostile input: a scope that does not parse, names a type or
action we do not know, or a repository name that is not a valid OCI name (such
as one with `..`) is dropped, never an error. Only the first `MAX_SCOPES` scopes
are looked at, so a request cannot make us parse (or query) without bound.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from repositories.registry.client import REPOSITORY_RE

MAX_SCOPES = 100
MAX_SCOPE_LENGTH = 512
MAX_REPOSITORY_NAME = 255  # Distribution's limit on a whole repository name

REPOSITORY = "repository"
REGISTRY = "registry"
PULL, PUSH, DELETE = "pull", "push", "delete"
REPOSITORY_ACTIONS = frozenset({PULL, PUSH, DELETE})
CATALOG = "catalog"
CATALOG_ACTIONS = frozenset({"*"})


@dataclass(frozen=True)
class Scope:
    """A requested resource and the known actions asked on it."""

    type: str
    name: str
    actions: frozenset[str]

    def __str__(self) -> str:
        return f"{self.type}:{self.name}:{','.join(sorted(self.actions))}"


def _split(raw: Iterable[str]) -> Iterable[str]:
    for value in raw:
        yield from value.split()


@lru_cache(maxsize=4096)
def parse_scope(text: str) -> Scope | None:
    """One scope, or None when it is malformed or asks for nothing we know.

    Remembered: pipelines ask for the same few scopes over and over, and the OCI name
    check is a regular expression; the answer is an immutable value of the text alone.
    """
    if len(text) > MAX_SCOPE_LENGTH:
        return None
    first, last = text.find(":"), text.rfind(":")
    if first <= 0 or last == first:
        return None
    kind, name, actions_text = text[:first], text[first + 1 : last], text[last + 1 :]
    asked = {action for action in actions_text.split(",") if action}
    if kind == REPOSITORY:
        if len(name) > MAX_REPOSITORY_NAME or not REPOSITORY_RE.match(name):
            return None
        actions = frozenset(asked & REPOSITORY_ACTIONS)
    elif kind == REGISTRY and name == CATALOG:
        actions = frozenset(asked & CATALOG_ACTIONS)
    else:
        return None  # unknown types and resource classes (`repository(plugin)`) grant nothing
    return Scope(kind, name, actions) if actions else None


def parse_scopes(raw: Iterable[str]) -> list[Scope]:
    """All usable scopes of the request's `scope` parameters, merged per resource.

    Only the first `MAX_SCOPES` space-separated scopes are considered; the rest
    are ignored. The result keeps first-seen order.
    """
    merged: dict[tuple[str, str], set[str]] = {}
    for index, text in enumerate(_split(raw)):
        if index >= MAX_SCOPES:
            break
        scope = parse_scope(text)
        if scope is not None:
            merged.setdefault((scope.type, scope.name), set()).update(scope.actions)
    return [Scope(kind, name, frozenset(actions)) for (kind, name), actions in merged.items()]
