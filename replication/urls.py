"""Page URLs: promotion beside the artifact page; endpoints and replication under /replication/."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from repositories.urls import REPO

from .views import endpoints, promotion, proxy_caches, rules

app_name = "replication"

ARTIFACT = REPO + "-/artifacts/<str:digest>/"

urlpatterns: list[URLPattern | URLResolver] = [
    path(ARTIFACT + "promote/", promotion.promote, name="promote"),
    path(ARTIFACT + "promotions/", promotion.promotion_history, name="history"),
    path("replication/endpoints/", endpoints.endpoint_list, name="endpoints"),
    path("replication/endpoints/<int:pk>/", endpoints.endpoint_detail, name="endpoint"),
    path("replication/endpoints/<int:pk>/test/", endpoints.endpoint_test, name="endpoint_test"),
    path("replication/endpoints/<int:pk>/delete/", endpoints.endpoint_delete, name="endpoint_delete"),
]

urlpatterns += [
    path("replication/", rules.rule_list, name="rules"),
    path("replication/rules/new/", rules.rule_create, name="rule_create"),
    path("replication/rules/<int:pk>/", rules.rule_detail, name="rule"),
    path("replication/rules/<int:pk>/run/", rules.rule_run, name="rule_run"),
    path("replication/rules/<int:pk>/delete/", rules.rule_delete, name="rule_delete"),
    path("replication/runs/<int:pk>/", rules.run_detail, name="run"),
]

urlpatterns += [
    path("replication/proxy-caches/", proxy_caches.cache_list, name="proxy_caches"),
    path("replication/proxy-caches/<int:pk>/import/", proxy_caches.cache_import, name="proxy_cache_import"),
    path("replication/proxy-caches/<int:pk>/delete/", proxy_caches.cache_delete, name="proxy_cache_delete"),
]
