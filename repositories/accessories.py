"""Accessories: signatures, SBOMs, attestations and other referrers of an artifact.

Distribution 2.8 has no referrers API, so tools leave them as tags that name their
subject's digest (cosign's `sha256-<hex>.sig` / `.att` / `.sbom`, and the OCI
referrers tag schema `sha256-<hex>`, an index) or as manifests carrying an OCI 1.1
`subject` (`Artifact.subject_digest`), pushed by digest or under any tag. They are
not versions anyone pulls, so the tag list shows them nested under the tag rows of
their subject (as Harbor nests accessories under an artifact), not as rows.

One rule for the page and the API (`filter_accessories`), with three modes:
- `include`: every tag (the API's default: a registry client expects all tags);
- `exclude`: ordinary tags, plus accessory tags whose subject has no ordinary tag
  here (orphans: their subject is missing or untagged). An orphan has no row to
  nest under, so hiding it would make it invisible; it stays, marked (the page's
  default);
- `only`: accessory tags alone, orphans or not.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import connections, models
from django.db.models import (
    Case,
    CharField,
    Exists,
    Func,
    Lookup,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Concat, Length, NullIf, Substr
from django.db.models.lookups import Exact, In
from django.utils.translation import gettext_lazy

from portal import keyset
from portal.keyset import Total
from portal.statements import Prepared

from .models import Artifact, Repository, Tag
from .retention.candidates import reference_subject

# The reference tags in SQL (PostgreSQL's `~` and Python's `re`, which SQLite's
# REGEXP calls, read these alike). `reference_subject` is the same rule in Python.
_SUFFIX = r"(\.(sig|att|sbom))?$"
SHA256_TAG_REGEX = r"^sha256-[0-9a-f]{64}" + _SUFFIX
SHA512_TAG_REGEX = r"^sha512-[0-9a-f]{128}" + _SUFFIX
REFERENCE_TAG_REGEX = r"^(sha256-[0-9a-f]{64}|sha512-[0-9a-f]{128})" + _SUFFIX


class AccessoryKind(models.TextChoices):
    SIGNATURE = "signature", gettext_lazy("signature")
    SBOM = "sbom", gettext_lazy("SBOM")
    ATTESTATION = "attestation", gettext_lazy("attestation")
    REFERRERS = "referrers", gettext_lazy("referrers index")
    OTHER = "other", gettext_lazy("referrer")


class AccessoryMode(models.TextChoices):
    INCLUDE = "include", gettext_lazy("Show accessory tags as rows too")
    EXCLUDE = "exclude", gettext_lazy("Nest accessory tags under their subject")
    ONLY = "only", gettext_lazy("Only accessory tags")


_TAG_SUFFIX_KINDS = {
    ".sig": AccessoryKind.SIGNATURE,
    ".att": AccessoryKind.ATTESTATION,
    ".sbom": AccessoryKind.SBOM,
}
# Substrings of `artifactType` (or of the config media type a manifest without one
# falls back to) that tools use: cosign, Notation, SPDX, CycloneDX, Syft, in-toto, DSSE.
_TYPE_HINTS: tuple[tuple[tuple[str, ...], AccessoryKind], ...] = (
    (("spdx", "cyclonedx", "syft", "sbom"), AccessoryKind.SBOM),
    (("in-toto", "intoto", "dsse", "attestation", "provenance", "slsa"), AccessoryKind.ATTESTATION),
    (("signature", "cosign", "notary", "notation", ".sig"), AccessoryKind.SIGNATURE),
)


def kind_of_tag(name: str) -> AccessoryKind | None:
    """The accessory kind a reference tag names, or None for an ordinary tag."""
    if reference_subject(name) is None:
        return None
    for suffix, kind in _TAG_SUFFIX_KINDS.items():
        if name.endswith(suffix):
            return kind
    return AccessoryKind.REFERRERS


def kind_of_type(artifact_type: str, media_type: str = "") -> AccessoryKind:
    """The accessory kind of a manifest with a `subject`, from its artifact type."""
    text = f"{artifact_type} {media_type}".lower()
    for hints, kind in _TYPE_HINTS:
        if any(hint in text for hint in hints):
            return kind
    return AccessoryKind.OTHER


def kind_of(tag_name: str | None, artifact_type: str, media_type: str = "") -> AccessoryKind:
    """A tag's suffix says what it is; without a reference tag, the artifact type does."""
    by_name = kind_of_tag(tag_name) if tag_name else None
    return by_name or kind_of_type(artifact_type, media_type)


