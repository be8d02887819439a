"""The registry client Wharf's own work uses (sync, details, deletes).

One pooled client per process, built from settings. The token-service issue
plugs Wharf's self-minted tokens in here (`ProvidedTokens`), so sync and deletes
need no stored registry password and no round trip to a token endpoint.
"""

from __future__ import annotations

import threading

from django.conf import settings

from ..registry import BearerChallenge, RegistryClient
from ..registry.auth import Auth, ProvidedTokens
from ..registry.client import DEFAULT_MAX_CONNECTIONS

_lock = threading.Lock()
_client: RegistryClient | None = None


def _auth() -> Auth | None:
    if settings.WHARF_REGISTRY_TOKEN_AUTH:
        # Wharf's own registry trusts the tokens Wharf signs: mint them in-process.
        from accounts.registry_auth.provider import WharfTokenProvider

        return ProvidedTokens(WharfTokenProvider())
    if settings.REGISTRY_USERNAME:
        # The token challenge flow with these credentials (a registry behind another token service).
        return BearerChallenge(settings.REGISTRY_USERNAME, settings.REGISTRY_PASSWORD)
    return None


def registry_client() -> RegistryClient:
    """The shared client for settings.REGISTRY_URL (created on first use)."""
    global _client
    with _lock:
        if _client is None or str(_client.base_url).rstrip("/") != settings.REGISTRY_URL.rstrip("/"):
            if _client is not None:
                _client.close()
            _client = RegistryClient(
                settings.REGISTRY_URL,
                auth=_auth(),
                timeout=settings.REGISTRY_TIMEOUT,
                # One connection per sync or retention thread at least, so no thread waits for the pool.
                max_connections=max(
                    DEFAULT_MAX_CONNECTIONS, settings.WHARF_SYNC_CONCURRENCY, settings.WHARF_RETENTION_CONCURRENCY
                ),
            )
        return _client


def job_client(connections: int) -> RegistryClient:
    """A client of its own for one job (a retention run): the shared client's auth (so its
    tokens), a pool of at most `connections`. The caller closes it.

    The shared pool keeps every connection a sync opened (16) alive for a while, and
    httpx's pool looks at each of them, several times over, on every request: about 1 ms of
    CPU per request, more than a run's own Python work per deletion."""
    return RegistryClient(
        settings.REGISTRY_URL,
        auth=registry_client().auth,
        timeout=settings.REGISTRY_TIMEOUT,
        max_connections=max(1, connections),
    )


def reset_registry_client() -> None:
    """Drop the shared client (tests that point REGISTRY_URL elsewhere call this)."""
    global _client
    with _lock:
        if _client is not None:
            _client.close()
        _client = None


