"""Saving policies and immutable rules: validation with field paths, audit, engine input."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from audit.models import AuditAction, AuditEvent
from repositories.models import ImmutableRule, RetentionPolicy, RetentionRule, Tag, TagProtectionSettings
from repositories.services import retention
from repositories.services.artifacts import delete_artifact, delete_tag
from tests.factories import ProjectFactory
from tests.retention_runs.helpers import ACTOR, immutable, rows, rule

pytestmark = pytest.mark.django_db


def errors_of(exc: pytest.ExceptionInfo[ValidationError]) -> dict[str, Any]:
    return exc.value.message_dict


def save(project: Any, **overrides: Any) -> RetentionPolicy:
    values: dict[str, Any] = {
        "enabled": True,
        "schedule": "0 3 * * *",
        "allow_empty_repository": False,
        "rules": [rule()],
    }
    values.update(overrides)
    return retention.save_policy(project, ACTOR, **values)


def test_saving_a_policy_stores_its_rules_in_order_and_audits_the_change() -> None:
    project = ProjectFactory(name="acme")
    save(project, rules=[rule(n=5, tags=["release-*"]), rule("always", None, repos=["team-*/**"])])
    policy = RetentionPolicy.objects.get(project=project)
    stored = list(RetentionRule.objects.filter(policy=policy).values_list("position", "template", "n", "tag_include"))
    assert stored == [(1, "latest_pushed_n", 5, ["release-*"]), (2, "always", None, ["**"])]
    event = AuditEvent.objects.get(action=AuditAction.RETENTION_POLICY_UPDATE)
    assert event.details["before"] is None and event.details["after"]["schedule"] == "0 3 * * *"


def test_saving_the_same_policy_again_writes_no_audit_event() -> None:
    project = ProjectFactory(name="acme")
    save(project)
    save(project)
    assert AuditEvent.objects.filter(action=AuditAction.RETENTION_POLICY_UPDATE).count() == 1


@pytest.mark.parametrize("schedule", ["61 * * * *", "0 3 * *", "every day", "0 25 * * *"])
def test_an_invalid_cron_expression_is_a_schedule_error(schedule: str) -> None:
    with pytest.raises(ValidationError) as exc:
        save(ProjectFactory(name="acme"), schedule=schedule)
    assert list(errors_of(exc)) == ["schedule"]
    assert not RetentionPolicy.objects.exists()


def test_a_bad_pattern_is_reported_at_its_field_path() -> None:
    rules = [rule(), rule(), rule(tags=["v1", "release-[z-a]"])]
    with pytest.raises(ValidationError) as exc:
        save(ProjectFactory(name="acme"), rules=rules)
    assert list(errors_of(exc)) == ["rules.3.tags.include.1"]


def test_several_problems_are_reported_together_with_their_paths() -> None:
    rules = [{"template": "nonsense"}, rule(n=0), rule("always", 3, repos=["team-**x"])]
    with pytest.raises(ValidationError) as exc:
        save(ProjectFactory(name="acme"), schedule="x", rules=rules)
    assert set(errors_of(exc)) >= {"schedule", "rules.1.template", "rules.2.n", "rules.3.n", "rules.3.repositories.include.0"}


def test_more_than_fifteen_rules_are_refused() -> None:
    with pytest.raises(ValidationError) as exc:
        save(ProjectFactory(name="acme"), rules=[rule()] * 16)
    assert "at most 15 rules" in errors_of(exc)["rules"][0]


def test_fifteen_rules_are_accepted() -> None:
    save(ProjectFactory(name="acme"), rules=[rule()] * 15)
    assert RetentionRule.objects.count() == 15


def test_immutable_rules_are_validated_stored_and_audited() -> None:
    project = ProjectFactory(name="acme")
    with pytest.raises(ValidationError) as exc:
        retention.save_immutable_rules(
            project, ACTOR, rules=[immutable(), {"repositories": {"include": []}, "tags": {}}],
            revert_protected_overwrites=True,
        )
    assert set(errors_of(exc)) == {"immutable.2.repositories.include", "immutable.2.tags.include"}
    retention.save_immutable_rules(
        project, ACTOR, rules=[immutable(tags=["v*"]), immutable(tags=["prod"], enabled=False)],
        revert_protected_overwrites=True,
    )
    assert list(ImmutableRule.objects.values_list("position", "enabled")) == [(1, True), (2, False)]
    assert TagProtectionSettings.objects.get(project=project).revert_protected_overwrites
    assert AuditEvent.objects.filter(action=AuditAction.IMMUTABLE_RULES_UPDATE).count() == 1


def test_a_tag_is_protected_only_by_enabled_rules_matching_repository_and_tag() -> None:
    project = ProjectFactory(name="acme")
    made = rows(project, "app", {"v1": 1, "prod": 1, "dev": 1})
    retention.save_immutable_rules(
        project, ACTOR,
        rules=[immutable(repos=["other"], tags=["dev"]), immutable(tags=["prod"], enabled=False), immutable(tags=["v*"])],
        revert_protected_overwrites=False,
    )
    repository = made["v1"].repository
    assert retention.protecting_rule(repository, "v1") == 3, "numbered as on the page, disabled rules included"
    assert not retention.is_protected(repository, "prod")
    assert not retention.is_protected(repository, "dev")


def test_manual_deletes_of_protected_tags_are_refused_before_the_registry_is_touched(settings: Any) -> None:
    settings.REGISTRY_URL = "http://127.0.0.1:9"  # nothing listens: a registry call would fail differently
    project = ProjectFactory(name="acme")
    made = rows(project, "app", {"v1": 1, "latest": 1})
    retention.save_immutable_rules(project, ACTOR, rules=[immutable(tags=["v*"])], revert_protected_overwrites=False)
    with pytest.raises(ValidationError, match="protected by immutable rule 1"):
        delete_tag(Tag.objects.get(name="v1"), actor=ACTOR)
    with pytest.raises(ValidationError, match="acme/app:v1 is protected"):
        delete_artifact(made["v1"], actor=ACTOR)
    assert Tag.objects.count() == 2


def test_candidates_are_read_in_a_fixed_number_of_queries(django_assert_num_queries: Any) -> None:
    project = ProjectFactory(name="acme")
    rows(project, "app", {f"v{i}": i for i in range(30)})
    rows(project, "team/api", {f"v{i}": i for i in range(30)})
    # The repositories (id -> path), the tags, the artifacts: none of them joins for a name.
    with django_assert_num_queries(3):
        candidates = retention.candidates_for(project)
    assert len(candidates) == 60
    assert {c.repository for c in candidates} == {"app", "team/api"}
    assert all(len(c.tags) == 1 for c in candidates)


def test_candidates_name_each_parent_index_and_repository_path_looked_up_by_id() -> None:
    """The artifact query joins nothing: paths come from the repositories by id and a child's
    parent digest from the artifacts themselves by id; what the engine sees must not change."""
    from repositories.models import Artifact, PushedAtSource, Repository

    project = ProjectFactory(name="acme")
    made = rows(project, "team/api", {"v1": 3})
    index = made["v1"]
    repo = Repository.objects.get(name="acme/team/api")
    children = [
        Artifact.objects.create(
            repository=repo, digest="sha256:" + f"{arch}".encode().hex().ljust(64, "0"), parent=index,
            pushed_at=index.pushed_at, pushed_at_source=PushedAtSource.SEEN,
        )
        for arch in ("amd64", "arm64")
    ]
    signature = Artifact.objects.create(
        repository=repo, digest="sha256:" + "5" * 64, subject_digest=index.digest, pushed_at=index.pushed_at
    )

    by_digest = {c.digest: c for c in retention.candidates_for(project)}

    assert {c.repository for c in by_digest.values()} == {"team/api"}
    assert all(by_digest[child.digest].parents == (index.digest,) for child in children)
    assert by_digest[index.digest].parents == () and by_digest[index.digest].tags[0].name == "v1"
    assert by_digest[signature.digest].subject == index.digest
    assert {c.ref for c in by_digest.values()} == {index.pk, signature.pk, *(child.pk for child in children)}
    # A child's push was not seen (sync), its index's was: only the index's time is known.
    assert [by_digest[child.digest].push_time_known for child in children] == [False, False]
    assert by_digest[index.digest].push_time_known


def test_preview_evaluates_an_unsaved_policy_with_the_immutable_rules() -> None:
    project = ProjectFactory(name="acme")
    rows(project, "app", {"v1": 5, "v2": 4, "v3": 3, "v4": 2})
    retention.save_immutable_rules(project, ACTOR, rules=[immutable(tags=["v1"])], revert_protected_overwrites=False)
    evaluation = retention.preview(project, {"rules": [rule(n=2)]})
    kept = sorted(t.name for t in evaluation.tags if t.kept)
    assert kept == ["v1", "v3", "v4"]
    (summary,) = evaluation.summaries()
    assert (summary.kept_artifacts, summary.deleted_artifacts) == (3, 1)
    assert not RetentionPolicy.objects.exists()
    with pytest.raises(ValidationError):
        retention.preview(project, {"rules": [rule(n=None)]})


@pytest.mark.parametrize(
    ("expression", "at", "due"),
    [
        ("0 3 * * *", datetime(2026, 11, 29, 3, 0), True),
        ("0 3 * * *", datetime(2026, 11, 29, 3, 1), False),
        ("*/15 * * * *", datetime(2026, 11, 29, 17, 45), True),
        ("0 0 * * 0", datetime(2026, 11, 29, 0, 0), True),  # 2026-11-29 is a Sunday
        ("0 0 * * 1-5", datetime(2026, 11, 29, 0, 0), False),
    ],
)
def test_schedule_matching_follows_cron(expression: str, at: datetime, due: bool) -> None:
    assert retention.schedule_matches(expression, timezone.make_aware(at)) is due


def test_schedule_matching_uses_local_minutes_not_seconds() -> None:
    at = timezone.make_aware(datetime(2026, 11, 29, 3, 0)) + timedelta(seconds=59)
    assert retention.schedule_matches("0 3 * * *", at)


def test_label_names_are_read_in_one_more_query_only_when_rules_use_labels(
    django_assert_num_queries: Any,
) -> None:
    from repositories.services import labels as label_service

    project = ProjectFactory(name="acme")
    rows(project, "app", {f"v{i}": i for i in range(30)})
    release = label_service.create_label(project=None, name="release", color="#00aa00", actor=ACTOR)
    first = Tag.objects.select_related("artifact__repository").get(name="v1").artifact
    label_service.add_label(release, [first], project=project, actor=ACTOR)

    with django_assert_num_queries(4):
        candidates = retention.candidates_for(project, with_labels=True)

    assert {c.digest: c.labels for c in candidates if c.labels} == {first.digest: frozenset({"release"})}
    assert not any(c.labels for c in retention.candidates_for(project))


def test_a_saved_policy_keeps_what_carries_its_label() -> None:
    from repositories.services import labels as label_service

    project = ProjectFactory(name="acme")
    rows(project, "app", {"v1": 9, "v2": 5, "v3": 1})
    release = label_service.create_label(project=project, name="release", color="#00aa00", actor=ACTOR)
    oldest = Tag.objects.select_related("artifact__repository").get(name="v1").artifact
    label_service.add_label(release, [oldest], project=project, actor=ACTOR)
    labelled = {
        **rule(n=1, repos=["**"]),
        "labels": {"with": ["release"], "without": []},
        "template": "always",
        "n": None,
    }
    saved = retention.save_policy(
        project,
        ACTOR,
        enabled=False,
        schedule="",
        allow_empty_repository=False,
        rules=[rule(n=1, repos=["**"]), labelled],
    )

    result = retention.preview(project, retention.policy_data(saved))

    kept = {d.digest: d for d in result.artifacts if d.kept}
    assert set(kept) == {oldest.digest, Tag.objects.get(name="v3").artifact.digest}
    assert "labelled `release`" in kept[oldest.digest].reason
    assert retention.policy_data(saved)["rules"][1]["labels"] == {"with": ["release"], "without": []}
