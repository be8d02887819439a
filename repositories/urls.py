"""Page URLs of the repositories app."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path, register_converter
from django.views.generic import RedirectView

from .views import (
    allowlists,
    artifacts,
    gc,
    labels,
    logs,
    members,
    policies,
    projects,
    recycle,
    repositories,
    retention_default,
    retention_policy,
    retention_runs,
    robots,
    scanner_adapters,
    scans,
    security,
    signing_keys,
    statistics,
    sync,
    tags,
)


class RepositoryPathConverter:
    """A repository name inside its project (`app`, `team/app`): components as the
    registry allows them (lowercase, digits, `._-` separators, never leading), so
    the `-` component that starts sub-pages (`.../app/-/artifacts/...`, as GitLab
    does) can never be part of a name."""

    regex = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(RepositoryPathConverter, "repo")

REPO = "projects/<str:name>/repositories/<repo:repo>/"
RETENTION = "projects/<str:name>/retention/"

app_name = "projects"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", RedirectView.as_view(pattern_name="projects:list"), name="home"),
    path("projects/", projects.project_list, name="list"),
    # Before <name>/: "new" is therefore not usable as a project name in the pages.
    path("projects/new/", projects.project_create, name="create"),
    path("projects/<str:name>/", projects.project_detail, name="detail"),
    path("projects/<str:name>/edit/", projects.project_update, name="update"),
    path("projects/<str:name>/delete/", projects.project_delete, name="delete"),
    path("projects/<str:name>/members/", members.member_list, name="members"),
    path("projects/<str:name>/statistics/", statistics.project_statistics, name="statistics"),
    path("projects/<str:name>/members/add/", members.member_add, name="member_add"),
    path("projects/<str:name>/members/<int:pk>/role/", members.member_role, name="member_role"),
    path("projects/<str:name>/members/<int:pk>/remove/", members.member_remove, name="member_remove"),
    path("projects/<str:name>/teams/add/", members.team_add, name="team_add"),
    path("projects/<str:name>/teams/<int:pk>/role/", members.team_role, name="team_role"),
    path("projects/<str:name>/teams/<int:pk>/remove/", members.team_remove, name="team_remove"),
    path("projects/<str:name>/logs/", logs.project_logs, name="logs"),
    path("projects/<str:name>/robots/", robots.robot_list, name="robots"),
    path("projects/<str:name>/robots/<int:pk>/enabled/", robots.robot_enabled, name="robot_enabled"),
    path("projects/<str:name>/robots/<int:pk>/regenerate/", robots.robot_regenerate, name="robot_regenerate"),
    path("projects/<str:name>/robots/<int:pk>/delete/", robots.robot_delete, name="robot_delete"),
    path("projects/<str:name>/logs/export.csv", logs.project_logs_export, name="logs_export"),
    path("projects/<str:name>/repositories/", repositories.repository_list, name="repositories"),
    path("projects/<str:name>/labels/", labels.project_labels, name="labels"),
    path("projects/<str:name>/labels/<int:pk>/edit/", labels.project_label_edit, name="label_edit"),
    path("projects/<str:name>/labels/<int:pk>/delete/", labels.project_label_delete, name="label_delete"),
    path(RETENTION, retention_policy.retention_policy, name="retention"),
    path(RETENTION + "preview/", retention_policy.retention_preview, name="retention_preview"),
    path(RETENTION + "default/opt-out/", retention_default.default_opt_out, name="retention_default_opt_out"),
    path(RETENTION + "proposal/", retention_default.retention_proposal, name="retention_proposal"),
    path(RETENTION + "immutable/", retention_policy.immutable_rules, name="retention_immutable"),
    path(RETENTION + "runs/", retention_runs.run_list, name="retention_runs"),
    path(RETENTION + "runs/start/", retention_runs.run_start, name="retention_run_start"),
    path(RETENTION + "runs/confirm/", retention_runs.run_confirm, name="retention_run_confirm"),
    path(RETENTION + "runs/<int:pk>/", retention_runs.run_detail, name="retention_run"),
    path(RETENTION + "runs/<int:pk>/status/", retention_runs.run_status, name="retention_run_status"),
    path(RETENTION + "runs/<int:pk>/stop/", retention_runs.run_stop, name="retention_run_stop"),
    path(RETENTION + "deleted/", recycle.recycle_bin, name="retention_deleted"),
    path(RETENTION + "deleted/<int:pk>/restore/", recycle.recycle_restore, name="retention_restore"),
    path("projects/<str:name>/repositories/-/sync/", sync.project_sync, name="project_sync"),
    path(REPO, repositories.repository_detail, name="repository"),
    path(REPO + "-/sync/", sync.repository_sync, name="repository_sync"),
    path(REPO + "-/usage/", repositories.repository_usage, name="repository_usage"),
    path(REPO + "-/tags/delete/", tags.tags_delete, name="tags_delete"),
    path(REPO + "-/tags/label/", labels.tags_label, name="tags_label"),
    path(REPO + "-/tags/<str:tag>/delete/", tags.tag_delete, name="tag_delete"),
    path(REPO + "-/artifacts/<str:digest>/", artifacts.artifact_detail, name="artifact"),
    path(REPO + "-/artifacts/<str:digest>/delete/", artifacts.artifact_delete, name="artifact_delete"),
    path(REPO + "-/artifacts/<str:digest>/labels/", labels.artifact_labels, name="artifact_labels"),
    # --- vulnerability scanning (views/scans.py, security.py, allowlists.py) ---
    path(REPO + "-/artifacts/<str:digest>/vulnerabilities/", scans.vulnerabilities, name="vulnerabilities"),
    path(
        REPO + "-/artifacts/<str:digest>/vulnerabilities/export.<str:fmt>",
        scans.vulnerabilities_export,
        name="vulnerabilities_export",
    ),
    path(REPO + "-/artifacts/<str:digest>/vulnerabilities/scan/", scans.scan_now, name="scan_now"),
    path(REPO + "-/artifacts/<str:digest>/vulnerabilities/status/", scans.scan_status, name="scan_status"),
    path(REPO + "-/artifacts/<str:digest>/sbom.cdx.json", scans.sbom, name="sbom"),
    path(REPO + "-/compare/", scans.compare, name="compare"),
    path("projects/<str:name>/security/", security.project_security, name="security"),
    path("projects/<str:name>/security/scan-on-push/", allowlists.scan_on_push, name="scan_on_push"),
    path("projects/<str:name>/security/allowlist/", allowlists.allowlist_add, name="allowlist_add"),
    path(
        "projects/<str:name>/security/allowlist/<int:pk>/remove/", allowlists.allowlist_remove, name="allowlist_remove"
    ),
    path("projects/<str:name>/policies/", policies.policies, name="policies"),
    path("projects/<str:name>/policies/save/", policies.policies_save, name="policies_save"),
    path("projects/<str:name>/signing/", signing_keys.signing_keys, name="signing_keys"),
    path("projects/<str:name>/signing/keys/", signing_keys.signing_key_add, name="signing_key_add"),
    path(
        "projects/<str:name>/signing/keys/<int:pk>/remove/", signing_keys.signing_key_remove, name="signing_key_remove"
    ),
    path("security/", security.system_security, name="system_security"),
    path("security/allowlist/", allowlists.system_allowlist_add, name="system_allowlist_add"),
    path("security/allowlist/<int:pk>/remove/", allowlists.system_allowlist_remove, name="system_allowlist_remove"),
    path("security/scanner-adapters/", scanner_adapters.adapter_add, name="scanner_adapter_add"),
    path("security/scanner-adapters/<int:pk>/enabled/", scanner_adapters.adapter_enable, name="scanner_adapter_enable"),
    path("security/scanner-adapters/<int:pk>/remove/", scanner_adapters.adapter_remove, name="scanner_adapter_remove"),
    # --- end of vulnerability scanning ---
    path("retention/default/", retention_default.default_policy, name="retention_default"),
    path("labels/", labels.system_labels, name="labels_system"),
    path("labels/<int:pk>/edit/", labels.system_label_edit, name="labels_system_edit"),
    path("labels/<int:pk>/delete/", labels.system_label_delete, name="labels_system_delete"),
    path("sync/", sync.sync_run_list, name="sync_runs"),
    path("sync/run/", sync.sync_registry, name="sync_registry"),
    path("sync/<int:pk>/", sync.sync_run_detail, name="sync_run"),
    path("sync/<int:pk>/status/", sync.sync_status, name="sync_status"),
    path("gc/", gc.gc_run_list, name="gc_runs"),
    path("gc/run/", gc.gc_start, name="gc_start"),
    path("gc/schedule/", gc.gc_schedule_save, name="gc_schedule"),
]
