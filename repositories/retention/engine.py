"""The evaluation: candidates + policy -> a decision per artifact and per tag.

The semantics are specified in the package docstring (`repositories.retention`); this
module is written for speed (100,000 tags in well under a second): patterns are compiled
once per policy, match results are memoised per distinct name within one evaluation, and
the inner loops touch plain tuples and dicts only.
"""

from __future__ import annotations

import gc
import heapq
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from repositories.globs import PatternKind, compile_patterns, name_filter
from repositories.retention.candidates import REFERENCE_PREFIXES, Artifact, Tag, reference_subject
from repositories.retention.decisions import ArtifactDecision, Evaluation, ReasonCode, TagDecision
from repositories.retention.policy import (
    ImmutableRule,
    Policy,
    PolicyError,
    Rule,
    Template,
    validate_immutable_rules,
    validate_policy,
)

_PUSH_TEMPLATES = frozenset((Template.LATEST_PUSHED_N, Template.PUSHED_WITHIN_DAYS))


class Matcher:
    """Include/exclude regexes with a per-evaluation memo of results by name. `segment`
    and `prefixes` (`globs.name_filter` of the include patterns) let `matching` skip the
    regex for names it admits or rejects by a cheaper test."""

    __slots__ = ("_exclude", "_include", "_prefixes", "_segment", "memo")

    def __init__(
        self,
        include: re.Pattern[str] | None,
        exclude: re.Pattern[str] | None,
        filtered: tuple[bool, tuple[str, ...] | None] = (False, None),
    ) -> None:
        self._include = include
        self._exclude = exclude
        self._segment, self._prefixes = filtered
        self.memo: dict[str, bool] = {}

    def __call__(self, name: str) -> bool:
        result = self.memo.get(name)
        if result is None:
            result = (
                self._include is not None
                and self._include.fullmatch(name) is not None
                and (self._exclude is None or self._exclude.fullmatch(name) is None)
            )
            self.memo[name] = result
        return result

    def matching(self, names: set[str]) -> set[str]:
        """Those of `names` that match, in bulk: one comprehension over the whole set calling
        the compiled regexes directly (no memo lookups, no method call per name), which is
        what a rule over the 100,000 tags of one repository needs."""
        if self._include is None:
            return set()
        include = self._include.fullmatch
        if self._segment:  # `*` / `**` among the tag patterns: every name without a `/`
            found = {name for name in names if "/" not in name}
        elif self._prefixes:  # `release-*`: the regex only for names with the literal prefix
            prefixes = self._prefixes
            found = {name for name in names if name.startswith(prefixes) and include(name) is not None}
        else:
            found = {name for name in names if include(name) is not None}
        if self._exclude is not None and found:
            exclude = self._exclude.fullmatch
            found = {name for name in found if exclude(name) is None}
        return found


@dataclass(frozen=True, slots=True)
class _CompiledRule:
    number: int
    template: Template
    n: int
    spec: Rule
    repo_include: re.Pattern[str] | None
    repo_exclude: re.Pattern[str] | None
    tag_include: re.Pattern[str] | None
    tag_exclude: re.Pattern[str] | None
    untagged: bool
    tag_filter: tuple[bool, tuple[str, ...] | None] = (False, None)
    with_labels: frozenset[str] = frozenset()
    without_labels: frozenset[str] = frozenset()


@lru_cache(maxsize=256)
def _compile_policy(policy: Policy) -> tuple[_CompiledRule, ...]:
    problems = validate_policy(policy)
    if problems:
        raise PolicyError(problems)
    return tuple(
        _CompiledRule(
            number=number,
            template=rule.template,
            n=rule.n or 0,
            spec=rule,
            repo_include=compile_patterns(tuple(rule.repositories.include), PatternKind.REPOSITORY),
            repo_exclude=compile_patterns(tuple(rule.repositories.exclude), PatternKind.REPOSITORY),
            tag_include=compile_patterns(tuple(rule.tags.include), PatternKind.TAG),
            tag_exclude=compile_patterns(tuple(rule.tags.exclude), PatternKind.TAG),
            untagged=rule.tags.untagged,
            tag_filter=name_filter(tuple(rule.tags.include), PatternKind.TAG),
            with_labels=frozenset(rule.labels.with_all),
            without_labels=frozenset(rule.labels.without_any),
        )
        for number, rule in enumerate(policy.rules, start=1)
    )


