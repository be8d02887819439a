"""The "Scanner adapters" section of the system security page (system admins):
register a Harbor scanner adapter, enable or disable it, remove it. Writes go
through `services.scanner_adapters`; after each, the section is answered again
(htmx) or the page reloaded (plain POST)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts.forms import BootstrapForm, apply_validation_error
from accounts.views.http import HtmxHttpRequest, render_page, system_admin_required
from audit.context import Actor

from ..models import ScannerAdapter
from ..services import scanner_adapters


class ScannerAdapterForm(BootstrapForm):
    name = forms.CharField(max_length=100)
    # Adapters usually sit on an internal network without TLS: a bare host means http.
    url = forms.URLField(max_length=500, label=_("URL"), assume_scheme="http", help_text=_("e.g. http://trivy-adapter:8080"))
    auth = forms.CharField(
        max_length=1000,
        required=False,
        label=_("Authorization header"),
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Optional; a secret, never shown again."),
    )


def adapters_context(form: ScannerAdapterForm | None = None) -> dict[str, Any]:
    return {"adapters": list(ScannerAdapter.objects.order_by("name")), "adapter_form": form or ScannerAdapterForm()}


def _answer(request: HtmxHttpRequest, form: ScannerAdapterForm | None = None) -> HttpResponse:
    if not request.htmx:
        if form is not None and form.errors:
            messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect("projects:system_security")
    # 200 even with errors: htmx swaps only successful responses.
    return render_page(request, "scans/system_security.html", "scanner_adapters", adapters_context(form))


@system_admin_required
@require_POST
def adapter_add(request: HtmxHttpRequest) -> HttpResponse:
    form = ScannerAdapterForm(request.POST)
    if form.is_valid():
        try:
            adapter = scanner_adapters.register(actor=Actor.from_request(request), **form.cleaned_data)
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, gettext("Scanner adapter %(name)s is registered.") % {"name": adapter.name})
            return _answer(request)
    return _answer(request, form)


@system_admin_required
@require_POST
def adapter_enable(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Enable (`enabled=on`) or disable (anything else) an adapter."""
    adapter = get_object_or_404(ScannerAdapter, pk=pk)
    enabled = request.POST.get("enabled") == "on"
    scanner_adapters.set_enabled(adapter, enabled, actor=Actor.from_request(request))
    text = gettext("Scanner adapter %(name)s is enabled.") if enabled else gettext("Scanner adapter %(name)s is disabled.")
    messages.success(request, text % {"name": adapter.name})
    return _answer(request)


@system_admin_required
@require_POST
def adapter_remove(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    adapter = get_object_or_404(ScannerAdapter, pk=pk)
    scanner_adapters.remove(adapter, actor=Actor.from_request(request))
    messages.success(request, gettext("Scanner adapter %(name)s is removed.") % {"name": adapter.name})
    return _answer(request)
