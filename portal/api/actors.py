"""The audit actor of an API request."""

from __future__ import annotations

from rest_framework.request import Request

from audit.context import Actor


def request_actor(request: Request) -> Actor:
    """The `Actor` for a DRF request.

    Built from the underlying `HttpRequest` (which carries the client address and
    the request id set by `RequestContextMiddleware`) but with the DRF request's
    user, because token authentication sets the user on the DRF request only.
    """
    return Actor.from_request(request._request, user=request.user)
