"""Endpoint passwords at rest: Fernet (AES-128-CBC + HMAC-SHA256) with keys from the
environment (`WHARF_REPLICATION_KEYS`), never from the database, so a database dump
alone does not give away the credentials of remote registries.

`MultiFernet` makes rotation possible: the first key encrypts, all decrypt, and
`rotate` re-encrypts a token under the first key.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class SecretUnavailable(Exception):
    """No key is configured, or none of them opens a stored secret."""


def _fernet() -> MultiFernet:
    keys = [k.strip() for k in settings.WHARF_REPLICATION_KEYS if k.strip()]
    if not keys:
        raise SecretUnavailable(
            "WHARF_REPLICATION_KEYS is not set, so Wharf cannot store or read credentials."
        )
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "WHARF_REPLICATION_KEYS must be Fernet keys (32 url-safe base64-encoded bytes)."
        ) from exc


def configured() -> bool:
    return any(k.strip() for k in settings.WHARF_REPLICATION_KEYS)


def encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode("ascii")).decode()
    except InvalidToken as exc:
        raise SecretUnavailable("The stored password cannot be read with the configured keys.") from exc


def rotate(token: str) -> str:
    try:
        return _fernet().rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken as exc:
        raise SecretUnavailable("The stored password cannot be read with the configured keys.") from exc
