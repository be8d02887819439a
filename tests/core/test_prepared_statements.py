"""`portal.statements.Prepared`: a query built and compiled once per process gives, for any
values, the rows its queryset gives, on both databases; where its stand-ins do not land in
exactly the places real values do, it is not used and the ORM answers instead."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.models import Count, Q, Value

from portal.db import latest_per
from portal.statements import Prepared, stand_ins
from repositories import access, accessories, freshness
from repositories.models import Artifact, Tag
from repositories.services import labels as label_service
from repositories.views import labels as label_views
from repositories.views import repositories as repository_views
from repositories.views import scans
from tests.conftest import World
from tests.pages.repository_content import Content, make_content

POSTGRESQL = connection.vendor == "postgresql"
KINDS = (int, str)
STAND_INS = stand_ins(KINDS)
CHECKS = stand_ins(KINDS, check=True)


@pytest.fixture
def content(world: World) -> Content:
    return make_content(world.private)


def _tags_with_artifacts(repository_id: int, name: str) -> Any:
    """Model rows with a `select_related` object, a deferred field and an annotation."""
    return (
        Tag.objects.filter(repository_id=repository_id)
        .exclude(name=name)
        .select_related("artifact")
        .defer("artifact__manifest")
        .annotate(marker=Value("x"))
        .order_by("name")
    )


def _tag_names(repository_id: int, name: str) -> Any:
    """Tuples, grouped and counted."""
    tags = Tag.objects.filter(Q(repository_id=repository_id) | Q(name=name))
    return tags.values_list("artifact__digest").annotate(n=Count("id")).order_by("artifact__digest")


def _union(repository_id: int, name: str) -> Any:
    by_name = Tag.objects.filter(repository_id=repository_id, name=name).order_by().values_list("name", "artifact_id")
    other = Tag.objects.filter(repository_id=repository_id).exclude(name=name).order_by().values_list("name", "artifact_id")
    return by_name.union(other, all=True)


def _newest_tag_per_artifact(repository_id: int, name: str) -> Any:
    """A window filtered to its first row (`latest_per`, a subquery around it)."""
    tags = Tag.objects.filter(repository_id=repository_id).exclude(name=name)
    return latest_per(tags, "artifact_id", ["-name", "-id"]).order_by("pk")


def _values(rows: list[Any]) -> list[Any]:
    """What the rows hold: tuples as they are, model instances field by field (with the
    related artifact's and the annotation)."""
    if not rows or isinstance(rows[0], tuple):
        return sorted(rows, key=repr)
    out = []
    for row in rows:
        fields = {f.attname: getattr(row, f.attname) for f in type(row)._meta.concrete_fields}
        if hasattr(row, "marker"):
            fields |= {"marker": row.marker, "artifact": row.artifact.digest, "deferred": row.artifact.get_deferred_fields()}
        out.append(fields)
    return out


@pytest.mark.parametrize("build", [_tags_with_artifacts, _tag_names, _union, _newest_tag_per_artifact])
def test_rows_are_what_the_queryset_gives_for_any_values(world: World, content: Content, build: Any) -> None:
    prepared = Prepared(build, *KINDS)

    assert prepared.compiled(connection.alias) is not None
    for values in ((content.repository.pk, "v1.0"), (content.repository.pk, "latest"), (-1, "none")):
        assert _values(prepared.rows(*values, using=connection.alias)) == _values(list(build(*values))), values
    assert prepared.rows(content.repository.pk, "v1.0", using=connection.alias)  # not vacuous


def test_it_is_built_twice_once_per_database_then_never(world: World, content: Content) -> None:
    built: list[tuple[Any, ...]] = []

    def build(repository_id: int, name: str) -> Any:
        built.append((repository_id, name))
        return _tags_with_artifacts(repository_id, name)

    prepared = Prepared(build, *KINDS)
    for name in ("v1.0", "v1.1", "latest"):
        prepared.rows(content.repository.pk, name, using=connection.alias)

    assert built == [STAND_INS, CHECKS]


def test_a_value_the_orm_transforms_is_not_prepared_and_the_orm_answers(world: World, content: Content) -> None:
    def build(repository_id: int, prefix: str) -> Any:
        return Tag.objects.filter(repository_id=repository_id, name__startswith=prefix).order_by("name")

    prepared = Prepared(build, *KINDS)

    assert prepared.compiled(connection.alias) is None  # the parameter is `prefix%`, not the value
    rows = prepared.rows(content.repository.pk, "v1", using=connection.alias)
    assert [t.name for t in rows] == ["v1.0", "v1.1", "v1x0"]


def test_a_stand_in_that_is_also_a_constant_of_the_query_is_refused(world: World, content: Content) -> None:
    """The check fails: the other values would be put where the constant is too."""

    def build(repository_id: int, name: str) -> Any:
        return Tag.objects.filter(Q(repository_id=repository_id) | Q(repository_id=STAND_INS[0]), name=name)

    prepared = Prepared(build, *KINDS)

    assert prepared.compiled(connection.alias) is None
    assert [t.name for t in prepared.rows(content.repository.pk, "latest", using=connection.alias)] == ["latest"]


def test_a_list_value_may_be_any_collection(world: World, content: Content) -> None:
    def build(ids: list[int]) -> Any:
        return Tag.objects.filter(artifact_id__in_list=ids).order_by("name").values_list("name", flat=True)

    prepared = Prepared(build, list[int])
    for ids in ((content.image.pk,), {content.image.pk}, [content.image.pk]):
        assert prepared.rows(ids, using=connection.alias) == ["v1.0", "v1.1"], ids


def test_in_list_is_in(world: World, content: Content) -> None:
    """One array parameter on PostgreSQL, `IN (...)` elsewhere: the same rows, none for none."""
    image, other = content.image.pk, content.other.pk
    for ids in ([image], [image, other, None], [], [None], (other,)):
        got = set(Tag.objects.filter(artifact_id__in_list=ids).values_list("name", flat=True))
        assert got == set(Tag.objects.filter(artifact_id__in=ids).values_list("name", flat=True)), ids
    assert set(Artifact.objects.filter(digest__in_list=[content.image.digest]).values_list("pk", flat=True)) == {image}


def test_the_tag_pages_statements_are_prepared(db: None) -> None:
    """Each statement of the tag page compiles exactly (a change to what one builds that
    broke that would silently send it back to building and compiling per request); the
    ones with a list of values only where a list is one parameter (PostgreSQL)."""
    always = [
        access._PROJECT_WITH_ROLE,
        access._REPOSITORY_IN,
        freshness._NEWEST_COVERING_RUN,
        freshness._NEWEST_EVENT,
        repository_views._LATEST_PROJECT_RUN,
        repository_views._LATEST_REPOSITORY_RUN,
        label_views._USABLE_LABELS,
    ]
    with_lists = [accessories._ACCESSORY_ROWS, scans._NEWEST_REPORTS, label_service._LABEL_LINKS]
    for prepared in always:
        assert prepared.compiled(connection.alias) is not None, prepared
    for prepared in with_lists:
        assert (prepared.compiled(connection.alias) is not None) == POSTGRESQL, prepared
