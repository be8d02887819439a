"""The translation catalogues of the repository: found, and compiled for the tests.

`make test` compiles them (`manage.py compilemessages`); a test run started by hand
compiles here too, with the same tool, so a fresh clone's pytest sees Chinese pages."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]
SKIPPED = {".venv", "var", ".git", "node_modules"}


def zh_hans_catalogues() -> list[Path]:
    """Every zh_Hans .po of the repository: the root one and each app's."""
    return sorted(
        path
        for path in ROOT.glob("**/locale/zh_Hans/LC_MESSAGES/*.po")
        if not SKIPPED.intersection(path.relative_to(ROOT).parts)
    )


def compile_catalogues() -> None:
    """Compile each catalogue whose .mo is missing or older than its .po."""
    stale = [po for po in zh_hans_catalogues() if not _fresh(po)]
    if stale:
        call_command(
            "compilemessages", locale=["zh_Hans"], ignore_patterns=sorted(SKIPPED), stdout=StringIO()
        )
        from django.utils.translation import trans_real

        # Catalogues already loaded in this process would hide the new ones.
        trans_real._translations = {}  # type: ignore[attr-defined]
        trans_real._default = None  # type: ignore[attr-defined]


def _fresh(po: Path) -> bool:
    mo = po.with_suffix(".mo")
    return mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime
