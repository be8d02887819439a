"""Verifying Notation (Notary Project) signatures against a project's x509 trust store.

Pure, like `verify`: takes the envelope bytes and the trust store's PEM root certificates,
returns a `NotationVerdict`; nothing here raises on bad input.

A Notation signature is an OCI 1.1 referrer of the signed manifest (artifact type
`application/vnd.cncf.notary.signature`) whose one layer is the signature envelope. The
JWS form (`application/jose+json`) is a flattened JWS JSON serialisation:

- `protected`: base64url of the protected header: `alg` (PS256/PS384/PS512 = RSASSA-PSS
  with the hash's length as salt, ES256/ES384/ES512 = ECDSA with raw `r||s`), `cty`
  `application/vnd.cncf.notary.payload.v1+json`, `crit` listing at least
  `io.cncf.notary.signingScheme`, the scheme (`notary.x509`) and `io.cncf.notary.signingTime`;
- `payload`: base64url of `{"targetArtifact": {"mediaType", "digest", "size", ...}}`;
- `header.x5c`: the signer's chain, leaf first, each base64 (not url) DER;
- `signature`: base64url of the signature over `ASCII(protected "." payload)`.

The verdict: `signed` when the signature verifies with the leaf's key, the chain leads to
one of the trust store's roots (each link signed by the next, issuers are CAs, every
certificate valid at the signing time) and the payload names the digest; otherwise
`other_digest` (a valid, trusted signature over another artifact), `tampered` (the
signature does not match the protected header and payload), `untrusted` (the chain does
not lead to a trusted root, or a certificate was not valid at signing time / not for
code signing), `no_trust_store` (the project trusts no certificate) or `malformed`.
"""

from __future__ import annotations

import base64
import binascii
import enum
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.x509.oid import ExtendedKeyUsageOID

SIGNATURE_ARTIFACT_TYPE = "application/vnd.cncf.notary.signature"
JWS_MEDIA_TYPE = "application/jose+json"
PAYLOAD_CONTENT_TYPE = "application/vnd.cncf.notary.payload.v1+json"
SIGNING_SCHEME = "io.cncf.notary.signingScheme"
SIGNING_TIME = "io.cncf.notary.signingTime"
MAX_ENVELOPE = 1 << 20

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}


class NotationStatus(enum.StrEnum):
    SIGNED = "signed"
    OTHER_DIGEST = "other_digest"
    TAMPERED = "tampered"
    UNTRUSTED = "untrusted"
    NO_TRUST_STORE = "no_trust_store"
    MALFORMED = "malformed"


@dataclass(frozen=True)
class NotationVerdict:
    status: NotationStatus
    signer: str = ""  # the leaf certificate's subject (RFC 4514)
    detail: str = ""
    trusted_by: x509.Certificate | None = None  # the trust store's certificate the chain leads to

    @property
    def valid(self) -> bool:
        return self.status == NotationStatus.SIGNED


class _Malformed(Exception):
    pass


