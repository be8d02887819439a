"""Tag retention engine: pure data in, pure data out (no Django, no I/O).

``evaluate(policy, artifacts, now=..., immutable_rules=...)`` returns an ``Evaluation``
with one ``ArtifactDecision`` per artifact and one ``TagDecision`` per tag, each kept or
deleted with a reason. Models, pages, runs and the registry deletions build on it.

Semantics
=========

Names. A repository is named by its path *inside the project* (``app``, ``team-a/api``,
never ``acme/app``); repository patterns are matched against that path, because a policy
belongs to one project. Tag patterns are matched against tag names. Patterns are
Wharf's one glob dialect (see ``repositories.globs``): ``*`` stays within a path segment, ``**`` spans
segments, ``team-*/**`` matches ``team-a``, ``team-a/api`` and ``team-a/x/api``.

Policy. An ordered list of at most 15 rules, numbered from 1, and
``allow_empty_repository`` (default False). A rule has a repository selector (include
and exclude patterns), a tag selector (include and exclude patterns, and ``untagged``)
and a template with a number N (``latest_pushed_n``, ``latest_pulled_n``: 1..10,000;
``pushed_within_days``, ``pulled_within_days``: 1..3,650 days; ``always``: none).
``validate_policy`` lists every problem; ``evaluate`` raises ``PolicyError`` with them.

Per repository, in repository order:

1. A rule *applies* to a repository whose path matches one of its repository include
   patterns and none of its exclude patterns. A repository to which no rule applies is
   untouched: all its artifacts are kept, "kept: no rule matches this repository".
2. *Reference tags* are cosign tags ``sha256-<hex>.sig`` / ``.att`` / ``.sbom`` and OCI
   referrers tags ``sha256-<hex>`` (sha512 likewise); they name a subject digest. Every
   other tag is *ordinary*. Selectors only ever look at ordinary tags.
3. An artifact's *owners* are the digests present in the same repository among its
   ``parents`` (image indexes listing it), its ``subject`` and the subjects of its
   reference tags. An artifact with owners and no ordinary tag is a *dependent* (index
   child, signature, SBOM, attestation, other referrer): it is never a candidate on its
   own. Every other artifact is a *candidate* -- including one with owners that carries
   an ordinary tag of its own (someone tagged it, so rules may retain it), and an orphan
   whose owners are all absent (it is judged on its own, as untagged if it has no
   ordinary tag).
4. A rule *selects* a candidate when ANY of its ordinary tags matches one of the rule's
   tag include patterns and none of its tag exclude patterns (the matching tags are named
   in the reason), or -- with ``untagged`` set -- when it has no ordinary tag at all. A
   tagged candidate none of whose tags match is not selected, even with ``untagged``.
   A rule with a label selector also needs the candidate to carry every label of
   ``labels.with_all`` and none of ``labels.without_any`` (label names, on the artifact
   itself: ``Artifact.labels``); the reason says so ("kept by rule 1: always matching
   `**`, labelled `release`").
5. Times as a rule sees them: an artifact's *push time* is the latest of its own push
   time and the push times of its matching tags (a tag moved onto an old image counts as
   a recent push); its *pull time* is the latest of its own last pull (by tag or digest)
   and its matching tags' last pulls; never pulled is None. Untagged: its own times.
6. Among the candidates a rule selects in the repository, the rule *retains*:
   ``latest_pushed_n`` the N with the latest push time; ``latest_pulled_n`` the N with the
   latest pull time, never-pulled ones ranking after all pulled ones (so they fill the
   remaining places, among themselves by push time); ``pushed_within_days`` those with
   push time >= now - N days; ``pulled_within_days`` those with a pull time >= now - N
   days (never pulled: not retained); ``always`` all of them.
   Ties (equal times) are broken by digest, ascending (lexicographic): the lower digest
   ranks first. Rules are independent: each ranks all its selected candidates, whether
   another rule retains them or not.
7. An artifact carrying a *protected* tag (``Tag.protected_by`` set by the caller, or a
   tag matched by one of the ``immutable_rules``: repository patterns and tag patterns,
   numbered from 1) is never deleted, whatever the rules say.
8. Kept = protected, or retained by ANY rule, or -- transitively -- a dependent or a
   tagged child of something kept ("kept with its parent <digest>" / "kept with its
   subject <digest>", naming the lowest such digest). Index children, signatures and
   referrers thus stay while their parent or subject stays.
9. Safety floor: unless ``allow_empty_repository`` is set, if step 8 keeps no artifact at
   all in a repository to which a rule applies (and it has artifacts), one artifact is kept,
   "kept: the policy may not empty a repository": the candidate with an ordinary tag
   having the latest push time (its own or any of its tags'), else the latest-pushed
   candidate, else the latest-pushed artifact; ties to the lowest digest. Its dependents
   stay with it. The floor is about artifacts: a policy may still leave only untagged
   artifacts in a repository.
10. Everything else is deleted with all its tags: candidates "deleted: retained by no
    rule", dependents "deleted with its parent <digest>" / "... its subject <digest>".

Reasons, in order of precedence for a kept artifact: "protected: immutable rule K (tag
`v1`)", "kept by rule K: <rule in words> (tag(s) `...` | untagged)" naming the first
(lowest-numbered) rule that retains it (``retained_by`` lists all), "kept with its
parent/subject <digest>", "kept: the policy may not empty a repository (most recently
pushed artifact)". A tag is kept or deleted with its artifact, for the artifact's reason.

Determinism: the result depends only on the set of artifacts, never on their order or on
the order of the repositories; ``Evaluation.artifacts`` is ordered by (repository,
digest) and ``Evaluation.tags`` by (repository, digest, tag name); tag names in reasons are sorted.
Times must all be timezone-aware (or all naive), ``now`` included.
"""

from __future__ import annotations

from repositories.globs import PatternError, PatternKind, glob_match, validate_pattern
from repositories.retention.candidates import Artifact, Tag, reference_subject
from repositories.retention.decisions import (
    ArtifactDecision,
    Evaluation,
    ReasonCode,
    RepositorySummary,
    TagDecision,
)
from repositories.retention.engine import evaluate, gc_paused
from repositories.retention.policy import (
    MAX_COUNT,
    MAX_DAYS,
    MAX_RULES,
    ImmutableRule,
    LabelSelector,
    Policy,
    PolicyError,
    Problem,
    RepositorySelector,
    Rule,
    TagSelector,
    Template,
    validate_count,
    validate_immutable_rules,
    validate_policy,
    validate_rule,
)

__all__ = [
    "MAX_COUNT",
    "MAX_DAYS",
    "MAX_RULES",
    "Artifact",
    "ArtifactDecision",
    "Evaluation",
    "ImmutableRule",
    "LabelSelector",
    "PatternError",
    "PatternKind",
    "Policy",
    "PolicyError",
    "Problem",
    "ReasonCode",
    "RepositorySelector",
    "RepositorySummary",
    "Rule",
    "Tag",
    "TagDecision",
    "TagSelector",
    "Template",
    "evaluate",
    "gc_paused",
    "glob_match",
    "reference_subject",
    "validate_count",
    "validate_immutable_rules",
    "validate_pattern",
    "validate_policy",
    "validate_rule",
]
