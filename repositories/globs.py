"""Wharf's one glob dialect, for every pattern a user types: retention and immutable-tag
rules, robot accounts' repository patterns, and the tag filters of the pages and the API.

Syntax (a subset of Go's bmatcuk/doublestar, which Harbor uses, so patterns carry over):

* ``*``  any run of characters except ``/`` (may be empty);
* ``?``  exactly one character except ``/``;
* ``[abc]``, ``[a-z]``, ``[!abc]`` / ``[^abc]``  one character of (not of) a set, never ``/``;
  a ``]`` right after ``[`` or ``[!`` is a member; ranges go by code point;
* ``{a,b,c}``  any one of the comma-separated alternatives (not nested; each alternative
  may use the other wildcards except ``**``; an alternative may be empty);
* ``**``  as a whole path segment (``**``, ``team/**``, ``**/api``, ``a/**/b``): zero or more
  whole segments, so ``team/**`` matches ``team``, ``team/api`` and ``team/x/api``, and
  ``a/**/b`` matches ``a/b``.  In tag patterns (tags have no ``/``) ``**`` is the same as ``*``;
  in repository patterns ``**`` inside a name (``team**``) is an error, not a silent ``*``.
* Everything else matches itself; ``\\`` escapes the next character.

A pattern matches the whole name (anchored at both ends) and is case-sensitive, as
registry names are. Characters no name can contain (a space, ``:``, uppercase in a
repository path) are errors, with a message meant for a form.

Filters (the tag filter box on a repository's page and ``?pattern=`` in the API) use
`compile_filter`: text with none of the glob characters ``* ? [ ] { } \\`` is a
substring search, because that is what a search box does (``v1`` finds ``v1.2``);
text with any of them is a whole-name glob as above (``v1*`` finds ``v1.2``, not
``xv1``). To match a plain name exactly, escape one of its characters: ``\\latest``.

Every glob is translated once to one regular expression (`Glob.regex`) that Python's
``re`` (the matcher here, and Django's ``REGEXP`` on SQLite) and PostgreSQL's ARE read
identically: it uses only ASCII letters, digits, ``_`` and ``/`` as themselves, ``\\``
before any other literal character, ``[^/]``, bracket sets of name characters with
``-`` last, ``(?:…|…)``, ``*``, ``?`` and the anchors ``^`` and ``\\Z`` -- never ``.``,
ranges or ``$``, whose meanings differ (newlines, collation, a trailing newline).

Why our own translator rather than ``wcmatch``: the grammar is small, the regex it
produces is as fast as any (matching, not compiling, is the hot path and both end in
``re``), and we need exact control over the doublestar details above, the portable
regex subset and the wording of error messages -- without a new runtime dependency.

This module imports nothing from Django or the rest of Wharf (but `repositories.text`,
which translates its messages without Django): the retention engine and the robots'
token checks use it as they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache

from repositories.text import gettext

MAX_PATTERN_LENGTH = 255

# Typed in a filter box, any of these makes the text a glob rather than a substring.
GLOB_CHARACTERS = frozenset("*?[]{}\\")

# Characters a name may contain besides wildcards. Repository path components follow the
# OCI distribution spec (lowercase); tags follow its tag grammar ([A-Za-z0-9_.-]).
_REPOSITORY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-/")
_TAG_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
# Emitted as themselves; every other literal is backslash-escaped, which both engines
# read as that very character (for ASCII punctuation).
_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_/")

_SEGMENT = "[^/]*"
# Any run of characters including `/`: segments joined by `/`. Unambiguous (each `/`
# is consumed by one repetition), so matching stays linear.
_ANY_PATH = "[^/]*(?:/[^/]*)*"


class PatternKind(StrEnum):
    """What a pattern is matched against."""

    REPOSITORY = "repository"
    TAG = "tag"


class PatternError(ValueError):
    """A pattern that cannot be used; the message is meant for a form error."""


@dataclass(frozen=True)
class Glob:
    """A compiled pattern: `matches(name)` in Python, `lookups(field)` for the ORM."""

    pattern: str
    kind: PatternKind
    regex: str  # anchored; the same text for Python `re` and PostgreSQL
    prefix: str  # the literal text every matching name starts with
    _compiled: re.Pattern[str] = field(repr=False, compare=False)

    def matches(self, name: str) -> bool:
        return self._compiled.search(name) is not None

    def is_prefix_only(self) -> bool:
        """Whether the glob is its literal prefix and a trailing `*` on a tag name (which has
        no `/`): every name with the prefix matches."""
        return self.kind is PatternKind.TAG and self.regex == f"^(?:{''.join(map(_escape, self.prefix))}{_SEGMENT})\\Z"

    def lookups(self, field_name: str, *, bytewise: bool = False) -> dict[str, str]:
        """Django lookups selecting the rows whose `field_name` matches, for `filter(**...)`.

        The literal prefix narrows the rows first; the regex then decides exactly. Where
        the column compares bytewise (`bytewise`: SQLite, PostgreSQL's C collations) the
        prefix is the range ``prefix <= name < next(prefix)``, which an ordinary b-tree
        index serves; elsewhere it is `startswith` (``LIKE 'prefix%'``), which is right
        under every collation, where a hand-made range is not.
        """
        found = {f"{field_name}__regex": self.regex}
        if self.prefix and bytewise:
            found[f"{field_name}__gte"] = self.prefix
            found[f"{field_name}__lt"] = self.prefix[:-1] + chr(ord(self.prefix[-1]) + 1)
            if self.is_prefix_only():
                # The range alone is exact. Without the regex PostgreSQL estimates the range
                # right, and reads it in name order from the (repository, name) index,
                # stopping at the page's end, rather than guessing the regex keeps a handful
                # of rows and weighing that against a repository-only scan.
                del found[f"{field_name}__regex"]
        elif self.prefix:
            found[f"{field_name}__startswith"] = self.prefix
        return found


def validate_pattern(pattern: str, kind: PatternKind) -> str | None:
    """Return a human message explaining why `pattern` is unusable, or None if it is fine."""
    try:
        compile_glob(pattern, kind)
    except PatternError as error:
        return str(error)
    return None


@lru_cache(maxsize=4096)
def compile_glob(pattern: str, kind: PatternKind) -> Glob:
    """The whole-name glob `pattern`; raise PatternError with a form message if unusable."""
    body, prefix = _translate(pattern, kind)
    return _glob(pattern, kind, body, prefix)


@lru_cache(maxsize=1024)
def compile_filter(text: str, kind: PatternKind = PatternKind.TAG) -> Glob | None:
    """What a filter box means by `text` (see the module docstring); None for no filter."""
    text = text.strip()
    if not text:
        return None
    if GLOB_CHARACTERS.intersection(text):
        return compile_glob(text, kind)
    # Plain text: validated as a literal pattern would be, then searched for anywhere.
    literal, _ = _translate(text, kind, whole_name=False)
    anything = _ANY_PATH if kind is PatternKind.REPOSITORY else _SEGMENT
    return _glob(text, kind, f"{anything}{literal}{anything}", "")


@lru_cache(maxsize=4096)
def compile_patterns(patterns: tuple[str, ...], kind: PatternKind) -> re.Pattern[str] | None:
    """One regex whose `fullmatch` is true when any of `patterns` matches (None when there
    are none). Cached: a policy's patterns are compiled once per process, not once per tag.
    """
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{_translate(p, kind)[0]})" for p in patterns))


def name_filter(patterns: tuple[str, ...], kind: PatternKind) -> tuple[bool, tuple[str, ...] | None]:
    """What `compile_patterns(patterns, kind)` admits, for filtering many names at once:
    (True, None) when some pattern matches every name of one path segment (`*`, and `**`
    for a tag: exactly the names without a `/`); else (False, prefixes) where every
    matching name starts with one of `prefixes`, or (False, None) when a pattern has no
    literal prefix."""
    prefixes = []
    for pattern in patterns:
        body, prefix = _translate(pattern, kind)
        if body == _SEGMENT:
            return True, None
        prefixes.append(prefix)
    return False, (tuple(prefixes) if prefixes and all(prefixes) else None)


def glob_match(pattern: str, name: str, kind: PatternKind) -> bool:
    """Whether `name` matches the single glob `pattern`."""
    return compile_glob(pattern, kind).matches(name)


def any_match(patterns: Iterable[str], name: str, kind: PatternKind) -> bool:
    """Whether `name` matches one of `patterns`; a pattern that is unusable matches nothing
    (saved before it was validated, it must not widen what it guards)."""
    for pattern in patterns:
        try:
            if compile_glob(pattern, kind).matches(name):
                return True
        except PatternError:
            continue
    return False


def _glob(pattern: str, kind: PatternKind, body: str, prefix: str) -> Glob:
    regex = f"^(?:{body})\\Z"
    return Glob(pattern=pattern, kind=kind, regex=regex, prefix=prefix, _compiled=re.compile(regex))


def _escape(char: str) -> str:
    return char if char in _PLAIN else "\\" + char


def _translate(pattern: str, kind: PatternKind, *, whole_name: bool = True) -> tuple[str, str]:
    """The (unanchored) regex body of a glob and its literal prefix; raise PatternError."""
    if not pattern:
        raise PatternError(gettext("Enter a pattern, e.g. `**` for everything."))
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise PatternError(
            gettext("Patterns are at most %(max)s characters long.") % {"max": MAX_PATTERN_LENGTH}
        )
    if pattern != pattern.strip():
        raise PatternError(gettext("Remove the spaces around the pattern."))
    is_repository = kind is PatternKind.REPOSITORY
    if is_repository and whole_name:
        if pattern.startswith("/") or pattern.endswith("/"):
            raise PatternError(
                gettext(
                    "Repository patterns are paths inside the project: no leading or trailing `/`, "
                    "e.g. `team-a/**`."
                )
            )
        if "//" in pattern:
            raise PatternError(gettext("Remove the empty path segment (`//`)."))
        # `**/**` means the same as `**`; collapsing keeps the translation below simple.
        segments = pattern.split("/")
        pattern = "/".join(
            s for k, s in enumerate(segments) if not (s == "**" and k > 0 and segments[k - 1] == "**")
        )
    allowed = _REPOSITORY_CHARS if is_repository else _TAG_CHARS
    out: list[str] = []
    prefix: list[str] = []
    literal_run = True  # still inside the leading literal text

    def literal(char: str) -> None:
        out.append(_escape(char))
        if literal_run:
            prefix.append(char)

    i = 0
    n = len(pattern)
    in_brace = False
    while i < n:
        c = pattern[i]
        if c == "\\":
            if i + 1 == n:
                raise PatternError(gettext("A `\\` at the end escapes nothing; remove it."))
            escaped = pattern[i + 1]
            if not ("!" <= escaped <= "~"):
                raise PatternError(
                    gettext("`\\%(escaped)s`: only visible ASCII characters can be escaped.")
                    % {"escaped": escaped}
                )
            literal(escaped)
            i += 2
            continue
        if c in allowed:
            literal(c)
            i += 1
            continue
        if c == "*" and i + 1 < n and pattern[i + 1] == "*":
            if literal_run and is_repository and prefix[-1:] == ["/"] and i + 2 == n:
                prefix.pop()  # `team/**` also matches `team`: that `/` is not a sure prefix
            literal_run = False
            i = _double_star(pattern, i, out, is_repository=is_repository, in_brace=in_brace)
            continue
        literal_run = False
        if c == "*":
            out.append(_SEGMENT)
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            i = _char_set(pattern, i, out, allowed)
            continue
        elif c == "{":
            if in_brace:
                raise PatternError(gettext("Nested braces are not supported; write `{a,b,c}` once."))
            in_brace = True
            out.append("(?:")
        elif c == "}":
            if not in_brace:
                raise PatternError(gettext("This `}` closes no `{`."))
            in_brace = False
            out.append(")")
        elif c == "," and in_brace:
            out.append("|")
        elif c == "/":
            raise PatternError(gettext("Tag names cannot contain `/`."))
        elif c.isupper() and is_repository:
            raise PatternError(gettext("Repository names are lowercase."))
        else:
            raise PatternError(
                (
                    gettext("`%(character)s` cannot appear in a repository name.")
                    if is_repository
                    else gettext("`%(character)s` cannot appear in a tag name.")
                )
                % {"character": c}
            )
        i += 1
    if in_brace:
        raise PatternError(gettext("Close the `{` with a `}`."))
    return "".join(out), "".join(prefix)


def _double_star(pattern: str, i: int, out: list[str], *, is_repository: bool, in_brace: bool) -> int:
    """Translate the `**` at `pattern[i]`; return the index after what was consumed."""
    n = len(pattern)
    j = i + 2
    while j < n and pattern[j] == "*":
        j += 1
    if not is_repository:
        # Tags have no `/`: any run of stars is just `*` (Harbor's default tag pattern is `**`).
        out.append(_SEGMENT)
        return j
    if j - i > 2:
        raise PatternError(gettext("Use at most two stars in a row (`**`)."))
    if in_brace:
        raise PatternError(gettext("`**` cannot appear inside braces; write two patterns instead."))
    at_start = i == 0 or pattern[i - 1] == "/"
    at_end = j == n or pattern[j] == "/"
    if not (at_start and at_end):
        raise PatternError(
            gettext("`**` must be a whole path segment, e.g. `team/**`; use `*` within a name.")
        )
    if i == 0 and j == n:
        out.append(_ANY_PATH)
        return j
    if j == n:
        # Trailing `/**`: take back the `/` already emitted so `team/**` also matches `team`;
        # zero or more `/segment`s is exactly "nothing, or `/` and anything".
        out.pop()
        out.append("(?:/[^/]*)*")
        return j
    # Leading `**/` or inner `/**/`: zero or more whole segments, then the `/` is consumed.
    out.append("(?:[^/]*/)*")
    return j + 1


def _char_set(pattern: str, i: int, out: list[str], allowed: frozenset[str]) -> int:
    """Translate the `[...]` set at `pattern[i]`; return the index after `]`.

    Ranges are expanded to their members, so neither engine's idea of a range (code
    points, collation) is ever consulted; members no name can contain are dropped.
    """
    n = len(pattern)
    j = i + 1
    negate = j < n and pattern[j] in "!^"
    if negate:
        j += 1
    start = j
    # A `]` right after `[` or `[!` is a literal member, as in shells.
    if j < n and pattern[j] == "]":
        j += 1
    while j < n and pattern[j] != "]":
        j += 1
    if j >= n:
        raise PatternError(gettext("Close the `[` with a `]`."))
    body = pattern[start:j]
    if not body:
        raise PatternError(gettext("`[]` is empty; list characters inside, e.g. `[0-9]`."))
    members: set[str] = set()
    k = 0
    while k < len(body):
        c = body[k]
        if c not in allowed and c != "]" and c not in "-":
            raise PatternError(
                gettext("`%(character)s` cannot appear in a name, so `[...]` cannot match it.")
                % {"character": c}
            )
        if c == "/":
            raise PatternError(gettext("`[...]` never matches `/`; remove it from the class."))
        if k + 2 < len(body) and body[k + 1] == "-":
            end = body[k + 2]
            if end < c:
                raise PatternError(
                    gettext("The range `%(start)s-%(end)s` is backwards; write `%(end)s-%(start)s`.")
                    % {"start": c, "end": end}
                )
            members.update(chr(code) for code in range(ord(c), ord(end) + 1))
            k += 3
            continue
        members.add(c)
        k += 1
    # `-` last is literal in both engines; `.` is literal inside brackets in both.
    usable = sorted(m for m in members if m in allowed and m not in "/-") + (["-"] if "-" in members else [])
    if negate:
        out.append(f"[^/{''.join(usable)}]")
    elif usable:
        out.append(f"[{''.join(usable)}]")
    else:
        # Only characters no name has (`[]]`): still exactly what was written, as literals.
        out.append("(?:" + "|".join(_escape(m) for m in sorted(members)) + ")")
    return j + 1
