"""Routes of the REST API, mounted at /api/v1/."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from accounts.api.language import MyLanguageView
from accounts.api.me import MeView
from accounts.api.robots import ProjectRobotViewSet, SystemRobotViewSet
from accounts.api.teams import TeamMemberViewSet, TeamViewSet
from accounts.api.tokens import TokenViewSet
from accounts.api.users import UserViewSet
from audit.api.views import ProjectAuditEventViewSet, SystemAuditEventViewSet
from portal.api.index import ApiIndexView, top_level_resources
from replication.api.endpoints import EndpointViewSet
from replication.api.promotions import PromotionViewSet
from replication.api.proxy_caches import ProxyCacheViewSet
from replication.api.rules import RuleViewSet, RunItemViewSet, RunViewSet
from repositories.api.artifacts import ArtifactViewSet
from repositories.api.gate import GatePolicyViewSet
from repositories.api.gc import GcRunViewSet, GcScheduleViewSet
from repositories.api.labels import ArtifactLabelViewSet, GlobalLabelViewSet, ProjectLabelViewSet
from repositories.api.members import MemberViewSet
from repositories.api.project_teams import ProjectTeamViewSet
from repositories.api.projects import ProjectViewSet
from repositories.api.registry_base import REPOSITORY_PREFIX
from repositories.api.repositories import ProjectRepositoryViewSet, RepositoryViewSet
from repositories.api.retention import (
    ImmutableRulesViewSet,
    RecycleBinViewSet,
    RetentionPolicyViewSet,
    RetentionRunItemViewSet,
    RetentionRunViewSet,
)
from repositories.api.retention_default import DefaultRetentionViewSet, EffectiveRetentionViewSet
from repositories.api.scanner_adapters import ScannerAdapterViewSet
from repositories.api.scanning import (
    ARTIFACT_PREFIX_PATTERN,
    ArtifactScanningViewSet,
    CompareViewSet,
    FindingViewSet,
    ScanReportViewSet,
)
from repositories.api.scanning_admin import (
    OsvImportViewSet,
    ProjectAllowlistViewSet,
    ScanSettingsViewSet,
    SystemAllowlistViewSet,
    VulnerabilityDatabaseViewSet,
)
from repositories.api.signing_keys import TrustedKeyViewSet
from repositories.api.statistics import ProjectStatisticsViewSet
from repositories.api.sync_runs import ProjectSyncRunViewSet, SyncRunViewSet
from repositories.api.tags import TagViewSet
from repositories.api.usage import ProjectUsageViewSet, RepositoryUsageViewSet
from webhooks.api import (
    ProjectDeliveryViewSet,
    ProjectWebhookViewSet,
    SystemDeliveryViewSet,
    SystemWebhookViewSet,
)

app_name = "api"

# Project names may contain '.', so nested routes take everything up to the next '/'.
_PROJECT = r"projects/(?P<project_name>[^/]+)"

router = SimpleRouter()
router.register("projects", ProjectViewSet, basename="project")
router.register(rf"{_PROJECT}/members", MemberViewSet, basename="project-member")
router.register(rf"{_PROJECT}/teams", ProjectTeamViewSet, basename="project-team")
router.register(rf"{_PROJECT}/audit-events", ProjectAuditEventViewSet, basename="project-audit-event")
router.register("audit-events", SystemAuditEventViewSet, basename="audit-event")
router.register(rf"{_PROJECT}/repositories", ProjectRepositoryViewSet, basename="project-repository")
router.register(rf"{_PROJECT}/sync-runs", ProjectSyncRunViewSet, basename="project-sync-run")
# One policy and one set of immutable rules per project: actions at the project's own prefix.
router.register(_PROJECT, RetentionPolicyViewSet, basename="project-retention-policy")
router.register(_PROJECT, ImmutableRulesViewSet, basename="project-immutable-rules")
router.register(_PROJECT, EffectiveRetentionViewSet, basename="project-effective-retention")
router.register(rf"{_PROJECT}/retention-runs", RetentionRunViewSet, basename="project-retention-run")
router.register(
    rf"{_PROJECT}/retention-runs/(?P<run_id>\d+)/items", RetentionRunItemViewSet, basename="project-retention-run-item"
)
router.register(rf"{_PROJECT}/recycle-bin", RecycleBinViewSet, basename="project-recycle-bin")
# Repositories by full name, slashes and all; sub-resources after `/-/` (see registry_base).
router.register(rf"{REPOSITORY_PREFIX}/-/tags", TagViewSet, basename="tag")
router.register(rf"{REPOSITORY_PREFIX}/-/artifacts", ArtifactViewSet, basename="artifact")
# Scanning: an artifact's reports, findings, SBOM and Trivy uploads; compare; allowlists.
_ARTIFACT = rf"{REPOSITORY_PREFIX}/-/artifacts/{ARTIFACT_PREFIX_PATTERN}"
router.register(rf"{_ARTIFACT}/labels", ArtifactLabelViewSet, basename="artifact-label")
router.register(rf"{_ARTIFACT}/promotions", PromotionViewSet, basename="artifact-promotion")
router.register(rf"{_ARTIFACT}/scans", ScanReportViewSet, basename="artifact-scan")
router.register(rf"{_ARTIFACT}/scans/(?P<report_id>\d+)/findings", FindingViewSet, basename="artifact-scan-finding")
router.register(_ARTIFACT, ArtifactScanningViewSet, basename="artifact-scanning")
router.register(rf"{REPOSITORY_PREFIX}/-", CompareViewSet, basename="repository-compare")
router.register(rf"{REPOSITORY_PREFIX}/-", RepositoryUsageViewSet, basename="repository-usage")
router.register(rf"{_PROJECT}/allowlist", ProjectAllowlistViewSet, basename="project-allowlist")
router.register(rf"{_PROJECT}/signing-keys", TrustedKeyViewSet, basename="project-signing-key")
router.register(_PROJECT, ScanSettingsViewSet, basename="project-scan-settings")
router.register(_PROJECT, ProjectUsageViewSet, basename="project-usage")
router.register(_PROJECT, GatePolicyViewSet, basename="project-gate-policy")
router.register(_PROJECT, ProjectStatisticsViewSet, basename="project-statistics")
router.register("allowlist", SystemAllowlistViewSet, basename="allowlist")
router.register("labels", GlobalLabelViewSet, basename="label")
router.register(rf"{_PROJECT}/labels", ProjectLabelViewSet, basename="project-label")
router.register("osv-imports", OsvImportViewSet, basename="osv-import")
router.register("gc-runs", GcRunViewSet, basename="gc-run")
router.register("registry-endpoints", EndpointViewSet, basename="registry-endpoint")
router.register("proxy-caches", ProxyCacheViewSet, basename="proxy-cache")
router.register("replication-rules", RuleViewSet, basename="replication-rule")
router.register("replication-runs", RunViewSet, basename="replication-run")
router.register(r"replication-runs/(?P<run_id>\d+)/items", RunItemViewSet, basename="replication-run-item")
router.register("scanner-adapters", ScannerAdapterViewSet, basename="scanner-adapter")
# A status object, not a collection: an action at the API root (see the viewset).
router.register("", VulnerabilityDatabaseViewSet, basename="vulnerability-database")
router.register("", DefaultRetentionViewSet, basename="retention-default")
router.register("", GcScheduleViewSet, basename="gc-schedule")
router.register("repositories", RepositoryViewSet, basename="repository")
router.register("sync-runs", SyncRunViewSet, basename="sync-run")
router.register("users", UserViewSet, basename="user")
router.register("teams", TeamViewSet, basename="team")
router.register(r"teams/(?P<team_id>\d+)/members", TeamMemberViewSet, basename="team-member")
router.register("tokens", TokenViewSet, basename="token")
router.register(rf"{_PROJECT}/robots", ProjectRobotViewSet, basename="project-robot")
router.register("robots", SystemRobotViewSet, basename="robot")
router.register(rf"{_PROJECT}/webhooks", ProjectWebhookViewSet, basename="project-webhook")
router.register(
    rf"{_PROJECT}/webhooks/(?P<webhook_id>\d+)/deliveries", ProjectDeliveryViewSet, basename="project-webhook-delivery"
)
router.register("webhooks", SystemWebhookViewSet, basename="webhook")
router.register(r"webhooks/(?P<webhook_id>\d+)/deliveries", SystemDeliveryViewSet, basename="webhook-delivery")

urlpatterns: list[URLPattern | URLResolver] = [
    path("me/", MeView.as_view(), name="me"),
    path("me/language/", MyLanguageView.as_view(), name="me-language"),
    *router.urls,
]
urlpatterns.append(
    path("", ApiIndexView.as_view(resources=top_level_resources(urlpatterns)), name="index")
)
