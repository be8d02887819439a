"""Typed client for the OCI registry Wharf fronts (CNCF Distribution 2.8 and later).

Everything Wharf says to the registry goes through `RegistryClient`; every
failure comes out as a `RegistryError` that says whether retrying can help.
"""

from __future__ import annotations

from repositories.registry.auth import Anonymous, Basic, BearerChallenge, TokenProvider
from repositories.registry.client import RegistryClient
from repositories.registry.errors import (
    DigestMismatch,
    ManifestTooLarge,
    RegistryError,
    RegistryUnavailable,
)
from repositories.registry.manifests import Descriptor, ImageConfig, Manifest, Platform

__all__ = [
    "Anonymous",
    "Basic",
    "BearerChallenge",
    "Descriptor",
    "DigestMismatch",
    "ImageConfig",
    "Manifest",
    "ManifestTooLarge",
    "Platform",
    "RegistryClient",
    "RegistryError",
    "RegistryUnavailable",
    "TokenProvider",
]
