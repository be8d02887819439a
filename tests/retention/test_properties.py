"""Property-based tests: safety and determinism over random repositories and policies.

Worlds are small (three repositories, up to seven artifacts each, integer-day times so
ties are common) with index children, signatures, referrers, dangling references and
protected tags. Besides the invariants asked for, the engine is checked against a
deliberately naive oracle written straight from the package docstring.
"""

from __future__ import annotations

import random
from datetime import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from repositories.retention import (
    Artifact,
    Evaluation,
    ImmutableRule,
    LabelSelector,
    PatternKind,
    Policy,
    RepositorySelector,
    Rule,
    Tag,
    TagSelector,
    Template,
    evaluate,
    glob_match,
    reference_subject,
)

from .builders import NOW, ago, digest, sig_tag

REPOS = ["app", "team-a/api", "team-b/db"]
TAG_NAMES = ["latest", "v1", "v2", "release-1", "release-2", "dev", "rc-1"]
TAG_PATTERNS = ["**", "v*", "release-*", "latest", "{dev,rc-*}", "*-1"]
REPO_PATTERNS = ["**", "app", "team-*/**", "**/db"]
LABEL_NAMES = ["release", "qa", "dev"]
SETTINGS = settings(max_examples=200, deadline=None)

_maybe_day = st.one_of(st.none(), st.integers(0, 20))


def _when(days: int | None) -> datetime | None:
    return None if days is None else ago(days)


@st.composite
def worlds(draw: st.DrawFn) -> list[Artifact]:
    artifacts: list[Artifact] = []
    for repo in REPOS:
        count = draw(st.integers(0, 7))
        labels = [f"{repo}#{i}" for i in range(count)]
        digests = [digest(label) for label in labels]
        targets = [*labels, "absent"]  # references may dangle
        tags: dict[int, list[Tag]] = {i: [] for i in range(count)}
        used: set[str] = set()
        if count:
            for name in TAG_NAMES:
                owner = draw(st.integers(-1, count - 1))
                if owner >= 0:
                    used.add(name)
                    tags[owner].append(
                        Tag(
                            name,
                            pushed_at=_when(draw(_maybe_day)),
                            pulled_at=_when(draw(_maybe_day)),
                            protected_by=draw(st.sampled_from([None, None, None, None, 1, 2])),
                        )
                    )
        for i in range(count):
            kind = draw(st.sampled_from(["plain", "plain", "child", "signature", "referrer"]))
            parents: tuple[str, ...] = ()
            subject = None
            if kind == "child":
                parents = tuple(digest(t) for t in draw(st.sets(st.sampled_from(targets), max_size=2)))
            elif kind == "signature":
                name = sig_tag(draw(st.sampled_from(targets)))
                if name not in used:
                    used.add(name)
                    tags[i].append(Tag(name, pushed_at=_when(draw(_maybe_day))))
            elif kind == "referrer":
                subject = digest(draw(st.sampled_from(targets)))
            artifacts.append(
                Artifact(
                    repo,
                    digests[i],
                    ago(draw(st.integers(0, 20))),
                    _when(draw(_maybe_day)),
                    tuple(tags[i]),
                    parents,
                    subject,
                    labels=frozenset(draw(st.sets(st.sampled_from(LABEL_NAMES), max_size=2))),
                )
            )
    return artifacts


@st.composite
def rules(draw: st.DrawFn) -> Rule:
    template = draw(st.sampled_from(list(Template)))
    if template is Template.ALWAYS:
        n = None
    elif template.takes_count:
        n = draw(st.integers(1, 4))
    else:
        n = draw(st.integers(1, 15))
    untagged = draw(st.booleans())
    include = tuple(draw(st.sets(st.sampled_from(TAG_PATTERNS), min_size=0 if untagged else 1, max_size=2)))
    return Rule(
        template,
        n,
        RepositorySelector(
            tuple(draw(st.sets(st.sampled_from(REPO_PATTERNS), min_size=1, max_size=2))),
            tuple(draw(st.sets(st.sampled_from(REPO_PATTERNS[1:]), max_size=1))),
        ),
        TagSelector(include, tuple(draw(st.sets(st.sampled_from(TAG_PATTERNS[1:]), max_size=1))), untagged),
        draw(label_selectors),
    )


