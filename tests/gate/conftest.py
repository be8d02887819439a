"""The gate between skopeo and a real registry, asking the live server about manifests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from repositories.gate_endpoints import reset_forwarder
from repositories.services.registry import reset_registry_client
from tests.api.conftest import api  # noqa: F401  (fixture)
from tests.support.gate import GateServer
from tests.support.registry import RegistryFactory, RegistryServer, free_port

SECRET = "gate-test-secret"


@dataclass
class Gated:
    registry: RegistryServer
    gate: GateServer
    start_gate: Callable[..., GateServer]


@pytest.fixture
def gated(
    transactional_db: Any,
    live_server: Any,
    registry_factory: RegistryFactory,
    settings: Any,
    tmp_path: Path,
) -> Iterator[Gated]:
    registry = registry_factory()
    settings.REGISTRY_URL = registry.url
    settings.REGISTRY_TIMEOUT = 5.0
    settings.WHARF_REGISTRY_TOKEN_AUTH = False
    settings.WHARF_GATE_SECRET = SECRET
    settings.WHARF_GATE_STATE_DIR = tmp_path / "gate-state"
    reset_registry_client()
    reset_forwarder()
    wharf = urlsplit(live_server.url).netloc
    gates: list[GateServer] = []

    def start_gate(**kwargs: Any) -> GateServer:
        kwargs.setdefault("wharf", wharf)
        server = GateServer(
            tmp_path / f"gate{len(gates)}",
            registry=registry,
            secret=SECRET,
            marker_dir=settings.WHARF_GATE_STATE_DIR,
            **kwargs,
        )
        gates.append(server)
        server.start()
        return server

    try:
        yield Gated(registry=registry, gate=start_gate(), start_gate=start_gate)
    finally:
        for server in gates:
            server.stop()
        reset_registry_client()
        reset_forwarder()


def dead_wharf() -> str:
    """An address where no Wharf answers (for the failure modes)."""
    return f"127.0.0.1:{free_port()}"
