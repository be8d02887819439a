"""Wharf's settings with one more URL: the framework's floor for the token benchmark."""

from __future__ import annotations

from portal.settings import *  # noqa: F403  (the very same stack, middleware included)

ROOT_URLCONF = "benchmarks.token_bench_site.urls"
