"""The system-wide default retention policy: where it applies (a property over random
sets of projects, on the database), who sets it, how it shows on a project's Retention
tab and in the API, opting out, and runs of projects that follow it."""

from __future__ import annotations

import random
import re
from datetime import UTC

import pytest

from audit.context import Actor
from audit.models import AuditAction, AuditEvent
from repositories.models import DefaultRetentionPolicy, RetentionRun
from repositories.retention.defaults import Origin
from repositories.services import retention, retention_defaults
from repositories.services.retention_runs import due_runs, request_run
from tests.conftest import PERSONAS
from tests.factories import ProjectFactory
from tests.retention_runs.helpers import rule

ACTOR = Actor.system("test")


def _set_default(*rules, schedule="", enabled=False):
    return retention_defaults.save_default(
        ACTOR, enabled=enabled, schedule=schedule, allow_empty_repository=False, rules=list(rules)
    )


@pytest.mark.parametrize("seed", range(6))
def test_the_default_governs_exactly_the_projects_without_their_own_policy(db, settings, seed):
    rnd = random.Random(seed)
    settings.WHARF_RETENTION_DEFAULT_OPT_OUT = rnd.random() < 0.5
    _set_default(rule(n=3))
    expected_default = set()
    for index in range(12):
        project = ProjectFactory(name=f"p{seed}-{index}")
        kind = rnd.choice(["own", "empty-own", "none", "opted-out"])
        if kind == "own":
            retention.save_policy(project, ACTOR, enabled=False, schedule="", allow_empty_repository=False,
                                  rules=[rule(n=rnd.randint(1, 5))])
        elif kind == "empty-own":  # a saved policy without rules is not a way around the default
            retention.save_policy(project, ACTOR, enabled=False, schedule="", allow_empty_repository=False, rules=[])
        elif kind == "opted-out" and settings.WHARF_RETENTION_DEFAULT_OPT_OUT:
            retention_defaults.set_opt_out(project, True, ACTOR)
        if kind in ("empty-own", "none") or (kind == "opted-out" and not settings.WHARF_RETENTION_DEFAULT_OPT_OUT):
            expected_default.add(project.name)

    origins = {p.name: retention_defaults.effective_policy(p).origin for p in ProjectFactory._meta.model.objects.all()}

    assert {name for name, origin in origins.items() if origin is Origin.DEFAULT} == expected_default
    assert {p.name for p in retention_defaults.governed_by_default()} == expected_default
    for name, origin in origins.items():
        assert origin in (Origin.DEFAULT, Origin.PROJECT, Origin.NONE)
        if origin is Origin.DEFAULT:
            project = ProjectFactory._meta.model.objects.get(name=name)
            assert retention_defaults.effective_policy(project).data["rules"] == DefaultRetentionPolicy.objects.get().rules


def test_without_a_default_nothing_is_governed(db):
    project = ProjectFactory(name="alone")

    assert retention_defaults.effective_policy(project).origin is Origin.NONE
    assert retention_defaults.governed_by_default() == []


def test_opting_out_is_refused_unless_the_site_allows_it(db, settings):
    project = ProjectFactory(name="acme")
    settings.WHARF_RETENTION_DEFAULT_OPT_OUT = False

    with pytest.raises(Exception) as caught:
        retention_defaults.set_opt_out(project, True, ACTOR)

    assert "opted_out" in caught.value.message_dict
    settings.WHARF_RETENTION_DEFAULT_OPT_OUT = True
    assert retention_defaults.set_opt_out(project, True, ACTOR)
    assert AuditEvent.objects.filter(action=AuditAction.RETENTION_DEFAULT_OPT_OUT, project_id=project.pk).count() == 1


def test_saving_the_default_validates_and_audits(db):
    with pytest.raises(Exception) as caught:
        _set_default(rule(n=0))
    assert "rules.1.n" in caught.value.message_dict

    _set_default(rule(n=3, tags=["release-*"]))

    event = AuditEvent.objects.get(action=AuditAction.RETENTION_DEFAULT_UPDATE)
    assert event.details["after"]["rules"][0]["tags"]["include"] == ["release-*"]


def test_a_run_of_a_project_following_the_default_snapshots_it_with_its_origin(db):
    project = ProjectFactory(name="acme")
    _set_default(rule(n=2))

    run, created = request_run(project, ACTOR, dry_run=True)

    assert created and run.policy["origin"] == "default"
    assert run.policy["rules"] == [rule(n=2)]


def test_the_default_schedule_queues_runs_for_governed_projects_only(db):
    from datetime import datetime

    governed = ProjectFactory(name="governed")
    own = ProjectFactory(name="own")
    retention.save_policy(own, ACTOR, enabled=False, schedule="", allow_empty_repository=False, rules=[rule(n=1)])
    _set_default(rule(n=2), schedule="0 3 * * *", enabled=True)
    at = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)

    runs = retention_defaults.due_default_runs(at)
    again = retention_defaults.due_default_runs(at)

    assert [r.project.name for r in runs] == ["governed"]
    assert again == []  # once per minute
    assert due_runs(at) == []  # the project's own (unscheduled) policy queues nothing
    assert RetentionRun.objects.filter(project=governed).count() == 1


# --- pages and API ---------------------------------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_default_page_is_for_system_admins(world, persona):
    response = world.client(persona).get("/retention/default/")

    assert response.status_code == {"sysadmin": 200, "anonymous": 302}.get(persona, 403)


