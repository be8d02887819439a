"""The tag filter's glob means what fnmatch means, in Python and in PostgreSQL."""

from __future__ import annotations

import fnmatch
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from repositories.api.registry_filters import glob_to_regex
from repositories.models import Artifact, Repository, Tag
from tests.conftest import World

TAG_ALPHABET = "abcxyzAZ019_.-"
GLOB_ALPHABET = TAG_ALPHABET + "*?[]!"

tag_names = st.text(TAG_ALPHABET, min_size=1, max_size=8)
globs = st.text(GLOB_ALPHABET, max_size=8)


def _matches(pattern: str, name: str) -> bool:
    regex = glob_to_regex(pattern)
    return regex is not None and re.search(regex, name) is not None


@given(pattern=globs, name=tag_names)
def test_glob_translation_agrees_with_fnmatch(pattern: str, name: str) -> None:
    assert _matches(pattern, name) == fnmatch.fnmatchcase(name, pattern)


NAMES = ["v1", "v1.2", "v10", "latest", "1.0-rc1", "1.0-rc2", "a_b", "A", "x.y-z", "[x]", "-", "v1.2.3"]
PATTERNS = ["v1*", "v?", "*-rc?", "[a-c]*", "[!0-9v]*", "*.*.*", "[z-a]*", "[!z-a]", "[]]*", "[", "a[", "*", "?", "A"]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_postgresql_matches_the_same_tags_as_fnmatch(pattern: str, world: World) -> None:
    repository = Repository.objects.create(project=world.private, name="acme/glob")
    artifact = Artifact.objects.create(repository=repository, digest="sha256:" + "a" * 64)
    Tag.objects.bulk_create(Tag(repository=repository, name=name, artifact=artifact) for name in NAMES)
    regex = glob_to_regex(pattern)

    found = set() if regex is None else set(Tag.objects.filter(name__regex=regex).values_list("name", flat=True))

    assert found == {name for name in NAMES if fnmatch.fnmatchcase(name, pattern)}


def test_a_set_spanning_every_symbol_is_valid_in_postgresql(world: World) -> None:
    # `!-~` spans all printable ASCII, so the regex escapes every symbol there is.
    repository = Repository.objects.create(project=world.private, name="acme/glob")
    artifact = Artifact.objects.create(repository=repository, digest="sha256:" + "a" * 64)
    Tag.objects.bulk_create(Tag(repository=repository, name=n, artifact=artifact) for n in ["a", "_", "9", "ab"])

    found = set(Tag.objects.filter(name__regex=glob_to_regex("[!-~]")).values_list("name", flat=True))

    assert found == {"a", "_", "9"}
