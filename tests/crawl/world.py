"""A living Wharf for the crawl: real registry content, scans, retention, robots, tokens, webhooks.

`build_world` fills the database (inside the test's transaction) through the same
services an operator's actions go through, then describes what it made as
*bindings*: coherent sets of URL parameter values (a project with one of its
repositories and one of that repository's digests, a project with one of its
members, ...). The crawler fills each URL pattern from the bindings that cover its
parameters, so a new page whose parameters are already known is crawled without
anyone adding it here.

A `pk` is bound per collection: `pk@members` is a membership id, `pk@robots` a
robot id, and so on, named after the path segment in front of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.test import override_settings

from accounts.models import ApiToken, RobotAccount, Team, TeamMember, User
from accounts.permissions import Role
from accounts.services import teams as team_services
from accounts.services.robots import create_robot
from accounts.services.tokens import create_token
from audit.context import Actor
from repositories.models import (
    AllowlistEntry,
    Artifact,
    GcRun,
    Label,
    Membership,
    OsvImport,
    Project,
    ProjectTeam,
    RecycleBinEntry,
    RetentionRun,
    RetentionRunItem,
    ScannerAdapter,
    ScanReport,
    SyncRun,
    Tag,
    TrustedKey,
)
from repositories.registry.builder import push as push_manifest
from repositories.services import (
    gate,
    gc,
    retention,
    retention_runs,
    scanner_adapters,
    scanning,
    signatures,
    stats,
)
from repositories.services.allowlists import add_entry
from repositories.services.labels import add_label, create_label
from repositories.services.project_teams import add_project_team
from repositories.services.projects import add_member, create_project
from repositories.services.registry import registry_client
from repositories.services.sync import sync_now
from tests.factories import UserFactory
from tests.retention_runs.helpers import rule, seed
from tests.scanning.support import image_of, load_fixture_database, push_image
from tests.scanning.test_harbor_adapter import ADAPTER
from tests.support import cosign
from tests.support.registry import RegistryServer
from tests.vulns import images
from webhooks import services as webhooks
from webhooks.models import Delivery, Webhook

ACTOR = Actor.system("crawl")
Binding = dict[str, str]

# Who is what. `padmin`, `maintainer`, `developer`, `guest` and `limited` hold their
# role in the private `acme` and the public `demo`; `outsider` holds none; `teamdev`
# holds none of their own, only Developer through the team `crawl builders`.
ROLES = {
    "padmin": Role.PROJECT_ADMIN,
    "maintainer": Role.MAINTAINER,
    "developer": Role.DEVELOPER,
    "guest": Role.GUEST,
    "limited": Role.LIMITED_GUEST,
}
SCANNED_REPOSITORY = "acme/debian"  # v1: Debian with findings; v2: Alpine with others
COMPARE = ("v1", "v2")


@dataclass
class LivingWharf:
    users: dict[str, Any]
    bindings: list[Binding] = field(default_factory=list)
    # Parameters that are not ids of anything: every value the pages offer.
    free: dict[str, list[str]] = field(default_factory=dict)


def _users() -> dict[str, Any]:
    users = {"sysadmin": UserFactory(username="sysadmin", is_superuser=True, is_staff=True)}
    for persona in [*ROLES, "outsider", "teamdev"]:
        users[persona] = UserFactory(username=persona)
    return users


def _scanned_images(server: RegistryServer, tmp_path: Path) -> None:
    """Findings exist: the scanner's OSV fixtures match the Debian image's packages."""
    load_fixture_database(tmp_path)
    client = server.client()
    push_image(client, SCANNED_REPOSITORY, image_of(images.debian_image()), tag=COMPARE[0])
    push_image(client, SCANNED_REPOSITORY, image_of(images.alpine_image()), tag=COMPARE[1])
    run = sync_now()
    assert run.status == SyncRun.Status.SUCCEEDED, run.message
    for tag in Tag.objects.filter(repository__name=SCANNED_REPOSITORY).select_related("artifact"):
        report = scanning.scan_now(tag.artifact, actor=ACTOR)
        assert report.status == ScanReport.Status.SUCCEEDED, report.error
    # An index: its report summarises one report per platform.
    index = Tag.objects.select_related("artifact").get(repository__name="demo/web", name="latest").artifact
    scanning.scan_now(index, actor=ACTOR)
    assert Artifact.objects.filter(scan_reports__findings__isnull=False).exists()


def _retention(server: RegistryServer, acme: Project) -> None:
    """A real run that deleted `acme/app:v1` into the recycle bin, and a dry run."""
    seed(server, "acme/app", {"v1": 5, "v2": 1})
    retention.save_policy(
        acme, ACTOR, enabled=True, schedule="", allow_empty_repository=False, rules=[rule(n=1, repos=["app"])]
    )
    run = retention_runs.run_now(acme, ACTOR, dry_run=False)
    assert run.artifacts_deleted == 1, run.message
    retention_runs.run_now(acme, ACTOR, dry_run=True)


def _signed(server: RegistryServer, acme: Project) -> None:
    """A trusted key in `acme` and `acme/app:v2` signed by it (a cosign `.sig` tag)."""
    key = cosign.new_key()
    signatures.add_key(project=acme, name="release", public_key=cosign.public_pem(key), actor=ACTOR)
    digest = Tag.objects.select_related("artifact").get(repository__name="acme/app", name="v2").artifact.digest
    push_manifest(server.client(), "acme/app", cosign.legacy_signature(key, digest), digest.replace(":", "-") + ".sig")
    sync_now(actor=ACTOR, scope=SyncRun.Scope.PROJECT, project=acme)
    signatures.verify_project(acme, registry_client())
    assert acme.repositories.get(name="acme/app").artifacts.filter(signature__status="signed").exists()


def _gate(acme: Project) -> None:
    """Pull policies and a quota in `acme`, and a refusal its Policies tab lists."""
    gate.save_policy(acme, {"require_signed": True, "block_severity": "high", "quota_bytes": 1 << 30}, actor=ACTOR)
    judged = gate.Judged("pull", "acme/app", "v1", gate.check_pull("acme/app", "v1"))
    assert not judged.decision.allowed
    gate.record_refusal(judged, gate.gate_actor("guest", "10.0.0.7", "crawl"))


def _teams(*projects: Project) -> None:
    """A team of the Project Admin, the Developer and `teamdev`, Developer in every project:
    its pages are crawled, the roles of the first two do not change (each already holds
    Developer or more), and `teamdev`'s only access is through it."""
    team = team_services.create_team(actor=ACTOR, name="crawl builders", description="Crawled")
    for persona in ("padmin", "developer", "teamdev"):
        team_services.add_team_member(team, actor=ACTOR, username=persona)
    for project in projects:
        add_project_team(project, actor=ACTOR, team=team.name, role=Role.DEVELOPER)
    team_services.create_team(actor=ACTOR, name="empty", description="No members, no projects")


