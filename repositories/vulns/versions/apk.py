"""Alpine version order of apk-tools 2.x: a port of `apk_version_compare` (src/version.c).

apk-tools 2 is what Alpine 3.x up to 3.22 ship, what Alpine's security database
(and so OSV's `Alpine:v3.x` ranges) was computed with, and what Wolfi's and
Chainguard's package managers reimplement. apk-tools 3 (Alpine edge, 3.23 on) has its
own order in `apk3.py`; `registry.scheme_for` picks one per ecosystem.

A version is read as a stream of tokens, each read in a *state* that the previous
token left, exactly as apk-tools 2's `get_token`/`next_token` do:

- the first number, a `.N` component, a letter's trailing digits, `_suffixN` numbers
  and `-rN` revisions are numbers (`-r` without digits reads as 0, so `1-r == 1-r0`);
- after a `.`, leading zeros are one token worth `-(count of zeros)`, followed by the
  rest of the digits as a plain number: `1.02 < 1.1` (-1 < 1), `1.00 < 1.0`;
- a lower-case letter after digits is its character code, and digits after a letter
  go on as a number: `6.6.2p1 < 6.6.2p2`, `0.8.21.r1 < 0.8.21.r2`;
- suffixes are matched by prefix in the order alpha, beta, pre, rc (worth -4..-1) and
  cvs, svn, git, hg, p (0..4); anything else is invalid.

Two versions are walked in lock step; the first differing value decides. When the
values agree but what follows differs in kind, the version that ends is older,
unless the other goes on with a pre-release suffix; otherwise the later-ranked kind
(END > -rN > _suffixN > _suffix > letter > digit > .digit, INVALID lowest) is older.

Invalid versions are never refused, they are ordered where apk-tools 2 orders them:
the walk stops at the token apk cannot read, which reads as -1 and is followed by
nothing. Two versions that become invalid at the same place compare equal. Odd
consequences kept on purpose (they are what Alpine's tools do, and tested):
`1.0_rc1 > 1.0` (after a zero component apk emits an extra empty digit token, so the
suffix no longer directly follows the end of `1.0`), `1.0_foo > 1.0`, `"" == "0"`.

apk-tools uses C integers; numbers here are unbounded, which only differs for digit
runs that would overflow (the reference vectors include 14-digit snapshot dates,
which apk-tools orders as plain numbers).
"""

from __future__ import annotations

from .base import VersionScheme, cmp

# Token kinds in apk-tools 2's order (`enum PARTS`).
INVALID, DIGIT_OR_ZERO, DIGIT, LETTER, SUFFIX, SUFFIX_NO, REVISION_NO, END = -1, 0, 1, 2, 3, 4, 5, 6

_PRE_SUFFIXES = ("alpha", "beta", "pre", "rc")
_POST_SUFFIXES = ("cvs", "svn", "git", "hg", "p")


def _is_digit(char: str) -> bool:
    return "0" <= char <= "9"


def _next_type(state: int, text: str, pos: int) -> tuple[int, int]:
    """apk's `next_token`: the kind of the token at `pos` and where it starts."""
    if pos >= len(text) or text[pos] == "\0":
        kind = END
    elif state in (DIGIT, DIGIT_OR_ZERO) and "a" <= text[pos] <= "z":
        kind = LETTER
    elif state == LETTER and _is_digit(text[pos]):
        kind = DIGIT
    elif state == SUFFIX and _is_digit(text[pos]):
        kind = SUFFIX_NO
    else:
        char = text[pos]
        kind = INVALID
        if char == ".":
            kind = DIGIT_OR_ZERO
        elif char == "_":
            kind = SUFFIX
        elif char == "-" and pos + 1 < len(text) and text[pos + 1] == "r":
            kind = REVISION_NO
            pos += 1
        pos += 1
    if kind < state and not (
        (kind == DIGIT_OR_ZERO and state == DIGIT)
        or (kind == SUFFIX and state == SUFFIX_NO)
        or (kind == DIGIT and state == LETTER)
    ):
        kind = INVALID
    return kind, pos


