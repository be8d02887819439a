"""`portal.rows.insert` stores what `bulk_create` stores, on both databases, and binds
what the fields' own preparation would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext_lazy

from portal.rows import _fields, _preparers, insert, insert_values
from repositories.models import Artifact, ArtifactBlob, PushedAtSource, Repository, Tag
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db

WHEN = datetime(2026, 5, 4, 3, 2, 1, 123456, tzinfo=UTC)


def _artifacts(repository: Repository, prefix: str, count: int) -> list[Artifact]:
    return [
        Artifact(
            repository=repository,
            digest=f"sha256:{prefix}{i:063d}",
            media_type="application/vnd.oci.image.manifest.v1+json",
            size=1000 + i,
            os="linux",
            architecture="arm64" if i % 2 else "amd64",
            created=None if i % 3 == 0 else WHEN,
            pushed_at=WHEN,
            pushed_at_source=PushedAtSource.CREATED,
            annotations={"org.opencontainers.image.title": "caf\u00e9 \u2603", "n": i},
            labels={} if i % 2 else {"maintainer": "ops"},
            config={"config": {"Env": ["A=1"]}},
            layers=[{"digest": f"sha256:{i:064d}", "size": i}],
            manifest=b'{"schemaVersion": 2}\x00\xff' * (i + 1),
            details_synced=True,
        )
        for i in range(count)
    ]


def _stored(rows: Any) -> list[dict[str, Any]]:
    return [
        {
            k: (bytes(v) if isinstance(v, memoryview) else v)
            for k, v in row.items()
            if k not in ("id", "updated_at")
        }
        for row in rows.order_by("size").values()
    ]


def test_insert_stores_what_bulk_create_stores_and_sets_the_keys() -> None:
    project = ProjectFactory(name="rows")
    ours = Repository.objects.create(name="rows/ours", project=project)
    theirs = Repository.objects.create(name="rows/theirs", project=project)
    mine = _artifacts(ours, "a", 700)  # more rows than one statement takes
    insert(mine)
    Artifact.objects.bulk_create(_artifacts(theirs, "a", 700))

    assert [a.pk for a in mine] == list(
        Artifact.objects.filter(repository=ours).order_by("digest").values_list("pk", flat=True)
    )
    assert all(not a._state.adding for a in mine)
    expected = [
        {**row, "repository_id": ours.pk} for row in _stored(Artifact.objects.filter(repository=theirs))
    ]
    assert _stored(Artifact.objects.filter(repository=ours)) == expected

    mine[0].size = 1  # a saved object updates its row, not a second one
    mine[0].save()
    assert Artifact.objects.filter(repository=ours).count() == 700
    blobs = [ArtifactBlob(artifact=a, digest=f"sha256:{a.pk:064d}", size=a.pk) for a in mine[:3]]
    insert(blobs)
    assert sorted(ArtifactBlob.objects.values_list("artifact_id", "size")) == sorted(
        (a.pk, a.pk) for a in mine[:3]
    )


def test_a_duplicate_is_djangos_integrity_error_and_stores_nothing() -> None:
    repository = Repository.objects.create(name="rows/dup", project=ProjectFactory(name="rows-dup"))
    insert(_artifacts(repository, "b", 2))
    with pytest.raises(IntegrityError), transaction.atomic():
        insert(_artifacts(repository, "c", 1) + _artifacts(repository, "b", 1))
    assert Artifact.objects.filter(repository=repository).count() == 2


def test_nothing_to_insert_sends_nothing(django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        insert([])


def _typed(values: Any, model: Any) -> list[tuple[type, Any]]:
    # PostgreSQL's JSON wrappers compare by identity: compare what they wrap. An `auto_now`
    # column is the moment of the call: compare its type only.
    return [
        (type(value), None if getattr(field, "auto_now", False) else getattr(value, "adapted", value))
        for field, value in zip(_fields(model), values, strict=True)
    ]


def _bound(obj: Any) -> list[tuple[type, Any]]:
    """What the fields' own preparation binds for `obj`, with each value's type."""
    return _typed([f.get_db_prep_save(f.pre_save(obj, True), connection) for f in _fields(type(obj))], type(obj))


def test_the_plain_shortcut_binds_what_the_fields_would() -> None:
    """Values of the plain type skip the fields' preparation; any other goes through it.
    The types are compared too: a bool in an integer column must go out as an int."""
    repository = Repository.objects.create(name="rows/plain", project=ProjectFactory(name="rows-plain"))
    artifact = _artifacts(repository, "d", 1)[0]
    insert([artifact])
    odd_artifact = _artifacts(repository, "e", 1)[0]
    odd_artifact.size = True  # a bool for a BigIntegerField: int(True)
    odd_artifact.os = gettext_lazy("linux")  # a lazy string: cast to str
    odd_artifact.pushed_at_source = PushedAtSource.PUSH  # a str enum: kept as it is, as to_python does
    odd_artifact.created = datetime(2026, 5, 4, 5, 2, 1, tzinfo=timezone(timedelta(hours=2)))  # aware, not UTC
    odd_artifact.pushed_at = "2026-05-04T03:02:01+00:00"  # text: parsed by the field
    blob = ArtifactBlob(artifact_id=artifact.pk, digest="sha256:" + "f" * 64, size=5, kind=ArtifactBlob.Kind.CONFIG)
    tag = Tag(repository=repository, name="v1", artifact_id=artifact.pk, pushed_at=WHEN, pushed_at_source="seen")
    odd_tag = Tag(repository_id=str(repository.pk), name="v2", artifact=artifact, pushed_at=WHEN)  # an id as text
    for obj in (artifact, odd_artifact, blob, tag, odd_tag):
        ours = _typed([prepare(obj, connection) for prepare in _preparers(type(obj))], type(obj))
        assert ours == _bound(obj), type(obj).__name__
    assert _bound(odd_artifact)[[f.name for f in _fields(Artifact)].index("size")] == (int, 1)


def test_rows_of_values_store_what_objects_store() -> None:
    repository = Repository.objects.create(name="rows/values", project=ProjectFactory(name="rows-values"))
    ours, theirs = _artifacts(repository, "g", 2)
    insert([ours, theirs])
    values = [(ours.pk, f"sha256:{i:064d}", i, kind) for i, kind in enumerate(ArtifactBlob.Kind)]
    values.append((ours.pk, "sha256:" + "9" * 64, True, "layer"))  # a bool for a size: stored as 1
    insert_values(ArtifactBlob, ["artifact_id", "digest", "size", "kind"], values)
    insert([ArtifactBlob(artifact_id=theirs.pk, digest=d, size=size, kind=kind) for _, d, size, kind in values])
    stored = {
        pk: sorted(ArtifactBlob.objects.filter(artifact_id=pk).values_list("digest", "size", "kind"))
        for pk in (ours.pk, theirs.pk)
    }
    assert stored[ours.pk] == stored[theirs.pk] and len(stored[ours.pk]) == 4
    assert ("sha256:" + "9" * 64, 1, "layer") in stored[ours.pk]
    with pytest.raises(ValueError, match="every column"):
        insert_values(ArtifactBlob, ["artifact_id", "digest"], [(ours.pk, "sha256:x")])
    with pytest.raises(ValueError, match="auto_now"):
        insert_values(Artifact, [f.attname for f in _fields(Artifact)], [()])
