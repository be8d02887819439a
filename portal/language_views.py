"""The account menu's language switcher: saves the signed-in user's interface language."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.services.language import set_language
from accounts.views.http import HtmxHttpRequest
from audit.context import Actor
from portal.language import LanguageForm


@login_required
@require_POST
def language_update(request: HtmxHttpRequest) -> HttpResponse:
    """Save the chosen language and go back to the page the menu was opened on."""
    form = LanguageForm(request.POST)
    target = request.POST.get("next") or reverse("projects:list")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        target = reverse("projects:list")
    if not form.is_valid():
        messages.error(request, _("Choose one of the languages offered."))
        return HttpResponseRedirect(target)
    language = form.cleaned_data["language"]
    try:
        set_language(request.user, actor=Actor.from_request(request), language=language)
    except ValidationError:
        messages.error(request, _("Choose one of the languages offered."))
        return HttpResponseRedirect(target)
    response = HttpResponseRedirect(target)
    if language:
        translation.activate(language)
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, samesite="Lax")
    else:
        response.delete_cookie(settings.LANGUAGE_COOKIE_NAME)
    messages.success(request, _("Language saved."))
    return response
