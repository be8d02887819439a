"""Wharf's settings with one more URL: the framework's floor for the token benchmark.

And a second floor: the same trivial view answered at the point of the middleware stack
where the token endpoint is answered (`TokenEndpointMiddleware`, ahead of the page
middlewares), so the token can be compared like for like as well as against the
whole stack.
"""

from __future__ import annotations

from portal.settings import *  # noqa: F403  (the very same stack, middleware included)
from portal.settings import MIDDLEWARE as _MIDDLEWARE

ROOT_URLCONF = "benchmarks.token_bench_site.urls"
_TOKEN = "accounts.registry_auth.middleware.TokenEndpointMiddleware"
MIDDLEWARE = [
    *_MIDDLEWARE[: _MIDDLEWARE.index(_TOKEN) + 1],
    "benchmarks.token_bench_site.urls.EarlyFloorMiddleware",
    *_MIDDLEWARE[_MIDDLEWARE.index(_TOKEN) + 1 :],
]
