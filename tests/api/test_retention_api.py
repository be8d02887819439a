"""The retention endpoints on rows made with the ORM (no registry): policies and their
field-path errors, immutable rules, previews, starting and stopping runs, run items and
the recycle bin, and bounded query counts of the lists."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from audit.models import AuditAction, AuditEvent
from repositories.models import (
    ImmutableRule,
    RecycleBinEntry,
    RetentionPolicy,
    RetentionRun,
    RetentionRunItem,
    TagProtectionSettings,
)
from repositories.services import retention
from tests.api.conftest import body_without_request_id
from tests.conftest import World
from tests.retention_runs.helpers import ACTOR, immutable, rows, rule

BASE = "/api/v1/projects/acme"


def policy(*rules: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"enabled": True, "schedule": "", "allow_empty_repository": False, "rules": list(rules), **fields}


def save(world: World, *rules: dict[str, Any]) -> None:
    retention.save_policy(
        world.private, ACTOR, enabled=True, schedule="", allow_empty_repository=False, rules=list(rules)
    )


# --- policy -------------------------------------------------------------------------------------


def test_a_project_without_a_policy_shows_an_empty_disabled_one(world: World, api: Any) -> None:
    response = api("guest").get(f"{BASE}/retention-policy/")

    assert response.status_code == 200
    assert response.json() == {
        "enabled": False,
        "schedule": "",
        "allow_empty_repository": False,
        "rules": [],
        "updated_at": None,
        "updated_by": None,
    }


def test_replacing_the_policy_stores_rules_in_order_and_audits_it(world: World, api: Any) -> None:
    body = policy(
        rule(n=3, tags=["release-*"]), rule("always", None, repos=["team-*/**"]), schedule="0 3 * * *"
    )

    response = api("padmin").request("PUT", f"{BASE}/retention-policy/", body)

    assert response.status_code == 200, response.content
    data = response.json()
    assert data["rules"] == body["rules"]
    assert (data["enabled"], data["schedule"], data["updated_by"]) == (True, "0 3 * * *", "padmin")
    stored = RetentionPolicy.objects.get(project=world.private)
    assert [r.template for r in stored.rules.order_by("position")] == ["latest_pushed_n", "always"]
    event = AuditEvent.objects.get(action=AuditAction.RETENTION_POLICY_UPDATE)
    assert (event.actor_name, event.details["after"]["schedule"]) == ("padmin", "0 3 * * *")
    assert api("guest").get(f"{BASE}/retention-policy/").json()["rules"] == body["rules"]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (policy(rule(), schedule="61 * * * *"), {"schedule"}),
        (policy(rule(), schedule="every day"), {"schedule"}),
        (policy(rule(), rule(tags=["v1", "release-[z-a]"])), {"rules.2.tags.include.1"}),
        (policy(rule(), rule(repos=["team-**x"])), {"rules.2.repositories.include.0"}),
        (policy(*[rule()] * 16), {"rules"}),
        (policy(rule(n=0)), {"rules.1.n"}),
        (policy({"template": "nonsense"}), {"rules.1.template"}),
        (policy(rule(n=0), schedule="x"), {"schedule", "rules.1.n"}),
        ({"enabled": True, "rules": "all of them"}, {"rules"}),
        ({"enabled": True}, {"rules"}),
    ],
    ids=[
        "minute_61",
        "not_cron",
        "reversed_range_glob",
        "bad_doublestar",
        "sixteen_rules",
        "n_zero",
        "unknown_template",
        "two_problems",
        "rules_not_a_list",
        "rules_missing",
    ],
)
def test_an_invalid_policy_is_a_400_naming_each_field_path(
    body: dict[str, Any], fields: set[str], world: World, api: Any
) -> None:
    response = api("padmin").request("PUT", f"{BASE}/retention-policy/", body)

    assert response.status_code == 400, response.content
    assert set(response.json()) == fields
    assert all(isinstance(m, str) and m for messages in response.json().values() for m in messages)
    assert not RetentionPolicy.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.RETENTION_POLICY_UPDATE).exists()


def test_sixteen_rules_are_refused_with_the_limit_in_the_message(world: World, api: Any) -> None:
    response = api("padmin").request("PUT", f"{BASE}/retention-policy/", policy(*[rule()] * 16))

    assert response.status_code == 400
    assert "at most 15 rules" in response.json()["rules"][0]


def test_an_invalid_preview_is_a_400_with_field_paths_too(world: World, api: Any) -> None:
    response = api("padmin").post(f"{BASE}/retention-policy/preview/", policy(rule(), rule(n=0)))

    assert response.status_code == 400
    assert set(response.json()) == {"rules.2.n"}


# --- immutable rules ----------------------------------------------------------------------------


def test_immutable_rules_are_replaced_with_the_revert_setting(world: World, api: Any) -> None:
    body = {
        "revert_protected_overwrites": True,
        "rules": [immutable(tags=["v*"]), immutable(tags=["prod"], enabled=False)],
    }

    response = api("padmin").request("PUT", f"{BASE}/immutable-rules/", body)

    assert response.status_code == 200, response.content
    assert response.json() == body
    assert list(ImmutableRule.objects.values_list("position", "enabled")) == [(1, True), (2, False)]
    assert TagProtectionSettings.objects.get(project=world.private).revert_protected_overwrites
    assert AuditEvent.objects.filter(action=AuditAction.IMMUTABLE_RULES_UPDATE).count() == 1
    assert api("guest").get(f"{BASE}/immutable-rules/").json() == body


def test_invalid_immutable_rules_name_the_api_field_rules(world: World, api: Any) -> None:
    body = {"rules": [immutable(), {"repositories": {"include": []}, "tags": {}}]}

    response = api("padmin").request("PUT", f"{BASE}/immutable-rules/", body)

    assert response.status_code == 400
    assert set(response.json()) == {"rules.2.repositories.include", "rules.2.tags.include"}
    assert not ImmutableRule.objects.exists()


# --- preview ------------------------------------------------------------------------------------


@pytest.fixture
def content(world: World) -> None:
    """`acme/app` with v1..v4 pushed 4..1 days ago (v4 newest), `acme/team-a/api` with two tags."""
    rows(world.private, "app", {"v1": 4, "v2": 3, "v3": 2, "v4": 1})
    rows(world.private, "team-a/api", {"old": 9, "new": 1})


def test_preview_counts_per_repository_without_saving(world: World, content: None, api: Any) -> None:
    body = policy(rule(n=2, repos=["app"]))

    response = api("padmin").post(f"{BASE}/retention-policy/preview/", body)

    assert response.status_code == 200, response.content
    data = response.json()
    assert data["repositories"] == [
        {
            "repository": "acme/app",
            "path": "app",
            "matched": True,
            "kept_artifacts": 2,
            "deleted_artifacts": 2,
            "kept_tags": 2,
            "deleted_tags": 2,
        },
        {
            "repository": "acme/team-a/api",
            "path": "team-a/api",
            "matched": False,
            "kept_artifacts": 2,
            "deleted_artifacts": 0,
            "kept_tags": 2,
            "deleted_tags": 0,
        },
    ]
    assert data["totals"] == {"kept_artifacts": 4, "deleted_artifacts": 2, "kept_tags": 4, "deleted_tags": 2}
    assert not RetentionPolicy.objects.exists()


def test_preview_detail_gives_every_artifact_and_tag_its_reason(
    world: World, content: None, api: Any
) -> None:
    retention.save_immutable_rules(
        world.private, ACTOR, rules=[immutable(tags=["v1"])], revert_protected_overwrites=False
    )
    body = policy(rule(n=1, repos=["app"]))

    response = api("padmin").post(f"{BASE}/retention-policy/preview/?detail=1", body)

    assert response.status_code == 200, response.content
    app, other = response.json()["repositories"]
    by_tag = {a["tags"][0]["name"]: a for a in app["artifacts"]}
    assert sorted(by_tag) == ["v1", "v2", "v3", "v4"]
    assert (by_tag["v4"]["kept"], by_tag["v4"]["code"], by_tag["v4"]["rule"]) == (True, "retained", 1)
    assert by_tag["v4"]["reason"].startswith("kept by rule 1: ")
    assert (by_tag["v1"]["kept"], by_tag["v1"]["reason"]) == (True, "protected: immutable rule 1 (tag `v1`)")
    assert by_tag["v1"]["tags"] == [{"name": "v1", "protected_by": 1}]
    for tag in ("v2", "v3"):
        assert (by_tag[tag]["kept"], by_tag[tag]["reason"]) == (False, "deleted: retained by no rule")
    assert (app["kept_artifacts"], app["deleted_artifacts"]) == (2, 2)
    assert {a["reason"] for a in other["artifacts"]} == {"kept: no rule matches this repository"}


def test_preview_without_detail_lists_no_artifacts(world: World, content: None, api: Any) -> None:
    response = api("padmin").post(f"{BASE}/retention-policy/preview/", policy(rule()))

    assert all("artifacts" not in row for row in response.json()["repositories"])


# --- runs ---------------------------------------------------------------------------------------


def test_starting_a_run_queues_it_and_answers_202(world: World, content: None, api: Any) -> None:
    save(world, rule())

    response = api("maintainer").post(f"{BASE}/retention-runs/", {"dry_run": True})

    assert response.status_code == 202, response.content
    data = response.json()
    assert (data["status"], data["dry_run"], data["trigger"], data["requested_by"]) == (
        "queued",
        True,
        "api",
        "maintainer",
    )
    run = RetentionRun.objects.get()
    assert run.pk == data["id"] and run.policy["rules"] == [rule()]


def test_starting_a_run_while_one_is_pending_returns_that_run_with_200(
    world: World, content: None, api: Any
) -> None:
    save(world, rule())
    first = api("maintainer").post(f"{BASE}/retention-runs/", {"dry_run": True}).json()

    again = api("padmin").post(f"{BASE}/retention-runs/", {"dry_run": False})

    assert again.status_code == 200
    assert again.json()["id"] == first["id"] and again.json()["dry_run"] is True
    assert RetentionRun.objects.count() == 1


def test_starting_a_run_without_a_policy_is_a_400(world: World, api: Any) -> None:
    response = api("padmin").post(f"{BASE}/retention-runs/", {})

    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["This project has no retention policy to run."]}
    assert not RetentionRun.objects.exists()


def test_a_dry_run_started_through_the_api_records_what_it_would_delete(
    world: World, content: None, api: Any, django_capture_on_commit_callbacks: Any
) -> None:
    save(world, rule(n=1, repos=["app"]))

    with django_capture_on_commit_callbacks(execute=True):  # the task runs inline (eager Celery)
        started = api("maintainer").post(f"{BASE}/retention-runs/", {"dry_run": True}).json()

    detail = api("guest").get(f"{BASE}/retention-runs/{started['id']}/").json()
    assert (detail["status"], detail["artifacts_planned"], detail["artifacts_deleted"]) == ("succeeded", 3, 0)
    assert detail["items_by_outcome"] == {"dry_run": 3}
    assert detail["policy"]["rules"] == [rule(n=1, repos=["app"])]
    items = api("guest").get(f"{BASE}/retention-runs/{started['id']}/items/").json()
    assert items["count"] == 3
    assert {tuple(i["tags"]) for i in items["results"]} == {("v1",), ("v2",), ("v3",)}
    assert {(i["outcome"], i["reason"]) for i in items["results"]} == {
        ("dry_run", "deleted: retained by no rule")
    }


def test_stopping_a_queued_run_stops_it_and_a_second_stop_is_a_409(
    world: World, content: None, api: Any
) -> None:
    save(world, rule())
    run = api("maintainer").post(f"{BASE}/retention-runs/", {}).json()

    stopped = api("maintainer").post(f"{BASE}/retention-runs/{run['id']}/stop/")
    again = api("maintainer").post(f"{BASE}/retention-runs/{run['id']}/stop/")

    assert stopped.status_code == 200
    assert (stopped.json()["status"], stopped.json()["stop_requested"]) == ("stopped", True)
    assert again.status_code == 409
    assert again.json()["detail"] == "This run has stopped already."


def test_stopping_a_running_run_asks_it_to_stop_before_its_next_deletion(world: World, api: Any) -> None:
    run = RetentionRun.objects.create(project=world.private, status=RetentionRun.Status.RUNNING)

    response = api("maintainer").post(f"{BASE}/retention-runs/{run.pk}/stop/")

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["stop_requested"]) == ("running", True)


def _runs(world: World) -> dict[str, RetentionRun]:
    return {
        "ok": RetentionRun.objects.create(project=world.private, status="succeeded", dry_run=False),
        "dry": RetentionRun.objects.create(project=world.private, status="succeeded", dry_run=True),
        "failed": RetentionRun.objects.create(project=world.private, status="failed", dry_run=False),
        "elsewhere": RetentionRun.objects.create(project=world.public, status="failed", dry_run=False),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["failed", "dry", "ok"]),
        ({"status": "failed"}, ["failed"]),
        ({"dry_run": "true"}, ["dry"]),
        ({"dry_run": "false", "status": "succeeded"}, ["ok"]),
    ],
)
def test_runs_are_listed_newest_first_and_filtered(
    query: dict[str, str], expected: list[str], world: World, api: Any
) -> None:
    runs = _runs(world)

    response = api("guest").get(f"{BASE}/retention-runs/", query)

    assert response.status_code == 200
    assert [r["id"] for r in response.json()["results"]] == [runs[name].pk for name in expected]


def test_run_items_are_filtered_by_outcome_and_action(world: World, api: Any) -> None:
    run = RetentionRun.objects.create(project=world.private, status="failed")
    for n, (action, outcome) in enumerate(
        [("delete", "deleted"), ("delete", "failed"), ("delete", "skipped_moved"), ("skip", "skipped")]
    ):
        RetentionRunItem.objects.create(
            run=run, repository_name="acme/app", digest=f"sha256:{n:064d}", action=action, outcome=outcome
        )
    url = f"{BASE}/retention-runs/{run.pk}/items/"

    def outcomes(query: dict[str, str]) -> list[str]:
        return [i["outcome"] for i in api("guest").get(url, query).json()["results"]]

    assert outcomes({}) == ["deleted", "failed", "skipped_moved", "skipped"]
    assert outcomes({"outcome": "failed"}) == ["failed"]
    assert outcomes({"action": "skip"}) == ["skipped"]
    assert api("guest").get(url, {"outcome": "nonsense"}).status_code == 400


# --- recycle bin --------------------------------------------------------------------------------


def entry(world: World, digest: str, **fields: Any) -> RecycleBinEntry:
    defaults: dict[str, Any] = {
        "project": world.private,
        "repository_name": "acme/app",
        "digest": "sha256:" + digest * 64,
        "media_type": "application/vnd.oci.image.manifest.v1+json",
        "manifest": b"{}",
        "tags": {"v2": "2026-01-01T00:00:00+00:00", "v1": "2026-01-01T00:00:00+00:00"},
        "source": RecycleBinEntry.Source.RETENTION,
    }
    return RecycleBinEntry.objects.create(**{**defaults, **fields})


def test_the_recycle_bin_lists_unexpired_entries_restored_or_not(world: World, api: Any) -> None:
    now = timezone.now()
    fresh = entry(world, "a", deleted_at=now)
    restored = entry(world, "b", deleted_at=now - timedelta(hours=1), restored_at=now, restored_by="padmin")
    entry(world, "c", expires_at=now - timedelta(seconds=1))
    entry(world, "d", project=world.public, repository_name="pub/app")

    listed = api("guest").get(f"{BASE}/recycle-bin/").json()["results"]
    only_restored = api("guest").get(f"{BASE}/recycle-bin/", {"restored": "true"}).json()["results"]
    not_restored = api("guest").get(f"{BASE}/recycle-bin/", {"restored": "false"}).json()["results"]

    assert [e["id"] for e in listed] == [fresh.pk, restored.pk]
    assert listed[0]["tags"] == ["v1", "v2"]
    assert (listed[0]["repository"], listed[0]["source"], listed[0]["kind"]) == (
        "acme/app",
        "retention",
        "artifact",
    )
    assert "manifest" not in listed[0]
    assert [e["id"] for e in only_restored] == [restored.pk]
    assert [e["id"] for e in not_restored] == [fresh.pk]


def test_an_expired_entry_cannot_be_restored(world: World, api: Any) -> None:
    expired = entry(world, "c", expires_at=timezone.now() - timedelta(seconds=1))

    response = api("padmin").post(f"{BASE}/recycle-bin/{expired.pk}/restore/")

    assert response.status_code == 404


def test_restoring_an_entry_twice_is_a_409_with_the_reason(world: World, api: Any) -> None:
    done = entry(world, "a", restored_at=timezone.now())

    response = api("maintainer").post(f"{BASE}/recycle-bin/{done.pk}/restore/")

    assert response.status_code == 409
    assert body_without_request_id(response) == {"detail": "This deletion has been undone already.", "code": "restored"}


# --- query counts -------------------------------------------------------------------------------

# Session, user, project (get_project), COUNT(*), the page. Never one per row.
MAX_LIST_QUERIES = 5


@pytest.mark.parametrize("page_size", [10, 200])
def test_list_endpoints_run_a_fixed_number_of_queries(
    page_size: int, world: World, api: Any, django_assert_max_num_queries: Any
) -> None:
    users = list(world.users.values())
    runs = RetentionRun.objects.bulk_create(
        RetentionRun(
            project=world.private,
            status="succeeded",
            requested_by=users[i % len(users)],
            policy={"rules": []},
        )
        for i in range(300)
    )
    RetentionRunItem.objects.bulk_create(
        RetentionRunItem(run=runs[0], repository_name="acme/app", digest=f"sha256:{i:064d}", action="delete")
        for i in range(300)
    )
    RecycleBinEntry.objects.bulk_create(
        RecycleBinEntry(
            project=world.private,
            repository_name="acme/app",
            digest=f"sha256:{i:064d}",
            media_type="x",
            manifest=b"{}",
            source="manual",
            run=runs[i],
        )
        for i in range(300)
    )
    client = api("guest")

    for url in ("retention-runs/", f"retention-runs/{runs[0].pk}/items/", "recycle-bin/"):
        with django_assert_max_num_queries(MAX_LIST_QUERIES + (url.endswith("items/"))):
            response = client.get(f"{BASE}/{url}", {"page_size": page_size})
        assert response.status_code == 200
        assert len(response.json()["results"]) == page_size


# Session, user, project, the candidates' repositories (paths by id), tags, artifacts,
# immutable rules, repository names.
MAX_PREVIEW_QUERIES = 8


def test_a_preview_runs_a_fixed_number_of_queries(
    world: World, api: Any, django_assert_max_num_queries: Any
) -> None:
    for i in range(40):
        rows(world.private, f"r{i:02d}", {"a": 2, "b": 1})
    client = api("padmin")

    with django_assert_max_num_queries(MAX_PREVIEW_QUERIES):
        response = client.post(f"{BASE}/retention-policy/preview/?detail=1", policy(rule(n=1)))

    assert response.status_code == 200
    assert len(response.json()["repositories"]) == 40
    assert response.json()["totals"]["deleted_artifacts"] == 40
