"""How a plan's rows are written: the pure helpers, and the streamed write on both databases."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction

from repositories.models import RetentionRun, RetentionRunItem
from repositories.services import retention_runs
from repositories.services.retention_runs import _CsvStream, _names_json
from tests.factories import ProjectFactory


def test_a_plans_tag_json_is_what_json_dumps_writes_for_any_names() -> None:
    """The direct writer serves plain registry tag names; anything else goes through json."""
    for names in (["v1"], ["latest", "v1.2-rc_3"], [], ['say "hi"'], ["ü"], ["a\\b"], ["tab\tname"]):
        assert _names_json(names) == json.dumps(names)


def test_the_streamed_csv_is_the_whole_csv_in_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    """COPY reads the plan a batch at a time (`_CsvStream`); joined, the pieces are exactly the
    CSV the csv module writes (QUOTE_ALL) for every row: quotes, commas, newlines, non-ASCII,
    numbers and None included, in the fields that vary and in the repeated ones (written
    once and reused, or per row when unhashable), and then it ends."""
    rows: list[tuple[Any, ...]] = [
        (i, f"repo,{i}", 'say "hi"', "line\nbreak", "ü", "", 0, None, 'x"y' if i % 3 else "x,y") for i in range(7)
    ]
    rows += [(7, "", None, 12, ["a list", 1], "tail\r\n", 3.5, True, "")]
    monkeypatch.setattr(_CsvStream, "BATCH", 2)
    stream = _CsvStream(iter(rows))
    pieces = []
    while piece := stream.read(8192):
        pieces.append(piece)
    whole = io.StringIO()
    csv.writer(whole, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
    assert len(pieces) == 4 and "".join(pieces) == whole.getvalue()
    assert stream.read(8192) == ""


@pytest.mark.django_db
def test_a_written_plan_keeps_its_order_and_counts_its_actions() -> None:
    """Both databases: the rows land in plan order (ids follow it), as made, with the count
    of deletions and skips the run records. The rows come from a generator, as `_plan` makes
    them, consumed while the statement runs."""
    project: Any = ProjectFactory(name="acme")
    run = RetentionRun.objects.create(project=project, status=RetentionRun.Status.RUNNING, dry_run=True)
    delete, skip = RetentionRunItem.Action.DELETE.value, RetentionRunItem.Action.SKIP.value

    def plan() -> Iterator[tuple[Any, ...]]:
        for i in range(2500):  # more than one COPY batch
            action = skip if i % 10 == 0 else delete
            tags = json.dumps([f"v{i}", 'odd "name", with\nnewline'])
            yield (run.pk, "acme/app", f"sha256:{i:064x}", tags, action, f"reason {i}", "no_rule", "{}",
                   "", "", "dry_run", "", "{}", 0)

    assert retention_runs._write_plan(plan()) == (2250, 250)
    items = list(RetentionRunItem.objects.filter(run=run).order_by("id"))
    assert [item.digest for item in items] == [f"sha256:{i:064x}" for i in range(2500)]
    assert items[3].tags == ["v3", 'odd "name", with\nnewline'] and items[3].reason == "reason 3"
    assert items[10].action == skip


@pytest.mark.django_db
def test_writing_a_plan_leaves_foreign_keys_deferred_for_the_rest_of_the_transaction() -> None:
    """The write checks its own foreign keys as rows arrive (PostgreSQL); afterwards the
    surrounding transaction's foreign keys are checked at its commit again, as Django declares
    them: a row may still point at one made later in the same transaction."""
    project: Any = ProjectFactory(name="acme")
    run = RetentionRun.objects.create(project=project, status=RetentionRun.Status.RUNNING, dry_run=True)
    row = (run.pk, "acme/app", "sha256:" + "0" * 64, "[]", "delete", "r", "no_rule", "{}", "", "", "dry_run", "", "{}", 0)
    assert retention_runs._write_plan(iter([row])) == (1, 0)
    with transaction.atomic():
        # An item of a run whose row comes later in the transaction: fine while deferred.
        RetentionRunItem.objects.create(run_id=run.pk + 1000, repository_name="acme/app", digest="sha256:" + "1" * 64)
        RetentionRun.objects.create(pk=run.pk + 1000, project=project, status=RetentionRun.Status.SUCCEEDED)