def build_world(server: RegistryServer, tmp_path: Path) -> LivingWharf:
    """Everything the crawl visits; `server` is the registry Wharf's client points at."""
    users = _users()
    acme = create_project(actor=ACTOR, name="acme", is_public=False, description="The private project.")
    call_command("seed_demo", stdout=StringIO())
    demo = Project.objects.get(name="demo")
    for project in (acme, demo):
        for persona, role in ROLES.items():
            add_member(project, actor=ACTOR, username=persona, role=role)
    _teams(acme, demo)
    _scanned_images(server, tmp_path)
    _retention(server, acme)
    _signed(server, acme)
    create_robot(actor=ACTOR, created_by=users["sysadmin"], name="ci", actions=["pull", "push"], project=acme)
    create_robot(
        actor=ACTOR, created_by=users["sysadmin"], name="mirror", actions=["pull"], project_names=["acme", "demo"]
    )
    for persona in ("sysadmin", "padmin", "guest"):
        create_token(users[persona], actor=ACTOR, name=f"{persona}-ci")
    add_entry(project=acme, vulnerability_id="WHARF-TEST-0002", reason="No fix; not reachable.", actor=ACTOR)
    add_entry(project=None, vulnerability_id="CVE-2099-1001", reason="Accepted everywhere.", actor=ACTOR)
    scanner_adapters.register("fake", ADAPTER, "", ACTOR)  # answered by the fake adapter
    _labels(acme, demo)
    _gate(acme)
    sync_now(actor=ACTOR, scope=SyncRun.Scope.PROJECT, project=demo)
    _webhooks(acme)
    _long_lists(acme)
    _gc(server, users["sysadmin"])
    # The GC page shows a schedule; the Statistics tabs chart today's row of every project.
    gc.save_schedule(actor=ACTOR, user=users["sysadmin"], enabled=True, schedule="0 3 * * 0")
    stats.record_daily()
    _replication(acme, demo)
    return LivingWharf(users=users, bindings=bindings(), free={"fmt": ["csv", "json"]})


