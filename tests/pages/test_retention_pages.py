"""The retention pages' behaviour with rows made by the ORM: the policy editor (inline
errors, editing the rule list without saving), the live preview (counts and reasons,
nothing saved), runs (dry run, confirmation, stop, polling) and bounded query counts."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.context import Actor
from audit.models import AuditEvent
from repositories.models import (
    ImmutableRule,
    RecycleBinEntry,
    RetentionPolicy,
    RetentionRule,
    RetentionRun,
    RetentionRunItem,
    TagProtectionSettings,
)
from repositories.services.retention import save_immutable_rules, save_policy
from tests.retention_runs.helpers import immutable, rows, rule

URL = "/projects/acme/retention/"


def rule_fields(index: int, **values: str) -> dict[str, str]:
    fields = {"repository_include": "**", "tag_include": "**", "template": "latest_pushed_n", "n": "1"}
    fields.update(values)
    return {f"rules-{index}-{name}": value for name, value in fields.items()}


def policy_post(*rules: dict[str, str], schedule: str = "", **extra: str) -> dict[str, str]:
    data = {"schedule": schedule, "rules-count": str(len(rules))}
    for index, values in enumerate(rules):
        data.update(rule_fields(index, **values))
    data.update(extra)
    return data


@pytest.fixture
def admin(world):
    return world.client("padmin")


@pytest.fixture
def saved(world):
    """acme/app with v1..v3 pushed 3, 2 and 1 days ago, and a saved policy keeping the 2 latest."""
    made = rows(world.private, "app", {"v1": 3, "v2": 2, "v3": 1})
    save_policy(
        world.private,
        Actor.system("test"),
        enabled=False,
        schedule="",
        allow_empty_repository=False,
        rules=[rule(n=2)],
    )
    return made


def invalid(body: str, name: str) -> bool:
    """Whether the input called `name` is marked invalid."""
    tag = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', body)
    assert tag, name
    return "is-invalid" in tag.group(0)


def _saved_rules(world) -> list[tuple[str, int | None]]:
    return list(RetentionRule.objects.filter(policy__project=world.private).values_list("template", "n"))


# --- the editor ------------------------------------------------------------------------


def test_the_editor_shows_the_saved_rules_as_indexed_fields(world, admin, saved):
    body = admin.get(URL).content.decode()

    assert 'name="rules-count" value="1"' in body
    assert 'name="rules-0-n"' in body and 'value="2"' in body
    assert "an artifact is kept if <strong>any</strong> rule retains it" in body


def test_viewers_see_the_policy_read_only_without_run_buttons(world, saved):
    body = world.client("guest").get(URL).content.decode()

    assert "<fieldset disabled>" in body
    assert (
        'id="save-policy"' not in body and 'id="run-now"' not in body and 'id="retention-preview"' not in body
    )


def test_maintainers_see_run_buttons_but_cannot_edit(world, saved):
    body = world.client("maintainer").get(URL).content.decode()

    assert 'id="run-now"' in body and 'id="dry-run"' in body
    assert 'id="save-policy"' not in body


def test_an_invalid_cron_expression_is_shown_next_to_the_schedule_and_nothing_is_saved(world, admin, saved):
    response = admin.post(URL, policy_post({"n": "5"}, schedule="61 * * * *"))

    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="schedule-error"' in body
    assert invalid(body, "schedule")
    assert _saved_rules(world) == [("latest_pushed_n", 2)]
    assert RetentionPolicy.objects.get(project=world.private).schedule == ""


def test_a_bad_pattern_is_shown_on_its_rule_and_field_and_nothing_is_saved(world, admin, saved):
    data = policy_post({"n": "5"}, {"tag_include": "ok-* [oops", "n": "3"})

    body = admin.post(URL, data).content.decode()

    rule_two = body[body.index('id="rule-2"') :]
    rule_two = rule_two[: rule_two.index("</fieldset>")]
    assert "`[oops`:" in rule_two  # the message names the pattern at fault
    assert invalid(rule_two, "rules-1-tag_include")
    assert not invalid(rule_two, "rules-1-repository_include")
    rule_one = body[body.index('id="rule-1"') : body.index('id="rule-2"')]
    assert "is-invalid" not in rule_one
    assert _saved_rules(world) == [("latest_pushed_n", 2)]


def test_sixteen_rules_are_refused_with_an_error_above_the_rules_and_nothing_is_saved(world, admin, saved):
    data = policy_post(*[{"n": str(i + 1)} for i in range(16)])

    body = admin.post(URL, data).content.decode()

    assert 'id="rules-error"' in body
    assert "at most 15 rules; it has 16" in body
    assert _saved_rules(world) == [("latest_pushed_n", 2)]


def test_a_missing_n_is_shown_on_that_rule(world, admin, saved):
    body = admin.post(URL, policy_post({"n": "4"}, {"n": ""})).content.decode()

    assert invalid(body, "rules-1-n")
    assert not invalid(body, "rules-0-n")
    assert _saved_rules(world) == [("latest_pushed_n", 2)]


def test_saving_a_valid_policy_replaces_the_rules_and_audits_it(world, admin, saved):
    data = policy_post(
        {"n": "4"}, {"template": "always", "n": "", "tag_include": "release-*"}, schedule="0 3 * * *"
    )
    data["enabled"] = "on"

    response = admin.post(URL, data)

    assert response.status_code == 302
    policy = RetentionPolicy.objects.get(project=world.private)
    assert (policy.enabled, policy.schedule) == (True, "0 3 * * *")
    assert _saved_rules(world) == [("latest_pushed_n", 4), ("always", None)]
    assert RetentionRule.objects.get(policy=policy, position=2).tag_include == ["release-*"]
    assert AuditEvent.objects.filter(action="retention.policy_update").count() == 2  # fixture + this


@pytest.mark.parametrize(
    ("edit", "expected_ns"),
    [
        ("add", ["1", "2", "3", "10"]),
        ("remove-2", ["1", "3"]),
        ("up-3", ["1", "3", "2"]),
        ("down-1", ["2", "1", "3"]),
    ],
)
def test_editing_the_rule_list_renumbers_the_fields_and_saves_nothing(world, admin, saved, edit, expected_ns):
    data = policy_post({"n": "1"}, {"n": "2"}, {"n": "3"}, edit=edit)

    body = admin.post(URL, data, headers={"HX-Request": "true"}).content.decode()

    ns = re.findall(r'name="rules-(\d+)-n"[^>]*?(?:value="(\d*)")?', body)
    assert [index for index, _ in ns] == [str(i) for i in range(len(expected_ns))]
    values = re.findall(r'<input[^>]*name="rules-\d+-n"[^>]*>', body)
    assert [re.search(r'value="(\d*)"', v).group(1) for v in values] == expected_ns
    assert f'name="rules-count" value="{len(expected_ns)}"' in body
    assert "<html" not in body  # htmx gets the form's content alone
    assert _saved_rules(world) == [("latest_pushed_n", 2)]


def test_without_javascript_preview_is_a_button_that_shows_the_preview_on_the_page(world, admin, saved):
    body = admin.post(URL, policy_post({"n": "1"}, edit="preview")).content.decode()

    assert "<html" in body
    assert 'id="preview-totals"' in body and "2 deleted" in body
    assert _saved_rules(world) == [("latest_pushed_n", 2)]


# --- the live preview --------------------------------------------------------------------


def test_the_preview_counts_kept_and_deleted_artifacts_per_repository_and_saves_nothing(world, admin, saved):
    rows(world.private, "web", {"a": 1})
    events = AuditEvent.objects.count()

    response = admin.post(URL + "preview/", policy_post({"n": "1", "repository_include": "app"}))

    body = response.content.decode()
    assert response.status_code == 200
    app = body[body.index('data-repository="acme/app"') :]
    assert "1 kept" in app[:600] and "2 deleted" in app[:600]
    web = body[body.index('data-repository="acme/web"') :]
    assert "untouched" in web[:600]
    assert _saved_rules(world) == [("latest_pushed_n", 2)]
    assert AuditEvent.objects.count() == events


def test_the_preview_gives_every_tag_its_reason(world, admin, saved):
    save_immutable_rules(
        world.private, Actor.system("test"), rules=[immutable(tags=["v1"])], revert_protected_overwrites=False
    )

    body = admin.post(URL + "preview/", policy_post({"n": "1", "tag_include": "v*"})).content.decode()

    assert "kept by rule 1: " in body
    assert "deleted: retained by no rule" in body
    assert "protected: immutable rule 1 (tag `v1`)" in body.replace("&#x60;", "`")


def test_past_its_row_budget_the_preview_lists_a_repository_when_opened_with_the_same_rows(
    world, admin, saved, monkeypatch
):
    """At a thousand repositories the page was megabytes of rows nobody opened: after the
    budget a repository shows its counts and fetches its rows (that one repository
    evaluated) when opened; they are the rows the whole-project preview would list."""
    from repositories.views import retention_policy

    rows(world.private, "web", {"a": 3, "b": 2, "c": 1})
    posted = policy_post({"n": "1"})
    inline = admin.post(URL + "preview/", posted).content.decode()
    web_inline = inline[inline.index('data-repository="acme/web"') :]
    web_inline = web_inline[: web_inline.index("</details>")]
    assert "preview-lazy" not in inline and web_inline.count("preview-reason") == 3

    monkeypatch.setattr(retention_policy, "PREVIEW_ROWS", 1)
    body = admin.post(URL + "preview/", posted).content.decode()
    app = body[body.index('data-repository="acme/app"') :]
    assert app[: app.index("</details>")].count("preview-reason") == 3  # the first is always listed
    web = body[body.index('data-repository="acme/web"') :]
    web = web[: web.index("</details>")]
    assert "1 kept" in web and "2 deleted" in web and "preview-reason" not in web
    assert 'hx-post="/projects/acme/retention/preview/?repository=acme/web"' in web.replace("%2F", "/")

    fetched = admin.post(URL + "preview/?repository=acme/web", posted)
    assert fetched.status_code == 200
    listed = fetched.content.decode()
    assert re.findall(r'<span class="preview-reason">([^<]*)</span>', listed) == re.findall(
        r'<span class="preview-reason">([^<]*)</span>', web_inline
    )
    assert re.findall(r"<code[^>]*>([^<]*)</code>", listed) == re.findall(r"<code[^>]*>([^<]*)</code>", web_inline)


def test_a_repository_of_the_preview_is_fetched_only_from_its_own_project(world, admin, saved):
    rows(world.public, "site", {"x": 1})
    posted = policy_post({"n": "1"})

    assert admin.post(URL + "preview/?repository=pub/site", posted).status_code == 404
    assert admin.post(URL + "preview/?repository=acme/nosuch", posted).status_code == 404
    problem = admin.post(URL + "preview/?repository=acme/app", policy_post({"n": "", "tag_include": "[x"}))
    assert problem.status_code == 200 and "correct the rules first" in problem.content.decode()


def test_the_preview_lists_the_problems_of_an_invalid_policy_instead(world, admin, saved):
    body = admin.post(URL + "preview/", policy_post({"n": "", "tag_include": "[x"})).content.decode()

    assert 'id="preview-problems"' in body
    assert "Rule 1, tags include" in body and "Rule 1, n" in body


def test_the_preview_says_so_when_the_project_is_empty(world, admin):
    body = admin.post(URL + "preview/", policy_post({"n": "1"})).content.decode()

    assert 'id="preview-empty"' in body


# --- runs --------------------------------------------------------------------------------


def test_a_dry_run_from_the_page_runs_and_lists_what_it_would_delete(
    world, saved, django_capture_on_commit_callbacks
):
    client = world.client("maintainer")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL + "runs/start/", {"dry_run": "1"})

    run = RetentionRun.objects.get(project=world.private)
    assert response.status_code == 302 and response["Location"] == f"{URL}runs/{run.pk}/"
    assert (run.dry_run, run.status, run.artifacts_planned) == (True, "succeeded", 1)
    page = client.get(response["Location"]).content.decode()
    assert "v1" in page and "deleted: retained by no rule" in page
    assert "Would be deleted (dry run)" in page


def test_the_run_page_filters_items_by_outcome(world, saved):
    run = RetentionRun.objects.create(project=world.private, status="failed", policy={})
    for outcome, tag in [("deleted", "gone"), ("failed", "stuck"), ("skipped_moved", "moved")]:
        RetentionRunItem.objects.create(
            run=run,
            repository_name="acme/app",
            digest="sha256:" + "0" * 64,
            tags=[tag],
            action="delete",
            outcome=outcome,
            error="boom" if outcome == "failed" else "",
        )
    client = world.client("guest")

    body = client.get(f"{URL}runs/{run.pk}/?outcome=failed").content.decode()

    assert "stuck" in body and "boom" in body
    assert '<code class="me-1">gone</code>' not in body and '<code class="me-1">moved</code>' not in body
    unfiltered = client.get(f"{URL}runs/{run.pk}/").content.decode()
    assert all(f'<code class="me-1">{tag}</code>' in unfiltered for tag in ("gone", "stuck", "moved"))


def test_run_now_is_confirmed_saying_how_many_artifacts_would_go(world, saved):
    response = world.client("maintainer").get(URL + "runs/confirm/", headers={"HX-Request": "true"})

    body = response.content.decode()
    assert "<strong>1 artifact</strong>" in body
    assert 'name="dry_run" value="0"' in body
    assert "<html" not in body  # the dialog alone, for the modal


def test_run_now_without_a_policy_says_there_is_none(world):
    body = world.client("maintainer").get(URL + "runs/confirm/").content.decode()

    assert "no retention policy" in body
    assert 'id="confirm-run-button"' not in body


def test_starting_a_run_without_a_policy_is_a_flash_error_not_a_crash(world):
    response = world.client("maintainer").post(URL + "runs/start/", {"dry_run": "1"}, follow=True)

    assert response.status_code == 200
    assert "no retention policy to run" in response.content.decode()
    assert not RetentionRun.objects.exists()


def test_a_second_request_while_a_run_is_queued_shows_that_run(world, saved):
    queued = RetentionRun.objects.create(project=world.private, policy={})

    response = world.client("maintainer").post(URL + "runs/start/", {"dry_run": "1"})

    assert response["Location"] == f"{URL}runs/{queued.pk}/"
    assert RetentionRun.objects.count() == 1


def test_stopping_a_queued_run_stops_it_at_once(world, saved):
    queued = RetentionRun.objects.create(project=world.private, policy={})

    response = world.client("maintainer").post(f"{URL}runs/{queued.pk}/stop/", headers={"HX-Request": "true"})

    queued.refresh_from_db()
    assert queued.status == "stopped"
    body = response.content.decode()
    assert 'id="run-status"' in body and "every 2s" not in body and "stopped" in body


def test_stopping_a_running_run_asks_it_to_stop_before_its_next_deletion(world, saved):
    running = RetentionRun.objects.create(project=world.private, policy={}, status="running")

    world.client("maintainer").post(f"{URL}runs/{running.pk}/stop/")

    running.refresh_from_db()
    assert (running.status, running.stop_requested) == ("running", True)


def test_an_active_run_polls_its_status_and_reloads_the_page_once_it_ends(world, saved):
    run = RetentionRun.objects.create(project=world.private, policy={}, status="running")
    client = world.client("guest")

    assert 'hx-trigger="every 2s"' in client.get(f"{URL}runs/{run.pk}/").content.decode()
    RetentionRun.objects.filter(pk=run.pk).update(status="succeeded")

    response = client.get(f"{URL}runs/{run.pk}/status/?active=1", headers={"HX-Request": "true"})
    assert response["HX-Refresh"] == "true"
    assert 'hx-trigger="every 2s"' not in client.get(f"{URL}runs/{run.pk}/").content.decode()


def test_a_run_of_another_project_is_not_found(world, saved):
    other = RetentionRun.objects.create(project=world.public, policy={})

    assert world.client("sysadmin").get(f"{URL}runs/{other.pk}/").status_code == 404


# --- query counts ----------------------------------------------------------------------------


def _runs(world, count: int) -> None:
    user = world.users["maintainer"]
    RetentionRun.objects.bulk_create(
        RetentionRun(
            project=world.private, policy={}, status="succeeded", requested_by=user, dry_run=i % 2 == 0
        )
        for i in range(count)
    )


@pytest.mark.parametrize("count", [1, 30])
def test_the_runs_list_takes_a_bounded_number_of_queries(world, django_assert_max_num_queries, count):
    _runs(world, count)
    client = world.client("guest")
    with django_assert_max_num_queries(12):
        assert client.get(URL + "runs/").status_code == 200


@pytest.mark.parametrize("count", [1, 30])
def test_the_policy_page_takes_a_bounded_number_of_queries(
    world, saved, django_assert_max_num_queries, count
):
    _runs(world, count)
    client = world.client("padmin")
    with django_assert_max_num_queries(14):
        assert client.get(URL).status_code == 200


@pytest.mark.parametrize("count", [1, 120])
def test_the_run_items_page_takes_a_bounded_number_of_queries(world, django_assert_max_num_queries, count):
    run = RetentionRun.objects.create(project=world.private, policy={}, status="succeeded")
    RetentionRunItem.objects.bulk_create(
        RetentionRunItem(
            run=run, repository_name="acme/app", digest=f"sha256:{i:064d}", tags=[f"t{i}"], action="delete"
        )
        for i in range(count)
    )
    client = world.client("guest")
    with django_assert_max_num_queries(12):
        assert client.get(f"{URL}runs/{run.pk}/").status_code == 200


@pytest.mark.parametrize("count", [1, 40])
def test_the_recycle_bin_takes_a_bounded_number_of_queries(world, django_assert_max_num_queries, count):
    run = RetentionRun.objects.create(project=world.private, policy={}, status="succeeded")
    RecycleBinEntry.objects.bulk_create(
        RecycleBinEntry(
            project=world.private,
            repository_name="acme/app",
            digest=f"sha256:{i:064d}",
            media_type="x",
            manifest=b"{}",
            tags={f"t{i}": ""},
            source="retention",
            run=run,
        )
        for i in range(count)
    )
    client = world.client("maintainer")
    with django_assert_max_num_queries(12):
        body = client.get(URL + "deleted/").content.decode()
    assert body.count("Restore</a>") == count


# --- immutable tag rules -------------------------------------------------------------------


IMMUTABLE_URL = URL + "immutable/"


def immutable_post(*rules: dict[str, str], **extra: str) -> dict[str, str]:
    data = {"immutable-count": str(len(rules))}
    for index, values in enumerate(rules):
        fields = {"repository_include": "**", "tag_include": "release-*", "enabled": "on"}
        fields.update(values)
        data.update(
            {f"immutable-{index}-{name}": value for name, value in fields.items() if value is not None}
        )
    data.update(extra)
    return data


def test_immutable_rules_are_saved_with_the_revert_setting(world, admin):
    data = immutable_post({}, {"tag_include": "v1 v2", "enabled": None}, revert_protected_overwrites="on")

    response = admin.post(IMMUTABLE_URL, data)

    assert response.status_code == 302
    saved = list(
        ImmutableRule.objects.filter(project=world.private).values_list("position", "tag_include", "enabled")
    )
    assert saved == [(1, ["release-*"], True), (2, ["v1", "v2"], False)]
    assert TagProtectionSettings.objects.get(project=world.private).revert_protected_overwrites is True


def test_an_immutable_rule_without_tag_patterns_is_shown_on_its_field_and_nothing_is_saved(world, admin):
    body = admin.post(IMMUTABLE_URL, immutable_post({}, {"tag_include": ""})).content.decode()

    assert invalid(body, "immutable-1-tag_include")
    assert not invalid(body, "immutable-0-tag_include")
    assert "Add at least one tag pattern." in body
    assert not ImmutableRule.objects.exists()


def test_adding_an_immutable_rule_saves_nothing(world, admin):
    body = admin.post(
        IMMUTABLE_URL, immutable_post({}, edit="add"), headers={"HX-Request": "true"}
    ).content.decode()

    assert 'name="immutable-count" value="2"' in body and 'id="immutable-rule-2"' in body
    assert not ImmutableRule.objects.exists()


def test_viewers_see_immutable_rules_read_only(world):
    save_immutable_rules(
        world.private, Actor.system("test"), rules=[immutable(tags=["v1"])], revert_protected_overwrites=False
    )

    body = world.client("maintainer").get(IMMUTABLE_URL).content.decode()

    assert "<fieldset disabled>" in body and 'value="v1"' in body
    assert 'id="save-immutable"' not in body


# --- recently deleted ------------------------------------------------------------------------


def _entry(world, **fields) -> RecycleBinEntry:
    values = {
        "project": world.private,
        "repository_name": "acme/app",
        "digest": "sha256:" + "c" * 64,
        "media_type": "application/vnd.oci.image.manifest.v1+json",
        "manifest": b"{}",
        "tags": {"v9": "2026-01-01T00:00:00+00:00"},
        "source": RecycleBinEntry.Source.MANUAL,
        "deleted_by": "maintainer",
    }
    values.update(fields)
    return RecycleBinEntry.objects.create(**values)


def test_recently_deleted_lists_what_went_who_deleted_it_and_when_it_expires(world):
    entry = _entry(world)
    _entry(
        world,
        digest="sha256:" + "d" * 64,
        tags={"expired": ""},
        expires_at=timezone.now() - timedelta(seconds=1),
    )

    body = world.client("guest").get(URL + "deleted/").content.decode()

    row = body[body.index(f'id="entry-{entry.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "acme/app" in row and "sha256:cccccccccccc" in row and '<code class="me-1">v9</code>' in row
    assert "maintainer" in row and "Deleted by hand" in row and entry.expires_at.strftime("%Y-%m-%d") in row
    assert "expired" not in body
    assert "Restore</a>" not in body  # guests may not restore


def test_restore_is_confirmed_in_the_modal_naming_the_tags(world):
    entry = _entry(world)

    body = (
        world.client("maintainer")
        .get(f"{URL}deleted/{entry.pk}/restore/", headers={"HX-Request": "true"})
        .content.decode()
    )

    assert "<html" not in body
    assert "with its tag v9" in body and 'id="confirm-restore-button"' in body


def test_restoring_an_entry_restored_already_is_a_flash_message_not_an_error(world):
    entry = _entry(world, restored_at=timezone.now(), restored_by="padmin")

    response = world.client("maintainer").post(f"{URL}deleted/{entry.pk}/restore/", follow=True)

    assert response.status_code == 200
    assert "This deletion has been undone already." in response.content.decode()


def test_an_entry_of_another_project_cannot_be_restored_here(world):
    entry = _entry(world, project=world.public, repository_name="pub/app")

    assert world.client("sysadmin").post(f"{URL}deleted/{entry.pk}/restore/").status_code == 404
