"""Import of OSV advisories: an osv.dev per-ecosystem `all.zip` or a directory of JSON files.

`import_osv(path)` reads every `*.json` entry, validates it (id, `modified`, the
shape of `affected[]`), and upserts it by id only when its `modified` is newer
than what is stored. Invalid entries are counted with their reasons, never fatal.
Work is done in batches: one query reads the stored `modified` of a batch's ids,
then `bulk_create` / `bulk_update` write the advisories and their
(ecosystem, normalised name) rows, so 200,000 advisories cost a few hundred
queries, not a few per advisory. Each batch is its own transaction: an import that
stops half-way leaves every finished batch in place and the rest as it was.

Withdrawn advisories are stored (so a later import with an older copy cannot
resurrect them) but get no package rows, so matching never loads them.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_noop

from audit.context import Actor
from audit.models import AuditAction
from audit.services import record
from portal.stored_text import Stored, stored

from ..models import Advisory, AdvisoryPackage, OsvImport
from ..vulns.names import normalize_name
from .zip_stream import ZipStreamError, is_zip, iter_members

log = logging.getLogger(__name__)

BATCH_SIZE = 2000
MAX_ENTRY_BYTES = 16 * 1024 * 1024  # the largest real OSV records are well under 1 MiB
MAX_ERRORS_KEPT = 500
MAX_ECOSYSTEMS_KEPT = 200
DETAILS_LENGTH = 4000
SUMMARY_LENGTH = 500
ID_LENGTH = 255
NAME_LENGTH = 255
ECOSYSTEM_LENGTH = 100


class OsvSourceError(Exception):
    """The path is missing, or not a zip or directory this importer can read."""


class InvalidEntry(ValueError):
    """One entry that is not a usable OSV record; the message says why."""


@dataclass
class ParsedAdvisory:
    """A validated OSV record, ready to be written."""

    osv_id: str
    modified: datetime
    data: dict[str, Any]
    packages: list[tuple[str, str, dict[str, Any]]]  # (ecosystem, normalised name, affected entry)

    @property
    def withdrawn(self) -> datetime | None:
        return _timestamp(self.data.get("withdrawn"))

    def fields(self) -> dict[str, Any]:
        """The `Advisory` column values of this record."""
        data = self.data
        summary = data.get("summary")
        summary = summary if isinstance(summary, str) else ""
        details = data.get("details")
        details = details if isinstance(details, str) else ""
        return {
            "aliases": [a for a in data.get("aliases") or () if isinstance(a, str)][:100],
            "upstream": [u for u in data.get("upstream") or () if isinstance(u, str)][:100],
            "ecosystems": sorted({ecosystem for ecosystem, _, _ in self.packages}),
            "summary": summary[:SUMMARY_LENGTH],
            "details": details[:DETAILS_LENGTH],
            "severity": _list_of_dicts(data.get("severity")),
            "database_specific": data["database_specific"]
            if isinstance(data.get("database_specific"), dict)
            else {},
            "references": _list_of_dicts(data.get("references")),
            "modified": self.modified,
            "published": _timestamp(data.get("published")),
            "withdrawn": self.withdrawn,
            "raw": data,
        }


@dataclass
class Tally:
    """Counts of one import, copied onto its `OsvImport` row."""

    seen: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    withdrawn: int = 0
    invalid: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)
    ecosystems: set[str] = field(default_factory=set)

    def refuse(self, entry: str, reason: str) -> None:
        self.invalid += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append({"entry": entry[:300], "reason": reason[:500]})


def _list_of_dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _timestamp(value: Any) -> datetime | None:
    """An RFC 3339 timestamp as an aware datetime (naive ones are UTC); None if unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        return None
    if parsed is None:
        return None
    return parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=UTC)


