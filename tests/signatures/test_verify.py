"""Verification vectors for the pure verifier, signatures built as cosign writes them.

No database: the verifier is pure, so these run the same on both databases."""

from __future__ import annotations

import pytest

from repositories.registry.builder import build_image
from repositories.signatures.keys import BadKey, load_public_key
from repositories.signatures.verify import (
    BundleSignature,
    LegacySignature,
    Reason,
    Status,
    TrustedKey,
    verify,
)
from tests.support import cosign

KINDS = ["ecdsa", "rsa", "ed25519"]


def _trusted(name: str, key: cosign.PrivateKey) -> TrustedKey:
    return TrustedKey(name, load_public_key(cosign.public_pem(key)))


def _legacy(manifest: object) -> list[LegacySignature]:
    built = manifest  # a BuiltManifest of a .sig tag
    layers = built.json["layers"]  # type: ignore[attr-defined]
    blobs = {blob.digest: blob.data for blob in built.blobs}  # type: ignore[attr-defined]
    return [
        LegacySignature(blobs[layer["digest"]], layer.get("annotations", {}), layer["mediaType"])
        for layer in layers
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_legacy_signature_by_trusted_key_is_signed(kind: str) -> None:
    image = build_image()
    key = cosign.new_key(kind)
    verdict = verify(image.digest, _legacy(cosign.legacy_signature(key, image.digest)), [_trusted("ci", key)])
    assert verdict.status is Status.SIGNED and verdict.key_name == "ci"


def test_legacy_signature_over_another_digest_is_invalid() -> None:
    image, other = build_image(), build_image()
    key = cosign.new_key()
    verdict = verify(image.digest, _legacy(cosign.legacy_signature(key, other.digest)), [_trusted("ci", key)])
    assert (verdict.status, verdict.reason) == (Status.INVALID, Reason.OTHER_DIGEST)


def test_legacy_tampered_payload_is_invalid() -> None:
    image = build_image()
    key = cosign.new_key()
    sig = cosign.legacy_signature(key, image.digest, tamper=True, rekor=True)
    verdict = verify(image.digest, _legacy(sig), [_trusted("ci", key)])
    assert (verdict.status, verdict.reason) == (Status.INVALID, Reason.TAMPERED)


def test_legacy_tampered_payload_without_key_hint_reads_as_wrong_key() -> None:
    image = build_image()
    key = cosign.new_key()
    sig = cosign.legacy_signature(key, image.digest, tamper=True)
    verdict = verify(image.digest, _legacy(sig), [_trusted("ci", key)])
    assert (verdict.status, verdict.reason) == (Status.INVALID, Reason.WRONG_KEY)


@pytest.mark.parametrize("rekor", [False, True])
def test_legacy_signature_by_untrusted_key_is_wrong_key(rekor: bool) -> None:
    image = build_image()
    signer, trusted = cosign.new_key(), cosign.new_key()
    sig = cosign.legacy_signature(signer, image.digest, rekor=rekor)
    verdict = verify(image.digest, _legacy(sig), [_trusted("ci", trusted)])
    assert (verdict.status, verdict.reason) == (Status.INVALID, Reason.WRONG_KEY)


@pytest.mark.parametrize("bad", ["not base64!", ""])
def test_legacy_signature_annotation_malformed(bad: str) -> None:
    image = build_image()
    key = cosign.new_key()
    sig = cosign.legacy_signature(key, image.digest, signature_override=bad or None)
    signatures = _legacy(sig)
    if not bad:
        signatures = [LegacySignature(s.payload, {}, s.media_type) for s in signatures]
    verdict = verify(image.digest, signatures, [_trusted("ci", key)])
    assert (verdict.status, verdict.reason) == (Status.INVALID, Reason.MALFORMED)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[]",
        b'{"critical":{}}',
        b'{"critical":{"image":{"docker-manifest-digest":1},"type":"x"}}',
    ],
)
def test_legacy_payload_that_is_not_simple_signing_is_malformed(body: bytes) -> None:
    key = cosign.new_key()
    sig = LegacySignature(body, {"dev.cosignproject.cosign/signature": "AAAA"})
    verdict = verify("sha256:" + "0" * 64, [sig], [_trusted("ci", key)])
    assert (verdict.status, verdict.reason) == (Status.INVALID, Reason.MALFORMED)


