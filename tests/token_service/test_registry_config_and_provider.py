"""`manage.py registry_config` trusts Wharf's tokens; Wharf's own client signs its own."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import CommandError, call_command

from accounts.registry_auth.provider import WharfTokenProvider
from repositories.registry.auth import ProvidedTokens
from repositories.services.registry import registry_client, reset_registry_client
from tests.token_service.conftest import decode_token


def _run_command(tmp_path: Path, settings: Any) -> tuple[dict[str, Any], str]:
    settings.REGISTRY_STORAGE_DIR = tmp_path / "registry"
    settings.REGISTRY_URL = "http://127.0.0.1:5999"
    settings.WHARF_PUBLIC_URL = "http://wharf.test:8000"
    settings.WHARF_TOKEN_KEY = tmp_path / "token" / "key.pem"
    settings.WHARF_TOKEN_CERT = tmp_path / "token" / "cert.pem"
    settings.WHARF_REGISTRY_TOKEN_AUTH = True
    out, err = io.StringIO(), io.StringIO()
    call_command("registry_config", stdout=out, stderr=err)
    return yaml.safe_load(Path(out.getvalue().strip()).read_text()), err.getvalue()


def test_registry_config_writes_token_auth_and_creates_the_key_once(tmp_path: Path, settings: Any) -> None:
    config, err = _run_command(tmp_path, settings)
    assert config["auth"]["token"] == {
        "realm": "http://wharf.test:8000/service/token",
        "service": "wharf-registry",
        "issuer": "wharf",
        "rootcertbundle": str((tmp_path / "token" / "cert.pem").resolve()),
    }
    assert "Created the token signing key" in err
    key_before = (tmp_path / "token" / "key.pem").read_bytes()
    _, err_again = _run_command(tmp_path, settings)
    assert err_again == ""
    assert (tmp_path / "token" / "key.pem").read_bytes() == key_before


def test_registry_config_refuses_to_pair_a_new_key_with_an_old_certificate(tmp_path: Path, settings: Any) -> None:
    _run_command(tmp_path, settings)
    (tmp_path / "token" / "key.pem").unlink()
    with pytest.raises(CommandError, match="exists but"):
        _run_command(tmp_path, settings)


def test_registry_config_without_token_auth_has_no_auth_section(tmp_path: Path, settings: Any) -> None:
    settings.WHARF_REGISTRY_TOKEN_AUTH = False
    settings.REGISTRY_STORAGE_DIR = tmp_path / "registry"
    settings.REGISTRY_URL = "http://127.0.0.1:5999"
    out = io.StringIO()
    call_command("registry_config", stdout=out)
    assert "auth" not in yaml.safe_load(Path(out.getvalue().strip()).read_text())


def test_wharf_provider_mints_exactly_the_asked_scopes_for_subject_wharf(key_files: tuple[Path, Path]) -> None:
    provider = WharfTokenProvider()
    token = provider.token_for(["repository:team/app:pull,push", "registry:catalog:*"])
    assert token is not None
    _, claims = decode_token(token, key_files[1])
    assert claims["sub"] == "wharf"
    assert claims["access"] == [
        {"type": "repository", "name": "team/app", "actions": ["pull", "push"]},
        {"type": "registry", "name": "catalog", "actions": ["*"]},
    ]


def test_wharf_provider_reuses_a_token_per_scope_set(key_files: tuple[Path, Path]) -> None:
    provider = WharfTokenProvider()
    first = provider.token_for(["repository:a/b:pull"])
    assert provider.token_for(["repository:a/b:pull"]) == first
    assert provider.token_for(["repository:a/b:delete"]) != first
    assert provider.minted == 2


def test_wharf_provider_without_a_key_sends_no_token(tmp_path: Path, settings: Any) -> None:
    settings.WHARF_TOKEN_KEY = tmp_path / "missing.pem"
    assert WharfTokenProvider().token_for(["repository:a/b:pull"]) is None


def test_registry_client_uses_self_minted_tokens_when_token_auth_is_on(settings: Any) -> None:
    settings.WHARF_REGISTRY_TOKEN_AUTH = True
    reset_registry_client()
    try:
        auth = registry_client().auth
        assert isinstance(auth, ProvidedTokens)
        assert isinstance(auth.provider, WharfTokenProvider)
    finally:
        reset_registry_client()
