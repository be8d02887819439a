"""The append-only, hash-chained audit log."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    """The fixed vocabulary of audited actions. Add here; never reuse a value."""

    LOGIN = "user.login", _("Logged in")
    LOGOUT = "user.logout", _("Logged out")
    LOGIN_FAILED = "user.login_failed", _("Failed login")
    LOGIN_THROTTLED = "user.login_throttled", _("Logins throttled")
    USER_CREATE = "user.create", _("User created")
    USER_UPDATE = "user.update", _("User updated")
    USER_DEACTIVATE = "user.deactivate", _("User deactivated")
    USER_ACTIVATE = "user.activate", _("User reactivated")
    USER_PASSWORD_RESET = "user.password_reset", _("Password reset")
    USER_GRANT_ADMIN = "user.grant_admin", _("System admin granted")
    USER_REVOKE_ADMIN = "user.revoke_admin", _("System admin revoked")
    API_TOKEN_CREATE = "api_token.create", _("API token created")
    API_TOKEN_REVOKE = "api_token.revoke", _("API token revoked")
    REGISTRY_TOKEN_GRANTED = "registry_token.granted", _("Registry push/delete token issued")
    REGISTRY_TOKEN_REFUSED = "registry_token.refused", _("Registry token refused")
    REGISTRY_TOKEN_THROTTLED = "registry_token.throttled", _("Registry logins throttled")
    ROBOT_CREATE = "robot.create", _("Robot account created")
    ROBOT_REGENERATE = "robot.regenerate", _("Robot secret regenerated")
    ROBOT_DISABLE = "robot.disable", _("Robot account disabled")
    ROBOT_ENABLE = "robot.enable", _("Robot account enabled")
    ROBOT_DELETE = "robot.delete", _("Robot account deleted")
    ROBOT_UPDATE = "robot.update", _("Robot account changed")
    PROJECT_CREATE = "project.create", _("Project created")
    PROJECT_UPDATE = "project.update", _("Project updated")
    PROJECT_DELETE = "project.delete", _("Project deleted")
    MEMBER_ADD = "member.add", _("Member added")
    MEMBER_CHANGE = "member.change", _("Member role changed")
    MEMBER_REMOVE = "member.remove", _("Member removed")
    PROJECT_TEAM_ADD = "member.team_add", _("Team added to project")
    PROJECT_TEAM_CHANGE = "member.team_change", _("Team role changed")
    PROJECT_TEAM_REMOVE = "member.team_remove", _("Team removed from project")
    TEAM_CREATE = "team.create", _("Team created")
    TEAM_UPDATE = "team.update", _("Team renamed or changed")
    TEAM_DELETE = "team.delete", _("Team deleted")
    TEAM_MEMBER_ADD = "team.member_add", _("Team member added")
    TEAM_MEMBER_REMOVE = "team.member_remove", _("Team member removed")
    SYNC_REQUEST = "sync.request", _("Sync requested")
    ARTIFACT_PUSH = "artifact.push", _("Pushed")
    ARTIFACT_PULL = "artifact.pull", _("Pulled")
    ARTIFACT_DELETE = "artifact.delete", _("Artifact deleted")
    TAG_DELETE = "tag.delete", _("Tag deleted")
    TAG_OVERWRITE_PROTECTED = "tag.overwrite_protected", _("Protected tag overwritten")
    TAG_REVERT_PROTECTED = "tag.revert_protected", _("Protected tag put back")
    RETENTION_POLICY_UPDATE = "retention.policy_update", _("Retention policy changed")
    IMMUTABLE_RULES_UPDATE = "retention.immutable_rules_update", _("Immutable tag rules changed")
    RETENTION_RUN_START = "retention.run_start", _("Retention run started")
    RETENTION_RUN_END = "retention.run_end", _("Retention run ended")
    RETENTION_DELETE = "retention.delete", _("Deleted by retention")
    GC_REQUEST = "gc.request", _("Garbage collection requested")
    GC_END = "gc.end", _("Garbage collection ended")
    GC_SCHEDULE = "gc.schedule", _("Garbage collection schedule changed")
    RECYCLE_RESTORE = "recycle.restore", _("Restored from the recycle bin")
    RECYCLE_PURGE = "recycle.purge", _("Recycle bin entries expired")
    SCAN_REQUEST = "scan.request", _("Scan requested")
    SCAN_IMPORT = "scan.import", _("Scan report imported")
    SCAN_SETTINGS_UPDATE = "scan.settings_update", _("Scan settings changed")
    OSV_IMPORT = "osv.import", _("Vulnerability database imported")
    ALLOWLIST_ADD = "allowlist.add", _("Allowlist entry added")
    ALLOWLIST_UPDATE = "allowlist.update", _("Allowlist entry changed")
    ALLOWLIST_REMOVE = "allowlist.remove", _("Allowlist entry removed")
    SCANNER_ADAPTER_ADD = "scanner_adapter.add", _("Scanner adapter registered")
    SCANNER_ADAPTER_UPDATE = "scanner_adapter.update", _("Scanner adapter changed")
    SCANNER_ADAPTER_REMOVE = "scanner_adapter.remove", _("Scanner adapter removed")
    WEBHOOK_CREATE = "webhook.create", _("Webhook created")
    WEBHOOK_UPDATE = "webhook.update", _("Webhook changed")
    WEBHOOK_DELETE = "webhook.delete", _("Webhook deleted")
    WEBHOOK_TEST = "webhook.test", _("Webhook test event sent")
    WEBHOOK_REDELIVER = "webhook.redeliver", _("Webhook delivery resent")
    LABEL_CREATE = "label.create", _("Label created")
    LABEL_UPDATE = "label.update", _("Label changed")
    LABEL_DELETE = "label.delete", _("Label deleted")
    LABEL_ADD = "label.add", _("Label put on artifacts")
    LABEL_REMOVE = "label.remove", _("Label taken off artifacts")
    RETENTION_DEFAULT_UPDATE = "retention.default_update", _("Default retention policy changed")
    RETENTION_DEFAULT_OPT_OUT = "retention.default_opt_out", _("Opted out of (or back into) the default retention policy")
    SIGNING_KEY_ADD = "signing_key.add", _("Trusted signing key added")
    SIGNING_KEY_REMOVE = "signing_key.remove", _("Trusted signing key removed")
    GATE_POLICY_UPDATE = "gate_policy.update", _("Pull and push policies changed")
    GATE_PULL_REFUSED = "gate.pull_refused", _("Pull refused by a policy")
    GATE_PUSH_REFUSED = "gate.push_refused", _("Push refused by a policy")
    ARTIFACT_PROMOTE = "artifact.promote", _("Artifact promoted to another project")
    REGISTRY_ENDPOINT_CREATE = "registry_endpoint.create", _("Registry endpoint added")
    REGISTRY_ENDPOINT_UPDATE = "registry_endpoint.update", _("Registry endpoint changed")
    REGISTRY_ENDPOINT_DELETE = "registry_endpoint.delete", _("Registry endpoint removed")
    REPLICATION_RULE_CREATE = "replication.rule_create", _("Replication rule created")
    REPLICATION_RULE_UPDATE = "replication.rule_update", _("Replication rule changed")
    REPLICATION_RULE_DELETE = "replication.rule_delete", _("Replication rule deleted")
    REPLICATION_RUN_START = "replication.run_start", _("Replication run started")
    REPLICATION_RUN_END = "replication.run_end", _("Replication run ended")
    PROXY_CACHE_CREATE = "proxy_cache.create", _("Proxy cache configured")
    PROXY_CACHE_DELETE = "proxy_cache.delete", _("Proxy cache removed")


class ActorKind(models.TextChoices):
    USER = "user", _("User")
    ANONYMOUS = "anonymous", _("Anonymous")
    SYSTEM = "system", _("System")
    REGISTRY = "registry", _("Registry")
    ROBOT = "robot", _("Robot")


class AppendOnlyError(Exception):
    """Raised when code tries to change or remove an audit event."""


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("Audit events cannot be updated.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Audit events cannot be deleted.")

    def _raw_delete(self, using: Any) -> int:
        raise AppendOnlyError("Audit events cannot be deleted.")


GENESIS_HASH = "0" * 64


class AuditEvent(models.Model):
    """One thing that happened, who did it, from where, and to what.

    Rows are only ever inserted, by `audit.services.record()` inside the same
    transaction as the change they describe. The model refuses update and delete;
    on PostgreSQL a trigger refuses UPDATE and DELETE too (migration 0002). Each row
    stores the previous row's hash and a hash over that plus its own content, so
    `manage.py audit_verify` can find the first row that was changed or removed.

    `project` is a plain reference without a database constraint, so deleting a
    project never touches its history; `project_name` keeps the name readable.
    """

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices)
    actor_name = models.CharField(max_length=150, blank=True)
    actor_ip = models.GenericIPAddressField(null=True, blank=True)
    action = models.CharField(max_length=40, choices=AuditAction.choices)
    project = models.ForeignKey(
        "repositories.Project",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    project_name = models.CharField(max_length=128, blank=True)
    target_type = models.CharField(max_length=40, blank=True)
    target_name = models.CharField(max_length=255, blank=True)
    details = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["project", "-id"], name="audit_project_id"),
            models.Index(fields=["actor_name", "-id"], name="audit_actor_id"),
            models.Index(fields=["action", "-id"], name="audit_action_id"),
            models.Index(fields=["target_name", "-id"], name="audit_target_id"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.action} {self.target_name}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise AppendOnlyError("Audit events cannot be updated.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Audit events cannot be deleted.")

    def content(self) -> dict[str, Any]:
        """The fields the hash covers, in a form that survives a database round trip."""
        return {
            "created_at": self.created_at.isoformat(timespec="microseconds"),
            "actor_kind": self.actor_kind,
            "actor_name": self.actor_name,
            "actor_ip": self.actor_ip or "",
            "action": self.action,
            "project_id": self.project_id,
            "project_name": self.project_name,
            "target_type": self.target_type,
            "target_name": self.target_name,
            "details": self.details,
            "request_id": self.request_id,
        }

    def compute_hash(self) -> str:
        payload = json.dumps(self.content(), sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256((self.prev_hash + payload).encode()).hexdigest()


# What an event's `target_type` code names, as a person reads it (the code stays in the
# API, the CSV and the hash chain); an unknown code is shown as it is.
TARGET_TYPE_LABELS = {
    "user": _("user"),
    "team": _("team"),
    "tag": _("tag"),
    "project": _("project"),
    "replication_rule": _("replication rule"),
    "artifact": _("artifact"),
    "registry_endpoint": _("registry endpoint"),
    "robot": _("robot account"),
    "retention_run": _("retention run"),
    "retention_default": _("default retention policy"),
    "retention_policy": _("retention policy"),
    "gc_run": _("garbage collection run"),
    "gc_schedule": _("garbage collection schedule"),
    "api_token": _("API token"),
    "webhook": _("webhook"),
    "sync": _("sync"),
    "signing_key": _("signing key"),
    "scanner_adapter": _("scanner adapter"),
    "registry_token": _("registry token"),
    "registry": _("registry"),
    "recycle_bin": _("recycle bin"),
    "osv_import": _("vulnerability database import"),
    "manifest": _("manifest"),
    "label": _("label"),
    "immutable_rules": _("immutable tag rules"),
    "gate_policy": _("gate policy"),
    "allowlist": _("allowlist"),
}
