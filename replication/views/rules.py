"""Replication pages (system admins): the rules with their last run, one rule's form
and runs, starting a run, and a run's items. Writes go through `services.rules` and
`services.runs`; `system_admin_required` is `may_manage_replication`'s rule."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Subquery
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts.forms import BootstrapForm, apply_validation_error
from accounts.views.http import HtmxHttpRequest, render_page, system_admin_required
from audit.context import Actor

from ..models import RegistryEndpoint, ReplicationItem, ReplicationRule, ReplicationRun
from ..services import rules as rule_service
from ..services import runs as run_service

RUNS_SHOWN = 20
ITEMS_SHOWN = 500


class RuleForm(BootstrapForm):
    name = forms.CharField(max_length=100, label=gettext_lazy("Name"))
    endpoint = forms.ModelChoiceField(
        queryset=RegistryEndpoint.objects.order_by("name"), empty_label=None, label=gettext_lazy("Endpoint")
    )
    direction = forms.ChoiceField(choices=ReplicationRule.Direction.choices, label=gettext_lazy("Direction"))
    repositories = forms.CharField(
        max_length=255,
        initial="**",
        label=gettext_lazy("Repositories"),
        help_text=gettext_lazy("Glob over repository names, e.g. acme/**"),
    )
    tags = forms.CharField(
        max_length=255, initial="**", label=gettext_lazy("Tags"), help_text=gettext_lazy("Glob over tags, e.g. v*")
    )
    labels = forms.CharField(
        max_length=1000,
        required=False,
        label=gettext_lazy("Labels"),
        help_text=gettext_lazy("Push: label names, comma-separated, all required."),
    )
    destination_namespace = forms.CharField(
        max_length=255,
        required=False,
        label=gettext_lazy("Destination namespace"),
        help_text=gettext_lazy("Replaces the first part of each name (acme/web → NAMESPACE/web)."),
    )
    replace_namespace = forms.BooleanField(
        required=False,
        initial=True,
        label=gettext_lazy("Replace the first name component (off: put the namespace in front)"),
    )
    trigger = forms.ChoiceField(choices=ReplicationRule.Trigger.choices, label=gettext_lazy("Trigger"))
    schedule = forms.CharField(
        max_length=100,
        required=False,
        label=gettext_lazy("Schedule"),
        help_text=gettext_lazy("Scheduled rules: cron, e.g. 0 3 * * *"),
    )
    override = forms.BooleanField(
        required=False, initial=True, label=gettext_lazy("Move destination tags that point elsewhere")
    )
    delete_remote = forms.BooleanField(required=False, label=gettext_lazy("Push: delete remote tags deleted here"))
    concurrency = forms.IntegerField(
        min_value=0,
        max_value=64,
        initial=0,
        label=gettext_lazy("Concurrency"),
        help_text=gettext_lazy("Artifacts at once; 0: default."),
    )
    enabled = forms.BooleanField(required=False, initial=True, label=gettext_lazy("Enabled"))
    description = forms.CharField(max_length=2000, required=False, label=gettext_lazy("Description"), widget=forms.Textarea(attrs={"rows": 2}))

    def fields_for_service(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["labels"] = [x.strip() for x in data.get("labels", "").split(",") if x.strip()]
        return data


def _initial(rule: ReplicationRule) -> dict[str, Any]:
    initial = {field: getattr(rule, field) for field in rule_service.FIELDS}
    initial["labels"] = ", ".join(rule.labels)
    return initial


@system_admin_required
def rule_list(request: HtmxHttpRequest) -> HttpResponse:
    last = ReplicationRun.objects.filter(rule=OuterRef("pk")).order_by("-created_at", "-id")
    rules = ReplicationRule.objects.select_related("endpoint").annotate(
        last_status=Subquery(last.values("status")[:1]), last_at=Subquery(last.values("created_at")[:1])
    )
    context = {
        "nav": "replication",
        "rules": list(rules.order_by("name")),
        "has_endpoints": RegistryEndpoint.objects.exists(),
    }
    return render_page(request, "replication/rules.html", "content", context)


@system_admin_required
@require_http_methods(["GET", "POST"])
def rule_create(request: HtmxHttpRequest) -> HttpResponse:
    form = RuleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            rule = rule_service.create_rule(actor=Actor.from_request(request), **form.fields_for_service())
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("Rule %(name)s created.") % {"name": rule.name})
            url = reverse("replication:rule", args=[rule.pk])
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    return render_page(
        request, "replication/rule.html", "content", {"nav": "replication", "form": form, "rule": None}
    )


@system_admin_required
@require_http_methods(["GET", "POST"])
def rule_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(ReplicationRule.objects.select_related("endpoint"), pk=pk)
    form = RuleForm(request.POST or None, initial=_initial(rule))
    if request.method == "POST" and form.is_valid():
        try:
            rule_service.update_rule(rule, actor=Actor.from_request(request), **form.fields_for_service())
        except ValidationError as exc:
            apply_validation_error(form, exc)
            rule.refresh_from_db()
        else:
            messages.success(request, _("Rule %(name)s saved.") % {"name": rule.name})
            url = reverse("replication:rule", args=[rule.pk])
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    context = {
        "nav": "replication",
        "form": form,
        "rule": rule,
        "runs": list(rule.runs.order_by("-created_at", "-id")[:RUNS_SHOWN]),
    }
    return render_page(request, "replication/rule.html", "content", context)


@system_admin_required
@require_POST
def rule_run(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(ReplicationRule, pk=pk)
    run, new = run_service.request_run(rule, actor=Actor.from_request(request))
    messages.success(request, (_("Run %(run)s queued.") if new else _("Run %(run)s was queued already.")) % {"run": run.pk})
    url = reverse("replication:run", args=[run.pk])
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@system_admin_required
@require_http_methods(["GET", "POST"])
def rule_delete(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(ReplicationRule, pk=pk)
    if request.method == "POST":
        try:
            rule_service.delete_rule(rule, actor=Actor.from_request(request))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            url = reverse("replication:rule", args=[pk])
        else:
            messages.success(request, _("Rule %(name)s deleted.") % {"name": rule.name})
            url = reverse("replication:rules")
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    context = {
        "title": _("Delete rule %(name)s?") % {"name": rule.name},
        "message": _("The rule and its run history go. Nothing in either registry changes."),
        "action": request.path,
        "cancel_url": reverse("replication:rule", args=[pk]),
        "confirm_label": _("Delete"),
    }
    return render_page(request, "confirm.html", "dialog", context)


@system_admin_required
def run_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """A run with its items (`?status=` filters them); the status part refreshes itself while active."""
    run = get_object_or_404(ReplicationRun.objects.select_related("rule__endpoint"), pk=pk)
    wanted = request.GET.get("status", "")
    items = run.items.order_by("id")
    if wanted in ReplicationItem.Status.values:
        items = items.filter(status=wanted)
    else:
        wanted = ""
    context = {
        "nav": "replication",
        "run": run,
        "items": list(items[:ITEMS_SHOWN]),
        "items_cut": ITEMS_SHOWN,
        "wanted": wanted,
        "statuses": ReplicationItem.Status.choices,
    }
    return render_page(request, "replication/run.html", "content", context)