@dataclass(frozen=True, slots=True)
class _CompiledImmutable:
    number: int
    repo_include: re.Pattern[str] | None
    repo_exclude: re.Pattern[str] | None
    tag_include: re.Pattern[str] | None
    tag_exclude: re.Pattern[str] | None


@lru_cache(maxsize=256)
def _compile_immutable(rules: tuple[ImmutableRule, ...]) -> tuple[_CompiledImmutable, ...]:
    problems = validate_immutable_rules(rules)
    if problems:
        raise PolicyError(problems)
    return tuple(
        _CompiledImmutable(
            number,
            compile_patterns(tuple(rule.repositories.include), PatternKind.REPOSITORY),
            compile_patterns(tuple(rule.repositories.exclude), PatternKind.REPOSITORY),
            compile_patterns(tuple(rule.tags.include), PatternKind.TAG),
            compile_patterns(tuple(rule.tags.exclude), PatternKind.TAG),
        )
        for number, rule in enumerate(rules, start=1)
    )


def evaluate(
    policy: Policy,
    artifacts: Iterable[Artifact],
    *,
    now: datetime,
    immutable_rules: tuple[ImmutableRule, ...] = (),
) -> Evaluation:
    """Decide, for every artifact and tag, whether `policy` keeps or deletes it, and why.

    `now` anchors the "within N days" templates (pass an aware datetime, like the
    artifacts' times). Raises PolicyError for an invalid policy or immutable rules and
    ValueError for inconsistent input (a digest or a tag twice in one repository).
    """
    rules = _cached(_compile_policy, policy)
    immutables = _cached(_compile_immutable, tuple(immutable_rules))
    with gc_paused():
        return _evaluate(rules, immutables, policy.allow_empty_repository, artifacts, now)


