"""Alpine version order: a port of apk-tools' `apk_version_compare` (apk-tools 3).

Grammar: `digit{.digit}...{letter}{_suffix{number}}...{~hash}{-r#}`. The string is
read as a sequence of typed tokens and two versions are compared token by token:

- the first number and `-rN` revisions, `_suffixN` numbers compare numerically;
  later `.N` components numerically too, unless either has a leading zero, in which
  case they compare as strings (the Gentoo rule: `1.02 < 1.1`, `1.010 < 1.02`);
- a letter directly after a number (`1.2a`) compares by character;
- suffixes rank `_alpha < _beta < _pre < _rc < (none) < _cvs < _svn < _git < _hg < _p`;
- a `~hash` (apk 3 commit hash) compares as a string.

When one version runs out of tokens of the same type first, the one that goes on is
newer, unless what follows is a pre-release suffix: `1.0_rc1 < 1.0 < 1.0-r1 < 1.0_p1`,
`1.0 < 1.0.1`, `1.0a < 1.0.1`. Anything apk cannot tokenise (an unknown suffix,
`1.0bc`, trailing junk) ends the comparison at that point and sorts before a version
that ends there cleanly, exactly as apk does; two versions that become invalid at
the same point after equal tokens compare equal, as in apk.

Numbers are unbounded here where apk uses 64-bit integers; the two differ only for
digit runs longer than 19 digits.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from .base import VersionScheme, cmp

# Token types, in apk's order: the larger type sorts *lower* when two versions
# diverge in type (see `compare`).
INITIAL_DIGIT, DIGIT, LETTER, SUFFIX, SUFFIX_NO, COMMIT_HASH, REVISION_NO, END, INVALID = range(9)

_SUFFIXES = {"alpha": 0, "beta": 1, "pre": 2, "rc": 3, "cvs": 5, "svn": 6, "git": 7, "hg": 8, "p": 9}
_SUFFIX_NONE = 4  # what "no suffix" would rank: pre-release suffixes are below it

_DIGITS = re.compile(r"[0-9]*")
_LOWER = re.compile(r"[a-z]*")
_HEX = re.compile(r"[0-9a-f]*")


class Token(NamedTuple):
    """One token: its type, its text, and its number (for numeric tokens) or suffix rank."""

    type: int
    text: str = ""
    number: int = 0


def tokenize(version: str) -> list[Token]:
    """Split `version` into apk tokens; the list always ends with an END or INVALID token."""
    tokens: list[Token] = []
    match = _DIGITS.match(version, 0)
    assert match is not None
    if not match.group():
        return [Token(INVALID)]
    tokens.append(Token(INITIAL_DIGIT, match.group(), int(match.group())))
    pos = match.end()
    state = INITIAL_DIGIT
    length = len(version)
    while True:
        if pos >= length:
            tokens.append(Token(END))
            return tokens
        char = version[pos]
        token: Token | None = None
        if "a" <= char <= "z":
            if state <= DIGIT:
                token = Token(LETTER, char)
                pos += 1
        elif char == "." or "0" <= char <= "9":
            if state <= DIGIT or (char != "." and state == SUFFIX):
                start = pos + 1 if char == "." else pos
                digits = _DIGITS.match(version, start)
                assert digits is not None
                if digits.group():
                    kind = SUFFIX_NO if state == SUFFIX else DIGIT
                    token = Token(kind, digits.group(), int(digits.group()))
                    pos = digits.end()
        elif char == "_":
            if state <= SUFFIX_NO:
                word = _LOWER.match(version, pos + 1)
                assert word is not None
                rank = _SUFFIXES.get(word.group())
                if rank is not None:
                    token = Token(SUFFIX, word.group(), rank)
                    pos = word.end()
        elif char == "~":
            if state < COMMIT_HASH:
                digits = _HEX.match(version, pos + 1)
                assert digits is not None
                if digits.group():
                    token = Token(COMMIT_HASH, digits.group())
                    pos = digits.end()
        elif char == "-" and state < REVISION_NO and version.startswith("-r", pos):
            digits = _DIGITS.match(version, pos + 2)
            assert digits is not None
            if digits.group():
                token = Token(REVISION_NO, digits.group(), int(digits.group()))
                pos = digits.end()
        if token is None:
            tokens.append(Token(INVALID))
            return tokens
        tokens.append(token)
        state = token.type


def _token_cmp(a: Token, b: Token) -> int:
    """apk's `token_cmp` for two tokens of the same type."""
    if a.type == DIGIT and (a.text.startswith("0") or b.text.startswith("0")):
        return cmp(a.text, b.text)
    if a.type in (INITIAL_DIGIT, DIGIT, SUFFIX_NO, REVISION_NO, SUFFIX):
        return cmp(a.number, b.number)
    return cmp(a.text, b.text)


