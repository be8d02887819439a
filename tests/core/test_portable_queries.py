"""Every query means the same on SQLite and PostgreSQL.

The suite runs on both databases (`make test`); on top of that, the PostgreSQL-only
ORM features are refused on every database while tests run
(`tests/support/portable.py`), so reaching one fails a PostgreSQL run as it would
the embedded SQLite default, and the crawl (`tests/system/`) sees it on every page.
"""

from __future__ import annotations

import ast
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import NotSupportedError
from django.utils import timezone

from portal.db import latest_per
from repositories.models import Artifact, Finding, ScanReport
from tests.factories import ProjectFactory

ROOT = Path(__file__).resolve().parents[2]
PRODUCT_DIRS = ("accounts", "audit", "portal", "repositories")


def _product_sources() -> list[Path]:
    return [
        path
        for folder in PRODUCT_DIRS
        for path in (ROOT / folder).rglob("*.py")
        if "migrations" not in path.parts
    ]


@pytest.mark.django_db
def test_distinct_on_a_field_is_refused_on_every_database() -> None:
    with pytest.raises(NotSupportedError, match="latest_per"):
        list(Artifact.objects.order_by("repository_id", "-id").distinct("repository_id"))


@pytest.mark.django_db
def test_json_contains_is_refused_on_every_database() -> None:
    with pytest.raises(NotSupportedError, match="contains"):
        list(Finding.objects.filter(aliases__contains=["CVE-2024-0001"]))


@pytest.mark.django_db
def test_plain_distinct_still_works() -> None:
    assert list(Artifact.objects.values_list("digest", flat=True).distinct()) == []


def test_product_code_has_no_distinct_on_and_no_postgres_only_imports() -> None:
    offenders = []
    for path in _product_sources():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')}"
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "distinct"
                and node.args
            ):
                offenders.append(f"{where} .distinct(<field>)")
            if isinstance(node, ast.keyword) and node.arg and node.arg.endswith(("__has_any_keys", "__has_keys")):
                offenders.append(f"{where} {node.arg} (array semantics differ between databases)")
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("django.contrib.postgres"):
                offenders.append(f"{where} import from django.contrib.postgres")
    assert offenders == []


def test_the_code_cites_no_file_outside_the_repository() -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    outside = ("REGISTRY-NOTES", "shared/STYLE", "../shared", "/work/")
    offenders = [
        name
        for name in tracked
        if (ROOT / name).is_file()
        and name != "tests/core/test_portable_queries.py"
        and any(mark in (ROOT / name).read_text(errors="ignore") for mark in outside)
    ]
    assert offenders == []


@pytest.mark.django_db
def test_latest_per_picks_the_newest_row_of_each_group_on_this_database() -> None:
    from repositories.models import Repository

    project = ProjectFactory(name="acme")
    repository = Repository.objects.create(project=project, name="acme/app")
    now = timezone.now()
    expected = {}
    for index in range(4):
        artifact = Artifact.objects.create(repository=repository, digest=f"sha256:{index:064x}")
        for age in (3, 1, 2):  # created out of order; ties broken by id
            report = ScanReport.objects.create(artifact=artifact, created_at=now - timedelta(days=age + index))
        twin = ScanReport.objects.create(artifact=artifact, created_at=now - timedelta(days=1 + index))
        expected[artifact.pk] = twin.pk
        assert report.pk < twin.pk

    newest = latest_per(ScanReport.objects.all(), "artifact_id", ["-created_at", "-id"])

    assert {r.artifact_id: r.pk for r in newest} == expected
