"""Storage usage that knows blobs are shared: logical size, unique size, and what a
deletion would free.

The registry stores each blob (manifest, config, layer) once, however many
artifacts and repositories reference it. So three figures answer different
questions:

- *logical*: the sum over artifacts of the blobs each references (what the artifact
  sizes add up to; a layer shared by two images counts twice);
- *unique*: the distinct blobs of the scope, each counted once (the disk the scope
  would need on its own);
- *would free*: the distinct blobs of a set of artifacts that no artifact outside the
  set references, anywhere in the registry (what a garbage collection reclaims after
  the set is deleted).

All three are sums over `ArtifactBlob` rows in plain SQL (GROUP BY, NOT EXISTS) that
PostgreSQL and SQLite run alike. `store_blobs()` keeps those rows in step with the
artifacts' stored details; sync and the push path call it.
"""

from __future__ import annotations

import functools
import json
import queue
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models.expressions import RawSQL

from portal.rows import MAX_PARAMS, insert_values

from ..models import Artifact, ArtifactBlob, Project, Repository
from .overlap import Beside

# From this many artifacts on, `would_free` gives PostgreSQL more memory for its grouping.
_BIG_SET = 10_000


@dataclass(frozen=True)
class Usage:
    """Bytes and blob counts of one scope (a repository or a project)."""

    logical_size: int
    unique_size: int
    blob_count: int

    @property
    def shared_size(self) -> int:
        """Bytes counted more than once in `logical_size`."""
        return self.logical_size - self.unique_size


@dataclass(frozen=True)
class Freed:
    """What deleting a set of artifacts would give back at the next garbage collection."""

    size: int
    blob_count: int
    artifact_count: int


def blob_rows(digest: str, manifest: bytes, layers: Any) -> list[tuple[str, int, str]]:
    """`(digest, size, kind)` of the blobs a stored artifact references: its manifest,
    the config its manifest names, and its layers; each digest once, first kind wins."""
    rows: list[tuple[str, int, str]] = []
    seen: set[str] = set()

    def add(blob_digest: Any, size: Any, kind: str) -> None:
        if isinstance(blob_digest, str) and blob_digest and blob_digest not in seen and isinstance(size, int):
            seen.add(blob_digest)
            rows.append((blob_digest[:100], max(size, 0), kind))

    if not manifest:
        return rows
    add(digest, len(manifest), ArtifactBlob.Kind.MANIFEST)
    try:
        payload = json.loads(manifest)
    except ValueError:
        payload = None
    config = payload.get("config") if isinstance(payload, dict) else None
    if isinstance(config, dict):
        add(config.get("digest"), config.get("size"), ArtifactBlob.Kind.CONFIG)
    for layer in layers if isinstance(layers, list) else []:
        if isinstance(layer, dict):
            add(layer.get("digest"), layer.get("size"), ArtifactBlob.Kind.LAYER)
    return rows


def store_blobs(artifacts: Iterable[Artifact]) -> None:
    """Rewrite the blob rows of saved `artifacts` from their manifest and layers.

    Two statements whatever the number of artifacts (per batch of ids); call it in
    the transaction that stored the artifacts' details.
    """
    items = [a for a in artifacts if a.pk is not None]
    for start in range(0, len(items), MAX_PARAMS):
        batch = items[start : start + MAX_PARAMS]
        ArtifactBlob.objects.filter(artifact_id__in=[a.pk for a in batch]).delete()
        insert_values(
            ArtifactBlob,
            ["artifact_id", "digest", "size", "kind"],
            [
                (a.pk, d, size, kind)
                for a in batch
                for d, size, kind in blob_rows(a.digest, bytes(a.manifest or b""), a.layers)
            ],
        )


def backfill_blobs(batch_size: int = 500) -> int:
    """Fill the blob rows of every artifact that has details but no blob rows
    (artifacts stored before blob rows existed); returns how many artifacts it filled."""
    filled = 0
    last = 0
    while True:
        batch = list(
            Artifact.objects.filter(pk__gt=last, blobs__isnull=True)
            .exclude(manifest=b"")
            .only("pk", "digest", "manifest", "layers")
            .order_by("pk")[:batch_size]
        )
        if not batch:
            return filled
        store_blobs(batch)
        filled += len(batch)
        last = batch[-1].pk