def _is_pre_release(token: Token) -> bool:
    return token.type == SUFFIX and token.number < _SUFFIX_NONE


# Rank of a token where two versions' token types first differ (higher = newer),
# mirroring the tail of `apk_version_compare_fuzzy`: a pre-release suffix loses to
# anything; otherwise the token with the *smaller* type wins, so INVALID < END <
# -rN < ~hash < _suffixN < _suffix < letter < .digit < first number.
_WEIGHTS = {
    INVALID: -1,
    END: 0,
    REVISION_NO: 1,
    COMMIT_HASH: 2,
    SUFFIX_NO: 3,
    SUFFIX: 4,
    LETTER: 5,
    DIGIT: 6,
    INITIAL_DIGIT: 7,
}
_PRE_RELEASE_WEIGHT = -2


def _key_element(token: Token) -> tuple:  # type: ignore[type-arg]
    """One element of the sort key: (divergence weight, value within that type)."""
    if token.type in (END, INVALID):
        return (_WEIGHTS[token.type],)
    if token.type == SUFFIX:
        weight = _PRE_RELEASE_WEIGHT if _is_pre_release(token) else _WEIGHTS[SUFFIX]
        return (weight, token.number)
    if token.type == DIGIT:
        # Within DIGIT, apk compares as strings when either side has a leading zero
        # and as numbers otherwise. Zero-led strings are always smaller as strings
        # ("0..." < "1..."), so (0, text) below (1, number) reproduces both rules.
        value: tuple = (0, token.text) if token.text.startswith("0") else (1, token.number)  # type: ignore[type-arg]
        return (_WEIGHTS[DIGIT], value)
    if token.type in (INITIAL_DIGIT, SUFFIX_NO, REVISION_NO):
        return (_WEIGHTS[token.type], token.number)
    return (_WEIGHTS[token.type], token.text)


class Apk3Scheme(VersionScheme):
    """Alpine version order of apk-tools 3 (Alpine edge and 3.23 on)."""

    name = "apk3"

    def _sort_key(self, version: str) -> tuple:  # type: ignore[type-arg]
        # Every key ends with its END/INVALID element, whose weight differs from any
        # non-terminal element's, so no key is a proper prefix of another that would
        # need padding, and comparing keys is exactly apk's lock-step token walk.
        return tuple(_key_element(token) for token in tokenize(version))

    def compare(self, a: str, b: str) -> int:
        tokens_a, tokens_b = tokenize(a), tokenize(b)
        for ta, tb in zip(tokens_a, tokens_b, strict=False):
            if ta.type != tb.type:
                if _is_pre_release(ta):
                    return -1
                if _is_pre_release(tb):
                    return 1
                return 1 if ta.type < tb.type else -1
            if ta.type in (END, INVALID):
                return 0
            result = _token_cmp(ta, tb)
            if result:
                return result
        return 0  # pragma: no cover - both lists end with END/INVALID at the same index

    def is_valid(self, version: str) -> bool:
        return tokenize(version)[-1].type == END
