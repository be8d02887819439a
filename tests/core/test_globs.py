"""Wharf's one glob dialect (`repositories.globs`): what it means, and that every user of
it -- the pure matcher, the ORM filter on this run's database, the repository page's tag
filter, the API's tag filter, retention and immutable rules, robots' repository
patterns -- picks the same names for the same pattern."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import RobotAccount
from accounts.services.robots import clean_repository_patterns
from repositories.globs import (
    PatternError,
    PatternKind,
    compile_filter,
    compile_glob,
    glob_match,
    validate_pattern,
)
from repositories.models import Artifact, Repository, Tag
from repositories.retention import (
    Artifact as RetentionArtifact,
)
from repositories.retention import (
    ImmutableRule,
    Policy,
    PolicyError,
    RepositorySelector,
    Rule,
    TagSelector,
    Template,
    evaluate,
)
from repositories.retention import (
    Tag as RetentionTag,
)
from tests.api.conftest import JsonClient
from tests.conftest import World

REPO = PatternKind.REPOSITORY
TAG = PatternKind.TAG

# --- the dialect, by example ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "name", "expected"),
    [
        ("team/*", "team/api", True),
        ("team/*", "team/api/v2", False),  # `*` does not cross `/`
        ("team/**", "team/api/v2", True),  # `**` does
        ("team/**", "team", True),  # ... and may be no segment at all
        ("**/api", "a/b/api", True),
        ("app-?", "app-1", True),
        ("app-?", "app-12", False),
        ("a?b", "a/b", False),  # `?` is never `/`
        ("app-[0-9]", "app-7", True),
        ("app-[0-9]", "app-x", False),
        ("app-[!0-9]", "app-x", True),
        ("app-[^0-9]", "app-7", False),
        ("a[!x]b", "a/b", False),  # a negated set is never `/` either
        ("{web,api}", "api", True),
        ("app", "app", True),
        ("app", "my-app", False),  # anchored at the start ...
        ("app", "app-2", False),  # ... and at the end
    ],
)
def test_repository_patterns(pattern: str, name: str, expected: bool) -> None:
    assert glob_match(pattern, name, REPO) is expected


@pytest.mark.parametrize(
    ("pattern", "name", "expected"),
    [
        ("v1.*", "v1.2", True),
        ("v1.*", "v1x2", False),  # `.` is a dot
        ("**", "latest", True),  # in tags `**` is `*` (Harbor's default tag pattern)
        ("Latest", "latest", False),  # case-sensitive
        ("[]a]", "a", True),  # `]` first in a set is a member
        ("[]]", "]", True),  # ... even when it is the only one
        ("\\[a\\]", "[a]", True),  # an escaped `[` is literal
        ("\\[a\\]", "a", False),
        ("[.-0]", "/", False),  # a range spanning `/` still never matches it
        ("[.-0]", "0", True),
        ("{,-rc}1", "1", True),  # an empty alternative
    ],
)
def test_tag_patterns(pattern: str, name: str, expected: bool) -> None:
    assert glob_match(pattern, name, TAG) is expected


@pytest.mark.parametrize(
    ("pattern", "kind", "fragment"),
    [
        ("", TAG, "Enter a pattern"),
        ("v1[", TAG, "Close the `[` with a `]`."),
        ("[a-", TAG, "Close the `[`"),
        ("x" * 256, TAG, "at most 255 characters"),
        ("team**", REPO, "whole path segment"),
        ("App", REPO, "lowercase"),
        ("v1:x", TAG, "`:` cannot appear in a tag name"),
        ("[z-a]", TAG, "backwards"),
    ],
)
def test_unusable_patterns_say_why(pattern: str, kind: PatternKind, fragment: str) -> None:
    message = validate_pattern(pattern, kind)
    assert message is not None and fragment in message
    with pytest.raises(PatternError, match=re.escape(fragment)):
        compile_glob(pattern, kind)


@pytest.mark.parametrize(
    ("text", "name", "expected"),
    [
        ("v1", "v1.2", True),  # plain text: a substring, as a search box does
        ("v1", "xv1", True),
        ("1.2", "v1.2.3", True),
        ("v1*", "xv1", False),  # any glob character: the whole name
        ("v1*", "v1.2", True),
        ("\\v1", "v1", True),  # an escape makes it a glob: matching one name exactly
        ("\\v1", "v1.2", False),
        ("V1", "v1", False),  # case-sensitive either way
    ],
)
def test_a_filter_is_a_substring_until_it_has_a_glob_character(text: str, name: str, expected: bool) -> None:
    glob = compile_filter(text, TAG)
    assert glob is not None and glob.matches(name) is expected


def test_an_empty_filter_is_no_filter() -> None:
    assert compile_filter("  ", TAG) is None


@pytest.mark.parametrize(
    ("pattern", "kind", "prefix"),
    [("v1.*", TAG, "v1."), ("team/**", REPO, "team"), ("a/**/b", REPO, "a/"), ("*x", TAG, ""), ("\\*a?", TAG, "*a")],
)
def test_the_orm_filter_narrows_by_the_literal_prefix(pattern: str, kind: PatternKind, prefix: str) -> None:
    lookups = compile_glob(pattern, kind).lookups("name")
    assert lookups.get("name__startswith", "") == prefix
    assert lookups["name__regex"].startswith("^(?:") and lookups["name__regex"].endswith(")\\Z")


def test_the_regex_uses_no_construct_the_two_engines_read_differently() -> None:
    # `.` (newlines), `$` (a trailing newline) and bracket ranges (collation) differ
    # between Python `re` and PostgreSQL; the translation never emits them.
    for pattern in ["**/a.b-[a-c]?", "{x,y}*[!.-9]", "\\.\\$\\[", "[]-a]"]:
        body = compile_glob(pattern, REPO if "/" in pattern else TAG).regex[len("^(?:") : -len(")\\Z")]
        unescaped = re.sub(r"\\.", "", body)
        assert "." not in re.sub(r"\[[^\]]*\]", "", unescaped) and "$" not in unescaped
        for members in re.findall(r"\[\^?([^\]]*)\]", unescaped):
            assert "-" not in members.rstrip("-")


# --- every user agrees ------------------------------------------------------------------------

ALPHABET_NAMES = [
    "a", "b", "1", "A", "aa", "ab", "ba", "bb", "a1", "1a", "Ab", "a.b", "a-b", "a.1", "b-1",
    "ab1", "1.0", "a-", "a.", "aab", "aba", "abab", "a.b-1", "b.a", "1-a", "aa.bb",
]  # fmt: skip
ATOMS = st.sampled_from(
    ["a", "b", "1", ".", "-", "A", "*", "?", "**", "[ab]", "[!a]", "[a-b]", "[^1]", "[.-1]",
     "{a,b}", "{,1}", "\\*", "[", "]", "}", "{", " ", ":"]
)  # fmt: skip
# Mostly with a glob character, so the filter (a substring for plain text) is the glob too.
PATTERNS = st.lists(ATOMS, min_size=1, max_size=4).map("".join)
PAGE = "/projects/acme/repositories/globs/"
API = "/api/v1/repositories/acme/globs/-/tags/"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def named_tags(world: World) -> Repository:
    repository = Repository.objects.create(project=world.private, name="acme/globs")
    artifact = Artifact.objects.create(repository=repository, digest="sha256:" + "a" * 64)
    Tag.objects.bulk_create(Tag(repository=repository, name=name, artifact=artifact) for name in ALPHABET_NAMES)
    return repository


def _page_rows(client: Any, pattern: str) -> set[str] | None:
    html = client.get(PAGE, {"tag": pattern}, HTTP_HX_REQUEST="true").content.decode()
    if 'id="tag-filter-error"' in html:
        return None
    return set(re.findall(r'<tr data-tag="([^"]*)"', html))


def _api_rows(client: Any, pattern: str) -> set[str] | None:
    response = client.get(API, {"pattern": pattern, "page_size": 100})
    if response.status_code == 400:
        assert "pattern" in response.json()
        return None
    assert response.status_code == 200
    return {row["name"] for row in response.json()["results"]}


def _retention(pattern: str) -> tuple[set[str], set[str]] | None:
    """(tags a policy keeping `pattern` keeps, tags an immutable rule on `pattern` protects)."""
    artifacts = [
        RetentionArtifact(
            repository="globs", digest=f"sha256:{index:064x}", pushed_at=NOW, tags=(RetentionTag(name),)
        )
        for index, name in enumerate(ALPHABET_NAMES)
    ]
    keep = Policy(rules=(Rule(Template.ALWAYS, None, RepositorySelector(("**",)), TagSelector((pattern,))),))
    nothing = Policy(rules=(Rule(Template.ALWAYS, None, RepositorySelector(("**",)), TagSelector(("**",), ("**",))),))
    immutable = (ImmutableRule(RepositorySelector(("**",)), TagSelector((pattern,))),)
    try:
        kept = evaluate(Policy(keep.rules, allow_empty_repository=True), artifacts, now=NOW)
        guarded = evaluate(Policy(nothing.rules, allow_empty_repository=True), artifacts, now=NOW, immutable_rules=immutable)
    except PolicyError:
        return None
    return (
        {t.name for t in kept.tags if t.decision.kept},
        {t.name for t in guarded.tags if t.protected_by is not None},
    )


def _robot(pattern: str) -> set[str] | None:
    try:
        clean_repository_patterns([pattern])
    except ValidationError:
        return None
    robot = RobotAccount(repository_patterns=[pattern])
    return {name for name in ALPHABET_NAMES if robot.matches(name)}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pattern=PATTERNS)
def test_every_user_of_the_dialect_picks_the_same_names(world: World, named_tags: Repository, pattern: str) -> None:
    client = world.client("guest")
    if not pattern.strip():  # a blank filter is no filter; a blank rule pattern is refused
        assert compile_filter(pattern, TAG) is None
        assert _page_rows(client, pattern) == _api_rows(client, pattern) == set(ALPHABET_NAMES)
        assert _retention(pattern) is None
        return
    try:
        glob = compile_glob(pattern.strip(), TAG)
        expected: set[str] | None = {name for name in ALPHABET_NAMES if glob.matches(name)}
    except PatternError:
        expected = None
    plain = not set("*?[]{}\\") & set(pattern)
    wanted = {name for name in ALPHABET_NAMES if pattern.strip() in name} if plain and expected is not None else expected

    # The filter users: the ORM filter on this database, the page and the API.
    try:
        search = compile_filter(pattern, TAG)
    except PatternError:
        search = None
        assert wanted is None
    else:
        assert search is not None
        rows = Tag.objects.filter(repository=named_tags, **search.lookups("name"))
        assert set(rows.values_list("name", flat=True)) == wanted == {n for n in ALPHABET_NAMES if search.matches(n)}
    if expected is not None and pattern == pattern.strip():
        rows = Tag.objects.filter(repository=named_tags, **glob.lookups("name"))
        assert set(rows.values_list("name", flat=True)) == expected
    assert _page_rows(client, pattern) == wanted
    assert _api_rows(client, pattern) == wanted

    # The rule users: retention keeps, immutable rules protect, robots cover the same names.
    rules = _retention(pattern)
    if pattern != pattern.strip():
        assert rules is None  # saved patterns are never padded
        return
    assert rules == (None if expected is None else (expected, expected))
    robot = _robot(pattern)
    if validate_pattern(pattern, REPO) is None:
        assert robot == expected  # without `/`, a repository path matches as a tag does
    else:
        assert robot is None


# --- where the old dialects disagreed -----------------------------------------------------------


def test_a_robot_pattern_star_no_longer_crosses_a_slash() -> None:
    robot = RobotAccount(repository_patterns=["app-*"])
    assert robot.matches("app-web") and not robot.matches("app-web/cache")
    assert RobotAccount(repository_patterns=["app-*/**"]).matches("app-web/cache")


def test_a_saved_robot_pattern_that_is_no_longer_usable_matches_nothing() -> None:
    assert not RobotAccount(repository_patterns=["App*"]).matches("app")
    assert RobotAccount(repository_patterns=["App*", "app"]).matches("app")


def test_robot_patterns_are_validated_with_a_message_naming_the_pattern() -> None:
    with pytest.raises(ValidationError) as caught:
        clean_repository_patterns(["ok-*", "team**"])
    assert caught.value.message_dict["repository_patterns"] == [
        "team**: `**` must be a whole path segment, e.g. `team/**`; use `*` within a name."
    ]


def test_robot_pattern_errors_are_a_400_naming_the_field(world: World) -> None:
    response = JsonClient(world.client("padmin")).post(
        "/api/v1/projects/acme/robots/", {"name": "ci", "permissions": ["pull"], "repository_patterns": ["a%["]}
    )
    assert response.status_code == 400
    assert response.json()["repository_patterns"] == ["a%[: `%` cannot appear in a repository name."]


def test_robot_pattern_errors_show_on_the_create_form(world: World) -> None:
    response = world.client("padmin").post(
        "/projects/acme/robots/",
        {"name": "ci", "actions": ["pull"], "expiry": "default", "repository_patterns": "app-*\nteam**"},
    )
    assert response.status_code == 400
    assert "team**: `**` must be a whole path segment" in response.content.decode()
    assert not RobotAccount.objects.exists()


def test_the_tag_filter_error_names_the_field_in_the_api(world: World, named_tags: Repository) -> None:
    response = world.client("guest").get(API, {"pattern": "v1["})
    assert response.status_code == 400
    assert response.json()["pattern"] == ["Close the `[` with a `]`."]
