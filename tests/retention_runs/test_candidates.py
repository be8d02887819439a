"""The engine's input read from the database: the same values the rows hold, time zones included."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from repositories import retention as engine
from repositories.models import Artifact, Project, PushedAtSource, Tag
from repositories.services.retention import candidates_for
from tests.retention_runs.helpers import rows

pytestmark = pytest.mark.django_db


def test_candidates_carry_the_rows_values_as_aware_datetimes() -> None:
    project = Project.objects.create(name="acme")
    made = rows(project, "app", {"v1": 3, "v2": 1})
    pulled = timezone.now() - timedelta(hours=5)
    Tag.objects.filter(name="v2").update(last_pull_at=pulled)
    Artifact.objects.filter(pk=made["v1"].pk).update(pushed_at_source=PushedAtSource.CREATED)
    Tag.objects.filter(name="v1").update(pushed_at_source=PushedAtSource.CREATED)
    by_digest = {c.digest: c for c in candidates_for(project)}
    v1, v2 = (Artifact.objects.get(pk=made[t].pk) for t in ("v1", "v2"))
    assert by_digest[v2.digest] == engine.Artifact(
        repository="app",
        digest=v2.digest,
        pushed_at=v2.pushed_at,
        pulled_at=None,
        tags=(engine.Tag("v2", pushed_at=Tag.objects.get(name="v2").pushed_at, pulled_at=pulled),),
        ref=v2.pk,  # the row's id, which the advisor uses to find what the evaluation deletes
    )
    assert by_digest[v2.digest].tags[0].pulled_at.tzinfo is not None
    assert by_digest[v1.digest].push_time_known is False
    assert by_digest[v1.digest].pushed_at == v1.pushed_at and v1.pushed_at.tzinfo is not None
