"""A finding's names, as allowlists and id filters compare them."""

from __future__ import annotations

from repositories.vulns.identifiers import MAX_LENGTH, identifiers, normalize


def test_names_are_trimmed_and_upper_cased_so_any_spelling_compares_equal() -> None:
    assert normalize(" ghsa-abcd-efgh-ijkl ") == normalize("GHSA-ABCD-EFGH-IJKL") == "GHSA-ABCD-EFGH-IJKL"


def test_a_finding_is_known_by_its_id_its_aliases_and_its_upstream_ids_each_once() -> None:
    names = identifiers("DEBIAN-CVE-2099-0001", ["DSA-1-1", "dsa-1-1"], ["CVE-2099-0001"])

    assert names == ["DEBIAN-CVE-2099-0001", "DSA-1-1", "CVE-2099-0001"]


def test_values_that_are_not_names_are_ignored_and_long_ones_cut() -> None:
    names = identifiers("CVE-2099-0001", [42, None, "", "  ", {"CVE": 1}], ["x" * 300])

    assert names == ["CVE-2099-0001", "X" * MAX_LENGTH]
