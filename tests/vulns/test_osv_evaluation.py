"""The OSV evaluation algorithm on single `affected[]` entries."""

from __future__ import annotations

from typing import Any

import pytest

from repositories.vulns.osv import Evaluation, evaluate, is_affected


def entry(*ranges: dict[str, Any], versions: list[str] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"package": {"ecosystem": "ignored", "name": "ignored"}, "ranges": list(ranges)}
    if versions is not None:
        data["versions"] = versions
    return data


def rng(*events: dict[str, str], type_: str = "ECOSYSTEM") -> dict[str, Any]:
    return {"type": type_, "events": list(events)}


def affected_set(ecosystem: str, affected: dict[str, Any], candidates: list[str]) -> list[str]:
    return [v for v in candidates if is_affected(v, ecosystem, affected)]


def test_introduced_zero_means_every_version_before_the_fix() -> None:
    data = entry(rng({"introduced": "0"}, {"fixed": "1.2.0"}))
    assert affected_set("PyPI", data, ["0.0.1", "1.0", "1.2.0rc1", "1.2.0", "1.2.1", "2.0"]) == [
        "0.0.1",
        "1.0",
        "1.2.0rc1",
    ]


def test_introduced_zero_covers_versions_that_sort_below_the_string_zero() -> None:
    # In dpkg order "~1" < "0"; introduced "0" still means "from the very beginning".
    data = entry(rng({"introduced": "0"}, {"fixed": "1.0-1"}))
    assert is_affected("~1", "Debian:12", data)
    assert is_affected("0~pre1", "Debian:12", data)


def test_introduced_is_inclusive_and_fixed_is_exclusive() -> None:
    data = entry(rng({"introduced": "1.0.0"}, {"fixed": "1.0.5"}, type_="SEMVER"))
    assert affected_set(
        "npm", data, ["0.9.9", "1.0.0-rc.1", "1.0.0", "1.0.4", "1.0.5-rc.1", "1.0.5", "1.0.6"]
    ) == [
        "1.0.0",
        "1.0.4",
        "1.0.5-rc.1",
    ]


def test_last_affected_is_inclusive() -> None:
    data = entry(rng({"introduced": "1.0"}, {"last_affected": "1.4"}))
    assert affected_set("PyPI", data, ["0.9", "1.0", "1.4", "1.4.post1", "1.4.1", "2.0"]) == ["1.0", "1.4"]
    assert evaluate("1.2", "PyPI", data) == Evaluation(True, ())  # nothing to upgrade to


def test_limit_is_an_exclusive_upper_bound_of_the_range() -> None:
    data = entry(rng({"introduced": "0"}, {"limit": "2.0"}))
    assert affected_set("PyPI", data, ["1.0", "1.9.9", "2.0", "3.0"]) == ["1.0", "1.9.9"]


def test_limit_star_is_infinity_and_any_of_several_limits_admits() -> None:
    assert is_affected("999", "PyPI", entry(rng({"introduced": "0"}, {"limit": "*"})))
    data = entry(rng({"introduced": "0"}, {"limit": "1.0"}, {"limit": "3.0"}))
    assert affected_set("PyPI", data, ["0.5", "2.0", "3.0"]) == ["0.5", "2.0"]


def test_limit_cuts_a_range_that_would_otherwise_stay_open() -> None:
    data = entry(rng({"introduced": "1.0"}, {"fixed": "1.5"}, {"introduced": "2.0"}, {"limit": "2.5"}))
    assert affected_set("PyPI", data, ["1.2", "1.6", "2.2", "2.5", "9.0"]) == ["1.2", "2.2"]


def test_unsorted_events_are_sorted_in_the_ecosystem_order_first() -> None:
    data = entry(rng({"fixed": "2.5"}, {"introduced": "2.0"}, {"fixed": "1.10"}, {"introduced": "1.9"}))
    # "1.10" > "1.9" only in version order: a string sort would break this range.
    assert affected_set("PyPI", data, ["1.8", "1.9", "1.9.5", "1.10", "1.11", "2.0", "2.4", "2.5"]) == [
        "1.9",
        "1.9.5",
        "2.0",
        "2.4",
    ]
    assert evaluate("1.9.5", "PyPI", data).fixed == ("1.10",)
    assert evaluate("2.4", "PyPI", data).fixed == ("2.5",)


def test_debian_events_sort_by_epoch() -> None:
    data = entry(rng({"fixed": "1:1.0-1"}, {"introduced": "0"}))
    assert is_affected("9.9-1", "Debian:12", data)  # no epoch: older than any 1:
    assert not is_affected("1:1.0-1", "Debian:12", data)
    assert evaluate("2.0-1", "Debian:12", data).fixed == ("1:1.0-1",)


