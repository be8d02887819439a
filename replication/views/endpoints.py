"""Registry endpoints (system admins): the list with the add form, one endpoint's
page (edit, test the connection, delete). Writes go through `services.endpoints`."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
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

from .. import credentials
from ..models import RegistryEndpoint
from ..services import endpoints


class EndpointForm(BootstrapForm):
    name = forms.CharField(max_length=100, label=gettext_lazy("Name"))
    url = forms.CharField(max_length=500, label=gettext_lazy("URL"), help_text=gettext_lazy("e.g. https://registry.example.com"))
    username = forms.CharField(max_length=255, required=False, label=gettext_lazy("Username"))
    password = forms.CharField(
        max_length=1000,
        required=False,
        widget=forms.PasswordInput(render_value=False),
        label=gettext_lazy("Password"),
        help_text=gettext_lazy("Stored encrypted, never shown again. Leave empty to keep the stored one."),
    )
    verify_tls = forms.BooleanField(required=False, initial=True, label=gettext_lazy("Verify TLS certificates"))
    description = forms.CharField(max_length=2000, required=False, label=gettext_lazy("Description"), widget=forms.Textarea(attrs={"rows": 2}))


def _context(form: EndpointForm | None = None) -> dict[str, Any]:
    return {
        "nav": "replication",
        "endpoints": list(RegistryEndpoint.objects.order_by("name")),
        "form": form or EndpointForm(),
        "keys_configured": credentials.configured(),
    }


@system_admin_required
@require_http_methods(["GET", "POST"])
def endpoint_list(request: HtmxHttpRequest) -> HttpResponse:
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint = endpoints.create_endpoint(actor=Actor.from_request(request), **form.cleaned_data)
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("Endpoint %(name)s added.") % {"name": endpoint.name})
            url = reverse("replication:endpoint", args=[endpoint.pk])
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    return render_page(request, "replication/endpoints.html", "content", _context(form))


@system_admin_required
@require_http_methods(["GET", "POST"])
def endpoint_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(RegistryEndpoint, pk=pk)
    initial = {f: getattr(endpoint, f) for f in ("name", "url", "username", "verify_tls", "description")}
    form = EndpointForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        password = data.pop("password") or None
        try:
            endpoints.update_endpoint(endpoint, actor=Actor.from_request(request), password=password, **data)
        except ValidationError as exc:
            apply_validation_error(form, exc)
            endpoint.refresh_from_db()
        else:
            messages.success(request, _("Endpoint %(name)s saved.") % {"name": endpoint.name})
            url = reverse("replication:endpoint", args=[endpoint.pk])
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    context = {"nav": "replication", "endpoint": endpoint, "form": form}
    return render_page(request, "replication/endpoint.html", "content", context)


@system_admin_required
@require_POST
def endpoint_test(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Ask the registry's /v2/ with the stored credentials; the verdict section answers."""
    endpoint = endpoints.test_connection(get_object_or_404(RegistryEndpoint, pk=pk))
    if not request.htmx:
        (messages.success if endpoint.check_ok else messages.error)(request, endpoint.check_message)
        return redirect("replication:endpoint", pk=endpoint.pk)
    return render_page(request, "replication/endpoint.html", "check", {"endpoint": endpoint})


@system_admin_required
@require_http_methods(["GET", "POST"])
def endpoint_delete(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(RegistryEndpoint, pk=pk)
    if request.method == "POST":
        try:
            endpoints.delete_endpoint(endpoint, actor=Actor.from_request(request))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            url = reverse("replication:endpoint", args=[pk])
        else:
            messages.success(request, _("Endpoint %(name)s removed.") % {"name": endpoint.name})
            url = reverse("replication:endpoints")
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    context = {
        "title": _("Remove endpoint %(name)s?") % {"name": endpoint.name},
        "message": _("Wharf forgets this registry and its stored credentials. Nothing in the registry changes."),
        "action": request.path,
        "cancel_url": reverse("replication:endpoint", args=[pk]),
        "confirm_label": _("Remove"),
    }
    return render_page(request, "confirm.html", "dialog", context)
