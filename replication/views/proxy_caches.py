"""Proxy-cache projects (system admins): the list with the add form, "Import now"
(a run of the import rule) and remove. Writes go through `services.proxy_caches`."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts.forms import BootstrapForm, apply_validation_error
from accounts.views.http import HtmxHttpRequest, render_page, system_admin_required
from audit.context import Actor
from repositories.models import Project

from ..models import ProxyCache, RegistryEndpoint
from ..services import proxy_caches
from ..services import runs as run_service


class ProxyCacheForm(BootstrapForm):
    project = forms.ModelChoiceField(
        queryset=Project.objects.filter(proxy_cache__isnull=True).order_by("name"), label=gettext_lazy("Project")
    )
    upstream = forms.ModelChoiceField(
        # Not the endpoints of other caches' own instances.
        queryset=RegistryEndpoint.objects.exclude(rules__proxy_cache__isnull=False).order_by("name"),
        label=gettext_lazy("Upstream"),
        help_text=gettext_lazy("The registry to pull through to (a registry endpoint)."),
    )
    port = forms.IntegerField(
        min_value=1024,
        max_value=65535,
        required=False,
        label=gettext_lazy("Port"),
        help_text=gettext_lazy("Where its instance listens; empty: the next free one."),
    )


def _context(form: ProxyCacheForm | None = None) -> dict[str, Any]:
    caches = ProxyCache.objects.select_related("project", "upstream", "rule").order_by("project__name")
    return {"nav": "replication", "caches": list(caches), "form": form or ProxyCacheForm()}


@system_admin_required
@require_http_methods(["GET", "POST"])
def cache_list(request: HtmxHttpRequest) -> HttpResponse:
    form = ProxyCacheForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            cache = proxy_caches.configure(actor=Actor.from_request(request), **form.cleaned_data)
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(
                request,
                gettext("%(project)s is a proxy cache of %(url)s.") % {"project": cache.project.name, "url": cache.upstream.url},
            )
            url = reverse("replication:proxy_caches")
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    return render_page(request, "replication/proxy_caches.html", "content", _context(form))


@system_admin_required
@require_POST
def cache_import(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    cache = get_object_or_404(ProxyCache.objects.select_related("rule"), pk=pk)
    run, _ = run_service.request_run(cache.rule, actor=Actor.from_request(request))
    url = reverse("replication:run", args=[run.pk])
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@system_admin_required
@require_http_methods(["GET", "POST"])
def cache_delete(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    cache = get_object_or_404(ProxyCache.objects.select_related("project"), pk=pk)
    if request.method == "POST":
        try:
            proxy_caches.remove(cache, actor=Actor.from_request(request))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, gettext("%(project)s is no longer a proxy cache.") % {"project": cache.project.name})
        url = reverse("replication:proxy_caches")
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    context = {
        "title": gettext("Stop the proxy cache of %(project)s?") % {"project": cache.project.name},
        "message": gettext("Its import rule and runs go; what was imported stays in the project. Stop its instance too."),
        "action": request.path,
        "cancel_url": reverse("replication:proxy_caches"),
        "confirm_label": gettext("Remove"),
    }
    return render_page(request, "confirm.html", "dialog", context)
