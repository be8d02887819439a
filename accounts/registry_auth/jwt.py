"""Minting registry bearer tokens: compact JWS, ES256, the claims Distribution checks.

Signed with `cryptography` directly (no JWT library): the format is small and
fixed, and doing it here keeps the header exactly as the registry wants it.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from django.conf import settings

from .keys import SigningKey, signing_key

# The registry checks nbf/exp against its own clock; allow for a little skew.
CLOCK_SKEW_SECONDS = 10


@dataclass(frozen=True)
class Access:
    """One entry of the `access` claim: a resource and the actions granted on it."""

    type: str
    name: str
    actions: tuple[str, ...]

    def as_claim(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "actions": list(self.actions)}


@dataclass(frozen=True)
class MintedToken:
    token: str
    issued_at: int
    expires_in: int


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _json(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True).encode()


@lru_cache(maxsize=8)
def _encoded_header(kid: str, x5c: tuple[str, ...]) -> str:
    """The JOSE header of every token signed by one key (the certificate makes it ~1 KB):
    encoded once per key, not per token."""
    header: dict[str, Any] = {"typ": "JWT", "alg": "ES256", "kid": kid}
    if x5c:  # always, except in the test proving that 2.8 finds the key by `kid` alone
        header["x5c"] = list(x5c)
    return _b64url(_json(header))


def mint_token(
    subject: str,
    access: Sequence[Access],
    *,
    key: SigningKey | None = None,
    now: float | None = None,
    lifetime: int | None = None,
    audience: str | None = None,
    issuer: str | None = None,
) -> MintedToken:
    """A signed token for `subject` ("" for anonymous) granting exactly `access`.

    `aud` is a string: Distribution 2.8 rejects a JSON list as malformed.
    """
    key = key or signing_key()
    issued = int(now if now is not None else time.time())
    lifetime = int(lifetime if lifetime is not None else settings.WHARF_TOKEN_LIFETIME)
    claims = {
        "iss": issuer or settings.WHARF_TOKEN_ISSUER,
        "sub": subject,
        "aud": audience or settings.WHARF_TOKEN_SERVICE,
        "exp": issued + lifetime,
        "nbf": issued - CLOCK_SKEW_SECONDS,
        "iat": issued,
        "jti": secrets.token_urlsafe(16),
        "access": [entry.as_claim() for entry in access],
    }
    signing_input = f"{_encoded_header(key.kid, key.x5c)}.{_b64url(_json(claims))}".encode("ascii")
    der = key.private_key.sign(signing_input, ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    # JWS ES256 wants the raw 64-byte r||s, not the DER that cryptography returns.
    signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return MintedToken(
        token=f"{signing_input.decode('ascii')}.{_b64url(signature)}", issued_at=issued, expires_in=lifetime
    )


def _unb64url(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def verified_claims(
    token: str, *, key: SigningKey | None = None, now: float | None = None
) -> dict[str, Any] | None:
    """The claims of a token this Wharf signed that is valid now (signature, issuer,
    audience, time window), or None. For the gate, which must not tell a client that
    holds no valid grant anything about an image (the registry answers it instead)."""
    try:
        head, body, signature = token.split(".")
        raw = _unb64url(signature)
        if len(raw) != 64:
            return None
        key = key or signing_key()
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        key.private_key.public_key().verify(der, f"{head}.{body}".encode("ascii"), ec.ECDSA(hashes.SHA256()))
        claims = json.loads(_unb64url(body))
    except (ValueError, TypeError, InvalidSignature, UnicodeError):
        return None
    moment = now if now is not None else time.time()
    if (
        not isinstance(claims, dict)
        or claims.get("iss") != settings.WHARF_TOKEN_ISSUER
        or claims.get("aud") != settings.WHARF_TOKEN_SERVICE
        or not isinstance(claims.get("exp"), int | float)
        or not isinstance(claims.get("nbf"), int | float)
        or not claims["nbf"] - CLOCK_SKEW_SECONDS <= moment < claims["exp"] + CLOCK_SKEW_SECONDS
    ):
        return None
    return claims


def grants_action(claims: dict[str, Any], repository: str, action: str) -> bool:
    """Whether verified `claims` grant `action` on `repository`."""
    for entry in claims.get("access") or []:
        if (
            isinstance(entry, dict)
            and entry.get("type") == "repository"
            and entry.get("name") == repository
            and action in (entry.get("actions") or [])
        ):
            return True
    return False
