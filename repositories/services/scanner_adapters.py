"""Registered Harbor scanner adapters: register, refresh metadata, enable or disable,
remove, and run a scan with one. Every change is audited in its own transaction.

Registering reads the adapter's metadata first, so an adapter that cannot be
reached or does not speak the Pluggable Scanner API is refused with the adapter's
own error on `url`, and nothing is saved. The adapter's `auth_header` is a secret:
audit rows only say whether there is one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import httpx
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.context import Actor
from audit.models import AuditAction
from audit.services import record

from ..models import Artifact, ScannerAdapter, ScanReport
from ..scanners.harbor_adapter import AdapterMetadata, HarborAdapterClient, HarborAdapterError
from .harbor_adapter import scan_with_adapter


def _no_transport() -> httpx.BaseTransport | None:
    return None


# The seam for tests: they point it at a fake adapter's `httpx.MockTransport`.
# `None` means httpx's own network transport.
transport_factory: Callable[[], httpx.BaseTransport | None] = _no_transport


def client_for(url: str, auth_header: str = "") -> HarborAdapterClient:
    """A client of the adapter at `url` (the caller closes it)."""
    return HarborAdapterClient(url, auth_header=auth_header or None, transport=transport_factory())


def _metadata_json(metadata: AdapterMetadata) -> dict[str, Any]:
    """The metadata as stored: the spec's shape, so pages read `scanner.vendor` etc."""
    data = dataclasses.asdict(metadata)
    return {
        "scanner": {"name": data["name"], "vendor": data["vendor"], "version": data["version"]},
        "capabilities": [
            {
                "type": c["type"],
                "consumes_mime_types": list(c["consumes_mime_types"]),
                "produces_mime_types": list(c["produces_mime_types"]),
            }
            for c in data["capabilities"]
        ],
        "properties": data["properties"],
    }


def fetch_metadata(url: str, auth_header: str = "") -> dict[str, Any]:
    """The adapter's metadata; a failure is a `ValidationError` on `url` with its message."""
    try:
        with client_for(url, auth_header) as client:
            return _metadata_json(client.metadata())
    except HarborAdapterError as exc:
        raise ValidationError({"url": [_("The adapter did not answer its metadata: %(exc)s") % {"exc": exc}]}) from exc


def _audit(action: AuditAction, adapter: ScannerAdapter, actor: Actor, **details: object) -> None:
    record(
        action,
        actor=actor,
        target_type="scanner_adapter",
        target_name=adapter.name,
        details={"url": adapter.url, "enabled": adapter.enabled, "has_auth": adapter.has_auth, **details},
    )


def register(name: str, url: str, auth: str, actor: Actor) -> ScannerAdapter:
    """Register the adapter at `url` under `name`, after reading its metadata."""
    adapter = ScannerAdapter(name=name.strip(), url=url.strip(), auth_header=auth.strip(), created_by_id=actor.user_id)
    # Validate the fields (URL shape, unique name) before calling out, then ask the adapter.
    adapter.full_clean(exclude=["metadata"])
    adapter.metadata = fetch_metadata(adapter.url, adapter.auth_header)
    adapter.metadata_fetched_at = timezone.now()
    with transaction.atomic():
        adapter.full_clean()
        adapter.save()
        _audit(AuditAction.SCANNER_ADAPTER_ADD, adapter, actor, scanner=adapter.scanner)
    return adapter


def refresh_metadata(adapter: ScannerAdapter, actor: Actor) -> ScannerAdapter:
    """Read the adapter's metadata again (e.g. after it was upgraded)."""
    metadata = fetch_metadata(adapter.url, adapter.auth_header)
    with transaction.atomic():
        adapter.metadata, adapter.metadata_fetched_at = metadata, timezone.now()
        adapter.save(update_fields=["metadata", "metadata_fetched_at"])
        _audit(AuditAction.SCANNER_ADAPTER_UPDATE, adapter, actor, change="metadata", scanner=adapter.scanner)
    return adapter


def set_enabled(adapter: ScannerAdapter, enabled: bool, actor: Actor) -> ScannerAdapter:
    """Enable or disable the adapter; a disabled one cannot be asked for scans."""
    if adapter.enabled == enabled:
        return adapter
    with transaction.atomic():
        adapter.enabled = enabled
        adapter.save(update_fields=["enabled"])
        _audit(AuditAction.SCANNER_ADAPTER_UPDATE, adapter, actor, change="enabled")
    return adapter


def remove(adapter: ScannerAdapter, actor: Actor) -> None:
    """Forget the adapter; reports it made stay (they are `harbor-adapter` reports)."""
    with transaction.atomic():
        _audit(AuditAction.SCANNER_ADAPTER_REMOVE, adapter, actor)
        adapter.delete()


def run_scan(artifact: Artifact, adapter: ScannerAdapter, actor: Actor, **kwargs: Any) -> ScanReport:
    """Scan `artifact` with `adapter` to the end (see `scan_with_adapter`)."""
    with client_for(adapter.url, adapter.auth_header) as client:
        return scan_with_adapter(artifact, adapter.url, actor, client=client, **kwargs)
