"""Doublestar globs for repository paths and tag names: validation and translation to regex.

Syntax (a subset of Go's bmatcuk/doublestar, which Harbor uses, so patterns carry over):

* ``*``  any run of characters except ``/`` (may be empty);
* ``?``  exactly one character except ``/``;
* ``[abc]``, ``[a-z]``, ``[!abc]`` / ``[^abc]``  one character of (not of) a class, never ``/``;
* ``{a,b,c}``  any one of the comma-separated alternatives (not nested; each alternative
  may use the other wildcards except ``**``);
* ``**``  as a whole path segment (``**``, ``team/**``, ``**/api``, ``a/**/b``): zero or more
  whole segments, so ``team/**`` matches ``team``, ``team/api`` and ``team/x/api``, and
  ``a/**/b`` matches ``a/b``.  In tag patterns (tags have no ``/``) ``**`` is the same as ``*``;
  in repository patterns ``**`` inside a name (``team**``) is an error, not a silent ``*``.
* Everything else matches itself; ``\\`` escapes the next character.

Matching is against the whole name (anchored at both ends) and case-sensitive.

Why our own translator rather than ``wcmatch``: the grammar is small, the regex it
produces is as fast as any (matching, not compiling, is the hot path and both end in
``re``), and we need exact control over the doublestar details above and over the
wording of error messages shown in forms -- without a new runtime dependency.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache

MAX_PATTERN_LENGTH = 255

# Characters a name may contain besides wildcards. Repository path components follow the
# OCI distribution spec (lowercase); tags follow its tag grammar ([A-Za-z0-9_.-]).
_REPOSITORY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-/")
_TAG_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


class PatternKind(StrEnum):
    """What a pattern is matched against."""

    REPOSITORY = "repository"
    TAG = "tag"


class PatternError(ValueError):
    """A pattern that cannot be used; the message is meant for a form error."""


def validate_pattern(pattern: str, kind: PatternKind) -> str | None:
    """Return a human message explaining why `pattern` is unusable, or None if it is fine."""
    try:
        translate(pattern, kind)
    except PatternError as error:
        return str(error)
    return None


def translate(pattern: str, kind: PatternKind) -> str:
    """Translate a glob to an (unanchored) regular expression; raise PatternError if invalid."""
    if not pattern:
        raise PatternError("Enter a pattern, e.g. `**` for everything.")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise PatternError(f"Patterns are at most {MAX_PATTERN_LENGTH} characters long.")
    if pattern != pattern.strip():
        raise PatternError("Remove the spaces around the pattern.")
    is_repository = kind is PatternKind.REPOSITORY
    if is_repository:
        if pattern.startswith("/") or pattern.endswith("/"):
            raise PatternError(
                "Repository patterns are paths inside the project: no leading or trailing `/`, "
                "e.g. `team-a/**`."
            )
        if "//" in pattern:
            raise PatternError("Remove the empty path segment (`//`).")
        # `**/**` means the same as `**`; collapsing keeps the translation below simple.
        segments = pattern.split("/")
        pattern = "/".join(
            s for k, s in enumerate(segments) if not (s == "**" and k > 0 and segments[k - 1] == "**")
        )
    allowed = _REPOSITORY_CHARS if is_repository else _TAG_CHARS
    out: list[str] = []
    i = 0
    n = len(pattern)
    in_brace = False
    while i < n:
        c = pattern[i]
        if c == "\\":
            if i + 1 == n:
                raise PatternError("A `\\` at the end escapes nothing; remove it.")
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if c == "*":
            if i + 1 < n and pattern[i + 1] == "*":
                i = _double_star(pattern, i, out, is_repository=is_repository, in_brace=in_brace)
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            i = _char_class(pattern, i, out, allowed)
            continue
        elif c == "{":
            if in_brace:
                raise PatternError("Nested braces are not supported; write `{a,b,c}` once.")
            in_brace = True
            out.append("(?:")
        elif c == "}":
            if not in_brace:
                raise PatternError("This `}` closes no `{`.")
            in_brace = False
            out.append(")")
        elif c == "," and in_brace:
            out.append("|")
        elif c in allowed:
            out.append(re.escape(c))
        elif c == "/":
            raise PatternError("Tag names cannot contain `/`.")
        elif c.isupper() and is_repository:
            raise PatternError("Repository names are lowercase.")
        else:
            raise PatternError(f"`{c}` cannot appear in a {kind.value} name.")
        i += 1
    if in_brace:
        raise PatternError("Close the `{` with a `}`.")
    return "".join(out)


def _double_star(pattern: str, i: int, out: list[str], *, is_repository: bool, in_brace: bool) -> int:
    """Translate the `**` at `pattern[i]`; return the index after what was consumed."""
    n = len(pattern)
    j = i + 2
    while j < n and pattern[j] == "*":
        j += 1
    if not is_repository:
        # Tags have no `/`: any run of stars is just `*` (Harbor's default tag pattern is `**`).
        out.append("[^/]*")
        return j
    if j - i > 2:
        raise PatternError("Use at most two stars in a row (`**`).")
    if in_brace:
        raise PatternError("`**` cannot appear inside braces; write two patterns instead.")
    at_start = i == 0 or pattern[i - 1] == "/"
    at_end = j == n or pattern[j] == "/"
    if not (at_start and at_end):
        raise PatternError("`**` must be a whole path segment, e.g. `team/**`; use `*` within a name.")
    if i == 0 and j == n:
        out.append(".*")
        return j
    if j == n:
        # Trailing `/**`: take back the `/` already emitted so `team/**` also matches `team`.
        out.pop()
        out.append("(?:/.*)?")
        return j
    # Leading `**/` or inner `/**/`: zero or more whole segments, then the `/` is consumed.
    out.append("(?:.*/)?")
    return j + 1


def _char_class(pattern: str, i: int, out: list[str], allowed: frozenset[str]) -> int:
    """Translate the `[...]` class at `pattern[i]`; return the index after `]`."""
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
        raise PatternError("Close the `[` with a `]`.")
    body = pattern[start:j]
    if not body:
        raise PatternError("`[]` is empty; list characters inside, e.g. `[0-9]`.")
    parts: list[str] = []
    k = 0
    while k < len(body):
        c = body[k]
        if c not in allowed and c != "]" and c not in "-":
            raise PatternError(f"`{c}` cannot appear in a name, so `[...]` cannot match it.")
        if c == "/":
            raise PatternError("`[...]` never matches `/`; remove it from the class.")
        if k + 2 < len(body) and body[k + 1] == "-":
            end = body[k + 2]
            if end < c:
                raise PatternError(f"The range `{c}-{end}` is backwards; write `{end}-{c}`.")
            parts.append(f"{re.escape(c)}-{re.escape(end)}")
            k += 3
            continue
        parts.append(re.escape(c))
        k += 1
    inner = "".join(parts)
    out.append(f"[^/{inner}]" if negate else f"[{inner}]")
    return j + 1


@lru_cache(maxsize=4096)
def compile_patterns(patterns: tuple[str, ...], kind: PatternKind) -> re.Pattern[str] | None:
    """One anchored regex matching any of `patterns` (None when there are none).

    Cached: a policy's patterns are compiled once per process, not once per tag.
    """
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{translate(p, kind)})" for p in patterns), re.DOTALL)


def glob_match(pattern: str, name: str, kind: PatternKind) -> bool:
    """Whether `name` matches the single glob `pattern` (for tests and one-off checks)."""
    compiled = compile_patterns((pattern,), kind)
    return compiled is not None and compiled.fullmatch(name) is not None
