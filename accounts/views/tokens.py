"""Every user's own API tokens: list, create (the secret is shown once), revoke."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from audit.context import Actor

from ..forms import TokenCreateForm, apply_validation_error
from ..models import ApiToken
from ..services.tokens import create_token, revoke_token
from .http import HtmxHttpRequest


@login_required
@require_http_methods(["GET", "POST"])
def token_list(request: HtmxHttpRequest) -> HttpResponse:
    """The token list and the create form. A created token's secret is rendered
    into this one response only (never stored, never put in a flash message)."""
    form = TokenCreateForm(request.POST or None)
    new_token, new_secret = None, None
    if request.method == "POST" and form.is_valid():
        days = form.cleaned_data["expires_in_days"]
        expires_at = timezone.now() + timedelta(days=days) if days else None
        try:
            new_token, new_secret = create_token(
                request.user,
                actor=Actor.from_request(request),
                name=form.cleaned_data["name"],
                expires_at=expires_at,
                scopes=form.cleaned_data["scopes"],
            )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            form = TokenCreateForm()
    context = {
        "form": form,
        "tokens": ApiToken.objects.filter(user=request.user).order_by("-created_at"),
        "new_token": new_token,
        "new_secret": new_secret,
        "now": timezone.now(),
    }
    response = render(request, "accounts/tokens.html", context)
    response["Cache-Control"] = "no-store"  # the page may hold a secret
    return response


@login_required
@require_POST
def token_revoke(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    # Someone else's token is a 404: its existence is none of this user's business.
    token = get_object_or_404(ApiToken.objects.select_related("user"), pk=pk, user=request.user)
    revoke_token(token, actor=Actor.from_request(request))
    messages.success(request, _("Token %(name)s revoked.") % {"name": token.name})
    url = reverse("accounts:tokens")
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
