"""The engine stays pure: importing it loads neither Django nor the rest of Wharf."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import sys
import repositories.vulns, repositories.vulns.osv, repositories.vulns.severity
import repositories.vulns.names, repositories.vulns.versions
loaded = sorted(
    name for name in sys.modules
    if name.split(".")[0] in {"django", "rest_framework", "accounts", "audit", "portal", "celery"}
    or (name.startswith("repositories.") and not name.startswith("repositories.vulns"))
)
print(",".join(loaded))
"""


def test_importing_the_engine_loads_no_django_and_no_project_code() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True, env={"PATH": ""}
    )
    assert result.stdout.strip() == ""
