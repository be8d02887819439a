"""Severity of an advisory: a CVSS base score when there is a vector, else the
distribution's own rating; always one of five bands.

Bands follow the CVSS v3 qualitative scale: Critical >= 9.0, High >= 7.0,
Medium >= 4.0, Low > 0; no score (or 0.0) is Unknown.

Which vector wins when an OSV `severity` list carries several: CVSS_V3 first (the
version nearly every source publishes, so scores stay comparable across findings),
then CVSS_V4, then CVSS_V2. Scores are computed with the `cvss` library from the
vector; if it is not installed, or a vector does not parse, that entry is skipped.

Without a usable vector the band comes from the distribution's rating: Debian
security-tracker urgencies (`unimportant`, `low`, `medium`, `high`, `not yet
assigned`, with the tracker's `*`/`**` markers ignored), Ubuntu priorities
(`negligible` ... `critical`) and GitHub's `database_specific.severity`
(`LOW`, `MODERATE`, `HIGH`, `CRITICAL`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any

try:  # optional: without it every vector scores Unknown
    import cvss as _cvss
    from cvss.exceptions import CVSSError as _CVSSError
except ImportError:  # pragma: no cover - exercised only where cvss is absent
    _cvss = None
    _CVSSError = ValueError


class Band(StrEnum):
    """Severity band, from most to least severe."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    UNKNOWN = "unknown"

    @property
    def rank(self) -> int:
        """4 for Critical down to 0 for Unknown, for sorting and "worst of"."""
        return _RANK[self]


_RANK = {Band.CRITICAL: 4, Band.HIGH: 3, Band.MEDIUM: 2, Band.LOW: 1, Band.UNKNOWN: 0}

# CVSS types in order of preference (see the module docstring).
CVSS_TYPES = ("CVSS_V3", "CVSS_V4", "CVSS_V2")


@dataclass(frozen=True)
class Severity:
    """A band, with the score and vector it came from when it came from CVSS."""

    band: Band
    score: float | None = None
    vector: str | None = None
    # "CVSS_V3", "CVSS_V4", "CVSS_V2", "urgency" or "" (nothing usable).
    source: str = ""


UNKNOWN = Severity(Band.UNKNOWN)


def band_for_score(score: float | None) -> Band:
    """The band of a CVSS base score."""
    if score is None or score <= 0:
        return Band.UNKNOWN
    if score >= 9.0:
        return Band.CRITICAL
    if score >= 7.0:
        return Band.HIGH
    if score >= 4.0:
        return Band.MEDIUM
    return Band.LOW


@lru_cache(maxsize=65536)
def cvss_base_score(kind: str, vector: str) -> float | None:
    """Base score of one CVSS vector of OSV severity type `kind`, or None.

    Cached: the same vectors recur across findings, and parsing one is the largest
    single cost of matching (profiled in benchmarks/scan_bench.py).

    A bare number between 0 and 10 (some feeds put a score where the vector should
    be) is taken as the score itself.
    """
    vector = vector.strip()
    try:
        number = float(vector)
    except ValueError:
        pass
    else:
        return number if 0.0 <= number <= 10.0 else None
    if _cvss is None:
        return None
    try:
        if kind == "CVSS_V3":
            return float(_cvss.CVSS3(vector).scores()[0])
        if kind == "CVSS_V4":
            return float(_cvss.CVSS4(vector).base_score)
        if kind == "CVSS_V2":
            return float(_cvss.CVSS2(vector).scores()[0])
    except (_CVSSError, ValueError, KeyError, IndexError, TypeError):
        return None
    return None


def from_cvss(entries: Iterable[Mapping[str, Any]] | None) -> Severity | None:
    """The preferred scorable CVSS entry of an OSV `severity` list, or None."""
    usable = [e for e in entries or () if isinstance(e, Mapping) and isinstance(e.get("score"), str)]
    for kind in CVSS_TYPES:
        for entry in usable:
            if entry.get("type") != kind:
                continue
            score = cvss_base_score(kind, entry["score"])
            if score is not None:
                return Severity(band_for_score(score), score, entry["score"].strip(), kind)
    return None


_RATINGS = {
    # Debian security tracker urgencies
    "unimportant": Band.LOW,
    "low": Band.LOW,
    "medium": Band.MEDIUM,
    "high": Band.HIGH,
    "not yet assigned": Band.UNKNOWN,
    "end-of-life": Band.UNKNOWN,
    # Ubuntu priorities
    "negligible": Band.LOW,
    "critical": Band.CRITICAL,
    "untriaged": Band.UNKNOWN,
    # GitHub advisory database
    "moderate": Band.MEDIUM,
}


def band_for_urgency(urgency: str | None) -> Band:
    """The band of a distribution urgency/priority string (case-insensitive)."""
    if not urgency:
        return Band.UNKNOWN
    return _RATINGS.get(urgency.strip().rstrip("*").strip().lower(), Band.UNKNOWN)


def assess(severity: Iterable[Mapping[str, Any]] | None = None, urgency: str | None = None) -> Severity:
    """CVSS from an OSV `severity` list if any entry scores, else the urgency's band."""
    scored = from_cvss(severity)
    if scored is not None:
        return scored
    band = band_for_urgency(urgency)
    return Severity(band, source="urgency") if band is not Band.UNKNOWN else UNKNOWN


def _ratings(advisory: Mapping[str, Any], matched: Iterable[Mapping[str, Any]]) -> Iterable[str]:
    """Distribution ratings an OSV record carries, most specific first."""
    for affected in matched:
        for section in ("ecosystem_specific", "database_specific"):
            data = affected.get(section)
            if isinstance(data, Mapping):
                for key in ("urgency", "severity", "priority"):
                    if isinstance(data.get(key), str):
                        yield data[key]
        for entry in affected.get("severity") or ():
            if (
                isinstance(entry, Mapping)
                and entry.get("type") == "Ubuntu"
                and isinstance(entry.get("score"), str)
            ):
                yield entry["score"]
    for entry in advisory.get("severity") or ():
        if (
            isinstance(entry, Mapping)
            and entry.get("type") == "Ubuntu"
            and isinstance(entry.get("score"), str)
        ):
            yield entry["score"]
    data = advisory.get("database_specific")
    if isinstance(data, Mapping):
        for key in ("urgency", "severity", "priority"):
            if isinstance(data.get(key), str):
                yield data[key]


def for_advisory(advisory: Mapping[str, Any], matched: Iterable[Mapping[str, Any]] = ()) -> Severity:
    """Severity of an advisory for the `affected[]` entries that matched a package.

    Per-package `affected[].severity` takes precedence over the record's top-level
    `severity` (the schema allows only one of them); then the first rating that
    maps to a band.
    """
    matched = list(matched)
    for entry in matched:
        scored = from_cvss(entry.get("severity"))
        if scored is not None:
            return scored
    scored = from_cvss(advisory.get("severity"))
    if scored is not None:
        return scored
    for rating in _ratings(advisory, matched):
        band = band_for_urgency(rating)
        if band is not Band.UNKNOWN:
            return Severity(band, source="urgency")
    return UNKNOWN