def _table(model: type[Any]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _usage(where: str, params: Sequence[Any]) -> Usage:
    """Usage of the blob rows whose artifact matches `where` (SQL over `a`, the artifact table)."""
    blob, artifact = _table(ArtifactBlob), _table(Artifact)
    scoped = f"SELECT b.digest, b.size FROM {blob} b JOIN {artifact} a ON a.id = b.artifact_id WHERE {where}"  # noqa: S608  (quoted table names, values as parameters)
    sql = (
        f"SELECT (SELECT COALESCE(SUM(s.size), 0) FROM ({scoped}) s), "  # noqa: S608  (as above)
        f"COALESCE(SUM(u.size), 0), COUNT(*) "
        f"FROM (SELECT d.digest, MAX(d.size) AS size FROM ({scoped}) d GROUP BY d.digest) u"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *params])
        logical, unique, count = cursor.fetchone()
    return Usage(logical_size=int(logical), unique_size=int(unique), blob_count=int(count))


def repository_usage(repository: Repository) -> Usage:
    """Logical and unique size of one repository's artifacts (index children included)."""
    return _usage("a.repository_id = %s", [repository.pk])


def project_usage(project: Project) -> Usage:
    """Logical and unique size over every repository of a project; a blob two of its
    repositories share counts once in `unique_size`."""
    repositories = _table(Repository)
    return _usage(f"a.repository_id IN (SELECT r.id FROM {repositories} r WHERE r.project_id = %s)", [project.pk])  # noqa: S608


def _id_set(ids: Sequence[int]) -> tuple[str, Any]:
    """`(subquery, parameter)` naming a set of ids as ONE bound parameter, so a set of any
    size is a single statement: `x IN (subquery)` / `x NOT IN (subquery)`; its column is `id`.

    PostgreSQL unnests an array (the planner hashes it); SQLite reads a JSON array with
    `json_each` (built in since 3.38). Both answer the same rows."""
    if connection.vendor == "postgresql":
        # As one array literal in a string, not psycopg2's ARRAY[1, 2, ...]: the server then
        # reads one constant instead of parsing and planning 100,000 expressions (50 ms).
        return "SELECT unnest(%s::bigint[]) AS id", "{" + ",".join(str(int(i)) for i in ids) + "}"
    return "SELECT value AS id FROM json_each(%s)", json.dumps(list(ids))


def _with_children(artifact_ids: Iterable[int]) -> set[int]:
    """The artifacts plus, transitively, the children of those that are indexes:
    deleting an index deletes its per-platform manifests too (one query per level)."""
    chosen = set(artifact_ids)
    frontier = set(chosen)
    while frontier:
        subquery, param = _id_set(sorted(frontier))
        ids = RawSQL(subquery, [param])  # noqa: S611  (a constant subquery; the ids are bound)
        children = set(Artifact.objects.filter(parent_id__in=ids).values_list("pk", flat=True))
        frontier = children - chosen
        chosen |= frontier
    return chosen


