"""Wharf's own registry tokens: minted in-process for the registry client.

`WharfTokenProvider` implements the client's `TokenProvider` seam
(`repositories.registry.auth.ProvidedTokens`): sync, deletes and retention get a
token for exactly the scopes each request needs, signed with the same key the
token endpoint uses, without an HTTP round trip or a stored registry password.
Tokens are reused per scope set until shortly before they expire, because the
client asks before every request.
"""

from __future__ import annotations

import logging
import threading
import time

from .grants import Principal, compute_grants
from .jwt import mint_token
from .keys import SigningKeyMissing
from .scopes import parse_scopes

log = logging.getLogger(__name__)

REUSE_FRACTION = 0.5  # reuse a token for the first half of its life
MAX_CACHED = 1024


class WharfTokenProvider:
    """Mints tokens for subject "wharf" with exactly the asked (well-formed) scopes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[frozenset[str], tuple[float, str]] = {}
        self.minted = 0
        self._warned = False

    def __repr__(self) -> str:
        return "WharfTokenProvider()"

    def token_for(self, scopes: list[str]) -> str | None:
        key = frozenset(scopes)
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and cached[0] > now:
                return cached[1]
        grants = compute_grants(Principal.wharf(), parse_scopes(scopes))
        try:
            minted = mint_token(Principal.wharf().sub, [g.access for g in grants])
        except SigningKeyMissing as exc:
            # Without a key the request goes out bare; the registry's 401 then says why it failed.
            if not self._warned:
                self._warned = True
                log.warning("cannot sign Wharf's registry tokens: %s", exc)
            return None
        with self._lock:
            if len(self._cache) >= MAX_CACHED:
                self._cache.clear()
            self._cache[key] = (now + minted.expires_in * REUSE_FRACTION, minted.token)
            self.minted += 1
        return minted.token
