"""match(): installed packages against an index of OSV advisories."""

from __future__ import annotations

from typing import Any

from repositories.vulns.names import normalize_name
from repositories.vulns.osv import build_index, match


def advisory(
    id_: str, *affected: dict[str, Any], aliases: tuple[str, ...] = (), **extra: Any
) -> dict[str, Any]:
    return {"id": id_, "aliases": list(aliases), "affected": list(affected), **extra}


def affects(ecosystem: str, name: str, *events: dict[str, str], type_: str = "ECOSYSTEM") -> dict[str, Any]:
    return {
        "package": {"ecosystem": ecosystem, "name": name},
        "ranges": [{"type": type_, "events": list(events)}],
    }


OPENSSL = advisory(
    "WHARF-DSA-0001",
    affects("Debian:11", "openssl", {"introduced": "0"}, {"fixed": "1.1.1w-0+deb11u1"}),
    affects("Debian:12", "openssl", {"introduced": "0"}, {"fixed": "3.0.11-1~deb12u2"}),
    aliases=("CVE-2099-0001",),
)
PYYAML = advisory("WHARF-PY-0001", affects("PyPI", "PyYAML", {"introduced": "0"}, {"fixed": "5.4"}))
LODASH = advisory(
    "WHARF-NPM-0001", affects("npm", "lodash", {"introduced": "0"}, {"fixed": "4.17.21"}, type_="SEMVER")
)
MUSL = advisory(
    "WHARF-APK-0001", affects("Alpine:v3.19", "musl", {"introduced": "0"}, {"fixed": "1.2.4_git20230717-r5"})
)
WITHDRAWN = advisory(
    "WHARF-PY-0002", affects("PyPI", "pyyaml", {"introduced": "0"}), withdrawn="2026-01-01T00:00:00Z"
)

INDEX = build_index([OPENSSL, PYYAML, LODASH, MUSL, WITHDRAWN])


def test_pypi_names_match_after_pep503_normalisation() -> None:
    findings = match([("PyPI", "pyyaml", "5.3.1")], INDEX)
    assert [f.vulnerability_id for f in findings] == ["WHARF-PY-0001"]
    assert match([("PyPI", "PyYAML", "5.3.1")], INDEX)[0].package == "PyYAML"
    assert normalize_name("PyPI", "Zope.Interface__Extra") == "zope-interface-extra"


def test_npm_names_are_exact() -> None:
    assert [f.vulnerability_id for f in match([("npm", "lodash", "4.17.20")], INDEX)] == ["WHARF-NPM-0001"]
    assert match([("npm", "Lodash", "4.17.20")], INDEX) == []


def test_debian_matches_the_source_package_of_the_right_release() -> None:
    [finding] = match([("Debian:12", "openssl", "3.0.9-1")], INDEX)
    assert finding.fixed_versions == ("3.0.11-1~deb12u2",)  # the Debian 12 entry, not 11's
    assert finding.aliases == ("CVE-2099-0001",)
    assert finding.version == "3.0.9-1"
    assert [entry["package"]["ecosystem"] for entry in finding.matched] == ["Debian:12"]
    # a binary package name is not what Debian's OSV records name
    assert match([("Debian:12", "libssl3", "3.0.9-1")], INDEX) == []


def test_a_fixed_version_is_not_reported() -> None:
    assert match([("Debian:12", "openssl", "3.0.11-1~deb12u2")], INDEX) == []
    assert match([("PyPI", "pyyaml", "5.4")], INDEX) == []
    assert match([("Alpine:v3.19", "musl", "1.2.4_git20230717-r5")], INDEX) == []


def test_other_ecosystem_releases_do_not_match() -> None:
    assert match([("Debian:13", "openssl", "3.0.9-1")], INDEX) == []
    assert match([("Alpine:v3.20", "musl", "1.2.4-r0")], INDEX) == []


def test_withdrawn_advisories_are_ignored_even_if_indexed_by_hand() -> None:
    assert build_index([WITHDRAWN]) == {}
    assert match([("PyPI", "pyyaml", "1.0")], {("PyPI", "pyyaml"): [WITHDRAWN]}) == []


def test_one_finding_per_package_and_advisory_in_input_order() -> None:
    packages = [
        ("Alpine:v3.19", "musl", "1.2.4-r2"),
        ("npm", "lodash", "4.17.21"),
        ("PyPI", "pyyaml", "3.0"),
        ("Debian:11", "openssl", "1.1.1n-0+deb11u5"),
    ]
    findings = match(packages, INDEX)
    assert [(f.package, f.vulnerability_id, f.fixed_versions) for f in findings] == [
        ("musl", "WHARF-APK-0001", ("1.2.4_git20230717-r5",)),
        ("pyyaml", "WHARF-PY-0001", ("5.4",)),
        ("openssl", "WHARF-DSA-0001", ("1.1.1w-0+deb11u1",)),
    ]


def test_several_entries_for_the_same_package_merge_into_one_finding() -> None:
    split = advisory(
        "WHARF-PY-0003",
        affects("PyPI", "requests", {"introduced": "2.0"}, {"fixed": "2.10"}),
        affects("PyPI", "Requests", {"introduced": "0"}, {"fixed": "2.31"}),
    )
    [finding] = match([("PyPI", "requests", "2.5")], build_index([split]))
    assert finding.fixed_versions == ("2.10", "2.31")
    assert len(finding.matched) == 2
    assert build_index([split]) == {("PyPI", "requests"): [split]}


def test_unsupported_ecosystems_match_only_listed_versions() -> None:
    maven = advisory(
        "WHARF-MVN-0001",
        {"package": {"ecosystem": "Maven", "name": "g:a"}, "ranges": [], "versions": ["1.0"]},
    )
    index = build_index([maven])
    assert [f.vulnerability_id for f in match([("Maven", "g:a", "1.0")], index)] == ["WHARF-MVN-0001"]
    assert match([("Maven", "g:a", "1.1")], index) == []


def test_matching_a_large_index_only_touches_the_packages_entries() -> None:
    many = [
        advisory(f"WHARF-GEN-{i}", affects("PyPI", f"pkg{i}", {"introduced": "0"}, {"fixed": "1.0"}))
        for i in range(5000)
    ]
    index = build_index(many)
    findings = match([("PyPI", "pkg4999", "0.9"), ("PyPI", "absent", "0.1")], index)
    assert [f.vulnerability_id for f in findings] == ["WHARF-GEN-4999"]