def _check_affected(index: int, affected: Any) -> tuple[str, str, dict[str, Any]] | None:
    """Validate one `affected[]` entry; its (ecosystem, normalised name) if it names a package."""
    where = f"affected[{index}]"
    if not isinstance(affected, dict):
        raise InvalidEntry(f"{where} is not an object")
    ranges = affected.get("ranges", [])
    if not isinstance(ranges, list):
        raise InvalidEntry(f"{where}.ranges is not a list")
    for r, range_ in enumerate(ranges):
        if not isinstance(range_, dict) or not isinstance(range_.get("type"), str):
            raise InvalidEntry(f"{where}.ranges[{r}] has no type")
        if not isinstance(range_.get("events"), list):
            raise InvalidEntry(f"{where}.ranges[{r}].events is not a list")
    if not isinstance(affected.get("versions", []), list):
        raise InvalidEntry(f"{where}.versions is not a list")
    package = affected.get("package")
    if package is None:
        return None  # allowed by the schema (e.g. GIT-only entries); nothing to index
    if not isinstance(package, dict):
        raise InvalidEntry(f"{where}.package is not an object")
    ecosystem, name = package.get("ecosystem"), package.get("name")
    if not isinstance(ecosystem, str) or not ecosystem.strip() or len(ecosystem) > ECOSYSTEM_LENGTH:
        raise InvalidEntry(f"{where}.package.ecosystem is missing or invalid")
    if not isinstance(name, str) or not name.strip():
        raise InvalidEntry(f"{where}.package.name is missing")
    normalized = normalize_name(ecosystem, name)
    if len(normalized) > NAME_LENGTH:
        raise InvalidEntry(f"{where}.package.name is longer than {NAME_LENGTH} characters")
    return ecosystem, normalized, affected


