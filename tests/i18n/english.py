"""Finding English left on a page rendered in Chinese.

What counts as English left over is the templates' own text: every literal text of
`templates/` that is outside `{% translate %}`/`{% blocktranslate %}` (and outside
code samples, comments and scripts) and holds a word. Such text renders the same
in every language, so if a page in zh-Hans shows it, a template string was not
marked. Text that comes from the data (project names, image labels, a scanner's
descriptions) never counts, since it is no template's literal text.

Text built in Python (a retention reason, a stored error, a choice's code shown raw)
is no template literal either, so `english_words` looks for English itself: any of
`COMMON_WORDS` (words of Wharf's sentences, three letters or more) in the main
content, outside code samples and elements marked `translate="no"` (user data), but
for the identifiers and data words of `ALLOWED_WORDS`.
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


_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _MainText(HTMLParser):
    """The text a reader sees in `<main>` (the whole document when there is none,
    as in an htmx partial), without code samples and, with `data=False`, without the
    elements marked `translate="no"` (names and texts from the data)."""

    def __init__(self, data: bool = True) -> None:
        super().__init__(convert_charrefs=True)
        self.main: list[str] = []
        self.everything: list[str] = []
        self._in_main = 0
        self._in_code = 0
        self._data = data
        self._untranslated: list[str] = []  # open elements since the outermost translate="no"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "main":
            self._in_main += 1
        if tag in CODE_ELEMENTS:
            self._in_code += 1
        if tag not in _VOID and (self._untranslated or ("translate", "no") in attrs):
            self._untranslated.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "main":
            self._in_main -= 1
        if tag in CODE_ELEMENTS and self._in_code:
            self._in_code -= 1
        if tag in self._untranslated:
            while self._untranslated and self._untranslated.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if self._in_code or (self._untranslated and not self._data):
            return
        self.everything.append(data)
        if self._in_main:
            self.main.append(data)


def main_text(html: str, data: bool = True) -> str:
    parser = _MainText(data)
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


# Words of Wharf's own sentences (what Python builds: reasons, errors, states, codes);
# all lower case, matched case-insensitively as whole ASCII words.
COMMON_WORDS = frozenset(
    ["the", "and", "for", "with", "was", "were", "not", "has", "have", "had", "been", "this", "that", "these", "from", "into", "would", "could", "should", "may", "must", "its", "are", "but", "when", "after", "before", "than", "then", "there", "which", "what", "who", "all", "any", "none", "each", "every", "more", "less", "only", "also", "because", "while", "until", "since", "about", "again", "already", "yet", "kept", "keep", "deleted", "delete", "deleting", "retained", "retain", "rule", "rules", "pushed", "pulled", "untagged", "matching", "except", "protected", "immutable", "parent", "subject", "policy", "repository", "repositories", "project", "projects", "artifact", "artifacts", "tags", "image", "images", "error", "errors", "failed", "failure", "fails", "unknown", "running", "queued", "succeeded", "finished", "started", "stopped", "never", "today", "yesterday", "ago", "days", "hours", "minutes", "seconds", "found", "missing", "invalid", "denied", "unauthorized", "forbidden", "refused", "timeout", "timed", "sync", "scan", "scanned", "scanner", "delivery", "deliveries", "endpoint", "replication", "member", "members", "user", "users", "team", "teams", "robot", "token", "enabled", "disabled", "pending", "skipped", "copied", "direction", "push", "pull", "copy", "recently", "within", "last", "always", "nothing", "item", "items", "reason", "status", "created", "updated", "message", "answered", "answer", "request", "response", "connection", "reached", "unreachable", "expired", "destination", "source", "remote", "local", "name", "names", "digest", "size", "bytes", "vulnerability", "vulnerabilities", "severity", "critical", "high", "medium", "low", "warning", "because", "cannot", "could", "see", "try", "again", "later", "yes", "true", "false"]
)
# Identifiers and data that are English in every language: product and protocol names,
# the test world's names (projects, repositories, tags, labels, users), units.
ALLOWED_WORDS = frozenset({"wharf", "url", "csv", "json", "ldap", "api", "rest", "webhook", "oci", "sha256"})
# A word inside an identifier does not count: paths and globs (`team/**`), dotted codes
# (`artifact.pushed`), robot names (`robot$acme+ci`), digests, `quoted` tags.
_ASCII_WORD = re.compile(r"(?<![A-Za-z0-9_.:/@`$+*-])[A-Za-z]{3,}(?![A-Za-z0-9_`$+*/-]|\.[A-Za-z0-9])")


def english_words(html: str, allowed: frozenset[str] = ALLOWED_WORDS) -> list[str]:
    """Common English words in `html`'s main content outside code and data, sorted."""
    text = main_text(html, data=False)
    return sorted(
        {w for w in _ASCII_WORD.findall(text) if w.lower() in COMMON_WORDS and w.lower() not in allowed}
    )


def english_on_page(html: str) -> list[str]:
    """What the zh-Hans crawl reports of a page: template literals left unmarked and
    English words built elsewhere."""
    return english_left(html) + [f"word {w!r}" for w in english_words(html)]
