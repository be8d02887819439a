"""Trusted public keys as `cosign generate-key-pair` writes them (`cosign.pub`): a PEM
`PUBLIC KEY` (SubjectPublicKeyInfo) holding an ECDSA P-256, RSA or Ed25519 key."""

from __future__ import annotations

import base64
import hashlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from repositories.text import gettext

PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey
MIN_RSA_BITS = 2048


class BadKey(ValueError):
    """The text is not a public key Wharf can verify cosign signatures with."""


def load_public_key(pem: str) -> PublicKey:
    """The key in `pem`, or `BadKey` with a message fit for a form error."""
    text = pem.strip()
    if "PRIVATE KEY" in text:
        raise BadKey(gettext("This is a private key; paste the public key (cosign.pub)."))
    if not text.startswith("-----BEGIN PUBLIC KEY-----"):
        raise BadKey(gettext("Expected a PEM public key starting with -----BEGIN PUBLIC KEY-----."))
    try:
        key = serialization.load_pem_public_key(text.encode())
    except (ValueError, TypeError) as exc:
        raise BadKey(gettext("Not a readable PEM public key (%(exc)s).") % {"exc": exc}) from exc
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise BadKey(gettext("ECDSA keys must use P-256, not %(name)s.") % {"name": key.curve.name})
        return key
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise BadKey(
                gettext("RSA keys must have at least %(min_bits)s bits, not %(key_size)s.")
                % {"min_bits": MIN_RSA_BITS, "key_size": key.key_size}
            )
        return key
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key
    raise BadKey(gettext("Only ECDSA P-256, RSA and Ed25519 public keys are supported."))


def algorithm_of(key: PublicKey) -> str:
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "ecdsa-p256"
    if isinstance(key, rsa.RSAPublicKey):
        return f"rsa-{key.key_size}"
    return "ed25519"


def fingerprint(key: PublicKey) -> str:
    """SHA-256 of the DER SubjectPublicKeyInfo, hex: how keys are told apart."""
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def hint(key: PublicKey) -> str:
    """The key hint a Sigstore bundle carries for a key (base64 of the SHA-256 of the
    DER SubjectPublicKeyInfo), as cosign writes it."""
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.standard_b64encode(hashlib.sha256(der).digest()).decode()


def normalized_pem(key: PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
