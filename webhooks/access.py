"""Who may manage which webhooks: the one rule, for pages and the API alike.

A project's webhooks: those holding `Perm.MANAGE_WEBHOOKS` there (Project Admins and
system admins, from the role table), with `get_project`'s 404/403. System webhooks:
system admins only (403 for everyone else signed in)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from accounts.permissions import Perm, is_system_admin
from repositories.access import get_project
from repositories.models import Project

from .models import Delivery, Webhook


def webhook_owner(user: Any, project_name: str | None) -> Project | None:
    """The project whose webhooks `user` may manage (None: the system's), or 404/403."""
    if project_name is None:
        if not is_system_admin(user):
            raise PermissionDenied(_("Only system admins may manage system webhooks."))
        return None
    return get_project(user, project_name, Perm.MANAGE_WEBHOOKS)


def webhooks_of(project: Project | None) -> QuerySet[Webhook]:
    return Webhook.objects.filter(project=project).select_related("project", "created_by").order_by("name", "pk")


def get_webhook(project: Project | None, pk: int | str) -> Webhook:
    """A webhook of `project` (already checked with `webhook_owner`), or 404."""
    webhook = webhooks_of(project).filter(pk=pk).first()
    if webhook is None:
        raise Http404(_("No such webhook."))
    return webhook


def get_delivery(webhook: Webhook, pk: int | str) -> Delivery:
    delivery = Delivery.objects.select_related("webhook", "webhook__project").filter(webhook=webhook, pk=pk).first()
    if delivery is None:
        raise Http404(_("No such delivery."))
    return delivery
