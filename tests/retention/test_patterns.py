"""Doublestar globs: what they match, and the messages for patterns that cannot be used."""

from __future__ import annotations

import fnmatch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repositories.globs import compile_patterns, name_filter
from repositories.retention import PatternKind, glob_match, validate_pattern

REPO = PatternKind.REPOSITORY
TAG = PatternKind.TAG


@pytest.mark.parametrize(
    ("pattern", "name", "expected"),
    [
        ("**", "app", True),
        ("**", "team-a/api/v2", True),
        ("*", "app", True),
        ("*", "team-a/api", False),
        ("team-*/**", "team-a/api", True),
        ("team-*/**", "team-a/x/api", True),
        ("team-*/**", "team-a", True),  # `**` is zero or more segments
        ("team-*/**", "team-", True),
        ("team-*/**", "teams/api", False),
        ("team-*/**", "other/team-a/api", False),
        ("**/api", "api", True),
        ("**/api", "team-a/api", True),
        ("**/api", "team-a/x/api", True),
        ("**/api", "team-a/apis", False),
        ("a/**/b", "a/b", True),
        ("a/**/b", "a/x/y/b", True),
        ("a/**/b", "ab", False),
        ("a/*/b", "a/x/b", True),
        ("a/*/b", "a/x/y/b", False),
        ("app?", "app1", True),
        ("app?", "app/", False),
        ("app?", "app", False),
        ("svc-[0-9]", "svc-7", True),
        ("svc-[0-9]", "svc-x", False),
        ("svc-[!0-9]", "svc-x", True),
        ("svc-[^0-9]", "svc-7", False),
        ("{web,api}/**", "api/v1", True),
        ("{web,api}/**", "db/v1", False),
        ("team-{a,b/c}", "team-b/c", True),
        ("app", "app", True),
        ("app", "app2", False),
        ("app", "x/app", False),
        ("a.b", "axb", False),  # a dot is literal
    ],
)
def test_repository_globs_follow_doublestar_semantics(pattern: str, name: str, expected: bool) -> None:
    assert glob_match(pattern, name, REPO) is expected


@pytest.mark.parametrize(
    ("pattern", "name", "expected"),
    [
        ("**", "latest", True),
        ("*", "v1.2.3", True),
        ("release-*", "release-1.4", True),
        ("release-*", "prerelease-1.4", False),
        ("release-**", "release-1.4", True),
        ("v?.*", "v1.2", True),
        ("v[0-9].*", "vX.2", False),
        ("{latest,stable}", "stable", True),
        ("{latest,stable}", "stable2", False),
        ("*-rc{,[0-9]}", "1.0-rc", True),
        ("*-rc{,[0-9]}", "1.0-rc3", True),
        ("Release-*", "release-1", False),  # case-sensitive, like tags
        ("x\\*", "x*", True),  # an escaped star is literal
        ("x\\*", "xy", False),
    ],
)
def test_tag_globs(pattern: str, name: str, expected: bool) -> None:
    assert glob_match(pattern, name, TAG) is expected


@pytest.mark.parametrize(
    ("pattern", "kind", "fragment"),
    [
        ("", REPO, "Enter a pattern"),
        ("/app", REPO, "no leading or trailing `/`"),
        ("app/", REPO, "no leading or trailing `/`"),
        ("a//b", REPO, "empty path segment"),
        ("team**", REPO, "whole path segment"),
        ("**x/a", REPO, "whole path segment"),
        ("a/***", REPO, "at most two stars"),
        ("{a,**}", REPO, "inside braces"),
        ("{a,{b,c}}", TAG, "Nested braces"),
        ("{a,b", TAG, "Close the `{`"),
        ("a}", TAG, "closes no `{`"),
        ("[a-z", TAG, "Close the `[`"),
        ("[]", TAG, "Close the `[`"),
        ("[z-a]", TAG, "backwards"),
        ("App", REPO, "lowercase"),
        ("a/b", TAG, "cannot contain `/`"),
        ("v1 ", TAG, "spaces"),
        ("v 1", TAG, "` ` cannot appear in a tag name"),
        ("a:b", REPO, "`:` cannot appear in a repository name"),
        ("x" * 256, TAG, "at most 255"),
        ("ab\\", TAG, "escapes nothing"),
        ("[a/b]", REPO, "never matches `/`"),
    ],
)
def test_unusable_patterns_get_a_clear_message(pattern: str, kind: PatternKind, fragment: str) -> None:
    message = validate_pattern(pattern, kind)
    assert message is not None
    assert fragment in message


