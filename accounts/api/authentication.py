"""API authentication with personal access tokens: `Authorization: Bearer wharf_...`."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request

from ..models import ApiToken
from ..services.tokens import authenticate_token

NO_API_SCOPE = gettext_lazy(
    "This token has no API scope (it has %(scopes)s): create a token with the 'api' "
    "or 'read_api' scope to call the API."
)
READ_ONLY = gettext_lazy(
    "This token has the 'read_api' scope only: it may read (GET, HEAD, OPTIONS) but not "
    "change anything. Create a token with the 'api' scope to make changes."
)


def check_api_scope(token: ApiToken, method: str) -> None:
    """Refuse (403) a token whose scopes do not cover an API call with `method`."""
    if not token.can_read_api:
        raise exceptions.PermissionDenied(NO_API_SCOPE % {"scopes": ", ".join(token.scopes)})
    if method not in permissions.SAFE_METHODS and not token.can_write_api:
        raise exceptions.PermissionDenied(READ_ONLY)


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """A personal access token, refused unless its scopes cover the call.

    The scope check lives here rather than in a permission class so every API
    view, whatever its own permissions, enforces it.
    """

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() not in (b"bearer", b"token"):
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Send 'Authorization: Bearer <token>' with one token."))
        try:
            secret = header[1].decode()
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed(_("The token is not valid text.")) from exc
        token = authenticate_token(secret)
        if token is None:
            raise exceptions.AuthenticationFailed(_("The token is unknown, expired or revoked."))
        check_api_scope(token, request.method or "")
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class ApiTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[misc]
    target_class = "accounts.api.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "A personal API token (wharf_...)."}