def accessory_subject_of(tag: Tag) -> str | None:
    """The digest `tag` is an accessory of, or None for an ordinary tag (Python twin
    of `subject_expression`; reads `tag.artifact`, which the lists select)."""
    return reference_subject(tag.name) or tag.artifact.subject_digest or None


# --- in SQL ----------------------------------------------------------------------

ACCESSORY_TAG = Q(name__regex=REFERENCE_TAG_REGEX) | ~Q(artifact__subject_digest="")
"""The tags that are accessories: a reference name, or an artifact with a subject. It joins
each tag to its artifact: fine for a few rows (a page, a subquery's), not for a whole list
(`accessory_tags` is the same rule for one repository's list)."""

# The literal starts of every reference tag name, and the first name after each (bytewise).
_REFERENCE_RANGES = (("sha256-", "sha256."), ("sha512-", "sha512."))


def accessory_tags(repository: Repository | int, alias: str, *, negated: bool = False, loose: bool = False) -> Q:
    """`ACCESSORY_TAG` for the tags of `repository` (its pk will do) on database `alias`,
    without joining each tag to its artifact, so a whole list costs little per row:

    - a reference name is within `sha256-` / `sha512-` and the rest is as the regex says
      (`_reference_rest`). Where names compare bytewise (SQLite, PostgreSQL's C collations)
      the start is an index range of (repository, name), elsewhere a `LIKE 'sha256-%'`; the
      rest is only checked for the few names that start so;
    - an artifact with a subject is one of the repository's artifacts whose `subject_digest`
      is not empty, found through the (repository, subject) index once per query (a tag's
      artifact is always in the tag's repository). On PostgreSQL the tags on them are an
      array the (artifact) index reads, so the accessories of a list are a bitmap OR of
      index reads, as few rows as there are accessories; when the filter is `negated`
      (every ordinary tag, each checked) a hashed set instead, whose lookup does not grow
      with the number of such artifacts.

    `loose` leaves out the check of the rest of the name: every name that starts as a
    reference tag does (`sha256-latest` too), which costs nothing beyond the range.
    """
    from .tag_lists import orders_bytewise

    bytewise = orders_bytewise(alias)
    named = Q()
    for (start, end), hex_length in zip(_REFERENCE_RANGES, (64, 128), strict=True):
        within = Q(name__gte=start, name__lt=end) if bytewise else Q(name__startswith=start)
        named |= within if loose else within & _reference_rest(len(start), hex_length)
    with_subject = Artifact.objects.using(alias).filter(repository=repository)
    # Every digest sorts after '' bytewise: a range the index reads, where `<> ''` is a scan.
    with_subject = with_subject.filter(subject_digest__gt="") if bytewise else with_subject.exclude(subject_digest="")
    ids = with_subject.order_by().values("pk")
    lookup = "artifact_id__in" if negated or connections[alias].vendor != "postgresql" else "artifact_id__wharf_any"
    return named | Q(**{lookup: ids})


def _reference_rest(start: int, hex_length: int) -> Q:
    """What `REFERENCE_TAG_REGEX` asks of a name after its first `start` characters (`sha256-`),
    in plain string functions: `hex_length` lowercase hex digits, then nothing or one of the
    suffixes. PostgreSQL's regex engine takes some 20 µs a name for the counted repetitions;
    these take about a tenth of that, on SQLite too."""
    bare = start + hex_length
    hex_part = Substr("name", start + 1, hex_length)
    not_hex = Func(hex_part, Value("0123456789abcdef"), function="LTRIM", output_field=CharField())
    return (
        Q(In(Length("name"), [bare, *(bare + len(suffix) for suffix in _TAG_SUFFIX_KINDS)]))
        & Q(Exact(not_hex, ""))
        & Q(In(Substr("name", bare + 1), ["", *_TAG_SUFFIX_KINDS]))
    )


class _AnyOfSubquery(Lookup):  # type: ignore[type-arg]
    """`column = ANY(ARRAY(subquery))` (PostgreSQL): the subquery runs once, and an index on
    `column` reads its values, also as one arm of a bitmap OR, which `IN (subquery)` is not."""

    lookup_name = "wharf_any"

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY(ARRAY{rhs})", [*lhs_params, *rhs_params]


