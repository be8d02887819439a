"""The engine is pure: importing it loads neither Django nor the rest of the project
(only `repositories.globs`, the one glob dialect, and `repositories.text`, which
translates messages through a hook the app sets, both themselves pure)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_importing_the_engine_loads_no_django_and_no_other_project_module() -> None:
    code = (
        "import sys, repositories.retention\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in {'django', 'rest_framework', 'accounts', 'audit', 'portal'}"
        " or (m.startswith('repositories.') and not m.startswith('repositories.retention')"
        " and m not in {'repositories.globs', 'repositories.text'})]\n"
        "print(','.join(bad))\n"
    )
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT, env=env
    )
    assert out.stdout.strip() == ""
