"""Single sign-on pages: off to the OpenID Provider, and back (`accounts.directory.oidc`)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..directory.config import OIDC_BACKEND
from ..directory.oidc import client, oidc_enabled, sign_in_user
from .http import HtmxHttpRequest

log = logging.getLogger(__name__)
PROVIDER_DOWN = gettext_lazy("The sign-in provider did not answer. Local accounts can still log in.")
NEXT_KEY = "wharf_oidc_next"


def oidc_login(request: HtmxHttpRequest) -> HttpResponse:
    """Send the browser to the provider (authorization code flow with PKCE)."""
    if not oidc_enabled():
        raise Http404(_("Single sign-on is not configured."))
    wanted = request.GET.get("next", "")
    if wanted and url_has_allowed_host_and_scheme(
        wanted, {request.get_host()}, require_https=request.is_secure()
    ):
        request.session[NEXT_KEY] = wanted
    try:
        response: HttpResponse = client().authorize_redirect(
            request, request.build_absolute_uri(reverse("oidc_callback"))
        )
    except Exception as exc:  # requests' and authlib's errors alike: the provider is unusable
        log.warning("OIDC provider unusable: %s", exc)
        messages.error(request, PROVIDER_DOWN)
        return redirect("login")
    return response


def oidc_callback(request: HtmxHttpRequest) -> HttpResponse:
    """The provider sends the browser back with a code: exchange it, check the ID token,
    and sign the account in."""
    if not oidc_enabled():
        raise Http404(_("Single sign-on is not configured."))
    from authlib.integrations.base_client.errors import OAuthError

    try:
        token = client().authorize_access_token(request)
        user = sign_in_user(token.get("userinfo") or {})
    except (OAuthError, ValidationError) as exc:
        text = " ".join(exc.messages) if isinstance(exc, ValidationError) else exc.description or exc.error
        user_login_failed.send(sender=__name__, credentials={"username": "(single sign-on)"}, request=request)
        messages.error(request, _("Single sign-on failed: %(text)s") % {"text": text})
        return redirect("login")
    except Exception as exc:  # the provider did not answer the code exchange or its keys
        log.warning("OIDC provider unusable: %s", exc)
        messages.error(request, PROVIDER_DOWN)
        return redirect("login")
    login(request, user, backend=OIDC_BACKEND)
    return redirect(request.session.pop(NEXT_KEY, "") or settings.LOGIN_REDIRECT_URL)
