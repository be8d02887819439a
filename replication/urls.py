"""Page URLs: promotion beside the artifact page; endpoints and replication under /replication/."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from repositories.urls import REPO

from .views import promotion

app_name = "replication"

ARTIFACT = REPO + "-/artifacts/<str:digest>/"

urlpatterns: list[URLPattern | URLResolver] = [
    path(ARTIFACT + "promote/", promotion.promote, name="promote"),
    path(ARTIFACT + "promotions/", promotion.promotion_history, name="history"),
]