def would_free(artifact_ids: Iterable[int], *, with_children: bool = True) -> Freed:
    """What deleting these artifacts (and their index children) would free: their
    distinct blobs that no other artifact in any repository references. One statement
    for the set, whatever its size (the retention advisor passes every artifact a
    policy deletes, with `with_children=False`: its evaluation lists the children it
    deletes itself, and may keep one whose index goes).

    Exact for what Wharf knows; the registry may hold blobs no stored artifact
    names (left by an earlier deletion and not yet collected), which this does not count.
    """
    chosen = sorted(_with_children(artifact_ids) if with_children else set(artifact_ids))
    if not chosen:
        return Freed(size=0, blob_count=0, artifact_count=0)
    blob = _table(ArtifactBlob)
    subquery, param = _id_set(chosen)
    # The set is sent once and materialised once (a preview passes ~100,000 ids: parsing the
    # array twice was a large part of the statement's time), then read by both sides.
    sql = (
        f"WITH chosen AS MATERIALIZED ({subquery}) "  # noqa: S608  (quoted table names, values as parameters)
        f"SELECT COALESCE(SUM(u.size), 0), COUNT(*) FROM ("
        f"SELECT b.digest, MAX(b.size) AS size FROM {blob} b WHERE b.artifact_id IN (SELECT id FROM chosen) "
        f"GROUP BY b.digest"
        f") u WHERE NOT EXISTS ("
        f"SELECT 1 FROM {blob} o WHERE o.digest = u.digest AND o.artifact_id NOT IN (SELECT id FROM chosen))"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql" and len(chosen) > _BIG_SET:
            # A big set groups a few hundred thousand blob rows: let the hash fit in memory
            # rather than spill to disk in batches, and keep the plan that suits a set this
            # size (this statement only, SET LOCAL). The planner guesses 200 rows for the
            # unnested set, so with the tables analysed it picked an index probe per id and
            # a merge anti-join sorting 300,000 digests (1.0-1.1 s at 100,000 ids, measured)
            # where hash joins take 0.4 s; JIT compiling that plan added 0.2-0.6 s more.
            cursor.execute(
                "SET LOCAL work_mem = '64MB'; SET LOCAL jit = off; "
                "SET LOCAL enable_nestloop = off; SET LOCAL enable_mergejoin = off"
            )
        cursor.execute(sql, [param])
        size, count = cursor.fetchone()
    return Freed(size=int(size), blob_count=int(count), artifact_count=len(chosen))


class ProjectFreeing:
    """What deleting every artifact of a project except a kept set would free (as
    `would_free` of the rest), in two steps so that the costly one runs before the kept set
    is known: a retention preview starts it, evaluates meanwhile, then sends what it keeps.

    1. Started at once on a second connection (`overlap.Beside`, inline where that is not
       safe): the project's *exclusive* blobs (every artifact referencing them is in the
       project) into a temporary table, with their total. This groups every blob row of the
       project (0.47-0.58 s at 100,000 tags), the part that does not depend on the policy.
    2. `send(kept)`: the exclusive blobs a kept artifact references are not freed; the rest
       are (0.11-0.16 s for 10,000 kept). A blob every holder of which is deleted is
       exclusive (the deleted are in the project) and referenced by nothing kept, and
       conversely, so the figures are `would_free`'s.

    Exact when the project's artifacts did not change between step 1 and the evaluation
    (a push in between makes the figure approximate, as any preview of a moving registry
    is). The second step costs what the kept set's blob rows cost: callers with more kept
    than deleted artifacts use `would_free` of the deleted instead (`cancel` this)."""

    # How long step 1's thread waits for the kept set before giving up (its caller failed).
    WAIT = 120.0

    def __init__(self, project: Project) -> None:
        self._kept: queue.SimpleQueue[tuple[Sequence[int], int] | None] = queue.SimpleQueue()
        self._work = Beside(functools.partial(_freeing_all_but, project.pk, self._kept, self.WAIT))

    def send(self, kept: Sequence[int], deleted_count: int) -> None:
        """The artifacts the policy keeps (the others of the project are deleted, this many)."""
        self._kept.put((kept, deleted_count))

    def cancel(self) -> None:
        """Drop step 1's table and end its thread without an answer."""
        self._kept.put(None)

    def result(self) -> Freed:
        """What deleting all but the kept artifacts frees (after `send`)."""
        freed = self._work.result()
        if freed is None:
            raise RuntimeError("ProjectFreeing.result() without send(), or after cancel()")
        return freed


_EXCLUSIVE = "wharf_exclusive_blobs"  # step 1's temporary table (one per connection)


def _freeing_all_but(
    project_id: int, kept_queue: queue.SimpleQueue[tuple[Sequence[int], int] | None], wait: float
) -> Freed | None:
    blob, artifact, repository = _table(ArtifactBlob), _table(Artifact), _table(Repository)
    table = connection.ops.quote_name(_EXCLUSIVE)
    in_project = (
        f"SELECT a.id FROM {artifact} a WHERE a.repository_id IN "  # noqa: S608  (quoted table names)
        f"(SELECT r.id FROM {repository} r WHERE r.project_id = %s)"
    )
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        try:
            with transaction.atomic():
                if connection.vendor == "postgresql":
                    # As `would_free`: the grouping fits in memory, and no JIT for one statement.
                    # And one core: this runs while the preview evaluates, and with two parallel
                    # workers it took as long (0.50-0.55 s either way at 100,000 tags) but
                    # slowed the evaluation on the other core by a third (0.44 -> 0.57-0.60 s).
                    cursor.execute(
                        "SET LOCAL work_mem = '64MB'; SET LOCAL jit = off; SET LOCAL max_parallel_workers_per_gather = 0"
                    )
                cursor.execute(
                    f"CREATE TEMPORARY TABLE {table} AS SELECT u.digest, u.size FROM ("  # noqa: S608
                    f"SELECT b.digest, MAX(b.size) AS size FROM {blob} b WHERE b.artifact_id IN ({in_project}) "
                    f"GROUP BY b.digest) u WHERE NOT EXISTS ("
                    f"SELECT 1 FROM {blob} o JOIN {artifact} oa ON oa.id = o.artifact_id "
                    f"JOIN {repository} orr ON orr.id = oa.repository_id "
                    f"WHERE o.digest = u.digest AND orr.project_id <> %s)",
                    [project_id, project_id],
                )
                cursor.execute(f"SELECT COALESCE(SUM(size), 0), COUNT(*) FROM {table}")  # noqa: S608
                total_size, total_count = cursor.fetchone()
            try:
                sent = kept_queue.get(timeout=wait)
            except queue.Empty:
                return None
            if sent is None:
                return None
            kept, deleted_count = sent
            size, count = 0, 0
            if kept:
                subquery, param = _id_set(kept)
                cursor.execute(
                    f"SELECT COALESCE(SUM(e.size), 0), COUNT(*) FROM {table} e WHERE e.digest IN ("  # noqa: S608
                    f"SELECT b.digest FROM {blob} b WHERE b.artifact_id IN ({subquery}))",
                    [param],
                )
                size, count = cursor.fetchone()
            return Freed(
                size=int(total_size) - int(size), blob_count=int(total_count) - int(count), artifact_count=deleted_count
            )
        finally:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")


def repository_would_free(repository: Repository) -> Freed:
    """What deleting the whole repository would free: its distinct blobs that no
    artifact of another repository references (one query, whatever its size)."""
    blob, artifact = _table(ArtifactBlob), _table(Artifact)
    sql = (
        f"SELECT COALESCE(SUM(u.size), 0), COUNT(*) FROM ("  # noqa: S608  (quoted table names, values as parameters)
        f"SELECT b.digest, MAX(b.size) AS size FROM {blob} b JOIN {artifact} a ON a.id = b.artifact_id "
        f"WHERE a.repository_id = %s GROUP BY b.digest"
        f") u WHERE NOT EXISTS ("
        f"SELECT 1 FROM {blob} o JOIN {artifact} oa ON oa.id = o.artifact_id "
        f"WHERE o.digest = u.digest AND oa.repository_id <> %s)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [repository.pk, repository.pk])
        size, count = cursor.fetchone()
    return Freed(size=int(size), blob_count=int(count), artifact_count=repository.artifacts.count())


def repository_summary(repository: Repository) -> tuple[Usage, Freed]:
    """`repository_usage` and `repository_would_free` in one query, for the repository page."""
    blob, artifact = _table(ArtifactBlob), _table(Artifact)
    distinct = (
        f"SELECT b.digest, MAX(b.size) AS size FROM {blob} b JOIN {artifact} a ON a.id = b.artifact_id "  # noqa: S608  (quoted table names, values as parameters)
        f"WHERE a.repository_id = %s GROUP BY b.digest"
    )
    flagged = (
        f"SELECT u.size, CASE WHEN EXISTS (SELECT 1 FROM {blob} o JOIN {artifact} oa ON oa.id = o.artifact_id "  # noqa: S608
        f"WHERE o.digest = u.digest AND oa.repository_id <> %s) THEN 0 ELSE 1 END AS only_here FROM ({distinct}) u"
    )
    sql = (
        f"SELECT (SELECT COALESCE(SUM(b.size), 0) FROM {blob} b JOIN {artifact} a ON a.id = b.artifact_id "  # noqa: S608
        f"WHERE a.repository_id = %s), COALESCE(SUM(f.size), 0), COUNT(*), "
        f"COALESCE(SUM(f.size * f.only_here), 0), COALESCE(SUM(f.only_here), 0) FROM ({flagged}) f"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [repository.pk, repository.pk, repository.pk])
        logical, unique, count, freed, freed_count = cursor.fetchone()
    usage = Usage(logical_size=int(logical), unique_size=int(unique), blob_count=int(count))
    return usage, Freed(size=int(freed), blob_count=int(freed_count), artifact_count=repository.artifact_count)