def _read_number(text: str, pos: int) -> tuple[int, int]:
    end = pos
    while end < len(text) and _is_digit(text[end]):
        end += 1
    return (int(text[pos:end]) if end > pos else 0), end


def tokenize(version: str) -> list[tuple[int, int]]:
    """The `(value, kind of the next token)` pairs apk's `get_token` yields, in order.

    The list ends with the pair whose kind is END or INVALID.
    """
    tokens: list[tuple[int, int]] = []
    state, pos, length = DIGIT, 0, len(version)
    while True:
        if pos >= length:
            tokens.append((0, END))
            return tokens
        value, zeros_read = 0, False
        if state == DIGIT_OR_ZERO and version[pos] == "0":
            end = pos
            while end < length and version[end] == "0":
                end += 1
            value, pos, zeros_read = -(end - pos), end, True
        elif state in (DIGIT_OR_ZERO, DIGIT, SUFFIX_NO, REVISION_NO):
            value, pos = _read_number(version, pos)
        elif state == LETTER:
            value, pos = ord(version[pos]), pos + 1
        elif state == SUFFIX:
            matched = _suffix(version, pos)
            if matched is None:
                tokens.append((-1, INVALID))
                return tokens
            value, pos = matched
        else:  # pragma: no cover - END and INVALID stop the loop below
            raise AssertionError(state)
        if pos >= length:
            state = END
        elif zeros_read:
            state = DIGIT
        else:
            state, pos = _next_type(state, version, pos)
        tokens.append((value, state))
        if state in (END, INVALID):
            return tokens


def _suffix(text: str, pos: int) -> tuple[int, int] | None:
    """A suffix matched by prefix, as apk does (`_pre` before `_p`), with its value."""
    for rank, word in enumerate(_PRE_SUFFIXES):
        if text.startswith(word, pos):
            return rank - len(_PRE_SUFFIXES), pos + len(word)
    for rank, word in enumerate(_POST_SUFFIXES):
        if text.startswith(word, pos):
            return rank, pos + len(word)
    return None


def _tail_rank(tokens: list[tuple[int, int]], index: int) -> int:
    """Where a version stands when its next kind differs from the other's (higher = newer)."""
    kind = tokens[index][1]
    if kind == SUFFIX and tokens[index + 1][0] < 0:
        return -100  # a pre-release (or unreadable) suffix loses to anything
    return -kind


class ApkScheme(VersionScheme):
    """Alpine version order of apk-tools 2 (Alpine 3.x up to 3.22, Wolfi, Chainguard)."""

    name = "apk"

    def _sort_key(self, version: str) -> tuple[tuple[int, int], ...]:
        # One (value, rank of what follows) pair per token. Values compare first, as
        # in apk's walk; equal values with different next kinds are decided by the
        # rank; a key ends at its END/INVALID pair, so equal walks give equal keys
        # and no key is a proper prefix of a different one.
        tokens = tokenize(version)
        return tuple((value, _tail_rank(tokens, index)) for index, (value, _) in enumerate(tokens))

    def compare(self, a: str, b: str) -> int:
        tokens_a, tokens_b = tokenize(a), tokenize(b)
        for index in range(min(len(tokens_a), len(tokens_b))):
            (value_a, kind_a), (value_b, kind_b) = tokens_a[index], tokens_b[index]
            if value_a != value_b:
                return cmp(value_a, value_b)
            if kind_a != kind_b:
                if kind_a == SUFFIX and tokens_a[index + 1][0] < 0:
                    return -1
                if kind_b == SUFFIX and tokens_b[index + 1][0] < 0:
                    return 1
                return -1 if kind_a > kind_b else 1
            if kind_a in (END, INVALID):
                return 0
        return 0  # pragma: no cover - equal kinds end both lists at the same index

    def is_valid(self, version: str) -> bool:
        """apk's `apk_version_validate`: the token walk reaches END (so "" is valid)."""
        return tokenize(version)[-1][1] == END
