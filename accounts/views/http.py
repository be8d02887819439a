"""Request typing and small view helpers shared by Wharf's page views."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django_htmx.middleware import HtmxDetails

from accounts.permissions import is_system_admin

View = TypeVar("View", bound=Callable[..., HttpResponseBase])


class HtmxHttpRequest(HttpRequest):
    """An `HttpRequest` after `HtmxMiddleware` and authentication ran."""

    htmx: HtmxDetails
    user: Any


def wants_partial(request: HtmxHttpRequest) -> bool:
    """Whether to answer with the page's partial alone: an htmx request that is
    neither a boosted navigation nor a history restore (both need the whole page)."""
    return bool(request.htmx) and not request.htmx.boosted and not request.htmx.history_restore_request


def render_page(
    request: HtmxHttpRequest, template: str, partial: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    """One view, two renderings: the whole `template`, or only its `partial` for htmx.

    `Vary: HX-Request` stops a browser cache from answering a normal navigation
    (e.g. the back button) with a partial it fetched for htmx at the same URL."""
    name = f"{template}#{partial}" if wants_partial(request) else template
    response = render(request, name, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


def system_admin_required(view: View) -> View:
    """Login required (anonymous → login page), then 403 for everyone but system admins."""

    @wraps(view)
    def wrapper(request: HtmxHttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not is_system_admin(request.user):
            raise PermissionDenied(_("Only system admins may do this."))
        return view(request, *args, **kwargs)

    return login_required(wrapper)  # type: ignore[return-value]
