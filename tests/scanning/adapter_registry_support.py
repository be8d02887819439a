"""Fixtures for registered scanner adapters: the spec-following `FakeAdapter` of
`test_harbor_adapter.py`, wired into `services.scanner_adapters` through its
`transport_factory` seam, and a registry token key for the pull-only tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from accounts.registry_auth.keys import create_key_pair
from repositories.services import scanner_adapters
from tests.scanning.test_harbor_adapter import ADAPTER, METADATA, FakeAdapter

__all__ = ["ADAPTER", "METADATA", "FakeAdapter", "fake_adapter", "token_key", "unreachable"]


@pytest.fixture
def fake_adapter(monkeypatch: pytest.MonkeyPatch) -> FakeAdapter:
    """Every adapter client talks to this fake (whatever its URL); no report polls wait."""
    adapter = FakeAdapter(not_ready=0)
    monkeypatch.setattr(scanner_adapters, "transport_factory", lambda: httpx.MockTransport(adapter.handle))
    return adapter


@pytest.fixture
def unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every adapter client fails to connect."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)

    monkeypatch.setattr(scanner_adapters, "transport_factory", lambda: httpx.MockTransport(refuse))


@pytest.fixture
def token_key(tmp_path: Path, settings: Any) -> None:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    create_key_pair(key, cert)
    settings.WHARF_TOKEN_KEY, settings.WHARF_TOKEN_CERT = key, cert
    settings.REGISTRY_URL = "http://registry.internal:5000"