@pytest.mark.parametrize(
    ("pattern", "kind"),
    [("**", REPO), ("team-*/**", REPO), ("**/api", REPO), ("release-*", TAG), ("**", TAG), ("v[0-9]*", TAG)],
)
def test_usable_patterns_have_no_message(pattern: str, kind: PatternKind) -> None:
    assert validate_pattern(pattern, kind) is None


def test_patterns_are_compiled_once_per_process() -> None:
    first = compile_patterns(("release-*", "v*"), TAG)
    assert compile_patterns(("release-*", "v*"), TAG) is first


def test_no_patterns_compile_to_nothing() -> None:
    assert compile_patterns((), TAG) is None


# --- cross-checks against independent matchers -------------------------------------

_TAG_ATOMS = st.sampled_from(["a", "b", ".", "-", "*", "?", "[ab]", "[!a]", "[a-b]"])
_TAG_NAMES = st.text(alphabet="ab.-", max_size=6)


@settings(max_examples=300, deadline=None)
@given(st.lists(_TAG_ATOMS, min_size=1, max_size=6).map("".join), _TAG_NAMES)
def test_tag_globs_agree_with_fnmatch(pattern: str, name: str) -> None:
    # Without `/` and braces, a tag glob means exactly what a shell glob means.
    assert glob_match(pattern, name, TAG) is fnmatch.fnmatchcase(name, pattern)


def _reference_match(pattern: list[str], name: list[str]) -> bool:
    """Obvious recursive doublestar matcher over segments: `**` eats zero or more."""
    if not pattern:
        return not name
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(_reference_match(rest, name[i:]) for i in range(len(name) + 1))
    return bool(name) and fnmatch.fnmatchcase(name[0], head) and _reference_match(rest, name[1:])


_SEGMENT_PATTERNS = st.sampled_from(["**", "*", "a", "b", "a*", "?", "[ab]"])
_SEGMENTS = st.sampled_from(["a", "b", "ab", "ba", "c"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_SEGMENT_PATTERNS, min_size=1, max_size=4), st.lists(_SEGMENTS, min_size=1, max_size=4))
def test_repository_globs_agree_with_a_reference_doublestar(segments: list[str], name: list[str]) -> None:
    pattern = "/".join(segments)
    assert glob_match(pattern, "/".join(name), REPO) is _reference_match(segments, name)


def test_the_bulk_name_filter_admits_exactly_what_the_compiled_patterns_match() -> None:
    """`name_filter` lets the engine skip the regex: its answer must never differ from it."""
    names = {"v1", "v1.2", "release-1", "release-", "latest", "stable", "x/y", "", "rel", "v10", "a.b-c_d"}
    for patterns in (("**",), ("*",), ("release-*",), ("v1.*", "release-*"), ("{latest,stable}",), ("v1*", "*"), ("v?",)):
        regex = compile_patterns(patterns, PatternKind.TAG)
        assert regex is not None
        expected = {name for name in names if regex.fullmatch(name)}
        every_segment, prefixes = name_filter(patterns, PatternKind.TAG)
        if every_segment:
            assert expected == {name for name in names if "/" not in name}, patterns
        if prefixes is not None:
            assert all(name.startswith(prefixes) for name in expected), patterns
    assert name_filter(("**",), PatternKind.TAG) == (True, None)
    assert name_filter(("release-*", "v1.*"), PatternKind.TAG) == (False, ("release-", "v1."))
    assert name_filter(("{latest,stable}",), PatternKind.TAG) == (False, None)
