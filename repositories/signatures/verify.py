"""Verifying cosign signatures of one artifact against a project's trusted keys.

Pure: takes the signature material as plain data (payloads, annotations, bundle
bytes) and returns a `Verdict`. Two forms, as cosign writes them:

- legacy: a `sha256-<hex>.sig` tag whose manifest has one layer per signature, of
  media type `application/vnd.dev.cosign.simplesigning.v1+json`; the layer blob is
  the simple-signing payload (`critical.image.docker-manifest-digest` names the
  signed digest) and the `dev.cosignproject.cosign/signature` annotation is the
  base64 signature over the payload bytes (ECDSA/RSA-PKCS#1 v1.5 with SHA-256, or
  Ed25519). With a transparency log upload cosign adds `dev.sigstore.cosign/bundle`,
  whose Rekor entry names the signer's key and the payload's hash.
- OCI 1.1 referrer: a manifest with a `subject` whose layer is a Sigstore bundle v0.3
  (`application/vnd.dev.sigstore.bundle.v0.3+json`) carrying a `messageSignature`
  over the manifest (`messageDigest` is its SHA-256) and a key `hint`.

Reasons of an invalid verdict: `other_digest` (a trusted key signed, but another
artifact), `tampered` (the signer is a trusted key, per the key named in the
signature material, but the signature no longer matches what was signed),
`wrong_key` (no trusted key verifies it; without a key hint a changed payload looks
the same and is reported so too), `no_keys` (the project trusts no key) and
`malformed`. Nothing here raises on bad input.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from .keys import BadKey, PublicKey, fingerprint, hint, load_public_key

SIMPLE_SIGNING_MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
REKOR_BUNDLE_ANNOTATION = "dev.sigstore.cosign/bundle"
BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
SIMPLE_SIGNING_TYPE = "cosign container image signature"


class Status(enum.StrEnum):
    SIGNED = "signed"
    INVALID = "invalid"
    UNSIGNED = "unsigned"


class Reason(enum.StrEnum):
    NONE = ""
    OTHER_DIGEST = "other_digest"
    TAMPERED = "tampered"
    WRONG_KEY = "wrong_key"
    NO_KEYS = "no_keys"
    MALFORMED = "malformed"


# When every signature fails, the verdict names the most telling reason.
_REASON_ORDER = (Reason.OTHER_DIGEST, Reason.TAMPERED, Reason.WRONG_KEY, Reason.NO_KEYS, Reason.MALFORMED)


@dataclass(frozen=True, slots=True)
class TrustedKey:
    name: str
    key: PublicKey


@dataclass(frozen=True, slots=True)
class LegacySignature:
    """One layer of a `.sig` manifest: its blob and its annotations."""

    payload: bytes
    annotations: dict[str, str]
    media_type: str = SIMPLE_SIGNING_MEDIA_TYPE


@dataclass(frozen=True, slots=True)
class BundleSignature:
    """The bundle blob of an OCI 1.1 referrer."""

    bundle: bytes


Signature = LegacySignature | BundleSignature


@dataclass(frozen=True, slots=True)
class Verdict:
    status: Status
    key_name: str = ""
    reason: Reason = Reason.NONE
    detail: str = ""


UNSIGNED = Verdict(Status.UNSIGNED)


def _invalid(reason: Reason, detail: str) -> Verdict:
    return Verdict(Status.INVALID, reason=reason, detail=detail)


def _b64(text: Any) -> bytes | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _verifies(key: PublicKey, signature: bytes, message: bytes | None, digest: bytes) -> bool:
    """Whether `signature` is `key`'s over the message whose SHA-256 is `digest`.
    ECDSA and RSA sign the hash, so `digest` suffices; Ed25519 needs the message."""
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, digest, ec.ECDSA(Prehashed(hashes.SHA256())))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
        elif isinstance(key, ed25519.Ed25519PublicKey):
            if message is None:
                return False
            key.verify(signature, message)
        else:  # pragma: no cover - load_public_key admits no other type
            return False
    except (InvalidSignature, ValueError):
        return False
    return True


def _signed_by(
    keys: Sequence[TrustedKey], signature: bytes, message: bytes | None, digest: bytes
) -> TrustedKey | None:
    return next((k for k in keys if _verifies(k.key, signature, message, digest)), None)


def _trusted_by_fingerprint(keys: Sequence[TrustedKey], print_: str) -> TrustedKey | None:
    return next((k for k in keys if fingerprint(k.key) == print_), None)


def _rekor_claim(annotation: str | None) -> tuple[str, str] | None:
    """(signer key fingerprint, signed payload sha256 hex) from cosign's Rekor bundle
    annotation, or None when absent or unreadable (it is only a hint here)."""
    if not annotation:
        return None
    try:
        body = json.loads(base64.b64decode(json.loads(annotation)["Payload"]["body"]))
        spec = body["spec"]
        pem = base64.b64decode(spec["signature"]["publicKey"]["content"]).decode()
        return fingerprint(load_public_key(pem)), str(spec["data"]["hash"]["value"])
    except (KeyError, TypeError, ValueError, BadKey):
        return None


def _verify_legacy(subject: str, sig: LegacySignature, keys: Sequence[TrustedKey]) -> Verdict:
    if sig.media_type != SIMPLE_SIGNING_MEDIA_TYPE:
        return _invalid(Reason.MALFORMED, f"Layer media type {sig.media_type!r} is not a cosign payload.")
    signature = _b64(sig.annotations.get(SIGNATURE_ANNOTATION))
    if signature is None:
        return _invalid(Reason.MALFORMED, f"Missing or non-base64 {SIGNATURE_ANNOTATION} annotation.")
    try:
        payload = json.loads(sig.payload)
        claimed = payload["critical"]["image"]["docker-manifest-digest"]
        kind = payload["critical"]["type"]
    except (ValueError, KeyError, TypeError):
        return _invalid(Reason.MALFORMED, "The payload is not a simple-signing document.")
    if not isinstance(claimed, str) or not isinstance(kind, str) or kind.lower() != SIMPLE_SIGNING_TYPE:
        return _invalid(Reason.MALFORMED, "The payload is not a cosign image signature.")
    if not keys:
        return _invalid(Reason.NO_KEYS, "The project trusts no key.")
    digest = hashlib.sha256(sig.payload).digest()
    signer = _signed_by(keys, signature, sig.payload, digest)
    if signer is not None:
        if claimed != subject:
            return _invalid(Reason.OTHER_DIGEST, f"Signed by {signer.name}, but for {claimed}.")
        return Verdict(Status.SIGNED, key_name=signer.name)
    claim = _rekor_claim(sig.annotations.get(REKOR_BUNDLE_ANNOTATION))
    if claim is not None:
        named = _trusted_by_fingerprint(keys, claim[0])
        if named is not None:
            return _invalid(Reason.TAMPERED, f"Signed by {named.name}, but the payload was changed since.")
    return _invalid(Reason.WRONG_KEY, "No trusted key verifies this signature.")


def _verify_bundle(
    subject: str, subject_manifest: bytes | None, sig: BundleSignature, keys: Sequence[TrustedKey]
) -> Verdict:
    try:
        bundle = json.loads(sig.bundle)
        media_type = bundle["mediaType"]
        message = bundle["messageSignature"]
        algorithm = message["messageDigest"]["algorithm"]
        digest = _b64(message["messageDigest"]["digest"])
        signature = _b64(message["signature"])
        key_hint = (bundle.get("verificationMaterial") or {}).get("publicKey", {}).get("hint", "")
    except (ValueError, KeyError, TypeError, AttributeError):
        return _invalid(Reason.MALFORMED, "The bundle is not a Sigstore bundle with a message signature.")
    if media_type != BUNDLE_MEDIA_TYPE:
        return _invalid(Reason.MALFORMED, f"Bundle media type {media_type!r} is not {BUNDLE_MEDIA_TYPE}.")
    if algorithm != "SHA2_256" or digest is None or len(digest) != 32 or signature is None:
        return _invalid(
            Reason.MALFORMED, "The message signature is not a base64 SHA2_256 digest and signature."
        )
    if not keys:
        return _invalid(Reason.NO_KEYS, "The project trusts no key.")
    claimed = "sha256:" + digest.hex()
    manifest = None
    if subject_manifest is not None and hashlib.sha256(subject_manifest).digest() == digest:
        manifest = subject_manifest
    signer = _signed_by(keys, signature, manifest, digest)
    if signer is not None:
        if claimed != subject:
            return _invalid(Reason.OTHER_DIGEST, f"Signed by {signer.name}, but for {claimed}.")
        return Verdict(Status.SIGNED, key_name=signer.name)
    named = next((k for k in keys if key_hint and hint(k.key) == key_hint), None)
    if named is not None:
        return _invalid(Reason.TAMPERED, f"Names {named.name}, but its signature does not match the message.")
    return _invalid(Reason.WRONG_KEY, "No trusted key verifies this signature.")


def verify(
    subject: str,
    signatures: Sequence[Signature],
    keys: Sequence[TrustedKey],
    *,
    subject_manifest: bytes | None = None,
) -> Verdict:
    """The verdict on artifact `subject` (a digest) given its cosign signatures: signed
    if any verifies with a trusted key and names `subject`, unsigned if there are none,
    else invalid with the most telling reason. `subject_manifest` (its bytes) lets
    Ed25519 bundle signatures verify, which sign the message itself, not its hash."""
    if not signatures:
        return UNSIGNED
    failures: list[Verdict] = []
    for sig in signatures:
        if isinstance(sig, LegacySignature):
            verdict = _verify_legacy(subject, sig, keys)
        else:
            verdict = _verify_bundle(subject, subject_manifest, sig, keys)
        if verdict.status is Status.SIGNED:
            return verdict
        failures.append(verdict)
    return min(failures, key=lambda v: _REASON_ORDER.index(v.reason))
