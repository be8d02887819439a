"""The zh-Hans catalogues are complete: every msgid translated, none fuzzy, none missing.

Each app keeps its catalogue in `<app>/locale/` and the templates and `portal/` in
`locale/`; these tests read them all, so a string added anywhere without its
translation fails here."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

from tests.i18n.catalogues import ROOT, SKIPPED, zh_hans_catalogues

# makemessages reads the code the way `make messages` users do; tests and benchmarks
# hold no text for people.
MAKEMESSAGES_IGNORE = [*SKIPPED, "tests", "benchmarks", "static/vendor"]
_PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\w*\}")
_TAG = re.compile(r"</?([a-z]+)\b")


def _entries() -> list[tuple[Path, polib.POEntry]]:
    return [(po, entry) for po in zh_hans_catalogues() for entry in polib.pofile(str(po))]


def test_the_root_catalogue_exists() -> None:
    assert ROOT / "locale/zh_Hans/LC_MESSAGES/django.po" in zh_hans_catalogues()


def test_every_msgid_is_translated_and_none_is_fuzzy() -> None:
    problems = []
    for po, entry in _entries():
        where = f"{po.relative_to(ROOT)}: {entry.msgid!r}"
        if entry.obsolete:
            continue
        if "fuzzy" in entry.flags:
            problems.append(f"fuzzy: {where}")
        translated = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        if not all(text.strip() for text in translated) or not translated:
            problems.append(f"untranslated: {where}")
    assert not problems, f"{len(problems)} catalogue problems:\n" + "\n".join(problems)


def test_translations_keep_the_placeholders_and_markup() -> None:
    """A lost `%(name)s` raises KeyError at render time; a lost tag breaks the page."""
    problems = []
    for po, entry in _entries():
        sources = [entry.msgid, entry.msgid_plural] if entry.msgid_plural else [entry.msgid]
        translated = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        wanted = set(_PLACEHOLDER.findall(sources[-1]))
        for text in translated:
            if not text:
                continue
            if set(_PLACEHOLDER.findall(text)) - set().union(*(_PLACEHOLDER.findall(s) for s in sources)):
                problems.append(f"{po.relative_to(ROOT)}: {entry.msgid!r} has a placeholder the msgid lacks")
            if not entry.msgid_plural and set(_PLACEHOLDER.findall(text)) != wanted:
                problems.append(f"{po.relative_to(ROOT)}: {entry.msgid!r} placeholders differ")
            if sorted(_TAG.findall(text)) != sorted(_TAG.findall(sources[-1])):
                problems.append(f"{po.relative_to(ROOT)}: {entry.msgid!r} markup differs")
    assert not problems, "\n".join(problems)


@pytest.mark.slow
def test_makemessages_finds_no_string_missing_from_the_catalogues(tmp_path: Path) -> None:
    """Run makemessages on a copy of the code and compare its msgids with each catalogue's."""
    copy = tmp_path / "wharf"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(*SKIPPED, "*.mo", "__pycache__"), symlinks=True)
    ignores = [arg for pattern in MAKEMESSAGES_IGNORE for arg in ("--ignore", f"{pattern}/*")]
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--no-obsolete", "-v0", *ignores],
        cwd=copy,
        check=True,
        env={"PATH": "/usr/bin:/bin", "WHARF_VAR_DIR": str(tmp_path / "var"), "HOME": str(tmp_path)},
    )
    missing = []
    for po in sorted(copy.glob("**/locale/zh_Hans/LC_MESSAGES/*.po")):
        committed = ROOT / po.relative_to(copy)
        known = {e.msgid for e in polib.pofile(str(committed))} if committed.exists() else set()
        wanted = {e.msgid for e in polib.pofile(str(po)) if not e.obsolete}
        missing += [f"{committed.relative_to(ROOT)}: {msgid!r}" for msgid in sorted(wanted - known)]
    assert not missing, (
        f"{len(missing)} strings are not in the catalogues; run makemessages -l zh_Hans and translate them:\n"
        + "\n".join(missing)
    )
