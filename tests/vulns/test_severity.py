"""Severity bands from CVSS vectors and distribution ratings."""

from __future__ import annotations

import pytest

from repositories.vulns.severity import (
    Band,
    Severity,
    assess,
    band_for_score,
    band_for_urgency,
    cvss_base_score,
    for_advisory,
)

V3_CRITICAL = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"  # 9.8
V3_HIGH = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"  # 7.5
V3_MEDIUM = "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N"  # 6.1
V3_LOW = "CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:L/I:N/A:N"  # 2.5
V3_NONE = "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N"  # 0.0
V4_MEDIUM = "CVSS:4.0/AV:N/AC:L/AT:N/PR:H/UI:N/VC:L/VI:L/VA:N/SC:N/SI:N/SA:N"  # 5.1
V4_CRITICAL = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"  # 9.3
V2_HIGH = "AV:N/AC:L/Au:N/C:P/I:P/A:P"  # 7.5


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (10.0, Band.CRITICAL),
        (9.0, Band.CRITICAL),
        (8.9, Band.HIGH),
        (7.0, Band.HIGH),
        (6.9, Band.MEDIUM),
        (4.0, Band.MEDIUM),
        (3.9, Band.LOW),
        (0.1, Band.LOW),
        (0.0, Band.UNKNOWN),
        (None, Band.UNKNOWN),
    ],
)
def test_band_thresholds(score: float | None, band: Band) -> None:
    assert band_for_score(score) is band


@pytest.mark.parametrize(
    ("kind", "vector", "score"),
    [
        ("CVSS_V3", V3_CRITICAL, 9.8),
        ("CVSS_V3", V3_HIGH, 7.5),
        ("CVSS_V3", V3_MEDIUM, 6.1),
        ("CVSS_V3", V3_LOW, 2.5),
        ("CVSS_V3", V3_NONE, 0.0),
        ("CVSS_V4", V4_MEDIUM, 5.1),
        ("CVSS_V4", V4_CRITICAL, 9.3),
        ("CVSS_V2", V2_HIGH, 7.5),
        ("CVSS_V3", "7.2", 7.2),  # a bare score is taken as is
        ("CVSS_V3", "CVSS:3.1/AV:N/garbage", None),
        ("CVSS_V3", "11", None),
        ("CVSS_V3", V4_MEDIUM, None),  # a v4 vector under the v3 type does not parse
    ],
)
def test_base_scores_are_computed_from_the_vector(kind: str, vector: str, score: float | None) -> None:
    assert cvss_base_score(kind, vector) == score


def test_cvss_v3_is_preferred_over_v4_and_v2() -> None:
    severity = [
        {"type": "CVSS_V2", "score": V2_HIGH},
        {"type": "CVSS_V4", "score": V4_CRITICAL},
        {"type": "CVSS_V3", "score": V3_MEDIUM},
    ]
    assert assess(severity) == Severity(Band.MEDIUM, 6.1, V3_MEDIUM, "CVSS_V3")


def test_an_unparseable_vector_falls_through_to_the_next_usable_one() -> None:
    severity = [{"type": "CVSS_V3", "score": "CVSS:3.1/nonsense"}, {"type": "CVSS_V4", "score": V4_CRITICAL}]
    assert assess(severity) == Severity(Band.CRITICAL, 9.3, V4_CRITICAL, "CVSS_V4")


@pytest.mark.parametrize(
    ("urgency", "band"),
    [
        ("high", Band.HIGH),
        ("medium", Band.MEDIUM),
        ("low", Band.LOW),
        ("unimportant", Band.LOW),
        ("not yet assigned", Band.UNKNOWN),
        ("low**", Band.LOW),  # security-tracker markers
        ("HIGH", Band.HIGH),
        ("negligible", Band.LOW),  # Ubuntu priorities
        ("critical", Band.CRITICAL),
        ("MODERATE", Band.MEDIUM),  # GitHub advisories
        ("whatever", Band.UNKNOWN),
        ("", Band.UNKNOWN),
        (None, Band.UNKNOWN),
    ],
)
def test_distribution_ratings_map_to_bands(urgency: str | None, band: Band) -> None:
    assert band_for_urgency(urgency) is band


def test_cvss_wins_over_urgency_and_urgency_fills_in_without_cvss() -> None:
    assert assess([{"type": "CVSS_V3", "score": V3_LOW}], urgency="high").band is Band.LOW
    assert assess([], urgency="high") == Severity(Band.HIGH, source="urgency")
    assert assess(None, urgency="not yet assigned") == Severity(Band.UNKNOWN)
    assert assess(None) == Severity(Band.UNKNOWN)


def test_for_advisory_prefers_the_matched_packages_own_severity() -> None:
    entry = {
        "package": {"ecosystem": "PyPI", "name": "x"},
        "severity": [{"type": "CVSS_V3", "score": V3_HIGH}],
    }
    advisory = {"id": "X", "severity": [{"type": "CVSS_V3", "score": V3_CRITICAL}], "affected": [entry]}
    assert for_advisory(advisory, [entry]).score == 7.5
    assert for_advisory(advisory).score == 9.8


def test_for_advisory_uses_debian_urgency_when_there_is_no_vector() -> None:
    entry = {
        "package": {"ecosystem": "Debian:12", "name": "openssl"},
        "ecosystem_specific": {"urgency": "medium*"},
    }
    advisory = {"id": "DEBIAN-CVE-2099-1", "affected": [entry]}
    assert for_advisory(advisory, [entry]) == Severity(Band.MEDIUM, source="urgency")


def test_for_advisory_uses_github_and_ubuntu_ratings_and_else_unknown() -> None:
    ghsa = {"id": "GHSA-x", "database_specific": {"severity": "MODERATE"}}
    assert for_advisory(ghsa).band is Band.MEDIUM
    ubuntu = {"id": "UBUNTU-x", "severity": [{"type": "Ubuntu", "score": "high"}]}
    assert for_advisory(ubuntu).band is Band.HIGH
    assert for_advisory({"id": "bare"}) == Severity(Band.UNKNOWN)


def test_bands_rank_from_critical_down_to_unknown() -> None:
    assert sorted(Band, key=lambda band: band.rank, reverse=True) == [
        Band.CRITICAL,
        Band.HIGH,
        Band.MEDIUM,
        Band.LOW,
        Band.UNKNOWN,
    ]
