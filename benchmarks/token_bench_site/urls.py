"""Wharf's URLs plus `/bench/json`: a trivial Django JSON view under the same server."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import include, path


def trivial(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


urlpatterns = [path("bench/json", trivial), path("", include("portal.urls"))]
