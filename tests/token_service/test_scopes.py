"""Parsing `scope` parameters: the usual ones, and hostile ones that must grant nothing."""

from __future__ import annotations

import pytest

from accounts.registry_auth.scopes import MAX_SCOPES, Scope, parse_scope, parse_scopes


def test_repository_scope_with_several_actions() -> None:
    assert parse_scope("repository:team/app:pull,push") == Scope("repository", "team/app", frozenset({"pull", "push"}))


def test_catalog_scope() -> None:
    assert parse_scope("registry:catalog:*") == Scope("registry", "catalog", frozenset({"*"}))


def test_nested_repository_names_and_single_component_names_parse() -> None:
    assert parse_scope("repository:team/sub/app:pull") == Scope("repository", "team/sub/app", frozenset({"pull"}))
    assert parse_scope("repository:alpine:pull") == Scope("repository", "alpine", frozenset({"pull"}))


def test_unknown_actions_are_dropped_and_known_ones_kept() -> None:
    assert parse_scope("repository:team/app:pull,frobnicate,,") == Scope("repository", "team/app", frozenset({"pull"}))


@pytest.mark.parametrize(
    "text",
    [
        "",
        ":",
        "::",
        "repository",
        "repository:team/app",  # no actions part
        "repository::pull",  # empty name
        ":team/app:pull",  # empty type
        "repository:team/app:",  # no actions
        "repository:team/app:frobnicate",
        "repository:team/app:*",  # '*' means nothing on a repository
        "repository:host:5000/team/app:pull",  # the middle holds a ':': not a repository name
        "repository:team/../app:pull",
        "repository:../../etc/passwd:pull",
        "repository:team/./app:pull",
        "repository:Team/App:pull",  # upper case is not a valid repository name
        "repository:team//app:pull",
        "repository:/team/app:pull",
        "repository:team/app/:pull",
        "repository:tëam/app:pull",
        "repository:team/app\u200b:pull",  # zero-width space
        "repository:team/\u0430pp:pull",  # Cyrillic a
        "repository(plugin):team/app:pull",
        "registry:catalog:pull",
        "registry:other:*",
        "blob:team/app:pull",
        "repository:" + "a" * 300 + ":pull",
        "repository:" + "a/" * 200 + "a:pull",
    ],
)
def test_malformed_or_unknown_scopes_grant_nothing(text: str) -> None:
    assert parse_scope(text) is None
    assert parse_scopes([text]) == []


def test_extra_colons_are_parsed_from_both_ends() -> None:
    # Type before the first ':', actions after the last one: the name in between is invalid here.
    assert parse_scope("repository:team/app:extra:pull") is None
    assert parse_scopes(["repository:team/app:pull:push"]) == []


def test_several_scopes_in_one_parameter_and_repeated_parameters_merge_per_resource() -> None:
    scopes = parse_scopes(["repository:a/b:pull repository:c/d:push", "repository:a/b:push", "registry:catalog:*"])
    assert scopes == [
        Scope("repository", "a/b", frozenset({"pull", "push"})),
        Scope("repository", "c/d", frozenset({"push"})),
        Scope("registry", "catalog", frozenset({"*"})),
    ]


def test_bad_scopes_do_not_spoil_good_ones() -> None:
    assert parse_scopes(["", "garbage", "repository:a/b:pull", "repository:../x:pull"]) == [
        Scope("repository", "a/b", frozenset({"pull"}))
    ]


def test_ten_thousand_scopes_are_capped_and_never_an_error() -> None:
    many = [f"repository:p/r{i}:pull" for i in range(10_000)]
    assert len(parse_scopes(many)) == MAX_SCOPES
    assert len(parse_scopes([" ".join(many)])) == MAX_SCOPES
    assert parse_scopes(many)[-1].name == f"p/r{MAX_SCOPES - 1}"


def test_binary_junk_and_control_characters_grant_nothing() -> None:
    assert parse_scopes(["repository:a/b:pull\x00", "\x00\x01\x02", "repository:a\nb:pull", "\ud800"]) == []