class _AnyOfArray(Lookup):  # type: ignore[type-arg]
    """`column = ANY(ARRAY(SELECT unnest(%s::text[])))` (PostgreSQL) for a list of strings:
    the index reads them as `IN` would, but the planner does not estimate each value
    against the column's statistics (200 tag names planned in 3 ms, run in 0.3 ms)."""

    lookup_name = "wharf_in_array"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(ARRAY(SELECT unnest(%s::text[])))", [*lhs_params, list(self.rhs)]


models.ForeignKey.register_lookup(_AnyOfSubquery)
models.CharField.register_lookup(_AnyOfArray)


def subject_expression() -> Case:
    """A tag's subject digest in SQL (NULL for an ordinary tag): from its name first
    (`sha256-<hex>.sig` → `sha256:<hex>`), else its artifact's `subject`."""
    return Case(
        When(name__regex=SHA256_TAG_REGEX, then=Concat(Value("sha256:"), Substr("name", 8, 64))),
        When(name__regex=SHA512_TAG_REGEX, then=Concat(Value("sha512:"), Substr("name", 8, 128))),
        # The artifact's own subject, read by its key only for a tag that gets this far, so a
        # count or filter over the list does not join every tag to its artifact.
        default=NullIf(Subquery(Artifact.objects.filter(pk=OuterRef("artifact_id")).order_by().values("subject_digest")[:1]), Value("")),
        output_field=CharField(),
    )


def _subject_has_ordinary_tag() -> Exists:
    """Whether the outer row's `accessory_subject` is the artifact of an ordinary tag
    of the same repository: the row it is nested under."""
    return Exists(
        _ordinary_tags().filter(repository_id=OuterRef("repository_id"), artifact__digest=OuterRef("accessory_subject"))
    )


def _ordinary_tags() -> QuerySet[Tag]:
    """The tags that are not accessories (`ACCESSORY_TAG`): the rows accessories nest under."""
    return Tag.objects.exclude(ACCESSORY_TAG)


def filter_accessories(
    tags: QuerySet[Tag], mode: str, repository: Repository | int | None = None, *, annotate: bool = True
) -> QuerySet[Tag]:
    """`tags` as `mode` (an `AccessoryMode`) asks; see the module docstring.

    Every mode annotates `accessory_subject` (the subject digest, NULL for ordinary tags),
    which joins each row to its artifact; without `annotate` (to count rows) `include` and
    `only` leave it out. With `repository` (that of every row of `tags`) the filters ask
    `accessory_tags`, which reads no artifact for an ordinary tag: the subject (and, for
    `exclude`, whether it has an ordinary tag) is only worked out for accessory rows."""
    exclude = mode == AccessoryMode.EXCLUDE
    rows = lookalike_rows(repository, tags.db) if exclude and isinstance(repository, Repository) else None
    if (exclude and rows is None) or annotate:
        tags = tags.annotate(accessory_subject=subject_expression())
    if mode == AccessoryMode.ONLY:
        return tags.filter(ACCESSORY_TAG if repository is None else accessory_tags(repository, tags.db))
    if mode == AccessoryMode.EXCLUDE:
        if repository is None:
            return tags.filter(Q(accessory_subject__isnull=True) | ~_subject_has_ordinary_tag())
        if rows is not None:  # the few look-alikes that are rows by id, the rest by name and artifact alone
            return tags.filter(~accessory_tags(repository, tags.db, negated=True, loose=True) | Q(pk__in=rows))
        ordinary = ~accessory_tags(repository, tags.db, negated=True)
        return tags.filter(ordinary | ~_subject_has_ordinary_tag())
    return tags


# More look-alike rows than this and a list checks each accessory row itself, as without them.
LOOKALIKE_ROWS_REMEMBERED = 500
LOOKALIKE_ROWS_CACHE_SECONDS = 3600


