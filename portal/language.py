"""The interface language: which one a request is answered in, and the form that picks it.

It lives in `portal` (not `accounts`, which only stores the choice on `User.language`)
so that its text is in the root catalogue, `locale/`, with the templates'.

`LocaleMiddleware` reads the browser's `Accept-Language` (and Django's language
cookie); a signed-in user's own choice (`User.language`) then wins, read here once
authentication ran. An empty choice leaves the browser's language in force.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


def language_choices() -> list[tuple[str, StrOrPromise]]:
    """The languages a user may choose, each named in itself, plus the browser's."""
    return [("", _("Browser default")), *settings.LANGUAGES]


# The one message for a language code Wharf does not offer (form, service, API).
UNKNOWN_LANGUAGE = _("“%(language)s” is not a language Wharf speaks.")


def is_known_language(code: str) -> bool:
    return code == "" or code in dict(settings.LANGUAGES)


class UserLanguageMiddleware:
    """Activate the signed-in user's chosen language (after `AuthenticationMiddleware`)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        chosen = getattr(user, "language", "") if user is not None and user.is_authenticated else ""
        if chosen and is_known_language(chosen):
            translation.activate(chosen)
            request.LANGUAGE_CODE = chosen
        return self.get_response(request)


class LanguageForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), choices=language_choices, required=False)
    next = forms.CharField(required=False, widget=forms.HiddenInput)
