"""Which policy governs a project: its own, the system-wide default, or none (pure).

A project *has its own policy* when it saved one with at least one rule (saving an
empty policy is not a way around the default). The system default applies to every
project without its own, unless the project opted out *and* the site allows opting out
(`WHARF_RETENTION_DEFAULT_OPT_OUT`); a default without rules applies nowhere.
"""

from __future__ import annotations

from enum import StrEnum


class Origin(StrEnum):
    """Where a project's effective retention policy comes from."""

    PROJECT = "project"
    DEFAULT = "default"
    NONE = "none"


def policy_origin(*, own_rules: int, default_rules: int, opted_out: bool, opt_out_allowed: bool) -> Origin:
    """The origin of a project's effective policy (see the module docstring)."""
    if own_rules > 0:
        return Origin.PROJECT
    if default_rules > 0 and not (opted_out and opt_out_allowed):
        return Origin.DEFAULT
    return Origin.NONE
