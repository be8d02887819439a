"""Webhook pages: a project's (its Webhooks tab, Project Admins) and the system's
(system admins). Both go through `access.webhook_owner`, so the rule is one; writes
go through `services`. Each webhook's page shows its settings and its deliveries,
with "send a test event" and "redeliver"."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.forms import apply_validation_error
from accounts.views.http import HtmxHttpRequest, render_page
from audit.context import Actor
from portal import keyset
from portal.keyset import Ordering
from repositories.models import Project
from repositories.views.tabs import project_context

from . import services
from .access import get_delivery, get_webhook, webhook_owner, webhooks_of
from .events import NOT_YET_EMITTED
from .forms import WebhookForm
from .models import Delivery, Webhook

DELIVERIES_SHOWN = 50
# Newest first, by cursor, through `delivery_webhook_newest` (webhook, -id).
DELIVERY_ORDERING = Ordering("-id", ("id",), descending=True)


def _url(action: str, project: Project | None, *args: Any) -> str:
    if project is None:
        return reverse(f"webhooks:system_{action}", args=args)
    return reverse(f"webhooks:project_{action}", args=[project.name, *args])


def _context(project: Project | None) -> dict[str, Any]:
    base = project_context(project, "webhooks") if project is not None else {"nav": "webhooks"}
    return {**base, "owner": project, "not_yet_emitted": NOT_YET_EMITTED}


def _template(project: Project | None, page: str) -> str:
    return f"webhooks/{'project' if project is not None else 'system'}_{page}.html"


def _with_urls(webhook: Webhook, project: Project | None) -> Webhook:
    webhook.urls = {  # type: ignore[attr-defined]
        "detail": _url("detail", project, webhook.pk),
        "test": _url("test", project, webhook.pk),
        "delete": _url("delete", project, webhook.pk),
    }
    return webhook


@login_required
@require_http_methods(["GET", "POST"])
def webhook_list(request: HtmxHttpRequest, name: str | None = None) -> HttpResponse:
    project = webhook_owner(request.user, name)
    form = WebhookForm(request.POST or None, system=project is None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            webhook = services.create_webhook(actor=Actor.from_request(request), project=project, **data)
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("Webhook %(name)s is created.") % {"name": webhook.name})
            return redirect(_url("detail", project, webhook.pk))
    webhooks = [_with_urls(w, project) for w in webhooks_of(project)]
    context = {**_context(project), "webhooks": webhooks, "form": form, "create_url": _url("list", project)}
    return render_page(request, _template(project, "list"), "webhooks", context, status=400 if form.errors else 200)


def _deliveries(webhook: Webhook, project: Project | None, data: Any) -> dict[str, Any]:
    """One page of the webhook's deliveries, newest first, by cursor (`portal.keyset`)."""
    listed = keyset.page_context(webhook.deliveries.all(), DELIVERY_ORDERING, data, DELIVERIES_SHOWN)
    for delivery in listed["page"].rows:
        delivery.redeliver_url = _url("redeliver", project, webhook.pk, delivery.pk)  # type: ignore[attr-defined]
    return listed


@login_required
@require_http_methods(["GET", "POST"])
def webhook_detail(request: HtmxHttpRequest, pk: int, name: str | None = None) -> HttpResponse:
    project = webhook_owner(request.user, name)
    webhook = _with_urls(get_webhook(project, pk), project)
    initial = {f: getattr(webhook, f) for f in ("name", "url", "events", "format", "enabled")}
    form = WebhookForm(request.POST or None, initial=initial, editing=True, system=project is None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        secret = "" if data.pop("clear_secret", False) else (data.pop("secret") or None)
        data.pop("secret", None)
        try:
            services.update_webhook(webhook, actor=Actor.from_request(request), secret=secret, **data)
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("Webhook %(name)s is saved.") % {"name": webhook.name})
            return redirect(webhook.urls["detail"])  # type: ignore[attr-defined]
    listed = _deliveries(webhook, project, request.GET)
    deliveries = listed["page"].rows
    context = {
        **_context(project),
        **listed,
        "webhook": webhook,
        "form": form,
        "deliveries": deliveries,
        # Only the first page polls: the newest deliveries are the ones still being sent.
        "busy": listed["page"].previous is None
        and any(d.status in (Delivery.Status.PENDING, Delivery.Status.SENDING) for d in deliveries),
        "list_url": _url("list", project),
    }
    return render_page(request, _template(project, "detail"), "deliveries", context, status=400 if form.errors else 200)


@login_required
@require_POST
def webhook_test(request: HtmxHttpRequest, pk: int, name: str | None = None) -> HttpResponse:
    project = webhook_owner(request.user, name)
    webhook = get_webhook(project, pk)
    delivery = services.send_test(webhook, actor=Actor.from_request(request))
    messages.success(request, _("Test event queued as delivery #%(pk)s.") % {"pk": delivery.pk})
    return redirect(_url("detail", project, webhook.pk))


@login_required
@require_POST
def delivery_redeliver(request: HtmxHttpRequest, webhook_id: int, pk: int, name: str | None = None) -> HttpResponse:
    project = webhook_owner(request.user, name)
    delivery = get_delivery(get_webhook(project, webhook_id), pk)
    again = services.redeliver(delivery, actor=Actor.from_request(request))
    messages.success(request, _("Delivery #%(pk)s is sent again as #%(new_pk)s.") % {"pk": delivery.pk, "new_pk": again.pk})
    return redirect(_url("detail", project, webhook_id))


@login_required
@require_http_methods(["GET", "POST"])
def webhook_delete(request: HtmxHttpRequest, pk: int, name: str | None = None) -> HttpResponse:
    project = webhook_owner(request.user, name)
    webhook = get_webhook(project, pk)
    if request.method == "POST":
        services.delete_webhook(webhook, actor=Actor.from_request(request))
        messages.success(request, _("Webhook %(name)s is deleted.") % {"name": webhook.name})
        return redirect(_url("list", project))
    context = {
        "title": _("Delete the webhook %(name)s?") % {"name": webhook.name},
        "message": _("Its delivery records go with it. Events are no longer sent to its URL."),
        "action": _url("delete", project, pk),
        "cancel_url": _url("detail", project, pk),
        "confirm_label": _("Delete webhook"),
    }
    return render_page(request, "confirm.html", "dialog", context)
