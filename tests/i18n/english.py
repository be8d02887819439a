"""Finding English left on a page rendered in Chinese.

What counts as English left over is the templates' own text: every literal text of
`templates/` that is outside `{% translate %}`/`{% blocktranslate %}` (and outside
code samples, comments and scripts) and holds a word. Such text renders the same
in every language, so if a page in zh-Hans shows it, a template string was not
marked. Text that comes from the data (project names, image labels, a scanner's
descriptions) never counts, since it is no template's literal text; nor do the
strings of the apps' Python code (forms, messages), whose catalogues are checked
by `test_catalogues`.
"""

from __future__ import annotations

import re
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"

# Template tags first, then HTML tags (which may hold template tags, quotes and all).
_TOKEN = re.compile(
    r"(\{%.*?%\}|\{\{.*?\}\}|\{#.*?#\}|<!--.*?-->|<[a-zA-Z/!](?:\{[{%#].*?[}%#]\}|[^>{]|\{)*>)", re.S
)
# Elements whose text is code, data or machinery, not prose for a reader.
CODE_ELEMENTS = {"code", "pre", "kbd", "samp", "script", "style", "textarea"}
_CODE_TAG = re.compile(r"<(/?)(" + "|".join(CODE_ELEMENTS) + r")\b")
_WORD = re.compile(r"[A-Za-z]{2,}")

# Literal template text that is the same in every language: proper nouns and
# identifiers (the product, protocols, formats, unit symbols).
ALLOWED = {"Wharf", "· Wharf", "GC", "URL", "CSV", "JSON", "LDAP", "ms", "REST API", "Webhook"}


def template_literals(directory: Path = TEMPLATES) -> set[str]:
    """Every literal text of the templates that a translation would have to carry."""
    found: set[str] = set()
    for path in directory.rglob("*.html"):
        found |= literals_of(path.read_text())
    return found - ALLOWED


def literals_of(source: str) -> set[str]:
    found = set()
    in_code = in_comment = in_block = 0
    for token in _TOKEN.split(source):
        if not token:
            continue
        if token.startswith("{%"):
            name = token[2:-2].split()[0] if token[2:-2].split() else ""
            in_comment += {"comment": 1, "endcomment": -1}.get(name, 0)
            in_block += {
                "blocktranslate": 1,
                "blocktrans": 1,
                "endblocktranslate": -1,
                "endblocktrans": -1,
            }.get(name, 0)
            continue
        if token.startswith("<"):
            if match := _CODE_TAG.match(token):
                in_code += -1 if match.group(1) else 1
            continue
        if token.startswith("{") or in_code or in_comment or in_block:
            continue
        text = " ".join(token.split())
        if _WORD.search(text):
            found.add(text)
    return found


class _MainText(HTMLParser):
    """The text a reader sees in `<main>` (the whole document when there is none,
    as in an htmx partial), without code samples."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.main: list[str] = []
        self.everything: list[str] = []
        self._in_main = 0
        self._in_code = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "main":
            self._in_main += 1
        if tag in CODE_ELEMENTS:
            self._in_code += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "main":
            self._in_main -= 1
        if tag in CODE_ELEMENTS and self._in_code:
            self._in_code -= 1

    def handle_data(self, data: str) -> None:
        if self._in_code:
            return
        self.everything.append(data)
        if self._in_main:
            self.main.append(data)


def main_text(html: str) -> str:
    parser = _MainText()
    parser.feed(html)
    parts = parser.main if "<main" in html else parser.everything
    return " ".join(" ".join(parts).split())


def english_left(html: str, literals: set[str] | None = None) -> list[str]:
    """The templates' literal texts that `html`'s main content shows, sorted."""
    text = main_text(html)
    return sorted(
        literal
        for literal in (template_literals_cached() if literals is None else literals)
        if re.search(r"(?<![A-Za-z])" + re.escape(literal) + r"(?![A-Za-z])", text)
    )


@cache
def template_literals_cached() -> frozenset[str]:
    return frozenset(template_literals())