@st.composite
def _label_selector(draw: st.DrawFn) -> LabelSelector:
    with_all = draw(st.sets(st.sampled_from(LABEL_NAMES), max_size=2))
    without_any = draw(st.sets(st.sampled_from([n for n in LABEL_NAMES if n not in with_all]), max_size=1))
    return LabelSelector(tuple(sorted(with_all)), tuple(sorted(without_any)))


# Most rules ignore labels, as most saved policies will.
label_selectors = st.one_of(st.just(LabelSelector()), st.just(LabelSelector()), _label_selector())


policies = st.builds(Policy, st.lists(rules(), max_size=4).map(tuple), st.booleans())
immutable_rule_sets = st.lists(
    st.builds(
        ImmutableRule,
        st.sampled_from(REPO_PATTERNS).map(lambda p: RepositorySelector((p,))),
        st.sampled_from(TAG_PATTERNS[1:]).map(lambda p: TagSelector((p,))),
    ),
    max_size=2,
).map(tuple)


def _evaluate(policy: Policy, artifacts: list[Artifact], immutables: tuple[ImmutableRule, ...]) -> Evaluation:
    return evaluate(policy, artifacts, now=NOW, immutable_rules=immutables)


# --- a naive oracle, straight from the documented semantics --------------------------


def _selects(include: tuple[str, ...], exclude: tuple[str, ...], name: str, kind: PatternKind) -> bool:
    return any(glob_match(p, name, kind) for p in include) and not any(
        glob_match(p, name, kind) for p in exclude
    )


def _ordinary(artifact: Artifact) -> list[Tag]:
    return [t for t in artifact.tags if reference_subject(t.name) is None]


def _owners(artifact: Artifact, present: set[str]) -> set[str]:
    named = {*artifact.parents, artifact.subject, *(reference_subject(t.name) for t in artifact.tags)}
    return {d for d in named if d in present and d != artifact.digest}


def _retained_by_rules(policy: Policy, repo_artifacts: list[Artifact]) -> set[str]:
    present = {a.digest for a in repo_artifacts}
    candidates = [a for a in repo_artifacts if _ordinary(a) or not _owners(a, present)]
    retained: set[str] = set()
    repo = repo_artifacts[0].repository
    for rule in policy.rules:
        if not _selects(rule.repositories.include, rule.repositories.exclude, repo, PatternKind.REPOSITORY):
            continue
        chosen = []
        for a in candidates:
            ordinary = _ordinary(a)
            matched = [
                t for t in ordinary if _selects(rule.tags.include, rule.tags.exclude, t.name, PatternKind.TAG)
            ]
            if (ordinary and not matched) or (not ordinary and not rule.tags.untagged):
                continue
            if not set(rule.labels.with_all) <= a.labels or set(rule.labels.without_any) & a.labels:
                continue
            pushed = max([a.pushed_at] + [t.pushed_at for t in matched if t.pushed_at])
            pulls = [x for x in [a.pulled_at] + [t.pulled_at for t in matched] if x]
            chosen.append((a.digest, pushed, max(pulls) if pulls else None))
        chosen.sort(key=lambda c: c[0])  # lowest digest first among equals (stable sorts below)
        n = rule.n or 0
        if rule.template is Template.LATEST_PUSHED_N:
            chosen = sorted(chosen, key=lambda c: c[1], reverse=True)[:n]
        elif rule.template is Template.LATEST_PULLED_N:
            chosen = sorted(chosen, key=lambda c: (c[2] is not None, c[2] or c[1], c[1]), reverse=True)[:n]
        elif rule.template is Template.PUSHED_WITHIN_DAYS:
            chosen = [c for c in chosen if (NOW - c[1]).total_seconds() <= n * 86400]
        elif rule.template is Template.PULLED_WITHIN_DAYS:
            chosen = [c for c in chosen if c[2] is not None and (NOW - c[2]).total_seconds() <= n * 86400]
        retained |= {c[0] for c in chosen}
    return retained


