"""The OSV evaluation algorithm and a matcher built on it.

`evaluate()` follows https://ossf.github.io/osv-schema/#evaluation for one
`affected[]` entry of an OSV record:

- a version is affected if it is listed in `versions` or lies in any range (OR);
- per range, events are sorted by version in the range's order (ECOSYSTEM: the
  package ecosystem's, SEMVER: SemVer 2.0.0); `introduced: "0"` sorts before every
  version; at equal versions `introduced` is applied before `fixed` and
  `last_affected`, so an empty `[x, x)` range affects nothing;
- walking the sorted events, `introduced <= v` makes `v` vulnerable, `fixed <= v`
  and `last_affected < v` make it not vulnerable again;
- `limit` events bound a range from above, exclusively; a range without any applies
  everywhere and `limit: "*"` means infinity;
- GIT ranges need the repository's commit graph and are ignored, as are range types
  this module does not know.

Besides the verdict it reports the fixed version(s) to show: for each range that
contains `v`, the first `fixed` event above `v` (none when the range is closed by
`last_affected`, or never fixed). An entry listed only through `versions` has no
fixed version.

Explicit `versions` match by exact string, or by equality in the ecosystem's order
when both strings are valid there (so PyPI `1.0` matches a listed `1.0.0`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .names import normalize_name
from .versions import SEMVER, VersionScheme, is_supported, scheme_for

Advisory = Mapping[str, Any]
AffectedEntry = Mapping[str, Any]
Package = tuple[str, str, str]  # (ecosystem, name, version)
AdvisoryIndex = Mapping[tuple[str, str], Sequence[Advisory]]

INTRODUCED, FIXED, LAST_AFFECTED, LIMIT = "introduced", "fixed", "last_affected", "limit"
# Tie-break at equal versions: see the module docstring.
_EVENT_ORDER = {INTRODUCED: 0, FIXED: 1, LAST_AFFECTED: 2, LIMIT: 3}


@dataclass(frozen=True)
class Evaluation:
    """The verdict for one installed version against one `affected[]` entry."""

    affected: bool
    fixed: tuple[str, ...] = ()


NOT_AFFECTED = Evaluation(False)


@dataclass(frozen=True)
class _Event:
    kind: str
    version: str
    # (0,) sorts before (1, key) of any real version: used for `introduced: "0"`.
    key: tuple[Any, ...]


def _events(range_: Mapping[str, Any], scheme: VersionScheme) -> list[_Event]:
    """The range's events, validated and sorted by version (then by kind)."""
    events: list[_Event] = []
    for raw in range_.get("events") or ():
        if not isinstance(raw, Mapping):
            continue
        for kind in _EVENT_ORDER:
            value = raw.get(kind)
            if isinstance(value, str) and value:
                if kind == INTRODUCED and value == "0":
                    key: tuple[Any, ...] = (0,)
                elif kind == LIMIT and value == "*":
                    key = (2,)
                else:
                    key = (1, scheme.sort_key(value))
                events.append(_Event(kind, value, key))
                break  # the schema allows one kind per event object
    events.sort(key=lambda event: (event.key, _EVENT_ORDER[event.kind]))
    return events


def _before_limits(version_key: tuple[Any, ...], events: Sequence[_Event]) -> bool:
    limits = [event for event in events if event.kind == LIMIT]
    return not limits or any(version_key < event.key for event in limits)


def evaluate_range(version: str, range_: Mapping[str, Any], scheme: VersionScheme) -> Evaluation:
    """Whether `version` lies in one ECOSYSTEM/SEMVER range, and its fixed version."""
    events = _events(range_, scheme)
    version_key = (1, scheme.sort_key(version))
    if not events or not _before_limits(version_key, events):
        return NOT_AFFECTED
    vulnerable = False
    for event in events:
        if event.kind == INTRODUCED and version_key >= event.key:
            vulnerable = True
        elif (event.kind == FIXED and version_key >= event.key) or (
            event.kind == LAST_AFFECTED and version_key > event.key
        ):
            vulnerable = False
    if not vulnerable:
        return NOT_AFFECTED
    for event in events:
        if event.key > version_key and event.kind in (FIXED, LAST_AFFECTED):
            return Evaluation(True, (event.version,) if event.kind == FIXED else ())
    return Evaluation(True)


def _listed(version: str, versions: Iterable[Any], scheme: VersionScheme | None) -> bool:
    comparable = scheme is not None and scheme.is_valid(version)
    for listed in versions:
        if not isinstance(listed, str):
            continue
        if listed == version:
            return True
        if (
            comparable
            and scheme is not None
            and scheme.is_valid(listed)
            and scheme.compare(version, listed) == 0
        ):
            return True
    return False


