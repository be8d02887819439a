"""Wharf's URLs plus `/bench/json`: a trivial Django JSON view under the same server, and
`/bench/json-early`: the same answer given where the token endpoint is answered."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path


def trivial(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


class EarlyFloorMiddleware:
    """Answers `/bench/json-early` right after `TokenEndpointMiddleware`, skipping the rest."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/bench/json-early":
            return trivial(request)
        return self.get_response(request)


urlpatterns = [path("bench/json", trivial), path("", include("portal.urls"))]
