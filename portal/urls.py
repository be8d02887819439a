"""Root URLs: pages, the REST API under /api/v1/, and its OpenAPI schema.

The error handlers answer JSON under /api/ and HTML pages elsewhere (`portal.errors`)."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularSwaggerView

from accounts.forms import ThrottledAuthenticationForm
from accounts.registry_auth.views import token as registry_token
from accounts.views import sso
from portal.api.schema import CachedSchemaView
from portal.metrics import metrics_view
from repositories.gate_endpoints import gate_pull, gate_push
from repositories.webhooks import notifications

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            redirect_authenticated_user=True, authentication_form=ThrottledAuthenticationForm
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("login/sso/", sso.oidc_login, name="oidc_login"),
    path("login/sso/callback/", sso.oidc_callback, name="oidc_callback"),
    path("service/notifications", notifications, name="registry-notifications"),
    path("service/token", registry_token, name="registry-token"),
    path("service/gate/pull", gate_pull, name="gate-pull"),
    path("service/gate/push/<path:path>", gate_push, name="gate-push"),
    path("metrics", metrics_view, name="metrics"),
    path("api/v1/", include("portal.api.urls")),
    path("api/schema/", CachedSchemaView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("audit/", include("audit.urls")),
    path("", include("accounts.urls")),
    path("", include("webhooks.urls")),
    path("", include("replication.urls")),
    path("", include("repositories.urls")),
]

handler400 = "portal.errors.bad_request"
handler403 = "portal.errors.permission_denied"
handler404 = "portal.errors.page_not_found"
handler500 = "portal.errors.server_error"
