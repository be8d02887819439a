"""The token signing key: an EC P-256 key and a self-signed certificate for it.

The registry's `auth.token.rootcertbundle` is the certificate; every token
carries it in `x5c` (Distribution 3.x and 2.8) and its libtrust key id in `kid`
(2.8 finds the key by it). The files are created by `manage.py registry_config`
when missing and never replaced silently: a new key would invalidate every token
in flight and needs the registry to reload its config.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings

CERT_VALIDITY_DAYS = 10 * 365


class SigningKeyMissing(Exception):
    """The key or certificate file does not exist (run `manage.py registry_config`)."""


@dataclass(frozen=True)
class SigningKey:
    """A loaded key with what goes into every token header."""

    private_key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    kid: str
    x5c: tuple[str, ...]


def libtrust_kid(public_key: ec.EllipticCurvePublicKey) -> str:
    """Docker libtrust's key id: SHA-256 of the DER SubjectPublicKeyInfo, first 240 bits,
    base32 without padding, in 12 groups of 4 characters joined by ':'."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    encoded = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode("ascii").rstrip("=")
    return ":".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Created 0600 from the start: the key is never world-readable, not even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def create_key_pair(key_path: Path, cert_path: Path, *, common_name: str = "Wharf token signer") -> bool:
    """Create the key and certificate if neither exists; returns whether it created them.

    If only one of the two exists, refuse: pairing a new key with an old certificate
    (or the reverse) would make every token fail verification.
    """
    key_exists, cert_exists = key_path.exists(), cert_path.exists()
    if key_exists and cert_exists:
        return False
    if key_exists or cert_exists:
        present, absent = (key_path, cert_path) if key_exists else (cert_path, key_path)
        raise SigningKeyMissing(
            f"{present} exists but {absent} does not; restore it, or remove both to create a new pair."
        )
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CERT_VALIDITY_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    _write_private(
        key_path,
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return True


def load_signing_key(key_path: Path, cert_path: Path) -> SigningKey:
    """Read and check the pair (the certificate must hold the key's public half)."""
    try:
        key_pem, cert_pem = key_path.read_bytes(), cert_path.read_bytes()
    except FileNotFoundError as exc:
        raise SigningKeyMissing(f"{exc.filename} does not exist: run `manage.py registry_config`.") from exc
    private_key = serialization.load_pem_private_key(key_pem, password=None)
    if not isinstance(private_key, ec.EllipticCurvePrivateKey) or private_key.curve.name != "secp256r1":
        raise ValueError(f"{key_path}: the token key must be an EC P-256 key (ES256).")
    certificate = x509.load_pem_x509_certificate(cert_pem)
    public_der = serialization.PublicFormat.SubjectPublicKeyInfo
    if certificate.public_key().public_bytes(serialization.Encoding.DER, public_der) != private_key.public_key(
    ).public_bytes(serialization.Encoding.DER, public_der):
        raise ValueError(f"{cert_path} does not certify the key in {key_path}.")
    x5c = base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode("ascii")
    return SigningKey(
        private_key=private_key,
        certificate=certificate,
        kid=libtrust_kid(private_key.public_key()),
        x5c=(x5c,),
    )


KEY_RECHECK_SECONDS = 30.0  # how often the files' mtimes are looked at again

_clock = time.monotonic  # tests move it
_lock = threading.Lock()
_cache: dict[tuple[str, str], tuple[float, float, float, SigningKey]] = {}


def signing_key() -> SigningKey:
    """The key from settings.WHARF_TOKEN_KEY / WHARF_TOKEN_CERT, loaded once per process.

    Every token is signed with it, so the request path must not read or even stat the
    files: the files' mtimes are looked at again at most every `KEY_RECHECK_SECONDS`,
    and the pair is re-read when either changed, so an operator's key rotation is picked
    up within that time without a restart.
    """
    key_path, cert_path = settings.WHARF_TOKEN_KEY, settings.WHARF_TOKEN_CERT
    cache_key = (str(key_path), str(cert_path))
    now = _clock()
    with _lock:
        cached = _cache.get(cache_key)
    if cached is not None and now - cached[2] < KEY_RECHECK_SECONDS:
        return cached[3]
    key_path, cert_path = Path(key_path), Path(cert_path)
    try:
        mtimes = (key_path.stat().st_mtime, cert_path.stat().st_mtime)
    except FileNotFoundError as exc:
        raise SigningKeyMissing(f"{exc.filename} does not exist: run `manage.py registry_config`.") from exc
    loaded = cached[3] if cached is not None and cached[:2] == mtimes else load_signing_key(key_path, cert_path)
    with _lock:
        _cache[cache_key] = (*mtimes, now, loaded)
    return loaded


def forget_signing_keys() -> None:
    """Drop the loaded keys, so the next token reads the files again (tests, rotation by hand)."""
    with _lock:
        _cache.clear()
