"""NuGet version order: the comparisons of NuGet.Client's `VersionComparerTests`, as
collected in google/osv-scanner's `internal/semantic/fixtures/nuget-versions.txt`:
35 vectors. The .NET SDK is not installed here, so the published vectors are the reference.
"""

from __future__ import annotations

from repositories.vulns.versions import NUGET, scheme_for
from repositories.vulns.versions.base import cmp

OPS = {"<": -1, "=": 0, ">": 1}
VECTORS = """
1.0.0 = 1.0.0
1.0.0-BETA = 1.0.0-beta
1.0.0-BETA+AA = 1.0.0-beta+aa
1.0.0-BETA.X.y.5.77.0+AA = 1.0.0-beta.x.y.5.77.0+aa
1.0.0 = 1.0.0+beta
1.0 = 1.0.0.0
1.0+test = 1.0.0.0
1.0.0.1-1.2.A = 1.0.0.1-1.2.a+A
1.0.01 = 1.0.1.0
1.0 < 1.0.0.1
1.0+test < 1.0.0.1
1.0.0.1-1.2.A < 1.0.0.1-1.2.a.A+A
1.0.01 < 1.0.1.2
1.0.0 > 0.0.0
1.1.0 > 1.0.0
1.0.1 > 1.0.0
1.0.0-beta2 > 1.0.0-BETA
1.0.0+AA > 1.0.0-beta+aa
1.0.0-BETA.X.y.5.77.0+AA < 1.0.0-beta.x.y.5.79.0+aa
0.0.0 < 1.0.0
1.0.0 < 1.1.0
1.0.0 < 1.0.1
1.999.9999 < 2.1.1
1.0.0-BETA < 1.0.0-beta2
1.0.0-beta+AA < 1.0.0+aa
1.0.0-BETA < 1.0.0-beta.1+AA
1.0.0-BETA.X.y.5.77.0+AA < 1.0.0-beta.x.y.5.79.0+aa
1.0.0-BETA.X.y.5.79.0+AA < 1.0.0-beta.x.y.5.790.0+abc
1.0.0 < 1.0.0.1
1.0.0.1-alpha < 1.0.0.1-pre
1.0.0-pre < 1.0.0.1-alpha
1.0.0 < 1.0.0.1-alpha
0.9.9.1 < 1.0.0
999999999999999999999999999991 < 999999999999999999999999999999
999999999999999999999999999991.999999999999999999999999999991.999999999999999999999999999991 < 999999999999999999999999999999.999999999999999999999999999991.999999999999999999999999999991
"""


def test_nuget_vectors() -> None:
    rows = [line.split(" ") for line in VECTORS.strip().splitlines()]
    assert len(rows) == 35
    wrong = [
        (a, op, b)
        for a, op, b in rows
        if NUGET.compare(a, b) != OPS[op]
        or NUGET.compare(b, a) != -OPS[op]
        or cmp(NUGET.sort_key(a), NUGET.sort_key(b)) != OPS[op]
    ]
    assert wrong == []


def test_nuget_ecosystem_uses_it_and_junk_sorts_first() -> None:
    assert scheme_for("NuGet") is NUGET
    assert NUGET.compare("not-a-version", "0.0.1") == -1 and not NUGET.is_valid("1.2.3.4.5")