def _protected(artifact: Artifact, immutables: tuple[ImmutableRule, ...]) -> bool:
    for tag in artifact.tags:
        if tag.protected_by is not None:
            return True
        for im in immutables:
            if _selects(
                im.repositories.include, im.repositories.exclude, artifact.repository, PatternKind.REPOSITORY
            ) and _selects(im.tags.include, im.tags.exclude, tag.name, PatternKind.TAG):
                return True
    return False


def _oracle_kept(
    policy: Policy, artifacts: list[Artifact], immutables: tuple[ImmutableRule, ...]
) -> set[tuple[str, str]]:
    kept_all: set[tuple[str, str]] = set()
    for repo in {a.repository for a in artifacts}:
        group = [a for a in artifacts if a.repository == repo]
        applies = any(
            _selects(r.repositories.include, r.repositories.exclude, repo, PatternKind.REPOSITORY)
            for r in policy.rules
        )
        if not applies:
            kept_all |= {(repo, a.digest) for a in group}
            continue
        present = {a.digest for a in group}
        kept = _retained_by_rules(policy, group) | {a.digest for a in group if _protected(a, immutables)}

        def close(kept: set[str]) -> None:
            grew = True
            while grew:
                grew = False
                for a in group:
                    if a.digest not in kept and _owners(a, present) & kept:
                        kept.add(a.digest)
                        grew = True

        close(kept)
        if not kept and not policy.allow_empty_repository:
            candidates = [a for a in group if _ordinary(a) or not _owners(a, present)]
            pool = [a for a in candidates if _ordinary(a)] or candidates or group
            latest = max(max([a.pushed_at] + [t.pushed_at for t in a.tags if t.pushed_at]) for a in pool)
            kept.add(
                min(
                    a.digest
                    for a in pool
                    if max([a.pushed_at] + [t.pushed_at for t in a.tags if t.pushed_at]) == latest
                )
            )
            close(kept)
        kept_all |= {(repo, d) for d in kept}
    return kept_all


# --- properties -------------------------------------------------------------------


@SETTINGS
@given(worlds(), policies, immutable_rule_sets)
def test_nothing_retained_by_a_rule_or_protected_is_ever_deleted(
    artifacts: list[Artifact], policy: Policy, immutables: tuple[ImmutableRule, ...]
) -> None:
    result = _evaluate(policy, artifacts, immutables)
    deleted = {(d.repository, d.digest) for d in result.artifacts if not d.kept}
    for repo in REPOS:
        group = [a for a in artifacts if a.repository == repo]
        if not group:
            continue
        assert not {(repo, d) for d in _retained_by_rules(policy, group)} & deleted
    assert not {(a.repository, a.digest) for a in artifacts if _protected(a, immutables)} & deleted
    # And the engine's own bookkeeping agrees: a deleted artifact is retained by no rule.
    assert all(not d.retained_by and d.protected_by is None for d in result.artifacts if not d.kept)


@SETTINGS
@given(worlds(), policies, immutable_rule_sets, st.randoms(use_true_random=False))
def test_evaluation_does_not_depend_on_input_order(
    artifacts: list[Artifact], policy: Policy, immutables: tuple[ImmutableRule, ...], rnd: random.Random
) -> None:
    shuffled = list(artifacts)
    rnd.shuffle(shuffled)
    shuffled = [
        Artifact(
            a.repository,
            a.digest,
            a.pushed_at,
            a.pulled_at,
            tuple(rnd.sample(a.tags, len(a.tags))),
            a.parents,
            a.subject,
            a.push_time_known,
            a.labels,
        )
        for a in shuffled
    ]
    first, second = _evaluate(policy, artifacts, immutables), _evaluate(policy, shuffled, immutables)
    assert [(d.repository, d.digest, d.kept, d.reason, d.retained_by) for d in first.artifacts] == [
        (d.repository, d.digest, d.kept, d.reason, d.retained_by) for d in second.artifacts
    ]
    assert [(t.repository, t.name, t.kept, t.reason, t.protected_by) for t in first.tags] == [
        (t.repository, t.name, t.kept, t.reason, t.protected_by) for t in second.tags
    ]