def _b64url(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or not value:
        raise _Malformed(f"{what} is missing")
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as exc:
        raise _Malformed(f"{what} is not base64url") from exc


def _json_object(data: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _Malformed(f"{what} is not JSON") from exc
    if not isinstance(value, dict):
        raise _Malformed(f"{what} is not a JSON object")
    return value


def load_trust_store(pems: Sequence[str]) -> list[x509.Certificate]:
    """The certificates in PEM texts (each may hold several); unreadable ones are skipped
    (they were checked when added)."""
    roots: list[x509.Certificate] = []
    for pem in pems:
        try:
            roots.extend(x509.load_pem_x509_certificates(pem.encode()))
        except ValueError:
            continue
    return roots


def _verify_jws(alg: str, key: Any, signature: bytes, signed: bytes) -> None:
    """Raise InvalidSignature unless `signature` over `signed` verifies with `key` by `alg`."""
    family, bits = alg[:2], alg[2:]
    digest = _HASHES.get(bits)
    if digest is None:
        raise _Malformed(f"unsupported alg {alg!r}")
    if family == "PS" and isinstance(key, rsa.RSAPublicKey):
        key.verify(
            signature,
            signed,
            padding.PSS(mgf=padding.MGF1(digest()), salt_length=digest().digest_size),
            digest(),
        )
    elif family == "ES" and isinstance(key, ec.EllipticCurvePublicKey):
        half = len(signature) // 2
        if len(signature) % 2 or not half:
            raise InvalidSignature
        r, s = int.from_bytes(signature[:half], "big"), int.from_bytes(signature[half:], "big")
        key.verify(encode_dss_signature(r, s), signed, ec.ECDSA(digest()))
    else:
        raise _Malformed(f"alg {alg!r} does not match the certificate's key")


def _valid_at(cert: x509.Certificate, when: datetime) -> bool:
    return cert.not_valid_before_utc <= when <= cert.not_valid_after_utc


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _for_code_signing(leaf: x509.Certificate) -> bool:
    try:
        usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
        if not usage.digital_signature:
            return False
    except x509.ExtensionNotFound:
        pass
    try:
        purposes = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return True
    return ExtendedKeyUsageOID.CODE_SIGNING in purposes


def _chain_problem(
    chain: list[x509.Certificate], roots: list[x509.Certificate], when: datetime
) -> tuple[str, x509.Certificate | None]:
    """Why `chain` (leaf first) does not lead to a trusted root at `when` ("" when it does),
    and the trust store's certificate it leads to."""
    problem = _chain_links(chain, when)
    if problem:
        return problem, None
    top = chain[-1]
    for root in roots:
        if top == root:
            return "", root
        if top.issuer != root.subject or not _is_ca(root) or not _valid_at(root, when):
            continue
        try:
            top.verify_directly_issued_by(root)
        except (ValueError, TypeError, InvalidSignature):
            continue
        return "", root
    return "no certificate of the project's trust store issued the signer's chain", None


def _chain_links(chain: list[x509.Certificate], when: datetime) -> str:
    if not _for_code_signing(chain[0]):
        return "the signing certificate is not for code signing"
    for cert in chain:
        if not _valid_at(cert, when):
            return f"certificate {cert.subject.rfc4514_string()} was not valid at the signing time"
    for cert, issuer in itertools.pairwise(chain):
        if not _is_ca(issuer):
            return f"{issuer.subject.rfc4514_string()} is not a CA"
        try:
            cert.verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature):
            return f"{cert.subject.rfc4514_string()} is not issued by {issuer.subject.rfc4514_string()}"
    return ""


def verify_notation(
    digest: str, envelope: bytes, trust_store: Sequence[x509.Certificate], *, media_type: str = JWS_MEDIA_TYPE
) -> NotationVerdict:
    """The verdict on one Notation signature envelope for the manifest `digest`."""
    if not trust_store:
        return NotationVerdict(NotationStatus.NO_TRUST_STORE, detail="the project trusts no certificate")
    try:
        return _verify(digest, envelope, list(trust_store), media_type)
    except _Malformed as exc:
        return NotationVerdict(NotationStatus.MALFORMED, detail=str(exc))


def _verify(digest: str, envelope: bytes, roots: list[x509.Certificate], media_type: str) -> NotationVerdict:
    if media_type != JWS_MEDIA_TYPE:
        raise _Malformed(f"envelope type {media_type!r} is not supported (only JWS)")
    if len(envelope) > MAX_ENVELOPE:
        raise _Malformed("envelope too large")
    jws = _json_object(envelope, "envelope")
    protected_b64, payload_b64 = jws.get("protected"), jws.get("payload")
    protected = _json_object(_b64url(protected_b64, "protected header"), "protected header")
    payload = _json_object(_b64url(payload_b64, "payload"), "payload")
    signature = _b64url(jws.get("signature"), "signature")
    header = jws.get("header")
    chain_b64 = header.get("x5c") if isinstance(header, dict) else None
    if not isinstance(chain_b64, list) or not chain_b64 or not all(isinstance(c, str) for c in chain_b64):
        raise _Malformed("header.x5c (the signer's certificate chain) is missing")
    try:
        chain = [x509.load_der_x509_certificate(base64.b64decode(c, validate=True)) for c in chain_b64]
    except (binascii.Error, ValueError) as exc:
        raise _Malformed("header.x5c holds an unreadable certificate") from exc
    alg = protected.get("alg")
    crit = protected.get("crit")
    if not isinstance(alg, str) or protected.get("cty") != PAYLOAD_CONTENT_TYPE:
        raise _Malformed("the protected header lacks alg or the Notation payload type")
    if not isinstance(crit, list) or SIGNING_SCHEME not in crit or not all(k in protected for k in crit):
        raise _Malformed("the protected header's crit must list the signing scheme, and each listed key be present")
    if protected.get(SIGNING_SCHEME) != "notary.x509":
        raise _Malformed(f"signing scheme {protected.get(SIGNING_SCHEME)!r} is not supported")
    try:
        signed_at = datetime.fromisoformat(str(protected.get(SIGNING_TIME, "")).replace("Z", "+00:00"))
    except ValueError as exc:
        raise _Malformed("the signing time is missing or unreadable") from exc
    if signed_at.tzinfo is None:
        signed_at = signed_at.replace(tzinfo=UTC)
    leaf = chain[0]
    signer = leaf.subject.rfc4514_string()
    try:
        _verify_jws(alg, leaf.public_key(), signature, f"{protected_b64}.{payload_b64}".encode("ascii"))
    except InvalidSignature:
        return NotationVerdict(
            NotationStatus.TAMPERED, signer, "the signature does not match the signed header and payload"
        )
    problem, root = _chain_problem(chain, roots, signed_at)
    if problem:
        return NotationVerdict(NotationStatus.UNTRUSTED, signer, problem)
    target = payload.get("targetArtifact")
    signed_digest = target.get("digest") if isinstance(target, dict) else None
    if not isinstance(signed_digest, str):
        raise _Malformed("the payload names no targetArtifact digest")
    if signed_digest != digest:
        return NotationVerdict(NotationStatus.OTHER_DIGEST, signer, f"it signs {signed_digest}", root)
    return NotationVerdict(NotationStatus.SIGNED, signer, trusted_by=root)
