"""Fixtures for the registry client tests: the real registry binary (see tests/support/registry.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.registry import registry, registry_factory
from tests.support.scripted_http import Behaviour, ScriptedServer, Serve

__all__ = ["registry", "registry_factory"]


@pytest.fixture
def serve() -> Iterator[Serve]:
    servers: list[ScriptedServer] = []

    def start(behaviour: Behaviour) -> ScriptedServer:
        servers.append(ScriptedServer(behaviour))
        return servers[-1]

    yield start
    for server in servers:
        server.close()

