"""Notation JWS envelopes verified against an x509 trust store: vectors built here with
`cryptography` (a root CA, an intermediate, a code-signing leaf), each failure its own status."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from repositories.signatures.notation import (
    PAYLOAD_CONTENT_TYPE,
    NotationStatus,
    load_trust_store,
    verify_notation,
)

DIGEST = "sha256:" + hashlib.sha256(b"the signed manifest").hexdigest()
NOW = datetime.now(UTC)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _cert(
    name: str,
    key: Any,
    issuer: tuple[x509.Certificate, Any] | None,
    *,
    ca: bool,
    code_signing: bool = True,
    days: int = 30,
) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    issuer_name, signing_key = (issuer[0].subject, issuer[1]) if issuer else (subject, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING if code_signing else ExtendedKeyUsageOID.SERVER_AUTH]),
            critical=False,
        )
    return builder.sign(signing_key, hashes.SHA256())


class Pki:
    def __init__(self, name: str = "Wharf test root") -> None:
        self.root_key = ec.generate_private_key(ec.SECP256R1())
        self.root = _cert(name, self.root_key, None, ca=True)
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        self.ca = _cert(f"{name} intermediate", self.ca_key, (self.root, self.root_key), ca=True)
        self.leaf_key = ec.generate_private_key(ec.SECP256R1())
        self.leaf = _cert("release signer", self.leaf_key, (self.ca, self.ca_key), ca=False)

    @property
    def root_pem(self) -> str:
        return self.root.public_bytes(serialization.Encoding.PEM).decode()


def envelope(
    pki: Pki,
    digest: str = DIGEST,
    *,
    key: Any = None,
    chain: list[x509.Certificate] | None = None,
    alg: str = "ES256",
    signed_at: datetime | None = None,
    tamper: bool = False,
) -> bytes:
    """A JWS envelope as `notation sign --signature-format jws` writes it."""
    key = key or pki.leaf_key
    chain = chain if chain is not None else [pki.leaf, pki.ca]
    protected = {
        "alg": alg,
        "crit": ["io.cncf.notary.signingScheme"],
        "cty": PAYLOAD_CONTENT_TYPE,
        "io.cncf.notary.signingScheme": "notary.x509",
        "io.cncf.notary.signingTime": (signed_at or NOW).isoformat().replace("+00:00", "Z"),
    }
    payload = {
        "targetArtifact": {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest,
            "size": 1234,
        }
    }
    protected_b64 = _b64url(json.dumps(protected).encode())
    payload_b64 = _b64url(json.dumps(payload).encode())
    signed = f"{protected_b64}.{payload_b64}".encode()
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(
            signed, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256()
        )
    else:
        r, s = decode_dss_signature(key.sign(signed, ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    if tamper:  # another digest put in after signing
        payload["targetArtifact"]["digest"] = "sha256:" + "0" * 64  # type: ignore[index]
        payload_b64 = _b64url(json.dumps(payload).encode())
    return json.dumps(
        {
            "payload": payload_b64,
            "protected": protected_b64,
            "header": {
                "x5c": [base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode() for c in chain],
                "io.cncf.notary.signingAgent": "notation-go/1.1.0",
            },
            "signature": _b64url(signature),
        }
    ).encode()


@pytest.fixture(scope="module")
def pki() -> Pki:
    return Pki()


def _verify(pki: Pki, data: bytes, digest: str = DIGEST, roots: list[str] | None = None) -> Any:
    return verify_notation(digest, data, load_trust_store(roots if roots is not None else [pki.root_pem]))


def test_a_signature_chained_to_a_trusted_root_and_naming_the_digest_verifies(pki: Pki) -> None:
    verdict = _verify(pki, envelope(pki))
    assert verdict.status == NotationStatus.SIGNED and verdict.valid
    assert verdict.signer == "CN=release signer"


def test_an_rsa_pss_leaf_verifies_too(pki: Pki) -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf = _cert("rsa signer", rsa_key, (pki.ca, pki.ca_key), ca=False)
    assert _verify(pki, envelope(pki, key=rsa_key, chain=[leaf, pki.ca], alg="PS256")).valid


def test_a_signature_over_another_digest_is_other_digest(pki: Pki) -> None:
    verdict = _verify(pki, envelope(pki, "sha256:" + "a" * 64))
    assert verdict.status == NotationStatus.OTHER_DIGEST and "sha256:aaaa" in verdict.detail


def test_a_payload_changed_after_signing_is_tampered(pki: Pki) -> None:
    assert _verify(pki, envelope(pki, tamper=True)).status == NotationStatus.TAMPERED


def test_a_chain_from_another_ca_is_untrusted(pki: Pki) -> None:
    stranger = Pki("Someone else's root")
    verdict = _verify(pki, envelope(stranger))
    assert verdict.status == NotationStatus.UNTRUSTED and "trust store" in verdict.detail
    # Trusting that CA as well makes it pass: the store is a list of roots.
    assert _verify(pki, envelope(stranger), roots=[pki.root_pem, stranger.root_pem]).valid


def test_a_leaf_not_for_code_signing_or_signed_outside_its_validity_is_untrusted(pki: Pki) -> None:
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = _cert("web server", server_key, (pki.ca, pki.ca_key), ca=False, code_signing=False)
    assert _verify(pki, envelope(pki, key=server_key, chain=[server, pki.ca])).status == NotationStatus.UNTRUSTED
    late = _verify(pki, envelope(pki, signed_at=NOW + timedelta(days=90)))
    assert late.status == NotationStatus.UNTRUSTED and "not valid at the signing time" in late.detail


def test_without_a_trust_store_nothing_verifies(pki: Pki) -> None:
    assert _verify(pki, envelope(pki), roots=[]).status == NotationStatus.NO_TRUST_STORE


@pytest.mark.parametrize(
    "data",
    [
        b"not json",
        b"[]",
        b"{}",
        json.dumps({"payload": "!!", "protected": "e30", "signature": "AA", "header": {"x5c": []}}).encode(),
        json.dumps({"payload": "e30", "protected": "e30", "signature": "AA", "header": {"x5c": ["AA=="]}}).encode(),
    ],
)
def test_a_malformed_envelope_is_malformed_never_an_exception(pki: Pki, data: bytes) -> None:
    assert _verify(pki, data).status == NotationStatus.MALFORMED


def test_a_wrong_media_type_or_unknown_alg_is_malformed(pki: Pki) -> None:
    store = load_trust_store([pki.root_pem])
    cose = verify_notation(DIGEST, envelope(pki), store, media_type="application/cose")
    assert cose.status == NotationStatus.MALFORMED
    assert _verify(pki, envelope(pki, alg="HS256")).status == NotationStatus.MALFORMED