def _replication(acme: Project, demo: Project) -> None:
    """`acme/app:v2` (signed) promoted to `demo`, an endpoint nobody answers, a push rule
    and its failed run (so the run page has an item-less failure to show)."""
    from replication.models import RegistryEndpoint, ReplicationRule
    from replication.services import promotion, proxy_caches, runs

    artifact = Tag.objects.select_related("artifact__repository__project").get(
        repository__name="acme/app", name="v2"
    ).artifact
    promotion.promote(artifact, target_project=demo, repository="app", tag="promoted", actor=ACTOR)
    endpoint = RegistryEndpoint.objects.create(name="dr", url="http://127.0.0.1:9", description="Nothing listens")
    rule = ReplicationRule.objects.create(name="to-dr", endpoint=endpoint, repositories="acme/**")
    with override_settings(WHARF_REPLICATION_TIMEOUT=1.0):
        assert runs.run_now(rule, actor=ACTOR).status == "failed"
    hub = create_project(actor=ACTOR, name="hub", is_public=True, description="A proxy cache of the endpoint.")
    proxy_caches.configure(actor=ACTOR, project=hub, upstream=endpoint)


def _webhooks(acme: Project) -> None:
    """A project webhook and a system one, each with a (pending) test delivery."""
    with override_settings(WHARF_WEBHOOKS_ALLOW_PRIVATE=True):  # nothing listens there: never sent
        for project, fmt in ((acme, "cloudevents"), (None, "slack")):
            hook = webhooks.create_webhook(
                actor=ACTOR, project=project, name="ci", url="http://127.0.0.1:9/hook",
                events=["artifact.pushed", "scan.completed"], format=fmt, secret="s3cret",
            )
            webhooks.send_test(hook, actor=ACTOR)


def _long_lists(acme: Project) -> None:
    """A list longer than a page, so the crawl follows its cursor links (First, Previous,
    Next, Last; the API's `next`, `previous`, `first`, `last`): a retention run's items,
    rows without links of their own, so the crawl stays small."""
    run = RetentionRun.objects.filter(project=acme, dry_run=True).order_by("pk").first()
    assert run is not None
    RetentionRunItem.objects.bulk_create(
        RetentionRunItem(
            run=run, repository_name="acme/app", digest=f"sha256:{i:064x}", action="delete", outcome=RetentionRunItem.Outcome.DRY_RUN
        )
        for i in range(60)
    )


def _gc(server: RegistryServer, admin: Any) -> None:
    """A dry run and a real garbage collection of the registry (after retention deleted into the
    bin: the real run marks that entry not restorable, which the recycle bin then shows)."""
    with override_settings(WHARF_REGISTRY_CONFIG=str(server.config_path)):
        for dry_run in (True, False):
            run = gc.claim_gc(gc.request_gc(actor=ACTOR, user=admin, dry_run=dry_run).pk)
            assert run is not None
            assert gc.execute_gc(run).status == GcRun.Status.SUCCEEDED, run.message


def _webhook_bindings(base: Binding, project: Project | None) -> list[Binding]:
    out: list[Binding] = []
    for hook in Webhook.objects.filter(project=project).order_by("pk"):
        w = base | {"pk@webhooks": str(hook.pk), "webhook_id": str(hook.pk)}
        out.append(w)
        out += [w | {"pk@deliveries": str(pk)} for pk in Delivery.objects.filter(webhook=hook).values_list("pk", flat=True)]
    return out
def _labels(acme: Project, demo: Project) -> None:
    """A global label and one per project, on the scanned repository's first tag."""
    release = create_label(project=None, name="release", color="#1f883d", description="Shipped.", actor=ACTOR)
    qa = create_label(project=acme, name="qa-passed", color="#0969da", actor=ACTOR)
    create_label(project=demo, name="demo-only", color="#bf3989", actor=ACTOR)
    tagged = Tag.objects.select_related("artifact__repository").get(repository__name=SCANNED_REPOSITORY, name=COMPARE[0])
    for label in (release, qa):
        add_label(label, [tagged.artifact], project=acme, actor=ACTOR)


def _project(project: Project) -> Binding:
    return {"name": project.name, "project_name": project.name}


