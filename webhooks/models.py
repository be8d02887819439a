"""A webhook (where to send which events, in which format) and its deliveries.

A delivery's states: PENDING (recorded, task enqueued) → SENDING (claimed by one
worker with a conditional UPDATE) → SUCCEEDED (a 2xx answer), or RETRYING (a
failure with attempts left; `next_retry_at` says when `retry_due` picks it up
again) → ... → FAILED (gave up after `WHARF_WEBHOOKS_MAX_ATTEMPTS`). A redelivery
is a new delivery of the same payload (`redelivery_of`), so history stays.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class WebhookFormat(models.TextChoices):
    HARBOR = "harbor", _("Harbor-compatible JSON")
    CLOUDEVENTS = "cloudevents", _("CloudEvents 1.0 (structured JSON)")
    SLACK = "slack", _("Slack incoming webhook")


class Webhook(models.Model):
    """Where a project's (or, with no project, every project's) events are POSTed.

    `events` is a list of `WebhookEvent` values; `secret`, when set, signs each body
    with HMAC-SHA256 (`X-Wharf-Signature-256: sha256=<hex>`) and is never shown again.
    """

    project = models.ForeignKey(
        "repositories.Project", null=True, blank=True, on_delete=models.CASCADE, related_name="webhooks"
    )
    name = models.CharField(max_length=100)
    url = models.CharField(max_length=2000)
    events = models.JSONField(default=list)
    format = models.CharField(max_length=20, choices=WebhookFormat.choices, default=WebhookFormat.HARBOR)
    secret = models.CharField(max_length=200, blank=True)
    enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "name"],
                name="webhook_unique_name_in_project",
                violation_error_message=_("A webhook with this name exists in this project."),
            ),
            models.UniqueConstraint(
                fields=["name"],
                condition=Q(project__isnull=True),
                name="webhook_unique_system_name",
                violation_error_message=_("A system webhook with this name exists."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def has_secret(self) -> bool:
        return bool(self.secret)

    @property
    def scope_label(self) -> str:
        return self.project.name if self.project is not None else "system"


class Delivery(models.Model):
    """One event sent (or being sent) to one webhook, with what the receiver answered."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        RETRYING = "retrying", _("Retrying")
        SUCCEEDED = "succeeded", _("Delivered")
        FAILED = "failed", _("Gave up")

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40)
    event_id = models.UUIDField(default=uuid.uuid4)
    payload = models.JSONField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    response_ms = models.PositiveIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    error = models.TextField(blank=True)
    error_i18n = models.JSONField(default=dict, blank=True, help_text=_("The error's message id and parameters."))
    next_retry_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    redelivery_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["webhook", "-id"], name="delivery_webhook_newest"),
            models.Index(fields=["status", "next_retry_at"], name="delivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.webhook_id} ({self.status})"

    @property
    def is_test(self) -> bool:
        return self.event == "wharf.test"