def _cached(compile_: Any, value: Any) -> Any:
    """`compile_(value)` through its cache, or uncached when `value` is unhashable (lists
    where tuples were expected still work, just without the cache)."""
    try:
        hash(value)
    except TypeError:
        return compile_.__wrapped__(value)
    return compile_(value)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while evaluating (callers that build or read the
    engine's input or output in bulk use it too).

    An evaluation allocates a few hundred thousand small objects, none in reference
    cycles (refcounting frees them), and each allocation burst triggers collections
    that rescan the caller's equally large input: measured, that is a third to a half of
    the run time for 100,000 tags. The previous state is restored, so nesting and
    callers that already disabled the collector are unaffected.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _evaluate(
    rules: tuple[_CompiledRule, ...],
    immutables: tuple[_CompiledImmutable, ...],
    allow_empty: bool,
    artifacts: Iterable[Artifact],
    now: datetime,
) -> Evaluation:
    by_repository: dict[str, list[Artifact]] = {}
    for artifact in artifacts:
        group = by_repository.get(artifact.repository)
        if group is None:
            by_repository[artifact.repository] = [artifact]
        else:
            group.append(artifact)

    rule_state = [
        (
            rule,
            Matcher(rule.repo_include, rule.repo_exclude),
            Matcher(rule.tag_include, rule.tag_exclude, rule.tag_filter),
            now - timedelta(days=rule.n),
        )
        for rule in rules
    ]
    immutable_state = [
        (im.number, Matcher(im.repo_include, im.repo_exclude), Matcher(im.tag_include, im.tag_exclude))
        for im in immutables
    ]
    artifact_out: list[ArtifactDecision] = []
    tag_out: list[TagDecision] = []
    for repository in sorted(by_repository):
        group = by_repository[repository]
        group.sort(key=_digest_of)
        applicable = [state for state in rule_state if state[1](repository)]
        protecting = [(number, tags) for number, repos, tags in immutable_state if repos(repository)]
        _evaluate_repository(repository, group, applicable, protecting, allow_empty, artifact_out, tag_out)
    return Evaluation(tuple(artifact_out), tuple(tag_out))


def _digest_of(artifact: Artifact) -> str:
    return artifact.digest


_RuleState = tuple[_CompiledRule, Matcher, Matcher, datetime]
# A candidate with what every rule needs precomputed once: the artifact, its ordinary
# tags, their names (sorted), and its push and pull times over all its ordinary tags.
_Candidate = tuple[Artifact, tuple[Tag, ...], tuple[str, ...], datetime, "datetime | None"]


def _evaluate_repository(
    repository: str,
    group: list[Artifact],
    rules: list[_RuleState],
    protecting: list[tuple[int, Matcher]],
    allow_empty: bool,
    artifact_out: list[ArtifactDecision],
    tag_out: list[TagDecision],
) -> None:
    """Decide one repository's artifacts (`group`, sorted by digest) into the out lists."""
    present: dict[str, Artifact] = {artifact.digest: artifact for artifact in group}
    if len(present) != len(group):
        seen: set[str] = set()
        for artifact in group:
            if artifact.digest in seen:
                raise ValueError(f"{repository}@{artifact.digest} appears twice in the candidates.")
            seen.add(artifact.digest)

    # Classify: ordinary tags (what selectors see), owners present in this repository,
    # protection. Candidates are artifacts with an ordinary tag or no owner present.
    candidates: list[_Candidate] = []
    owners: dict[str, list[str]] = {}  # digest -> owner digests present, ascending
    children: dict[str, list[str]] = {}  # owner digest -> dependent digests
    protected: dict[str, tuple[int, str]] = {}  # digest -> (immutable rule, tag name)
    tag_protection: dict[tuple[str, str], int] = {}
    seen_tags: set[str] = set()
    dependents: set[str] = set()
    for artifact in group:
        tags = artifact.tags
        pushed = artifact.pushed_at
        pulled = artifact.pulled_at
        referenced: list[str] | None = None
        best: tuple[int, str] | None = None
        for tag in tags:
            name = tag.name
            if name in seen_tags:
                raise ValueError(f"Tag {repository}:{name} appears twice in the candidates.")
            seen_tags.add(name)
            if name.startswith(REFERENCE_PREFIXES):
                subject = reference_subject(name)
                if subject is not None:
                    referenced = [*(referenced or ()), subject]
            at = tag.pushed_at
            if at is not None and at > pushed:
                pushed = at
            at = tag.pulled_at
            if at is not None and (pulled is None or at > pulled):
                pulled = at
            rule_number = tag.protected_by
            for number, matcher in protecting:
                if matcher(name):
                    if rule_number is None or number < rule_number:
                        rule_number = number
                    break
            if rule_number is not None:
                tag_protection[(artifact.digest, name)] = rule_number
                if best is None or (rule_number, name) < best:
                    best = (rule_number, name)
        if best is not None:
            protected[artifact.digest] = best
        ordinary = tags
        if referenced:
            # Rare: recompute over the ordinary tags only.
            ordinary = tuple(t for t in tags if reference_subject(t.name) is None)
            pushed = _pushed(artifact, ordinary)
            pulled = _pulled(artifact, ordinary)
        if artifact.parents or artifact.subject or referenced:
            mine = {artifact.subject, *artifact.parents, *(referenced or ())}
            found = sorted(d for d in mine if d in present and d != artifact.digest)
            if found:
                owners[artifact.digest] = found
                for owner in found:
                    children.setdefault(owner, []).append(artifact.digest)
                if not ordinary:
                    dependents.add(artifact.digest)
                    continue  # never a candidate on its own
        if len(ordinary) == 1:
            names: tuple[str, ...] = (ordinary[0].name,)
        else:
            names = tuple(sorted(t.name for t in ordinary))
        candidates.append((artifact, ordinary, names, pushed, pulled))

    if not rules:
        for artifact in group:
            guard = protected.get(artifact.digest)
            decision = ArtifactDecision(
                artifact, True, ReasonCode.UNMATCHED_REPOSITORY, protected_by=guard[0] if guard else None
            )
            artifact_out.append(decision)
            _emit(decision, tag_protection, tag_out)
        return

    retained, retained_by = _apply_rules(rules, candidates, seen_tags)
    kept = set(protected) | set(retained)
    if children:
        _propagate(kept, children)
    floor: str | None = None
    if not kept and not allow_empty:
        floor = _floor_choice(group, candidates)
        kept.add(floor)
        if children:
            _propagate(kept, children)

    # The loop below runs once per artifact (100,000 in one repository): what it reads
    # repeatedly is bound locally, and a deleted artifact (the common outcome) is decided
    # with one set lookup.
    decide, tag_decision = ArtifactDecision, TagDecision
    not_retained = ReasonCode.NOT_RETAINED
    append_artifact, append_tag = artifact_out.append, tag_out.append
    for artifact in group:
        digest = artifact.digest
        if digest not in kept:  # kept holds the protected, the retained and the floor
            if digest in dependents:
                # No owner is kept (or it would have been propagated): it goes with them.
                owner = owners[digest][0]
                relation = "parent" if owner in artifact.parents else "subject"
                decision = decide(artifact, False, ReasonCode.OWNER_DELETED, owner=owner, relation=relation)
            else:
                decision = decide(artifact, False, not_retained)
            append_artifact(decision)
            tags = artifact.tags
            if len(tags) == 1:
                append_tag(tag_decision(tags[0].name, decision))
            elif tags:
                _emit(decision, tag_protection, tag_out)
            continue
        guard = protected.get(digest)
        if guard is not None:
            decision = ArtifactDecision(
                artifact,
                True,
                ReasonCode.PROTECTED,
                guard[0],
                tags=(guard[1],),
                retained_by=tuple(retained_by.get(digest, ())),
                protected_by=guard[0],
            )
        elif digest in retained:
            rule, names = retained[digest]
            decision = ArtifactDecision(
                artifact,
                True,
                ReasonCode.RETAINED,
                rule.number,
                rule.spec,
                names,
                retained_by=tuple(retained_by[digest]),
                push_based=rule.template in _PUSH_TEMPLATES,
            )
        elif digest == floor:
            decision = ArtifactDecision(artifact, True, ReasonCode.FLOOR)
        else:
            # Only propagation from an owner gets here; the lowest kept owner is named.
            owner = next(o for o in owners[digest] if o in kept)
            relation = "parent" if owner in artifact.parents else "subject"
            decision = ArtifactDecision(artifact, True, ReasonCode.WITH_OWNER, owner=owner, relation=relation)
        artifact_out.append(decision)
        tags = artifact.tags
        if len(tags) == 1 and guard is None:
            tag_out.append(TagDecision(tags[0].name, decision))
        elif tags:
            _emit(decision, tag_protection, tag_out)


def _apply_rules(
    rules: list[_RuleState], candidates: list[_Candidate], tag_names: set[str]
) -> tuple[dict[str, tuple[_CompiledRule, tuple[str, ...]]], dict[str, list[int]]]:
    """Run every applicable rule over the repository's candidates (sorted by digest);
    `tag_names` holds at least every ordinary tag name of the candidates.

    Returns, by digest, the first retaining rule with the matching tag names, and the
    numbers of all retaining rules.
    """
    retained: dict[str, tuple[_CompiledRule, tuple[str, ...]]] = {}
    retained_by: dict[str, list[int]] = {}
    for rule, _, tag_matcher, cutoff in rules:
        untagged = rule.untagged
        matching = tag_matcher.matching(tag_names)
        if not matching and not untagged:
            continue  # it selects nothing here: no tag matches and untagged ones are not asked for
        template = rule.template
        number = rule.number
        by_pull = template is Template.LATEST_PULLED_N or template is Template.PULLED_WITHIN_DAYS
        ranked = template is Template.LATEST_PUSHED_N or template is Template.LATEST_PULLED_N
        need, avoid = rule.with_labels, rule.without_labels
        by_label = bool(need or avoid)
        # The selected candidates, as (artifact, ordinary tags, names, push time, pull time).
        selected: list[_Candidate]
        if not by_label and len(matching) == len(tag_names):
            # Every tag matches (`**`, the usual first rule): each tagged candidate is selected
            # with all its tags, so its precomputed names and times stand as they are.
            selected = candidates if untagged else [c for c in candidates if c[1]]
        else:
            selected = []
            for candidate in candidates:
                artifact, ordinary, names = candidate[0], candidate[1], candidate[2]
                if by_label:
                    labels = artifact.labels
                    if (need and not need <= labels) or (avoid and not avoid.isdisjoint(labels)):
                        continue
                if ordinary:
                    if len(ordinary) == 1:
                        if names[0] not in matching:
                            continue
                    else:
                        matched = [t for t in ordinary if t.name in matching]
                        if not matched:
                            continue
                        if len(matched) < len(ordinary):
                            # Only the matching tags' times and names count for this rule.
                            candidate = (
                                artifact,
                                ordinary,
                                tuple(sorted(t.name for t in matched)),
                                _pushed(artifact, matched),
                                _pulled(artifact, matched),
                            )
                elif not untagged:
                    continue
                selected.append(candidate)
        hits: list[tuple[Artifact, tuple[str, ...]]]
        if ranked:
            keys: list[Any]
            if by_pull:
                # Never-pulled candidates rank after every pulled one, by push time.
                keys = [(0, c[3]) if c[4] is None else (1, c[4], c[3]) for c in selected]
            else:
                keys = [c[3] for c in selected]
            # nlargest equals sorted(reverse=True)[:n], which is stable: on equal keys the
            # earlier candidate (lower digest, as candidates are sorted) wins.
            top = heapq.nlargest(rule.n, range(len(keys)), key=keys.__getitem__)
            hits = [(selected[i][0], selected[i][2]) for i in top]
        elif template is Template.ALWAYS:
            hits = [(c[0], c[2]) for c in selected]
        elif by_pull:
            hits = [(c[0], c[2]) for c in selected if c[4] is not None and c[4] >= cutoff]
        else:
            hits = [(c[0], c[2]) for c in selected if c[3] >= cutoff]
        for artifact, names in hits:
            digest = artifact.digest
            if digest not in retained:
                retained[digest] = (rule, names)
                retained_by[digest] = [number]
            else:
                retained_by[digest].append(number)
    return retained, retained_by


def _emit(
    decision: ArtifactDecision, tag_protection: dict[tuple[str, str], int], tag_out: list[TagDecision]
) -> None:
    """One TagDecision per tag of the decided artifact, in tag-name order."""
    digest = decision.artifact.digest
    tags = decision.artifact.tags
    if len(tags) > 1:
        tags = tuple(sorted(tags, key=_name_of))
    for tag in tags:
        tag_out.append(TagDecision(tag.name, decision, tag_protection.get((digest, tag.name))))


def _name_of(tag: Tag) -> str:
    return tag.name


def _pushed(artifact: Artifact, tags: Iterable[Tag]) -> datetime:
    """Push time as a rule sees it: the latest of the artifact's and these tags'."""
    latest = artifact.pushed_at
    for tag in tags:
        at = tag.pushed_at
        if at is not None and at > latest:
            latest = at
    return latest


def _pulled(artifact: Artifact, tags: Iterable[Tag]) -> datetime | None:
    """Pull time as a rule sees it: the latest of the artifact's and these tags'."""
    latest = artifact.pulled_at
    for tag in tags:
        at = tag.pulled_at
        if at is not None and (latest is None or at > latest):
            latest = at
    return latest


def _propagate(kept: set[str], children: dict[str, list[str]]) -> None:
    """Add to `kept` everything reachable from it through parent/subject links."""
    stack = [d for d in kept if d in children]
    while stack:
        for child in children[stack.pop()]:
            if child not in kept:
                kept.add(child)
                if child in children:
                    stack.append(child)


def _floor_choice(group: list[Artifact], candidates: list[_Candidate]) -> str:
    """The artifact the safety floor keeps: the most recently pushed candidate with an
    ordinary tag, else the most recently pushed candidate, else the most recently pushed
    artifact; push time is the latest of the artifact's and all its tags'; ties go to the
    lowest digest."""
    pool = [c[0] for c in candidates if c[1]] or [c[0] for c in candidates] or group
    best = pool[0]
    best_time = _pushed(best, best.tags)
    for artifact in pool[1:]:
        at = _pushed(artifact, artifact.tags)
        if at > best_time:  # strict: the earlier (lower) digest wins ties
            best, best_time = artifact, at
    return best.digest
