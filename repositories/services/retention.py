"""Retention policies and immutable tag rules: saving them, feeding the engine, protecting tags.

The pure engine (`repositories.retention`) decides; this module turns rows into its
input and form data into its policies, and owns the writes (each audited in the same
transaction). Runs live in `retention_runs`, the recycle bin in `recycle`.

Policy data (forms, the API and run snapshots all use this shape)::

    {"enabled": bool, "schedule": "0 3 * * *" | "", "allow_empty_repository": bool,
     "rules": [{"repositories": {"include": [...], "exclude": [...]},
                "tags": {"include": [...], "exclude": [...], "untagged": bool},
                "template": "latest_pushed_n", "n": 5}, ...]}

Immutable rules: ``[{"repositories": {...}, "tags": {"include": [...], "exclude": [...]},
"enabled": bool}, ...]``. Errors are a `ValidationError` whose dict keys are field
paths numbered from 1 as on the page: ``rules.2.tags.include.0``, ``schedule``,
``immutable.1.repositories.include``.

Schedules are five-field cron expressions (minute hour day-of-month month day-of-week,
server time zone), parsed with Celery's own `crontab` (no extra package). As in Celery,
all five fields must match (a restricted day-of-month AND day-of-week both apply).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from celery.schedules import crontab
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import TextField
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext

from audit.context import Actor
from audit.models import AuditAction
from audit.services import record

from .. import retention as engine
from ..globs import PatternKind, compile_patterns
from ..models import (
    Artifact,
    ArtifactLabel,
    ImmutableRule,
    Project,
    PushedAtSource,
    Repository,
    RetentionPolicy,
    RetentionRule,
    Tag,
    TagProtectionSettings,
)
from ..registry import RegistryClient
from .content import refresh_repository_counts
from .overlap import Beside
from .registry import registry_client

log = logging.getLogger(__name__)

# How long Wharf remembers that the next push of a tag is its own revert (not an overwrite).
REVERT_CACHE_SECONDS = 60

# A rule that matches no repository: a disabled immutable rule keeps its number this way,
# so "immutable rule 3" in a reason is always the third rule on the page.
_NEVER = engine.ImmutableRule(
    repositories=engine.RepositorySelector(include=("**",), exclude=("**",)),
    tags=engine.TagSelector(include=("**",)),
)


# --- parsing and validation ---------------------------------------------------------------


def _patterns(value: Any, path: str, problems: list[engine.Problem]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)) or not all(isinstance(p, str) for p in value):
        problems.append(engine.Problem(path, gettext("Enter a list of patterns.")))
        return ()
    return tuple(p.strip() for p in value)


def _section(data: Any, key: str) -> dict[str, Any]:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}


def _rule_from_data(data: Any, prefix: str, problems: list[engine.Problem]) -> engine.Rule | None:
    if not isinstance(data, dict):
        problems.append(engine.Problem(prefix, gettext("Each rule must be an object.")))
        return None
    repos, tags, labels = _section(data, "repositories"), _section(data, "tags"), _section(data, "labels")
    try:
        template = engine.Template(str(data.get("template") or ""))
    except ValueError:
        problems.append(engine.Problem(f"{prefix}.template", "Choose a template."))
        return None
    n = data.get("n")
    if isinstance(n, str) and n.strip().isdigit():
        n = int(n.strip())
    elif isinstance(n, str) and not n.strip():
        n = None
    return engine.Rule(
        template=template,
        n=n,
        repositories=engine.RepositorySelector(
            include=_patterns(repos.get("include"), f"{prefix}.repositories.include", problems),
            exclude=_patterns(repos.get("exclude"), f"{prefix}.repositories.exclude", problems),
        ),
        tags=engine.TagSelector(
            include=_patterns(tags.get("include"), f"{prefix}.tags.include", problems),
            exclude=_patterns(tags.get("exclude"), f"{prefix}.tags.exclude", problems),
            untagged=bool(tags.get("untagged", False)),
        ),
        labels=engine.LabelSelector(
            with_all=_patterns(labels.get("with"), f"{prefix}.labels.with", problems),
            without_any=_patterns(labels.get("without"), f"{prefix}.labels.without", problems),
        ),
    )


def parse_policy(data: Any) -> tuple[engine.Policy, list[engine.Problem]]:
    """The engine policy described by `data` (see the module docstring) and every problem."""
    problems: list[engine.Problem] = []
    raw_rules = data.get("rules", []) if isinstance(data, dict) else None
    if not isinstance(raw_rules, list):
        return engine.Policy(), [engine.Problem("rules", gettext("Enter a list of rules."))]
    rules = [_rule_from_data(raw, f"rules.{number}", problems) for number, raw in enumerate(raw_rules, start=1)]
    policy = engine.Policy(
        rules=tuple(r for r in rules if r is not None),
        allow_empty_repository=bool(data.get("allow_empty_repository", False)),
    )
    # As `engine.validate_policy`, but numbered by position in `data` even when a rule did not parse.
    if len(raw_rules) > engine.MAX_RULES:
        problems.insert(
            0, engine.Problem(
                "rules",
                gettext("A policy has at most %(max)s rules; it has %(count)s.")
                % {"max": engine.MAX_RULES, "count": len(raw_rules)},
            ),
        )
    for number, rule in enumerate(rules, start=1):
        if rule is not None:
            problems += engine.validate_rule(rule, f"rules.{number}")
    return policy, problems


def parse_immutable_rules(data: Any) -> tuple[list[tuple[engine.ImmutableRule, bool]], list[engine.Problem]]:
    """Each immutable rule with its enabled flag, and every problem."""
    problems: list[engine.Problem] = []
    if not isinstance(data, list):
        return [], [engine.Problem("immutable", gettext("Enter a list of rules."))]
    parsed: list[tuple[engine.ImmutableRule, bool]] = []
    for number, raw in enumerate(data, start=1):
        prefix = f"immutable.{number}"
        if not isinstance(raw, dict):
            problems.append(engine.Problem(prefix, gettext("Each rule must be an object.")))
            continue
        repos, tags = _section(raw, "repositories"), _section(raw, "tags")
        rule = engine.ImmutableRule(
            repositories=engine.RepositorySelector(
                include=_patterns(repos.get("include"), f"{prefix}.repositories.include", problems),
                exclude=_patterns(repos.get("exclude"), f"{prefix}.repositories.exclude", problems),
            ),
            tags=engine.TagSelector(
                include=_patterns(tags.get("include"), f"{prefix}.tags.include", problems),
                exclude=_patterns(tags.get("exclude"), f"{prefix}.tags.exclude", problems),
            ),
        )
        parsed.append((rule, bool(raw.get("enabled", True))))
    if len(parsed) == len(data):
        problems += engine.validate_immutable_rules(tuple(rule for rule, _ in parsed))
    return parsed, problems


def parse_schedule(expression: str) -> crontab:
    """A Celery `crontab` for a five-field cron expression; ValueError with a message if invalid."""
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(
            gettext("Enter five fields: minute hour day-of-month month day-of-week, e.g. `0 3 * * *`.")
        )
    minute, hour, day_of_month, month, day_of_week = fields
    try:
        return crontab(
            minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month, day_of_week=day_of_week
        )
    except (ValueError, KeyError, IndexError) as exc:
        raise ValueError(gettext("Not a valid cron expression: %(error)s") % {"error": exc}) from exc


def validate_schedule(expression: str) -> str | None:
    """A message for the form if `expression` is neither blank nor a valid cron expression."""
    if not expression.strip():
        return None
    try:
        parse_schedule(expression)
    except ValueError as exc:
        return str(exc)
    return None


def schedule_matches(expression: str, at: datetime) -> bool:
    """Whether the minute `at` (in the current time zone) is one the schedule runs in."""
    schedule = parse_schedule(expression)
    local = timezone.localtime(at)
    return (
        local.minute in schedule.minute
        and local.hour in schedule.hour
        and local.day in schedule.day_of_month
        and local.month in schedule.month_of_year
        and local.isoweekday() % 7 in schedule.day_of_week  # crontab: 0 is Sunday
    )


def _raise(problems: list[engine.Problem]) -> None:
    if problems:
        errors: dict[str, list[str]] = defaultdict(list)
        for problem in problems:
            errors[problem.field].append(problem.message)
        raise ValidationError(dict(errors))


# --- snapshots ---------------------------------------------------------------------------------


def rule_data(rule: RetentionRule) -> dict[str, Any]:
    """A rule as data; `labels` only when the rule selects on labels, so a policy that
    does not is answered (and audited) exactly as before labels existed."""
    data: dict[str, Any] = {
        "repositories": {"include": list(rule.repository_include), "exclude": list(rule.repository_exclude)},
        "tags": {"include": list(rule.tag_include), "exclude": list(rule.tag_exclude), "untagged": rule.untagged},
        "template": rule.template,
        "n": rule.n,
    }
    if rule.label_with or rule.label_without:
        data["labels"] = {"with": list(rule.label_with), "without": list(rule.label_without)}
    return data


def policy_data(policy: RetentionPolicy | None) -> dict[str, Any]:
    """A policy as data (the module docstring's shape); an absent policy is empty and disabled."""
    if policy is None:
        return {"enabled": False, "schedule": "", "allow_empty_repository": False, "rules": []}
    return {
        "enabled": policy.enabled,
        "schedule": policy.schedule,
        "allow_empty_repository": policy.allow_empty_repository,
        "rules": [rule_data(rule) for rule in policy.rules.order_by("position")],
    }


def immutable_data(project: Project) -> dict[str, Any]:
    settings_row = TagProtectionSettings.objects.filter(project=project).first()
    return {
        "revert_protected_overwrites": bool(settings_row and settings_row.revert_protected_overwrites),
        "rules": [
            {
                "repositories": {"include": list(r.repository_include), "exclude": list(r.repository_exclude)},
                "tags": {"include": list(r.tag_include), "exclude": list(r.tag_exclude)},
                "enabled": r.enabled,
            }
            for r in ImmutableRule.objects.filter(project=project).order_by("position")
        ],
    }


# --- writes ----------------------------------------------------------------------------------------


def save_policy(
    project: Project,
    actor: Actor,
    *,
    enabled: bool,
    schedule: str,
    allow_empty_repository: bool,
    rules: list[dict[str, Any]],
    user: Any = None,
) -> RetentionPolicy:
    """Validate and store the project's policy (replacing its rules); audit what changed.

    Raises `ValidationError` keyed by field path when the schedule or any rule is invalid.
    """
    schedule = schedule.strip()
    policy, problems = parse_policy({"rules": rules, "allow_empty_repository": allow_empty_repository})
    message = validate_schedule(schedule)
    if message:
        problems.insert(0, engine.Problem("schedule", message))
    _raise(problems)
    with transaction.atomic():
        row, created = RetentionPolicy.objects.select_for_update().get_or_create(project=project)
        before = None if created else policy_data(row)
        row.enabled = enabled
        row.schedule = schedule
        row.allow_empty_repository = allow_empty_repository
        row.updated_by = user if getattr(user, "pk", None) else None
        row.updated_at = timezone.now()
        row.save()
        row.rules.all().delete()
        RetentionRule.objects.bulk_create(
            RetentionRule(
                policy=row,
                position=number,
                repository_include=list(rule.repositories.include),
                repository_exclude=list(rule.repositories.exclude),
                tag_include=list(rule.tags.include),
                tag_exclude=list(rule.tags.exclude),
                untagged=rule.tags.untagged,
                label_with=list(rule.labels.with_all),
                label_without=list(rule.labels.without_any),
                template=rule.template.value,
                n=rule.n,
            )
            for number, rule in enumerate(policy.rules, start=1)
        )
        after = policy_data(row)
        if before != after:
            record(
                AuditAction.RETENTION_POLICY_UPDATE,
                actor=actor,
                project=project,
                target_type="retention_policy",
                target_name=project.name,
                details={"before": before, "after": after},
            )
    return row


def save_immutable_rules(
    project: Project,
    actor: Actor,
    *,
    rules: list[dict[str, Any]],
    revert_protected_overwrites: bool,
    user: Any = None,
) -> list[ImmutableRule]:
    """Validate and store the project's immutable tag rules and its revert setting; audit it."""
    parsed, problems = parse_immutable_rules(rules)
    _raise(problems)
    with transaction.atomic():
        Project.objects.select_for_update().filter(pk=project.pk).first()
        before = immutable_data(project)
        ImmutableRule.objects.filter(project=project).delete()
        created = ImmutableRule.objects.bulk_create(
            ImmutableRule(
                project=project,
                position=number,
                repository_include=list(rule.repositories.include),
                repository_exclude=list(rule.repositories.exclude),
                tag_include=list(rule.tags.include),
                tag_exclude=list(rule.tags.exclude),
                enabled=enabled,
            )
            for number, (rule, enabled) in enumerate(parsed, start=1)
        )
        TagProtectionSettings.objects.update_or_create(
            project=project,
            defaults={
                "revert_protected_overwrites": revert_protected_overwrites,
                "updated_by": user if getattr(user, "pk", None) else None,
                "updated_at": timezone.now(),
            },
        )
        after = immutable_data(project)
        if before != after:
            record(
                AuditAction.IMMUTABLE_RULES_UPDATE,
                actor=actor,
                project=project,
                target_type="immutable_rules",
                target_name=project.name,
                details={"before": before, "after": after},
            )
        from .gate import refresh_marker  # the gate refuses pushes by these rules (it imports this module)

        name = project.name
        transaction.on_commit(lambda: refresh_marker(name))
    return created


# --- engine input ------------------------------------------------------------------------------------


def repository_path(project: Project, name: str) -> str:
    """A repository's path inside its project, as patterns see it (`app` for `acme/app`)."""
    prefix = project.name + "/"
    return name[len(prefix) :] if name.startswith(prefix) else name


def immutable_rules_for(project: Project) -> tuple[engine.ImmutableRule, ...]:
    """The project's immutable rules for the engine, numbered as on the page (disabled ones
    match nothing but keep their number)."""
    rules = []
    for row in ImmutableRule.objects.filter(project=project).order_by("position"):
        if not row.enabled:
            rules.append(_NEVER)
            continue
        rules.append(
            engine.ImmutableRule(
                repositories=engine.RepositorySelector(
                    include=tuple(row.repository_include), exclude=tuple(row.repository_exclude)
                ),
                tags=engine.TagSelector(include=tuple(row.tag_include), exclude=tuple(row.tag_exclude)),
            )
        )
    return tuple(rules)


def artifact_label_names(project: Project, repository: Repository | None = None) -> dict[int, frozenset[str]]:
    """The label names on each labelled artifact of the project (or of one of its
    repositories; one query), for rules that select on labels."""
    names: dict[int, set[str]] = defaultdict(set)
    labelled = ArtifactLabel.objects.filter(artifact__repository__project=project)
    if repository is not None:
        labelled = labelled.filter(artifact__repository=repository)
    rows = labelled.values_list("artifact_id", "label__name")
    for artifact_id, name in rows.iterator(chunk_size=5000):
        names[artifact_id].add(name)
    return {pk: frozenset(found) for pk, found in names.items()}


def uses_labels(policy: engine.Policy) -> bool:
    """Whether any rule of `policy` selects on labels (so candidates need them)."""
    return any(rule.labels for rule in policy.rules)


def _raw_rows(query: Any) -> Iterator[tuple[Any, ...]]:
    """The rows of a `values_list` queryset straight from the cursor, in batches: no per-row
    ORM conversion (datetimes are read as text: `_with_times_as_text`)."""
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(5000):
            yield from batch


def _with_times_as_text(query: Any) -> Any:
    """`query` with `pushed_at_text` and `last_pull_at_text`: the two datetime columns read as
    text, for `_time_reader`, instead of through the driver.

    - On PostgreSQL, psycopg2's conversion of a timestamp with time zone (a tzinfo made per
      value) cost more than reading the rest of the row (measured on 107,000 artifacts: 83 ms
      for two timestamp columns, 45 ms as text plus `fromisoformat`). The text is the
      server's ISO output in the session's UTC zone (`2026-06-09 18:08:50.589916+00`, the
      DateStyle psycopg2's own parser needs too).
    - On SQLite, the column's own converter is Django's regex `parse_datetime`; the text is
      what Django stored, naive UTC (`2026-06-09 18:08:50.589916`)."""
    return query.annotate(
        pushed_at_text=Cast("pushed_at", TextField()), last_pull_at_text=Cast("last_pull_at", TextField())
    )


def _time_reader() -> Callable[[str | None], Any]:
    """Text of a datetime column -> the datetime: as written where it carries an offset
    (PostgreSQL's), else in the connection's zone (SQLite's UTC; naive without USE_TZ)."""
    parse = datetime.fromisoformat
    zone = connection.timezone if settings.USE_TZ else None

    def read(value: str | None) -> datetime | None:  # None only for nullable columns
        if value is None:
            return None
        found = parse(value)
        return found if found.tzinfo is not None or zone is None else found.replace(tzinfo=zone)

    return read


def _tag_name(tag: engine.Tag) -> str:
    return tag.name


def candidates_for(
    project: Project, *, with_labels: bool = False, repository: Repository | None = None
) -> list[engine.Artifact]:
    """Every artifact of the project (or of one of its repositories: the engine decides each
    repository on its own, so its decisions are the same) as engine input, read straight
    from the cursor into the engine's plain data (no model instances, no per-row ORM
    conversion), whatever the size.

    Three queries: the repositories (id -> path), the tags, the artifacts (on a second
    connection while this one reads the tags, where `overlap.may_overlap`); a fourth for the
    artifacts' label names when `with_labels` (rules select on labels). The artifact query
    joins nothing: its repository's path comes from the first query by id and its parent's
    digest from the artifacts themselves by id (an index and its children share a
    repository), so the database only scans the artifacts and Python only looks ids up."""
    scope = {"repository__project": project} if repository is None else {"repository": repository}
    repositories = Repository.objects.filter(project=project)
    if repository is not None:
        repositories = repositories.filter(pk=repository.pk)
    paths = {pk: repository_path(project, name) for pk, name in repositories.values_list("id", "name")}
    if not paths:
        return []
    push = PushedAtSource.PUSH.value
    make_tag, make_artifact = engine.Tag, engine.Artifact
    no_labels: frozenset[str] = frozenset()
    read = _time_reader()
    artifact_rows = _with_times_as_text(Artifact.objects.filter(**scope).order_by()).values_list(
        "id", "repository_id", "digest", "pushed_at_text", "last_pull_at_text", "parent_id", "subject_digest",
        "pushed_at_source",
    )
    # The artifacts are read on a second connection while this one reads the tags: the
    # server makes one answer while this process converts the other (`overlap`).
    artifacts = Beside(lambda: list(_raw_rows(artifact_rows)))
    with engine.gc_paused():  # 200,000 new acyclic objects: see `gc_paused`
        tags_of: dict[int, list[engine.Tag]] = {}
        push_seen: set[int] = set()  # artifacts with a tag whose push was seen
        # No ORDER BY (the models' default orderings): the engine sorts what it needs, and
        # sorting 100,000 tags by name spilled to disk, most of the query's time.
        tag_rows = _with_times_as_text(Tag.objects.filter(**scope).order_by()).values_list(
            "artifact_id", "name", "pushed_at_text", "last_pull_at_text", "pushed_at_source"
        )
        for artifact_id, name, pushed_at, pulled_at, source in _raw_rows(tag_rows):
            tag = make_tag(name, read(pushed_at), read(pulled_at))
            found = tags_of.get(artifact_id)
            if found is None:
                tags_of[artifact_id] = [tag]
            else:
                found.append(tag)
            if source == push:
                push_seen.add(artifact_id)
        rows = artifacts.result()
        digest_of = {row[0]: row[2] for row in rows}
        missing = {row[5] for row in rows if row[5] is not None and row[5] not in digest_of}
        if missing:  # a parent in another project: never made by Wharf, but stay exact
            digest_of.update(Artifact.objects.filter(pk__in=missing).values_list("id", "digest"))
        labels_of = artifact_label_names(project, repository) if with_labels else {}
        candidates = []
        for pk, repository_id, digest, pushed_at, pulled_at, parent_id, subject, source in rows:
            tags = tags_of.get(pk)
            candidates.append(
                make_artifact(
                    paths[repository_id],
                    digest,
                    read(pushed_at),
                    read(pulled_at),
                    () if tags is None else tuple(tags) if len(tags) == 1 else tuple(sorted(tags, key=_tag_name)),
                    () if parent_id is None else (digest_of[parent_id],),
                    subject or None,
                    source == push or pk in push_seen,
                    labels_of.get(pk, no_labels) if labels_of else no_labels,
                    pk,
                )
            )
    return candidates


def valid_policy(data: dict[str, Any]) -> engine.Policy:
    """The policy `data` describes; `ValidationError` naming each problem if it is invalid."""
    policy, problems = parse_policy(data)
    _raise(problems)
    return policy


def preview(
    project: Project,
    data: dict[str, Any],
    *,
    now: datetime | None = None,
    repository: Repository | None = None,
) -> engine.Evaluation:
    """What an (unsaved) policy would keep and delete now, in the project or in one of its
    repositories (the same decisions there as for the whole project); `ValidationError`
    if it is invalid."""
    return evaluate_policy(project, valid_policy(data), now=now, repository=repository)


def evaluate_policy(
    project: Project, policy: engine.Policy, *, now: datetime | None = None, repository: Repository | None = None
) -> engine.Evaluation:
    """`preview` of a policy already parsed (`valid_policy`)."""
    rules = immutable_rules_for(project)
    candidates = candidates_for(project, with_labels=uses_labels(policy), repository=repository)
    return engine.evaluate(policy, candidates, now=now or timezone.now(), immutable_rules=rules)


# --- immutable tags ----------------------------------------------------------------------------------


def protecting_rule(repository: Repository, tag: str) -> int | None:
    """The number of the first immutable rule protecting `tag` in `repository`, or None."""
    path = repository_path(repository.project, repository.name)
    for number, rule in enumerate(immutable_rules_for(repository.project), start=1):
        checks = (
            (rule.repositories.include, rule.repositories.exclude, path, PatternKind.REPOSITORY),
            (rule.tags.include, rule.tags.exclude, tag, PatternKind.TAG),
        )
        if all(_selected(include, exclude, name, kind) for include, exclude, name, kind in checks):
            return number
    return None


def _selected(include: tuple[str, ...], exclude: tuple[str, ...], name: str, kind: PatternKind) -> bool:
    included = compile_patterns(tuple(include), kind)
    excluded = compile_patterns(tuple(exclude), kind)
    return (
        included is not None
        and included.fullmatch(name) is not None
        and (excluded is None or excluded.fullmatch(name) is None)
    )


def is_protected(repository: Repository, tag: str) -> bool:
    """Whether an immutable rule of the repository's project protects `tag`."""
    return protecting_rule(repository, tag) is not None


def refuse_if_protected(repository: Repository, tags: list[str]) -> None:
    """Raise `ValidationError` when any of `tags` is protected (manual deletes call this)."""
    for tag in sorted(tags):
        number = protecting_rule(repository, tag)
        if number is not None:
            raise ValidationError(
                gettext("%(name)s:%(tag)s is protected by immutable rule %(number)s; it cannot be deleted while that rule is in force.") % {"name": repository.name, "tag": tag, "number": number},
                code="protected",
            )


def _revert_key(repository: str, tag: str) -> str:
    return f"protected-revert:{repository}:{tag}"


def is_own_revert(repository: str, tag: str, digest: str) -> bool:
    """Whether a push of `repository:tag` to `digest` is Wharf putting a protected tag back."""
    return cache.get(_revert_key(repository, tag)) == digest


def on_protected_tag_moved(tag: Tag, previous: Artifact, new_digest: str, *, actor: Actor) -> None:
    """A push moved `tag` (protected) away from `previous`: flag it, audit it, and when the
    project says so, put it back once this transaction commits (a Celery task)."""
    now = timezone.now()
    Tag.objects.filter(pk=tag.pk).update(overwritten_protected_at=now)
    tag.overwritten_protected_at = now
    settings_row = TagProtectionSettings.objects.filter(project=tag.repository.project_id).first()
    revert = bool(settings_row and settings_row.revert_protected_overwrites)
    record(
        AuditAction.TAG_OVERWRITE_PROTECTED,
        actor=actor,
        project=tag.repository.project,
        target_type="tag",
        target_name=f"{tag.repository.name}:{tag.name}",
        details={
            "previous_digest": previous.digest,
            "digest": new_digest,
            "rule": protecting_rule(tag.repository, tag.name),
            "reverting": revert,
        },
    )
    if revert:
        from ..tasks import revert_protected_tag  # the task module imports services

        tag_id, artifact_id = tag.pk, previous.pk
        transaction.on_commit(lambda: revert_protected_tag.delay(tag_id, artifact_id))


def revert_tag(tag_id: int, artifact_id: int, client: RegistryClient | None = None) -> bool:
    """Put a protected tag back on the artifact it was on before an overwrite.

    Returns False (and does nothing) when the tag or artifact is gone, the project no
    longer asks for reverts, or the tag is already back. `RegistryError` propagates.
    """
    tag = Tag.objects.select_related("repository__project", "artifact").filter(pk=tag_id).first()
    artifact = Artifact.objects.filter(pk=artifact_id).first()
    if tag is None or artifact is None or artifact.repository_id != tag.repository_id:
        return False
    settings_row = TagProtectionSettings.objects.filter(project=tag.repository.project).first()
    if not (settings_row and settings_row.revert_protected_overwrites) or tag.artifact_id == artifact.pk:
        return False
    client = client or registry_client()
    repository = tag.repository.name
    body, media_type = bytes(artifact.manifest or b""), artifact.media_type
    if not body:
        fetched = client.get_manifest(repository, artifact.digest)
        body, media_type = fetched.raw, fetched.media_type
    overwritten_by = tag.artifact.digest
    # The revert is a push too: the notification it causes must not count as an overwrite.
    cache.set(_revert_key(repository, tag.name), artifact.digest, REVERT_CACHE_SECONDS)
    client.put_manifest(repository, tag.name, body, media_type)
    with transaction.atomic():
        Tag.objects.filter(pk=tag.pk).update(artifact=artifact)
        refresh_repository_counts(tag.repository)
        record(
            AuditAction.TAG_REVERT_PROTECTED,
            actor=Actor.system("immutable-tags"),
            project=tag.repository.project,
            target_type="tag",
            target_name=f"{repository}:{tag.name}",
            details={"digest": artifact.digest, "overwritten_by": overwritten_by},
        )
    return True
