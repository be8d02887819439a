"""Registry endpoints: add, change, remove (audited in the same transaction), test the
connection, and the client that talks to one. System admins only (the caller checks
`replication.access.require_replication_manager`)."""

from __future__ import annotations

import re
from typing import Any

import httpx
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.context import Actor
from audit.models import AuditAction
from audit.services import record
from repositories.registry import BearerChallenge, RegistryClient, RegistryError
from repositories.registry.client import DEFAULT_MAX_CONNECTIONS

from .. import credentials
from ..models import RegistryEndpoint

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_FIELDS = ("name", "url", "description", "username", "verify_tls")


def _clean_url(url: str) -> str:
    url = url.strip().rstrip("/")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError):
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValidationError(
            {"url": _("Give the registry's http(s) base URL, e.g. https://registry.example.com.")}
        )
    if parsed.path not in ("", "/") or parsed.query or parsed.fragment:
        raise ValidationError({"url": _("Give the registry's base URL only: no path (Wharf adds /v2/).")})
    return url


def _validate(name: str, url: str) -> str:
    if not NAME_RE.match(name):
        raise ValidationError({"name": _("Up to 100 letters, digits, dots, dashes and underscores.")})
    return _clean_url(url)


def _sealed(password: str) -> str:
    if not password:
        return ""
    try:
        return credentials.encrypt(password)
    except credentials.SecretUnavailable as exc:
        # The one refusal encrypt() has: no key configured (credentials says it in English for the logs).
        raise ValidationError(
            {"password": _("WHARF_REPLICATION_KEYS is not set, so Wharf cannot store or read credentials.")}
        ) from exc


def _snapshot(endpoint: RegistryEndpoint) -> dict[str, Any]:
    return {field: getattr(endpoint, field) for field in _FIELDS} | {
        "has_credentials": endpoint.has_credentials
    }


def create_endpoint(
    *,
    actor: Actor,
    name: str,
    url: str,
    username: str = "",
    password: str = "",
    verify_tls: bool = True,
    description: str = "",
) -> RegistryEndpoint:
    name = name.strip()
    url = _validate(name, url)
    if RegistryEndpoint.objects.filter(name=name).exists():
        raise ValidationError({"name": _("An endpoint with this name exists already.")})
    if password and not username:
        raise ValidationError({"username": _("A password needs a username.")})
    with transaction.atomic():
        endpoint = RegistryEndpoint.objects.create(
            name=name,
            url=url,
            username=username.strip(),
            password=_sealed(password),
            verify_tls=verify_tls,
            description=description,
            created_by_id=actor.user_id,
        )
        record(
            AuditAction.REGISTRY_ENDPOINT_CREATE,
            actor=actor,
            target_type="registry_endpoint",
            target_name=endpoint.name,
            details=_snapshot(endpoint),
        )
    return endpoint


def update_endpoint(
    endpoint: RegistryEndpoint, *, actor: Actor, password: str | None = None, **changes: Any
) -> RegistryEndpoint:
    """Change the given fields. `password`: None keeps the stored one, a value replaces
    it; clearing the username clears the password too."""
    unknown = set(changes) - set(_FIELDS)
    if unknown:
        raise ValueError(f"not endpoint fields: {sorted(unknown)}")
    before = _snapshot(endpoint)
    for field, value in changes.items():
        setattr(
            endpoint, field, value.strip() if isinstance(value, str) and field != "description" else value
        )
    endpoint.url = _validate(endpoint.name, endpoint.url)
    if RegistryEndpoint.objects.filter(name=endpoint.name).exclude(pk=endpoint.pk).exists():
        raise ValidationError({"name": _("An endpoint with this name exists already.")})
    if password:
        if not endpoint.username:
            raise ValidationError({"username": _("A password needs a username.")})
        endpoint.password = _sealed(password)
    if not endpoint.username:
        endpoint.password = ""
    after = _snapshot(endpoint)
    changed = {k: {"from": before[k], "to": after[k]} for k in after if before[k] != after[k]}
    if password:
        changed["password"] = {"from": "***", "to": "***"}
    with transaction.atomic():
        endpoint.save()
        record(
            AuditAction.REGISTRY_ENDPOINT_UPDATE,
            actor=actor,
            target_type="registry_endpoint",
            target_name=endpoint.name,
            details={"changes": changed},
        )
    return endpoint


def delete_endpoint(endpoint: RegistryEndpoint, *, actor: Actor) -> None:
    rules = list(endpoint.rules.values_list("name", flat=True))
    if rules:
        raise ValidationError(
            _("Replication rules use this endpoint: %(rules)s. Delete them first.") % {"rules": ", ".join(sorted(rules))}
        )
    caches = list(endpoint.proxy_caches.values_list("project__name", flat=True))
    if caches:
        raise ValidationError(
            f"Proxy-cache projects pull through it: {', '.join(sorted(caches))}. Remove them first."
        )
    with transaction.atomic():
        details = _snapshot(endpoint)
        endpoint.delete()
        record(
            AuditAction.REGISTRY_ENDPOINT_DELETE,
            actor=actor,
            target_type="registry_endpoint",
            target_name=details["name"],
            details=details,
        )


def endpoint_client(
    endpoint: RegistryEndpoint, *, max_connections: int = DEFAULT_MAX_CONNECTIONS
) -> RegistryClient:
    """A client for the endpoint, with its credentials (the token flow, or Basic when
    the registry asks for that) and its TLS setting. Raises `SecretUnavailable` when
    the stored password cannot be read."""
    auth = None
    if endpoint.username:
        password = credentials.decrypt(endpoint.password) if endpoint.password else ""
        auth = BearerChallenge(endpoint.username, password)
    transport = httpx.HTTPTransport(
        verify=endpoint.verify_tls,
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
    )
    return RegistryClient(
        endpoint.url,
        auth=auth,
        timeout=settings.WHARF_REPLICATION_TIMEOUT,
        max_connections=max_connections,
        transport=transport,
        user_agent="wharf-replication/1",
    )


def test_connection(endpoint: RegistryEndpoint) -> RegistryEndpoint:
    """Ask the endpoint's `/v2/` with its credentials; store and return the verdict."""
    try:
        client = endpoint_client(endpoint, max_connections=1)
    except credentials.SecretUnavailable as exc:
        ok, message = False, str(exc)
    else:
        try:
            with client:
                client.ping()
        except RegistryError as exc:
            ok, message = False, f"{exc}"
        else:
            ok, message = (
                True,
                "The registry answered /v2/" + (" with these credentials." if endpoint.username else "."),
            )
    RegistryEndpoint.objects.filter(pk=endpoint.pk).update(
        checked_at=timezone.now(), check_ok=ok, check_message=message[:2000]
    )
    endpoint.refresh_from_db()
    return endpoint