def test_no_signature_is_unsigned() -> None:
    assert verify("sha256:" + "0" * 64, [], []).status is Status.UNSIGNED


def test_signature_without_trusted_keys_says_so() -> None:
    image = build_image()
    verdict = verify(image.digest, _legacy(cosign.legacy_signature(cosign.new_key(), image.digest)), [])
    assert (verdict.status, verdict.reason) == (Status.INVALID, Reason.NO_KEYS)


def test_one_good_signature_among_bad_ones_is_signed() -> None:
    image = build_image()
    good, bad = cosign.new_key(), cosign.new_key()
    signatures = _legacy(cosign.legacy_signature(bad, image.digest)) + _legacy(
        cosign.legacy_signature(good, image.digest)
    )
    verdict = verify(image.digest, signatures, [_trusted("release", good)])
    assert (verdict.status, verdict.key_name) == (Status.SIGNED, "release")


@pytest.mark.parametrize("kind", KINDS)
def test_bundle_signature_by_trusted_key_is_signed(kind: str) -> None:
    image = build_image()
    key = cosign.new_key(kind)
    bundle = BundleSignature(cosign.bundle_json(key, image.raw))
    verdict = verify(image.digest, [bundle], [_trusted("ci", key)], subject_manifest=image.raw)
    assert (verdict.status, verdict.key_name) == (Status.SIGNED, "ci")


def test_bundle_over_another_manifest_is_other_digest() -> None:
    image, other = build_image(), build_image()
    key = cosign.new_key()
    verdict = verify(
        image.digest, [BundleSignature(cosign.bundle_json(key, other.raw))], [_trusted("ci", key)]
    )
    assert (verdict.status, verdict.reason) == (Status.INVALID, Reason.OTHER_DIGEST)


def test_bundle_whose_digest_was_changed_is_tampered() -> None:
    image, other = build_image(), build_image()
    key = cosign.new_key()
    bundle = BundleSignature(cosign.bundle_json(key, other.raw, digest_of=image.raw))
    verdict = verify(image.digest, [bundle], [_trusted("ci", key)], subject_manifest=image.raw)
    assert (verdict.status, verdict.reason) == (Status.INVALID, Reason.TAMPERED)


def test_bundle_by_untrusted_key_is_wrong_key() -> None:
    image = build_image()
    bundle = BundleSignature(cosign.bundle_json(cosign.new_key(), image.raw))
    verdict = verify(image.digest, [bundle], [_trusted("ci", cosign.new_key())], subject_manifest=image.raw)
    assert (verdict.status, verdict.reason) == (Status.INVALID, Reason.WRONG_KEY)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"[]",
        b'{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}',
        b'{"mediaType":"application/vnd.dev.sigstore.bundle.v0.1+json","messageSignature":'
        b'{"messageDigest":{"algorithm":"SHA2_256","digest":"AA=="},"signature":"AA=="}}',
        b'{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","messageSignature":'
        b'{"messageDigest":{"algorithm":"SHA2_256","digest":"AA=="},"signature":"AA=="}}',
        b'{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","messageSignature":'
        b'{"messageDigest":{"algorithm":"SHA2_256","digest":"%%"},"signature":"AA=="}}',
        b'{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":[],'
        b'"messageSignature":{"messageDigest":{"algorithm":"SHA2_256","digest":"AA=="},"signature":"AA=="}}',
    ],
)
def test_malformed_bundle_is_malformed(body: bytes) -> None:
    verdict = verify("sha256:" + "0" * 64, [BundleSignature(body)], [_trusted("ci", cosign.new_key())])
    assert (verdict.status, verdict.reason) == (Status.INVALID, Reason.MALFORMED)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "PEM public key"),
        ("hello", "PEM public key"),
        ("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----", "readable"),
        ("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----", "private key"),
    ],
)
def test_bad_pem_is_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(BadKey, match=message):
        load_public_key(text)


def test_weak_or_foreign_keys_are_refused() -> None:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    p384 = ec.generate_private_key(ec.SECP384R1())
    with pytest.raises(BadKey, match="P-256"):
        load_public_key(cosign.public_pem(p384))  # type: ignore[arg-type]
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(BadKey, match="2048"):
        load_public_key(cosign.public_pem(small))
