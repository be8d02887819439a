"""Page URLs of the audit app."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from . import views

app_name = "audit"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.event_list, name="list"),
    path("export.csv", views.export, name="export"),
]