@SETTINGS
@given(worlds(), policies, immutable_rule_sets)
def test_every_artifact_and_tag_is_decided_exactly_once(
    artifacts: list[Artifact], policy: Policy, immutables: tuple[ImmutableRule, ...]
) -> None:
    result = _evaluate(policy, artifacts, immutables)
    everything = {(a.repository, a.digest) for a in artifacts}
    kept = [(d.repository, d.digest) for d in result.artifacts if d.kept]
    deleted = [(d.repository, d.digest) for d in result.artifacts if not d.kept]
    assert len(kept) + len(deleted) == len(artifacts)
    assert set(kept) | set(deleted) == everything
    assert not set(kept) & set(deleted)
    all_tags = {(a.repository, t.name) for a in artifacts for t in a.tags}
    decided_tags = [(t.repository, t.name) for t in result.tags]
    assert len(decided_tags) == len(all_tags) and set(decided_tags) == all_tags
    assert all(t.kept == t.decision.kept and t.digest == t.decision.digest for t in result.tags)


@SETTINGS
@given(worlds(), policies.map(lambda p: Policy(p.rules, allow_empty_repository=False)), immutable_rule_sets)
def test_with_the_floor_on_no_repository_is_emptied(
    artifacts: list[Artifact], policy: Policy, immutables: tuple[ImmutableRule, ...]
) -> None:
    result = _evaluate(policy, artifacts, immutables)
    for repo in {a.repository for a in artifacts}:
        assert any(d.kept for d in result.artifacts if d.repository == repo), repo


@SETTINGS
@given(worlds(), policies)
def test_dependents_never_outlive_all_their_owners_nor_die_while_one_stays(
    artifacts: list[Artifact], policy: Policy
) -> None:
    result = _evaluate(policy, artifacts, ())
    kept = {(d.repository, d.digest) for d in result.artifacts if d.kept}
    for a in artifacts:
        present = {b.digest for b in artifacts if b.repository == a.repository}
        owners = _owners(a, present)
        if owners and any((a.repository, o) in kept for o in owners):
            assert (a.repository, a.digest) in kept


@SETTINGS
@given(worlds(), policies, immutable_rule_sets)
def test_the_engine_agrees_with_a_naive_oracle(
    artifacts: list[Artifact], policy: Policy, immutables: tuple[ImmutableRule, ...]
) -> None:
    result = _evaluate(policy, artifacts, immutables)
    assert {(d.repository, d.digest) for d in result.artifacts if d.kept} == _oracle_kept(
        policy, artifacts, immutables
    )


@SETTINGS
@given(worlds(), policies, immutable_rule_sets, st.sampled_from(LABEL_NAMES))
def test_a_rule_keeping_label_l_never_lets_an_artifact_labelled_l_be_deleted(
    artifacts: list[Artifact], policy: Policy, immutables: tuple[ImmutableRule, ...], label: str
) -> None:
    """Whatever else the policy says, adding "always keep what is labelled L" keeps every
    candidate labelled L (and what hangs off it: its children and signatures)."""
    keep_label = Rule(Template.ALWAYS, None, RepositorySelector(("**",)), TagSelector(("**",), (), True),
                      LabelSelector((label,)))
    with_rule = Policy((*policy.rules[:3], keep_label), policy.allow_empty_repository)

    result = _evaluate(with_rule, artifacts, immutables)

    decided = {(d.repository, d.digest): d for d in result.artifacts}
    for a in artifacts:
        present = {b.digest for b in artifacts if b.repository == a.repository}
        if label in a.labels and (_ordinary(a) or not _owners(a, present)):
            decision = decided[(a.repository, a.digest)]
            assert decision.kept, (a, decision.reason)
            assert len(with_rule.rules) in decision.retained_by or decision.protected_by is not None