def bindings() -> list[Binding]:
    """Every coherent set of URL parameters the database now holds."""
    out: list[Binding] = []
    for project in Project.objects.order_by("name"):
        p = _project(project)
        out.append(p)
        out += [p | {"pk@members": str(pk)} for pk in Membership.objects.filter(project=project).values_list("pk", flat=True)]
        out += [p | {"pk@robots": str(pk)} for pk in project.robots.values_list("pk", flat=True)]
        out += [p | {"pk@teams": str(pk)} for pk in ProjectTeam.objects.filter(project=project).values_list("pk", flat=True)]
        out += [p | {"pk@allowlist": str(pk)} for pk in AllowlistEntry.objects.filter(project=project).values_list("pk", flat=True)]
        out += [p | {"pk@labels": str(pk)} for pk in Label.objects.filter(project=project).values_list("pk", flat=True)]
        for pk in TrustedKey.objects.filter(project=project).values_list("pk", flat=True):
            out.append(p | {"pk@keys": str(pk), "pk@signing-keys": str(pk)})
        for pk in RetentionRun.objects.filter(project=project).values_list("pk", flat=True):
            out.append(p | {"pk@runs": str(pk), "pk@retention-runs": str(pk), "run_id": str(pk)})
        for pk in RecycleBinEntry.objects.filter(project=project).values_list("pk", flat=True):
            out.append(p | {"pk@deleted": str(pk), "pk@recycle-bin": str(pk)})
        for pk in SyncRun.objects.filter(project=project).values_list("pk", flat=True):
            out.append(p | {"pk@sync-runs": str(pk)})
        out += _webhook_bindings(p, project)
        for repository in project.repositories.order_by("name"):
            r = p | {"repo": repository.name.removeprefix(project.name + "/"), "repository_name": repository.name}
            out.append(r)
            out += [r | {"tag": tag} for tag in repository.tags.order_by("name").values_list("name", flat=True)]
            for artifact in repository.artifacts.order_by("pk"):
                a = r | {"digest": artifact.digest}
                out.append(a)
                out += [a | {"pk@labels": str(pk)} for pk in artifact.label_links.values_list("label_id", flat=True)]
                for report in artifact.scan_reports.order_by("pk"):
                    out.append(a | {"pk@scans": str(report.pk), "report_id": str(report.pk)})
    out += [{"pk@users": str(pk)} for pk in User.objects.values_list("pk", flat=True)]
    out += [{"pk@teams": str(pk), "team_id": str(pk)} for pk in Team.objects.values_list("pk", flat=True)]
    out += [
        {"team_id": str(team_id), "pk@members": str(pk)} for pk, team_id in TeamMember.objects.values_list("pk", "team_id")
    ]
    out += [{"pk@tokens": str(pk)} for pk in ApiToken.objects.values_list("pk", flat=True)]
    out += [{"pk@robots": str(pk)} for pk in RobotAccount.objects.values_list("pk", flat=True)]
    out += [{"pk@allowlist": str(pk)} for pk in AllowlistEntry.objects.filter(project=None).values_list("pk", flat=True)]
    out += [{"pk@labels": str(pk)} for pk in Label.objects.filter(project=None).values_list("pk", flat=True)]
    out += [{"pk@scanner-adapters": str(pk)} for pk in ScannerAdapter.objects.values_list("pk", flat=True)]
    out += [{"pk@osv-imports": str(pk)} for pk in OsvImport.objects.values_list("pk", flat=True)]
    out += [{"pk@sync": str(pk), "pk@sync-runs": str(pk)} for pk in SyncRun.objects.values_list("pk", flat=True)]
    out += [{"pk@gc-runs": str(pk)} for pk in GcRun.objects.values_list("pk", flat=True)]
    out += _webhook_bindings({}, None)
    out += _replication_bindings()
    return out


def _replication_bindings() -> list[Binding]:
    from replication.models import ProxyCache, RegistryEndpoint, ReplicationRule, ReplicationRun

    out: list[Binding] = [
        {"pk@endpoints": str(pk), "pk@registry-endpoints": str(pk)}
        for pk in RegistryEndpoint.objects.values_list("pk", flat=True)
    ]
    out += [
        {"pk@rules": str(pk), "pk@replication-rules": str(pk)}
        for pk in ReplicationRule.objects.values_list("pk", flat=True)
    ]
    out += [
        {"pk@runs": str(pk), "pk@replication-runs": str(pk), "run_id": str(pk)}
        for pk in ReplicationRun.objects.values_list("pk", flat=True)
    ]
    out += [{"pk@proxy-caches": str(pk)} for pk in ProxyCache.objects.values_list("pk", flat=True)]
    return out

