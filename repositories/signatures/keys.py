"""Trusted public keys as `cosign generate-key-pair` writes them (`cosign.pub`): a PEM
`PUBLIC KEY` (SubjectPublicKeyInfo) holding an ECDSA P-256, RSA or Ed25519 key; and CA
certificates (PEM `CERTIFICATE`), the trust store Notation signatures are verified against."""

from __future__ import annotations

import base64
import hashlib

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from repositories.text import gettext

PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey
MIN_RSA_BITS = 2048
CERTIFICATE_ALGORITHM = "x509-ca"  # a trusted key row holding a CA certificate (Notation)


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


def is_certificate(pem: str) -> bool:
    return pem.strip().startswith("-----BEGIN CERTIFICATE-----")


def load_ca_certificate(pem: str) -> x509.Certificate:
    """The one CA certificate in `pem` (a root or intermediate of Notation signers), or
    `BadKey` with a message fit for a form error."""
    try:
        certificates = x509.load_pem_x509_certificates(pem.strip().encode())
    except ValueError as exc:
        raise BadKey(gettext("Not a readable PEM certificate (%(exc)s).") % {"exc": exc}) from exc
    if len(certificates) != 1:
        raise BadKey(gettext("Paste one certificate at a time."))
    certificate = certificates[0]
    try:
        is_ca = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        raise BadKey(gettext("This certificate is not a CA: trust the CA that issued the signing certificates."))
    return certificate


def certificate_fingerprint(certificate: x509.Certificate) -> str:
    """SHA-256 of the certificate's DER form, hex."""
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()


def certificate_pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()