def lookalike_rows(repository: Repository, alias: str = "default") -> list[int] | None:
    """The ids of `repository`'s tags that look like accessories (`accessory_tags(loose=True)`:
    a name that starts as a reference tag does, or an artifact with a subject) but are rows
    of `exclude`: orphans (their subject has no ordinary tag here) and names such as
    `sha256-latest` that are not reference tags. None if there are more than
    `LOOKALIKE_ROWS_REMEMBERED`. Usually there are none.

    Whether an accessory is nested costs a check of its name and an index lookup of its
    subject (some 20 µs on PostgreSQL), so a list that checked each row paid it for every
    accessory it read past: the first page by name of a repository with 1,000 signatures
    (whose `sha256-...` names sort before `v1`) spent 20 ms on them. With these few ids
    the list tells a row by its name's range and its artifact alone (2 ms there).

    They are worked out once and kept in the cache under the repository's `updated_at`,
    which every write of its tags or artifacts moves (`services.content.
    refresh_repository_counts`: in the same transaction, or for a retention run's deletions
    when their chunk is recorded), so the first list read after a change works them out
    afresh."""
    stamp = repository.updated_at.isoformat() if repository.updated_at else ""
    key = f"wharf:accessory-lookalike-rows:{alias}:{repository.pk}:{stamp}"
    # A page asks twice (its rows and its count): the second time from the instance, not the cache.
    memo = repository.__dict__.get("_lookalike_rows")
    found = memo[1] if memo is not None and memo[0] == key else cache.get(key)
    if found is None:
        tags = Tag.objects.using(alias).filter(repository=repository)
        lookalikes = tags.filter(accessory_tags(repository, alias, loose=True))
        rows = filter_accessories(lookalikes, AccessoryMode.EXCLUDE, repository.pk, annotate=False)
        # Unordered: `ORDER BY id LIMIT` would have PostgreSQL walk the primary key instead.
        ids = sorted(rows.order_by().values_list("pk", flat=True)[: LOOKALIKE_ROWS_REMEMBERED + 1])
        found = ids if len(ids) <= LOOKALIKE_ROWS_REMEMBERED else "many"
        cache.set(key, found, LOOKALIKE_ROWS_CACHE_SECONDS)
    repository.__dict__["_lookalike_rows"] = (key, found)
    return None if found == "many" else found


def count_accessory_filtered(
    tags: QuerySet[Tag],
    mode: str,
    repository: Repository | int,
    filtered: QuerySet[Tag] | None = None,
    *,
    known: int | None = None,
) -> Total:
    """How many rows `filter_accessories(tags, mode, repository)` (`filtered`, if the caller
    has it) has (`portal.keyset.count`), from `tags` (before that filter) and without the
    per-row work it costs: `include` and `only` count without joining the artifacts;
    `exclude` counts `tags` less the nested accessories (`nested_accessories`), both
    through indexes (SQLite counts `filtered` itself). `known`: how many `tags` are, as kept
    (`keyset.count`), when they are the whole list."""
    if mode == AccessoryMode.EXCLUDE:
        if filtered is None:
            filtered = filter_accessories(tags, mode, repository)
        return keyset.count(filtered, coarse=tags, left_out=lambda: nested_accessories(tags, repository), known=known)
    if mode == AccessoryMode.INCLUDE:
        return keyset.count(filter_accessories(tags, mode, repository, annotate=False), known=known)
    return keyset.count(filter_accessories(tags, mode, repository, annotate=False))


def nested_accessories(tags: QuerySet[Tag], repository: Repository | int | None = None) -> QuerySet[Tag]:
    """The accessory tags of `tags` that `AccessoryMode.EXCLUDE` leaves out (their subject has
    an ordinary tag here): the accessory names and subjects narrow the rows first (without
    reading artifacts, given `repository`: `accessory_tags`), so the subquery runs for
    those few rows only."""
    rows = lookalike_rows(repository, tags.db) if isinstance(repository, Repository) else None
    if rows is not None and repository is not None:
        return tags.filter(accessory_tags(repository, tags.db, loose=True)).exclude(pk__in=rows)
    accessory = ACCESSORY_TAG if repository is None else accessory_tags(repository, tags.db)
    accessories = tags.filter(accessory).annotate(accessory_subject=subject_expression())
    return accessories.filter(_subject_has_ordinary_tag())


def subject_homes(repository: Repository | int, subjects: Iterable[str]) -> dict[str, str]:
    """Where each of `subjects` (the `accessory_subject` of a page's accessory rows) is:
    `nested` (its artifact here has an ordinary tag, so the accessory also shows under that
    row), `untagged` (its artifact is here with no ordinary tag) or `missing` (no such
    artifact here). One query over the repository's (repository, digest) index, for the
    page's few subjects rather than as an annotation planned for every row of the list."""
    wanted = set(subjects)
    if not wanted:
        return {}
    here = dict(
        Artifact.objects.filter(repository=repository, digest__in=sorted(wanted))
        .annotate(tagged=Exists(_ordinary_tags().filter(artifact_id=OuterRef("pk"))))
        .values_list("digest", "tagged")
    )
    return {subject: ("nested" if here[subject] else "untagged") if subject in here else "missing" for subject in wanted}