def test_system_admins_save_the_default_from_its_page(world):
    data = {
        "schedule": "", "rules-count": "1", "rules-0-repository_include": "**", "rules-0-tag_include": "**",
        "rules-0-template": "latest_pushed_n", "rules-0-n": "7",
    }

    response = world.client("sysadmin").post("/retention/default/", data)

    assert response.status_code == 302
    assert DefaultRetentionPolicy.objects.get().rules[0]["n"] == 7
    bad = world.client("sysadmin").post("/retention/default/", {**data, "rules-0-n": "0"})
    assert bad.status_code == 200 and "is-invalid" in bad.content.decode()


def test_the_retention_tab_shows_the_default_read_only_with_its_origin(world):
    _set_default(rule(n=4, tags=["release-*"]))

    body = world.client("guest").get("/projects/acme/retention/").content.decode()

    assert 'id="retention-default"' in body
    assert "release-*" in body
    assert "system default" in body.lower()


def test_the_retention_tab_says_nothing_of_the_default_when_the_project_has_its_own(world):
    _set_default(rule(n=4))
    retention.save_policy(world.private, ACTOR, enabled=False, schedule="", allow_empty_repository=False,
                          rules=[rule(n=1)])

    body = world.client("guest").get("/projects/acme/retention/").content.decode()

    assert 'id="retention-default"' not in body


@pytest.mark.parametrize("persona", PERSONAS)
def test_api_default_is_read_by_users_and_set_by_system_admins(api, persona):
    body = {"enabled": False, "schedule": "", "allow_empty_repository": False, "rules": [rule(n=2)]}

    read = api(persona).get("/api/v1/retention-default/")
    written = api(persona).request("PUT", "/api/v1/retention-default/", body)

    if persona == "anonymous":
        assert (read.status_code, written.status_code) == (401, 401)
        return
    assert read.status_code == 200
    assert written.status_code == (200 if persona == "sysadmin" else 403)


def test_api_bad_default_is_a_400_on_its_path(api):
    body = {"enabled": False, "schedule": "61 * * * *", "allow_empty_repository": False, "rules": [rule(n=0)]}

    response = api("sysadmin").request("PUT", "/api/v1/retention-default/", body)

    assert response.status_code == 400
    assert {"schedule", "rules.1.n"} <= set(response.json())


def test_api_effective_policy_names_its_origin(api, world):
    _set_default(rule(n=2))

    response = api("guest").get("/api/v1/projects/acme/effective-retention-policy/")
    outsider = api("outsider").get("/api/v1/projects/acme/effective-retention-policy/")

    assert response.status_code == 200
    assert response.json()["origin"] == "default"
    assert response.json()["policy"]["rules"] == [rule(n=2)]
    assert outsider.status_code == 404


def test_a_project_without_a_policy_gets_a_proposal_it_can_load_into_the_form(world):
    from datetime import timedelta

    from django.utils import timezone

    from repositories.models import Artifact
    from tests.retention_runs.helpers import rows

    made = rows(world.private, "app", {"v1": 5, "v2": 4, "v3": 3, "v4": 2, "v5": 1})
    Artifact.objects.filter(pk=made["v2"].pk).update(last_pull_at=timezone.now() - timedelta(days=10))
    client = world.client("padmin")

    page = client.get("/projects/acme/retention/").content.decode()
    loaded = client.get("/projects/acme/retention/?propose=4").content.decode()

    assert 'id="retention-proposal"' in page and "keep the 4 most recently pushed" in page  # v2 is 4th newest
    assert re.search(r'name="rules-0-n"[^>]*value="4"', loaded) or re.search(r'value="4"[^>]*name="rules-0-n"', loaded)
    assert 'id="load-proposal"' not in world.client("guest").get("/projects/acme/retention/").content.decode()


def test_a_big_projects_tab_asks_for_the_proposal_once_shown_and_gets_the_same_card(world, monkeypatch):
    """Past PROPOSAL_INLINE_ARTIFACTS the proposal (a whole-project evaluation) is not made
    with the page: the tab asks for it (htmx, on load) and gets the card it would have had."""
    from datetime import timedelta

    from django.utils import timezone

    from repositories.models import Artifact
    from repositories.views import retention_default
    from tests.retention_runs.helpers import rows

    made = rows(world.private, "app", {"v1": 5, "v2": 4, "v3": 3, "v4": 2, "v5": 1})
    Artifact.objects.filter(pk=made["v2"].pk).update(last_pull_at=timezone.now() - timedelta(days=10))
    client = world.client("padmin")
    inline = client.get("/projects/acme/retention/").content.decode()
    card = inline[inline.index('<div class="card border-secondary mb-3" id="retention-proposal">') :]
    card = card[: card.index("</div>\n</div>") + len("</div>\n</div>")]

    monkeypatch.setattr(retention_default, "PROPOSAL_INLINE_ARTIFACTS", 4)
    page = client.get("/projects/acme/retention/").content.decode()
    assert 'id="retention-proposal"' not in page
    assert 'hx-get="/projects/acme/retention/proposal/"' in page

    fetched = client.get("/projects/acme/retention/proposal/")
    assert fetched.status_code == 200 and card in fetched.content.decode()
    guest = world.client("guest").get("/projects/acme/retention/proposal/").content.decode()
    assert "keep the 4 most recently pushed" in guest and 'id="load-proposal"' not in guest
    assert world.client("outsider").get("/projects/acme/retention/proposal/").status_code == 404
