"""Retention decisions and rules in words, made when they are read (pure, no Django).

The engine does not write sentences: a decision is a `ReasonCode` and parameters
(`reason_params`), a rule is its data (`rule_params`), both plain JSON-able dicts.
`reason_text(code, params)` and `rule_text(params)` turn them into words with
`repositories.text.gettext`, in the language active where they are called: the
reader's in a request, English in a task or outside Django. A run item stores the code
and the parameters, so its page says it in the reader's language whatever language
the worker ran in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from repositories.text import gettext

# How many tag names a reason spells out before "and N more".
REASON_TAGS = 3

# The reason codes (values of `decisions.ReasonCode`), spelled out so this module needs
# nothing from the engine.
UNMATCHED_REPOSITORY = "unmatched_repository"
PROTECTED = "protected"
RETAINED = "retained"
WITH_OWNER = "with_owner"
FLOOR = "floor"
NOT_RETAINED = "not_retained"
OWNER_DELETED = "owner_deleted"
CODES = (UNMATCHED_REPOSITORY, PROTECTED, RETAINED, WITH_OWNER, FLOOR, NOT_RETAINED, OWNER_DELETED)


def _quoted(names: Iterable[str]) -> list[str]:
    return [f"`{name}`" for name in names]


def _either(items: Sequence[str]) -> str:
    """`a` or `b` or `c`, in the active language."""
    text = items[0] if items else ""
    for item in items[1:]:
        text = gettext("%(left)s or %(right)s") % {"left": text, "right": item}
    return text


def _both(items: Sequence[str]) -> str:
    """`a` and `b` and `c`, in the active language."""
    text = items[0] if items else ""
    for item in items[1:]:
        text = gettext("%(left)s and %(right)s") % {"left": text, "right": item}
    return text


def _head(template: str, n: int | None) -> str:
    count = {"count": n}
    if template == "latest_pushed_n":
        return gettext("the most recently pushed") if n == 1 else gettext("%(count)s most recently pushed") % count
    if template == "latest_pulled_n":
        return gettext("the most recently pulled") if n == 1 else gettext("%(count)s most recently pulled") % count
    if template == "pushed_within_days":
        if n == 1:
            return gettext("pushed within the last day")
        return gettext("pushed within the last %(count)s days") % count
    if template == "pulled_within_days":
        if n == 1:
            return gettext("pulled within the last day")
        return gettext("pulled within the last %(count)s days") % count
    return gettext("always")


def _selection(include: Sequence[str], exclude: Sequence[str], untagged: bool) -> str:
    if include:
        patterns = _either(_quoted(include))
        if untagged:
            text = gettext("matching %(patterns)s or untagged") % {"patterns": patterns}
        else:
            text = gettext("matching %(patterns)s") % {"patterns": patterns}
    else:
        text = gettext("untagged") if untagged else gettext("matching nothing")
    if exclude:
        text = gettext("%(selection)s, except %(patterns)s") % {
            "selection": text,
            "patterns": _either(_quoted(exclude)),
        }
    return text


def rule_text(params: Mapping[str, Any]) -> str:
    """A rule in words from its `rule_params`: "5 most recently pushed matching `release-*`"."""
    text = gettext("%(retains)s %(selection)s") % {
        "retains": _head(str(params.get("template", "")), params.get("n")),
        "selection": _selection(
            tuple(params.get("include", ())), tuple(params.get("exclude", ())), bool(params.get("untagged"))
        ),
    }
    if with_all := params.get("with_labels"):
        text = gettext("%(rule)s, labelled %(labels)s") % {"rule": text, "labels": _both(_quoted(with_all))}
    if without_any := params.get("without_labels"):
        text = gettext("%(rule)s, not labelled %(labels)s") % {
            "rule": text,
            "labels": _either(_quoted(without_any)),
        }
    return text


def which_tags(tags: Sequence[str], more: int = 0) -> str:
    """The tags that decided ("tag `v1`", "tags `a`, `b`, `c` and 2 more") or "untagged".
    `more` counts further tags not in `tags`."""
    if len(tags) > REASON_TAGS:
        tags, more = tags[:REASON_TAGS], more + len(tags) - REASON_TAGS
    if not tags:
        return gettext("untagged")
    shown = {"tags": ", ".join(_quoted(tags)), "more": more}
    if more:
        return gettext("tags %(tags)s and %(more)s more") % shown
    if len(tags) == 1:
        return gettext("tag %(tags)s") % shown
    return gettext("tags %(tags)s") % shown


def reason_text(code: str, params: Mapping[str, Any]) -> str:
    """A decision in words, from its code and `reason_params`, e.g. "kept by rule 2: 5 most
    recently pushed matching `release-*` (tag `release-1.4`)", with a note when a push time
    it rests on is an estimate."""
    reason = _reason(code, params)
    if params.get("estimated"):
        reason = gettext(
            "%(reason)s; push time unknown (found by a sync, the push was not seen): "
            "the image's created time, or when a sync first saw it, stood in"
        ) % {"reason": reason}
    return reason


def _reason(code: str, params: Mapping[str, Any]) -> str:
    if code == NOT_RETAINED:  # most of a big plan's rows: nothing else to put into words
        return gettext("deleted: retained by no rule")
    tags = which_tags(tuple(params.get("tags", ())), int(params.get("more_tags", 0)))
    rule = params.get("rule")
    subject = params.get("relation") == "subject"
    owner = {"owner": params.get("owner", "")}
    if code == RETAINED:
        return gettext("kept by rule %(rule)s: %(description)s (%(tags)s)") % {
            "rule": rule,
            "description": rule_text(params.get("rule_params", {})),
            "tags": tags,
        }
    if code == PROTECTED:
        return gettext("protected: immutable rule %(rule)s (%(tags)s)") % {"rule": rule, "tags": tags}
    if code == WITH_OWNER:
        if subject:
            return gettext("kept with its subject %(owner)s") % owner
        return gettext("kept with its parent %(owner)s") % owner
    if code == OWNER_DELETED:
        if subject:
            return gettext("deleted with its subject %(owner)s") % owner
        return gettext("deleted with its parent %(owner)s") % owner
    if code == FLOOR:
        return gettext("kept: the policy may not empty a repository (most recently pushed artifact)")
    return gettext("kept: no rule matches this repository")
