"""Page URLs of webhooks: a project's under its pages, the system's under /webhooks/."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from . import views

app_name = "webhooks"

PROJECT = "projects/<str:name>/webhooks/"
SYSTEM = "webhooks/"

urlpatterns: list[URLPattern | URLResolver] = []
for prefix, scope in ((PROJECT, "project"), (SYSTEM, "system")):
    urlpatterns += [
        path(prefix, views.webhook_list, name=f"{scope}_list"),
        path(f"{prefix}<int:pk>/", views.webhook_detail, name=f"{scope}_detail"),
        path(f"{prefix}<int:pk>/test/", views.webhook_test, name=f"{scope}_test"),
        path(f"{prefix}<int:pk>/delete/", views.webhook_delete, name=f"{scope}_delete"),
        path(
            f"{prefix}<int:webhook_id>/deliveries/<int:pk>/redeliver/",
            views.delivery_redeliver,
            name=f"{scope}_redeliver",
        ),
    ]