def parse_entry(raw: bytes) -> ParsedAdvisory:
    """Validate one OSV JSON document; raises `InvalidEntry` saying what is wrong."""
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidEntry(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidEntry("not a JSON object")
    osv_id = data.get("id")
    if not isinstance(osv_id, str) or not osv_id.strip():
        raise InvalidEntry("no id")
    if len(osv_id) > ID_LENGTH:
        raise InvalidEntry(f"id is longer than {ID_LENGTH} characters")
    modified = _timestamp(data.get("modified"))
    if modified is None:
        raise InvalidEntry("modified is missing or not an RFC 3339 timestamp")
    if "withdrawn" in data and data["withdrawn"] is not None and _timestamp(data["withdrawn"]) is None:
        raise InvalidEntry("withdrawn is not an RFC 3339 timestamp")
    affected = data.get("affected", [])
    if affected is None:
        affected = []
    if not isinstance(affected, list):
        raise InvalidEntry("affected is not a list")
    for key in ("aliases", "upstream"):
        if key in data and not isinstance(data[key], list | None):
            raise InvalidEntry(f"{key} is not a list")
    packages: list[tuple[str, str, dict[str, Any]]] = []
    for index, entry in enumerate(affected):
        checked = _check_affected(index, entry)
        if checked is not None:
            packages.append(checked)
    return ParsedAdvisory(osv_id=osv_id.strip(), modified=modified, data=data, packages=packages)


def _json_files(root: Path) -> Iterator[Path]:
    """Every `*.json` file under `root`, one directory listing at a time (names sorted
    within a directory), so a tree of 200,000 files is never listed whole."""
    stack = [root]
    while stack:
        directory = stack.pop()
        try:
            with os.scandir(directory) as scan:
                entries = sorted((entry.name, entry.is_dir(follow_symlinks=False)) for entry in scan)
        except OSError:
            continue
        subdirectories: list[Path] = []
        for name, is_dir in entries:
            if is_dir:
                subdirectories.append(directory / name)
            elif name.endswith(".json"):
                yield directory / name
        stack.extend(reversed(subdirectories))


def _is_json(name: str) -> bool:
    return name.endswith(".json")


def iter_source(path: Path) -> Iterator[tuple[str, bytes | None, str]]:
    """Each `*.json` entry of a zip or directory (recursively) as (name, bytes, problem).

    `bytes` is None when the entry cannot be read (too large, corrupt in the zip);
    `problem` then says why. Both are read lazily: a directory one listing at a time,
    a zip one central directory record at a time (`zip_stream`), so memory does not
    grow with the number of records. Raises `OsvSourceError` when the path itself is
    unusable, or when a zip's structure turns out broken part-way.
    """
    if not path.exists():
        raise OsvSourceError(f"{path} does not exist")
    if path.is_dir():
        for file in _json_files(path):
            name = str(file.relative_to(path))
            try:
                if not file.is_file():
                    continue
                if file.stat().st_size > MAX_ENTRY_BYTES:
                    yield name, None, f"larger than {MAX_ENTRY_BYTES} bytes"
                    continue
                content = file.read_bytes()
            except OSError as exc:
                yield name, None, f"cannot be read: {exc.strerror or exc}"
                continue
            yield name, content, ""
        return
    try:
        for member, data, problem in iter_members(path, MAX_ENTRY_BYTES, want=_is_json):
            if data is None and not problem.startswith("larger than"):
                problem = f"cannot be read from the zip: {problem}"
            yield member.name, data, problem
    except ZipStreamError as exc:
        raise OsvSourceError(f"{path} is not a readable zip file: {exc}") from None
    except OSError as exc:
        raise OsvSourceError(f"{path} cannot be read: {exc.strerror or exc}") from None


def _package_rows(advisory_id: int, parsed: ParsedAdvisory) -> list[AdvisoryPackage]:
    if parsed.withdrawn is not None:
        return []
    seen: set[tuple[str, str, str]] = set()
    rows: list[AdvisoryPackage] = []
    for ecosystem, name, affected in parsed.packages:
        key = (ecosystem, name, json.dumps(affected, sort_keys=True))
        if key in seen:  # the same entry twice adds nothing
            continue
        seen.add(key)
        rows.append(
            AdvisoryPackage(advisory_id=advisory_id, ecosystem=ecosystem, name=name, affected=affected)
        )
    return rows


_UPDATE_FIELDS = [
    "aliases",
    "upstream",
    "ecosystems",
    "summary",
    "details",
    "severity",
    "database_specific",
    "references",
    "modified",
    "published",
    "withdrawn",
    "raw",
    "imported_at",
]


def _apply_batch(batch: dict[str, ParsedAdvisory], tally: Tally) -> None:
    """Upsert one batch (ids unique within it) in one transaction, in a fixed number of queries."""
    now = timezone.now()
    with transaction.atomic():
        stored = {
            osv_id: (pk, modified)
            for osv_id, pk, modified in Advisory.objects.filter(osv_id__in=list(batch)).values_list(
                "osv_id", "pk", "modified"
            )
        }
        to_create: list[Advisory] = []
        to_update: list[Advisory] = []
        for osv_id, parsed in batch.items():
            if osv_id not in stored:
                to_create.append(Advisory(osv_id=osv_id, imported_at=now, **parsed.fields()))
            elif parsed.modified > stored[osv_id][1]:
                to_update.append(
                    Advisory(pk=stored[osv_id][0], osv_id=osv_id, imported_at=now, **parsed.fields())
                )
            else:
                tally.unchanged += 1
                continue
            if parsed.withdrawn is not None:
                tally.withdrawn += 1
        created = Advisory.objects.bulk_create(to_create, batch_size=1000)
        if to_update:
            Advisory.objects.bulk_update(to_update, _UPDATE_FIELDS, batch_size=500)
            AdvisoryPackage.objects.filter(advisory_id__in=[a.pk for a in to_update]).delete()
        packages: list[AdvisoryPackage] = []
        for advisory in [*created, *to_update]:
            packages.extend(_package_rows(advisory.pk, batch[advisory.osv_id]))
        AdvisoryPackage.objects.bulk_create(packages, batch_size=2000)
    tally.created += len(created)
    tally.updated += len(to_update)


def _read_into_batches(path: Path, tally: Tally, batch_size: int) -> None:
    batch: dict[str, ParsedAdvisory] = {}
    for name, data, problem in iter_source(path):
        tally.seen += 1
        if data is None:
            tally.refuse(name, problem)
            continue
        try:
            parsed = parse_entry(data)
        except InvalidEntry as exc:
            tally.refuse(name, str(exc))
            continue
        for ecosystem, _, _ in parsed.packages:
            if len(tally.ecosystems) < MAX_ECOSYSTEMS_KEPT:
                tally.ecosystems.add(ecosystem)
        known = batch.get(parsed.osv_id)
        if known is not None:
            # The same id twice in one source: the newer copy wins, the other is unchanged.
            tally.unchanged += 1
            if known.modified >= parsed.modified:
                continue
        batch[parsed.osv_id] = parsed
        if len(batch) >= batch_size:
            _apply_batch(batch, tally)
            batch = {}
    if batch:
        _apply_batch(batch, tally)


def database_version() -> str:
    """The newest `modified` of all stored advisories, ISO 8601; "" for an empty database."""
    newest = Advisory.objects.aggregate(newest=Max("modified"))["newest"]
    return newest.isoformat() if newest else ""


def import_osv(path: Path | str, *, actor: Actor, batch_size: int = BATCH_SIZE) -> OsvImport:
    """Import a zip or directory of OSV records; returns the finished `OsvImport`.

    Raises `OsvSourceError` (before recording anything) when `path` is missing or
    not a zip or directory. A failure after reading started fails the import row
    with its message; batches already written stay.
    """
    path = Path(path)
    if not path.exists():
        raise OsvSourceError(f"{path} does not exist")
    if not path.is_dir() and not is_zip(path):
        raise OsvSourceError(f"{path} is neither a directory nor a zip file")
    run = OsvImport.objects.create(source=str(path)[:1024], requested_by=actor.name[:150])
    tally = Tally()
    status, message = OsvImport.Status.SUCCEEDED, Stored("")
    try:
        _read_into_batches(path, tally, batch_size)
    except OsvSourceError as exc:
        status, message = OsvImport.Status.FAILED, Stored(str(exc))
    except Exception as exc:
        log.exception("OSV import of %s failed", path)
        status, message = OsvImport.Status.FAILED, stored(gettext_noop("import stopped: %(detail)s"), detail=str(exc))
    if status == OsvImport.Status.SUCCEEDED:
        message = stored(
            gettext_noop("%(created)s created, %(updated)s updated, %(unchanged)s unchanged, %(invalid)s invalid"),
            created=tally.created,
            updated=tally.updated,
            unchanged=tally.unchanged,
            invalid=tally.invalid,
        )
    with transaction.atomic():
        run.status = status
        run.finished_at = timezone.now()
        run.message, run.message_i18n = message.text, message.data
        run.database_version = database_version()
        for name in ("seen", "created", "updated", "unchanged", "withdrawn", "invalid"):
            setattr(run, name, getattr(tally, name))
        run.errors = tally.errors
        run.ecosystems = sorted(tally.ecosystems)
        run.save()
        record(
            AuditAction.OSV_IMPORT,
            actor=actor,
            target_type="osv_import",
            target_name=path.name,
            details={
                "import": run.pk,
                "status": status,
                "created": tally.created,
                "updated": tally.updated,
                "withdrawn": tally.withdrawn,
                "invalid": tally.invalid,
                "database_version": run.database_version,
            },
        )
    return run


def current_database_version() -> str:
    """The database version of the last successful import ("" before any)."""
    return (
        OsvImport.objects.filter(status=OsvImport.Status.SUCCEEDED)
        .order_by("-finished_at", "-id")
        .values_list("database_version", flat=True)
        .first()
        or ""
    )
