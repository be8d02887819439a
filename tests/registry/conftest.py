"""Fixtures for the registry client tests: the real registry binary (see tests/support/registry.py)."""

from __future__ import annotations

from tests.support.registry import registry, registry_factory

__all__ = ["registry", "registry_factory"]
