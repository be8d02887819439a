"""The signing key, the libtrust key id and the tokens' headers and claims."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from accounts.registry_auth.jwt import CLOCK_SKEW_SECONDS, Access, mint_token
from accounts.registry_auth.keys import SigningKeyMissing, create_key_pair, libtrust_kid, load_signing_key
from tests.token_service.conftest import decode_token

# A fixed P-256 key, and its libtrust key id computed outside this code base:
#   openssl pkey -in fixed.pem -pubout -outform DER | openssl dgst -sha256 -binary \
#     | head -c 30 | base32   ->  K6B2PNSIOJMZBNRJUR6F2VE5UILHEP2T2UX3AKZB3IZJAM6T
FIXED_KEY_PEM = b"""-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgw29wQYkrPj2TUE5Y
jnNepmHLJmnUeJlr8pZ7U5yZWp2hRANCAASdl9wcafhWUNT/3JJfXj44adSyShkE
yLvW9OG55/hnhWP8slCkn/0kDTx6zCRCyPTbJUolPwMhsP5iEoAz6T3q
-----END PRIVATE KEY-----
"""
FIXED_KID = "K6B2:PNSI:OJMZ:BNRJ:UR6F:2VE5:UILH:EP2T:2UX3:AKZB:3IZJ:AM6T"


def _fixed_public_key() -> object:
    return serialization.load_pem_private_key(FIXED_KEY_PEM, password=None).public_key()


def test_libtrust_kid_matches_the_known_vector() -> None:
    assert libtrust_kid(_fixed_public_key()) == FIXED_KID  # type: ignore[arg-type]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_libtrust_kid_matches_openssl_for_a_fresh_key(tmp_path: Path) -> None:
    create_key_pair(tmp_path / "k.pem", tmp_path / "c.pem")
    der = subprocess.run(
        ["openssl", "pkey", "-in", str(tmp_path / "k.pem"), "-pubout", "-outform", "DER"],
        capture_output=True,
        check=True,
    ).stdout
    digest = subprocess.run(["openssl", "dgst", "-sha256", "-binary"], input=der, capture_output=True, check=True).stdout
    encoded = base64.b32encode(digest[:30]).decode()
    expected = ":".join(encoded[i : i + 4] for i in range(0, 48, 4))
    assert load_signing_key(tmp_path / "k.pem", tmp_path / "c.pem").kid == expected


def test_key_pair_is_created_once_and_never_replaced(tmp_path: Path) -> None:
    key, cert = tmp_path / "t" / "key.pem", tmp_path / "t" / "cert.pem"
    assert create_key_pair(key, cert) is True
    before = key.read_bytes(), cert.read_bytes()
    assert create_key_pair(key, cert) is False
    assert (key.read_bytes(), cert.read_bytes()) == before
    assert key.stat().st_mode & 0o777 == 0o600


def test_half_a_key_pair_is_refused_rather_than_silently_regenerated(tmp_path: Path) -> None:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    create_key_pair(key, cert)
    cert.unlink()
    with pytest.raises(SigningKeyMissing, match="exists but"):
        create_key_pair(key, cert)
    assert not cert.exists()


def test_loading_a_certificate_of_another_key_fails(tmp_path: Path) -> None:
    create_key_pair(tmp_path / "a.pem", tmp_path / "a.crt")
    create_key_pair(tmp_path / "b.pem", tmp_path / "b.crt")
    with pytest.raises(ValueError, match="does not certify"):
        load_signing_key(tmp_path / "a.pem", tmp_path / "b.crt")


def test_token_header_has_es256_libtrust_kid_and_the_certificate_in_x5c(key_files: tuple[Path, Path]) -> None:
    key = load_signing_key(*key_files)
    minted = mint_token("developer", [], key=key)
    header, _ = decode_token(minted.token, key_files[1])
    assert header["alg"] == "ES256"
    assert header["typ"] == "JWT"
    assert header["kid"] == key.kid
    assert len(header["kid"]) == 59 and header["kid"].count(":") == 11
    certificate = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
    assert certificate == x509.load_pem_x509_certificate(key_files[1].read_bytes())


def test_token_claims_carry_string_audience_issuer_subject_and_access(key_files: tuple[Path, Path]) -> None:
    access = [Access("repository", "acme/app", ("pull", "push")), Access("registry", "catalog", ("*",))]
    minted = mint_token("developer", access, now=1_800_000_000, lifetime=300)
    _, claims = decode_token(minted.token, key_files[1])
    assert claims["aud"] == "wharf-registry"
    assert isinstance(claims["aud"], str)
    assert claims["iss"] == "wharf"
    assert claims["sub"] == "developer"
    assert claims["access"] == [
        {"type": "repository", "name": "acme/app", "actions": ["pull", "push"]},
        {"type": "registry", "name": "catalog", "actions": ["*"]},
    ]
    assert claims["iat"] == 1_800_000_000
    assert claims["exp"] == 1_800_000_300
    assert claims["nbf"] == 1_800_000_000 - CLOCK_SKEW_SECONDS
    assert minted.expires_in == 300 and minted.issued_at == 1_800_000_000


def test_lifetime_comes_from_settings_and_every_token_has_its_own_jti(
    settings: object, key_files: tuple[Path, Path]
) -> None:
    settings.WHARF_TOKEN_LIFETIME = 90  # type: ignore[attr-defined]
    first = decode_token(mint_token("a", []).token, key_files[1])[1]
    second = decode_token(mint_token("a", []).token, key_files[1])[1]
    assert first["exp"] - first["iat"] == 90
    assert first["jti"] != second["jti"]
    assert first["access"] == []


def test_a_tampered_token_does_not_verify(key_files: tuple[Path, Path]) -> None:
    head, body, signature = mint_token("guest", [Access("repository", "acme/app", ("pull",))]).token.split(".")
    forged_body = base64.urlsafe_b64encode(
        base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).replace(b'"pull"', b'"push"')
    ).rstrip(b"=").decode()
    with pytest.raises(InvalidSignature):
        decode_token(f"{head}.{forged_body}.{signature}", key_files[1])


def test_the_signing_key_is_loaded_once_and_a_rotation_is_seen_within_the_recheck_time(
    tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from accounts.registry_auth import keys

    now = [1000.0]
    monkeypatch.setattr(keys, "_clock", lambda: now[0])
    key_path, cert_path = tmp_path / "k.pem", tmp_path / "c.pem"
    create_key_pair(key_path, cert_path)
    settings.WHARF_TOKEN_KEY, settings.WHARF_TOKEN_CERT = key_path, cert_path
    first = keys.signing_key()
    reads: list[Path] = []
    original = keys.load_signing_key
    monkeypatch.setattr(keys, "load_signing_key", lambda k, c: reads.append(k) or original(k, c))
    key_path.unlink()
    cert_path.unlink()
    create_key_pair(key_path, cert_path)  # rotated by an operator
    os.utime(key_path, (1, 1))  # a different mtime even on a coarse clock
    assert keys.signing_key() is first and reads == []  # no file read (not even a stat) on the hot path
    now[0] += keys.KEY_RECHECK_SECONDS + 1
    rotated = keys.signing_key()
    assert rotated.kid != first.kid and reads == [key_path]
    now[0] += keys.KEY_RECHECK_SECONDS + 1
    assert keys.signing_key() is rotated and reads == [key_path]  # unchanged files are not read again