def test_alpine_post_release_suffix_is_newer_than_any_revision() -> None:
    data = entry(rng({"introduced": "0"}, {"fixed": "1.0-r3"}))
    assert affected_set("Alpine:v3.19", data, ["1.0_rc1", "1.0", "1.0-r2", "1.0-r3", "1.0_p1"]) == [
        "1.0_rc1",
        "1.0",
        "1.0-r2",
    ]


def test_an_empty_range_where_introduced_equals_fixed_affects_nothing() -> None:
    data = entry(rng({"fixed": "1.0"}, {"introduced": "1.0"}))
    assert affected_set("PyPI", data, ["0.9", "1.0", "1.1"]) == []


def test_explicit_versions_are_affected_without_a_fixed_version() -> None:
    data = entry(versions=["1.0.0", "1.1.0"])
    assert evaluate("1.1.0", "PyPI", data) == Evaluation(True, ())
    assert not is_affected("1.2.0", "PyPI", data)


def test_explicit_versions_match_equal_spellings_in_the_ecosystem_order() -> None:
    data = entry(versions=["1.0.0"])
    assert is_affected("1.0", "PyPI", data)  # PEP 440: 1.0 == 1.0.0
    assert not is_affected("1.0.1", "PyPI", data)
    assert is_affected("0:2.0-1", "Debian:12", entry(versions=["2.0-1"]))


def test_multiple_ranges_are_or_ed_and_report_their_fixes() -> None:
    data = entry(
        rng({"introduced": "1.0"}, {"fixed": "1.2"}),
        rng({"introduced": "3.0"}, {"fixed": "3.2.5"}),
    )
    assert affected_set("PyPI", data, ["0.9", "1.1", "2.0", "3.1", "3.2.5"]) == ["1.1", "3.1"]
    assert evaluate("3.1", "PyPI", data).fixed == ("3.2.5",)


def test_overlapping_ranges_report_every_fix_in_version_order() -> None:
    data = entry(
        rng({"introduced": "0"}, {"fixed": "2.0"}),
        rng({"introduced": "1.0"}, {"fixed": "1.10"}),
    )
    assert evaluate("1.5", "PyPI", data) == Evaluation(True, ("1.10", "2.0"))


def test_git_ranges_are_ignored_but_explicit_versions_still_count() -> None:
    git = rng({"introduced": "0"}, {"fixed": "a" * 40}, type_="GIT")
    assert not is_affected("1.0", "PyPI", entry(git))
    assert is_affected("1.0", "PyPI", entry(git, versions=["1.0"]))


def test_semver_ranges_use_semver_order_even_in_another_ecosystem() -> None:
    data = entry(rng({"introduced": "0"}, {"fixed": "1.0.0"}, type_="SEMVER"))
    assert is_affected("1.0.0-rc.1", "PyPI", data)
    assert not is_affected("1.0.0", "PyPI", data)


def test_unknown_ecosystem_matches_only_through_explicit_versions() -> None:
    data = entry(rng({"introduced": "0"}), versions=["1.0"])
    assert is_affected("1.0", "Hackage", data)
    assert not is_affected("2.0", "Hackage", data)


@pytest.mark.parametrize(
    "data",
    [
        entry(),
        entry(rng()),
        entry(rng({"fixed": "1.0"})),  # no introduced: never vulnerable
        entry(rng({"introduced": 5}, {"bogus": "1.0"})),  # malformed events are skipped
        entry({"type": "UNKNOWN", "events": [{"introduced": "0"}]}),
        {"ranges": ["not a range"], "versions": [None, 3]},
    ],
)
def test_degenerate_entries_affect_nothing_and_do_not_raise(data: dict[str, Any]) -> None:
    assert evaluate("0.5", "PyPI", data) == Evaluation(False)


def test_introduced_without_fix_affects_everything_after_it() -> None:
    data = entry(rng({"introduced": "2.0.0"}, type_="SEMVER"))
    assert affected_set("npm", data, ["1.9.9", "2.0.0", "99.0.0"]) == ["2.0.0", "99.0.0"]
    assert evaluate("3.0.0", "npm", data) == Evaluation(True, ())


def test_an_unparseable_installed_version_counts_as_older_than_any_fix() -> None:
    # Documented fallback of the PyPI and npm orders: report rather than miss.
    assert is_affected("2004d-beta", "PyPI", entry(rng({"introduced": "0"}, {"fixed": "0.1"})))
    assert is_affected("latest", "npm", entry(rng({"introduced": "0"}, {"fixed": "0.0.1"}, type_="SEMVER")))
    assert not is_affected("2004d-beta", "PyPI", entry(rng({"introduced": "1.0"})))
