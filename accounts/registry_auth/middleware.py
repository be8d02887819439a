"""The registry token endpoint answered ahead of the page middleware.

`GET /service/token` is the registry's hottest path (every pull and push of every
client asks it first) and needs nothing of what the rest of the stack does for pages:
no session, no CSRF (the view is exempt), no language (its answers are registry-facing
English), no messages, no htmx, no frame options (the answer is JSON). Those middlewares
cost about a third of a millisecond of CPU per request on their own, as much as signing
the token. So this middleware, placed right after `RequestContextMiddleware`, answers
that one path itself, as WhiteNoise answers static files: what runs before it still runs
(metrics, `SecurityMiddleware`'s redirect and headers, the request id), the URL is still
the URLconf's (`registry-token`, looked up once) and the metrics still count the answer
under that view name.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, ResolverMatch, reverse

from .views import token

VIEW_NAME = "registry-token"


class TokenEndpointMiddleware:
    """Answers `registry-token`'s path with its view, skipping the middlewares after this one."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._path: str | None = None
        self._match: ResolverMatch | None = None

    def _token_path(self) -> str:
        # Looked up at the first request, not at startup: the URLconf is loaded lazily,
        # and the script prefix (a deployment under a sub-path) is known per request.
        if self._path is None:
            try:
                path = reverse(VIEW_NAME)
            except NoReverseMatch:  # a URLconf without the endpoint: nothing to answer here
                path = ""
            self._match = ResolverMatch(token, (), {}, url_name=VIEW_NAME, route=path.lstrip("/"))
            self._path = path
        return self._path

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path != self._token_path():
            return self.get_response(request)
        request.resolver_match = self._match
        return token(request)