def evaluate(version: str, ecosystem: str, affected: AffectedEntry) -> Evaluation:
    """Evaluate one `affected[]` entry for `version` of a package in `ecosystem`.

    The caller has already matched the entry's package to the installed one. An
    ecosystem without a known version order can still match through `versions`.
    """
    scheme = scheme_for(ecosystem) if is_supported(ecosystem) else None
    is_affected = False
    fixed: list[str] = []
    for range_ in affected.get("ranges") or ():
        if not isinstance(range_, Mapping):
            continue
        range_type = range_.get("type")
        if range_type == "SEMVER":
            range_scheme: VersionScheme | None = SEMVER
        elif range_type == "ECOSYSTEM":
            range_scheme = scheme
        else:  # GIT needs a commit graph; unknown types cannot be evaluated
            continue
        if range_scheme is None:
            continue
        result = evaluate_range(version, range_, range_scheme)
        if result.affected:
            is_affected = True
            fixed.extend(v for v in result.fixed if v not in fixed)
    if not is_affected and _listed(version, affected.get("versions") or (), scheme):
        is_affected = True
    if not is_affected:
        return NOT_AFFECTED
    if scheme is not None:
        fixed.sort(key=scheme.sort_key)
    return Evaluation(True, tuple(fixed))


def is_affected(version: str, ecosystem: str, affected: AffectedEntry) -> bool:
    """Shorthand for `evaluate(...).affected`."""
    return evaluate(version, ecosystem, affected).affected


@dataclass(frozen=True)
class Finding:
    """One advisory that applies to one installed package."""

    vulnerability_id: str
    aliases: tuple[str, ...]
    upstream: tuple[str, ...]  # the records this advisory was derived from (Debian's: its CVE)
    ecosystem: str
    package: str
    version: str
    fixed_versions: tuple[str, ...]
    advisory: Advisory = field(compare=False, hash=False, repr=False)
    # The `affected[]` entries that matched: per-package severity and
    # ecosystem-specific data (e.g. Debian urgency) live there.
    matched: tuple[AffectedEntry, ...] = field(default=(), compare=False, hash=False, repr=False)


def build_index(advisories: Iterable[Advisory]) -> dict[tuple[str, str], list[Advisory]]:
    """Index advisories by (ecosystem, normalised package name) of each affected entry.

    Withdrawn advisories are left out; an advisory naming the same package twice
    is listed once under it.
    """
    index: dict[tuple[str, str], list[Advisory]] = {}
    for advisory in advisories:
        if advisory.get("withdrawn"):
            continue
        seen: set[tuple[str, str]] = set()
        for affected in advisory.get("affected") or ():
            package = affected.get("package") or {}
            ecosystem, name = package.get("ecosystem"), package.get("name")
            if not isinstance(ecosystem, str) or not isinstance(name, str):
                continue
            key = (ecosystem, normalize_name(ecosystem, name))
            if key not in seen:
                seen.add(key)
                index.setdefault(key, []).append(advisory)
    return index


def match(packages: Iterable[Package], index: AdvisoryIndex) -> list[Finding]:
    """Findings for installed packages against an index of OSV advisories.

    `packages` are (ecosystem, name, version) tuples, e.g. ("Debian:12", "openssl",
    "3.0.11-1~deb12u2") with the *source* package name for Debian/Ubuntu/Alpine;
    `index` maps (ecosystem, normalised name) to advisories (see `build_index`).
    One finding per (package, advisory), in input order; withdrawn advisories and
    `affected[]` entries for other ecosystems or names are ignored.
    """
    findings: list[Finding] = []
    for ecosystem, name, version in packages:
        normalized = normalize_name(ecosystem, name)
        for advisory in index.get((ecosystem, normalized), ()):
            if advisory.get("withdrawn"):
                continue
            matched: list[AffectedEntry] = []
            fixed: list[str] = []
            for affected in advisory.get("affected") or ():
                package = affected.get("package") or {}
                if package.get("ecosystem") != ecosystem:
                    continue
                if normalize_name(ecosystem, str(package.get("name", ""))) != normalized:
                    continue
                result = evaluate(version, ecosystem, affected)
                if result.affected:
                    matched.append(affected)
                    fixed.extend(v for v in result.fixed if v not in fixed)
            if matched:
                if is_supported(ecosystem):
                    fixed.sort(key=scheme_for(ecosystem).sort_key)
                findings.append(
                    Finding(
                        vulnerability_id=str(advisory.get("id", "")),
                        aliases=tuple(advisory.get("aliases") or ()),
                        upstream=tuple(advisory.get("upstream") or ()),
                        ecosystem=ecosystem,
                        package=name,
                        version=version,
                        fixed_versions=tuple(fixed),
                        advisory=advisory,
                        matched=tuple(matched),
                    )
                )
    return findings


__all__ = [
    "Evaluation",
    "Finding",
    "build_index",
    "evaluate",
    "evaluate_range",
    "is_affected",
    "match",
]