# --- the accessories of one page of subjects -------------------------------------


@dataclass(frozen=True, slots=True)
class Accessory:
    """One accessory of a subject: which kind, the tag it carries (None when pushed
    by digest only), and its own manifest's digest."""

    kind: AccessoryKind
    tag: str | None
    digest: str

    @property
    def short_digest(self) -> str:
        return self.digest.split(":", 1)[-1][:12]


@dataclass(frozen=True, slots=True)
class KindCount:
    kind: AccessoryKind
    count: int

    @property
    def label(self) -> str:
        return str(self.kind.label)


def reference_tag_names(digest: str) -> list[str]:
    """The tag names that make an accessory of `digest`."""
    algorithm, _, hex_part = digest.partition(":")
    base = f"{algorithm}-{hex_part}"
    return [base, *(base + suffix for suffix in _TAG_SUFFIX_KINDS)]


def accessories_for(repository: Repository, digests: Iterable[str]) -> dict[str, list[Accessory]]:
    """The accessories of each of `digests` in `repository`, in one query: artifacts
    whose `subject` is one of them (tagged or not), and artifacts under a reference tag
    naming one of them (the tags' unique index answers the names)."""
    wanted = sorted(set(digests))
    if not wanted:
        return {}
    names = [name for digest in wanted for name in reference_tag_names(digest)]
    alias = Artifact.objects.db
    if connections[alias].vendor == "postgresql":  # the lists are one array parameter each: prepared
        rows = _ACCESSORY_ROWS.rows(repository.pk, wanted, names, using=alias)
    else:
        rows = list(_accessory_rows(repository.pk, wanted, names, postgresql=False))
    found: dict[str, dict[tuple[str, str | None], Accessory]] = defaultdict(dict)
    for digest, subject_digest, artifact_type, media_type, tag_name in rows:
        subject = (reference_subject(tag_name) if tag_name else None) or subject_digest
        if subject not in wanted:
            continue
        found[subject][(digest, tag_name)] = Accessory(kind_of(tag_name, artifact_type, media_type), tag_name, digest)
    order = list(AccessoryKind)
    return {
        subject: sorted(items.values(), key=lambda a: (order.index(a.kind), a.tag or "~", a.digest))
        for subject, items in found.items()
    }


def _accessory_rows(repository_id: int, wanted: list[str], names: list[str], *, postgresql: bool = True) -> QuerySet[Any]:
    """(digest, subject, artifact type, media type, tag name) of the referrers of `wanted` and
    of the artifacts under the reference tags `names`: two index lookups in one statement (an
    OR of the two would read every artifact of the repository): referrers by their `subject`
    (with each of their tags, or NULL when untagged), and artifacts under a reference tag,
    where `tags__name` in values_list reuses the filter's join so each row is the (artifact,
    tag) pair that matched. On PostgreSQL each list is one array parameter (`in_list`, and
    `wharf_in_array` for the many names); where there are no arrays (SQLite), `IN` lists."""
    columns = ("digest", "subject_digest", "artifact_type", "media_type", "tags__name")
    by_subject = (
        Artifact.objects.filter(repository_id=repository_id, subject_digest__in_list=wanted)
        .order_by()
        .values_list(*columns)
    )
    by_name = {f"tags__name__{'wharf_in_array' if postgresql else 'in'}": names}
    by_tag = (
        Artifact.objects.filter(repository_id=repository_id, tags__repository_id=repository_id, **by_name)
        .order_by()
        .values_list(*columns)
    )
    return by_subject.union(by_tag, all=True)


# Built and compiled once per process (`portal.statements`).
_ACCESSORY_ROWS = Prepared(_accessory_rows, int, list[str], list[str])


def count_by_kind(accessories: Iterable[Accessory]) -> list[KindCount]:
    """How many accessories of each kind, in `AccessoryKind` order (the page's chips)."""
    counts: dict[AccessoryKind, int] = defaultdict(int)
    for accessory in accessories:
        counts[accessory.kind] += 1
    return [KindCount(kind, counts[kind]) for kind in AccessoryKind if counts[kind]]
