"""One SQL query per token request, whatever the principal (both databases).

The principal's row and the projects its scopes name (with the user's role) are read in
one statement (`accounts.registry_auth.lookup`); the grant audit is written per minute,
`last_used_at` at most once a minute.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tests.conftest import World
from tests.token_service.conftest import basic, decode_token

SCOPES = ["repository:acme/app:pull", "repository:pub/app:pull", "repository:nosuch/app:pull"]


def ask(auth: str | None) -> Any:
    headers = {"HTTP_AUTHORIZATION": auth} if auth else {}
    return Client().get("/service/token", {"service": "wharf-registry", "scope": SCOPES}, **headers)


def granted(response: Any, cert: Path) -> list[str]:
    assert response.status_code == 200, response.content
    return [entry["name"] for entry in decode_token(response.json()["token"], cert)[1]["access"]]


@pytest.mark.parametrize(
    ("case", "names"),
    [
        ("anonymous", ["pub/app"]),
        ("personal access token", ["acme/app", "pub/app"]),
        ("robot", ["acme/app", "pub/app"]),
        ("password", ["acme/app", "pub/app"]),
    ],
)
def test_a_token_costs_one_query(
    case: str,
    names: list[str],
    credentials: dict[str, str | None],
    django_assert_num_queries: Any,
    key_files: tuple[Path, Path],
) -> None:
    granted(ask(credentials[case]), key_files[1])  # the first use touches last_used_at
    with django_assert_num_queries(1):
        response = ask(credentials[case])
    assert sorted(granted(response, key_files[1])) == names


def test_a_first_password_check_costs_one_query_too(
    credentials: dict[str, str | None], django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(1):
        assert ask(credentials["password"]).status_code == 200


def test_a_refused_secret_costs_one_query_its_failure_counts_and_its_audit_event(
    world: World, django_assert_max_num_queries: Any
) -> None:
    # The lookup; one upsert per failure count (account, address: `throttle`); then the
    # event: savepoint, lock (PostgreSQL), last hash, insert, release.
    with django_assert_max_num_queries(1 + 2 + 5):
        assert ask(basic("developer", "wharf_not-a-token")).status_code == 401
