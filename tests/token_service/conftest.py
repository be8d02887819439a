"""Fixtures for the token service: a signing key per session, isolated throttle counters."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from accounts.registry_auth import throttle
from accounts.registry_auth.keys import create_key_pair
from accounts.services.robots import create_robot
from accounts.services.tokens import create_token
from audit.context import Actor
from repositories.registry.config import TokenAuth
from repositories.services.registry import reset_registry_client
from tests.factories import PASSWORD
from tests.support.registry import RegistryFactory, RegistryServer


@pytest.fixture(scope="session")
def key_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("token-key")
    key, cert = directory / "key.pem", directory / "cert.pem"
    create_key_pair(key, cert)
    return key, cert


@pytest.fixture(autouse=True)
def _token_settings(settings: Any, key_files: tuple[Path, Path]) -> None:
    settings.WHARF_TOKEN_KEY, settings.WHARF_TOKEN_CERT = key_files
    settings.WHARF_TOKEN_SERVICE = "wharf-registry"
    settings.WHARF_TOKEN_ISSUER = "wharf"
    settings.WHARF_TOKEN_LIFETIME = 300
    settings.WHARF_DEFAULT_PROJECT = "library"


@pytest.fixture(autouse=True)
def _isolated_throttle(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test counts failures under its own keys (rows can outlive a test: transactional tests)."""
    monkeypatch.setattr(throttle, "_PREFIX", f"test-token-fail-{secrets.token_hex(6)}")


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def decode_token(token: str, cert_path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a token whose ES256 signature verifies against the certificate."""
    head, body, signature = token.split(".")
    raw = _unb64(signature)
    assert len(raw) == 64, "ES256 signatures are raw r||s, 64 bytes"
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public_key = x509.load_pem_x509_certificate(cert_path.read_bytes()).public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    public_key.verify(der, f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256()))  # raises if forged
    return json.loads(_unb64(head)), json.loads(_unb64(body))


@pytest.fixture
def token_registry(
    transactional_db: Any,
    live_server: Any,
    registry_factory: RegistryFactory,
    key_files: tuple[Path, Path],
    settings: Any,
) -> Iterator[RegistryServer]:
    """A real registry trusting tokens from the live server's /service/token, with Wharf's
    own client pointed at it (minting its tokens in-process)."""
    server = registry_factory(
        token_auth=TokenAuth(
            realm=f"{live_server.url}/service/token",
            service="wharf-registry",
            issuer="wharf",
            rootcertbundle=str(key_files[1]),
        )
    )
    settings.REGISTRY_URL = server.url
    settings.REGISTRY_PUBLIC_HOST = server.host
    settings.REGISTRY_TIMEOUT = 5.0
    settings.WHARF_REGISTRY_TOKEN_AUTH = True
    reset_registry_client()
    yield server
    reset_registry_client()


@pytest.fixture
def credentials(world: Any) -> dict[str, str | None]:
    """One secret of each kind for the developer of `world` (anonymous: no header)."""
    user = world.users["developer"]
    _, secret = create_token(user, actor=Actor.for_user(user), name="ci")
    robot, robot_secret = create_robot(
        actor=Actor.system(), created_by=user, project=world.private, name="ci", actions=["pull"]
    )
    return {
        "anonymous": None,
        "personal access token": basic("developer", secret),
        "robot": basic(robot.full_name, robot_secret),
        "password": basic("developer", PASSWORD),
    }
