"""Cosign signatures built as cosign writes them, with keys made by `cryptography`.

- `legacy_signature`: the `sha256-<hex>.sig` manifest (`cosign sign --key`): an OCI
  image manifest whose config is an image config listing the layers' diff ids, and
  one `application/vnd.dev.cosign.simplesigning.v1+json` layer per signature, the
  payload blob with the base64 signature in `dev.cosignproject.cosign/signature`
  (and, with `rekor=True`, the `dev.sigstore.cosign/bundle` annotation carrying the
  Rekor hashedrekord entry: signer key and payload hash).
- `bundle_referrer`: an OCI 1.1 referrer (`subject` = the image) whose layer is a
  Sigstore bundle v0.3 with a `messageSignature` over the image manifest.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from repositories.registry.builder import OCI_MANIFEST, Blob, BuiltManifest, canonical_json
from repositories.signatures.keys import hint
from repositories.signatures.verify import (
    BUNDLE_MEDIA_TYPE,
    REKOR_BUNDLE_ANNOTATION,
    SIGNATURE_ANNOTATION,
    SIMPLE_SIGNING_MEDIA_TYPE,
)

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


def new_key(kind: str = "ecdsa") -> PrivateKey:
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    return ec.generate_private_key(ec.SECP256R1())


def public_pem(key: PrivateKey) -> str:
    """`cosign.pub` as `cosign generate-key-pair` writes it."""
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def sign(key: PrivateKey, message: bytes) -> bytes:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(message, ec.ECDSA(hashes.SHA256()))
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    return key.sign(message)


def payload(digest: str, reference: str = "127.0.0.1:5000/demo/web") -> bytes:
    """The simple-signing payload, byte for byte as cosign (Go's json.Marshal) writes it."""
    identity = '{"docker-reference":"' + reference + '"}'
    image = '{"docker-manifest-digest":"' + digest + '"}'
    critical = '{"identity":' + identity + ',"image":' + image + ',"type":"cosign container image signature"}'
    return ('{"critical":' + critical + ',"optional":null}').encode()


def rekor_bundle(key: PrivateKey, signed_payload: bytes, signature: bytes) -> str:
    body = {
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": hashlib.sha256(signed_payload).hexdigest()}},
            "signature": {
                "content": base64.b64encode(signature).decode(),
                "publicKey": {"content": base64.b64encode(public_pem(key).encode()).decode()},
            },
        },
    }
    return json.dumps(
        {
            "SignedEntryTimestamp": base64.b64encode(b"set").decode(),
            "Payload": {
                "body": base64.b64encode(json.dumps(body).encode()).decode(),
                "integratedTime": 1700000000,
                "logIndex": 1,
                "logID": "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d",
            },
        }
    )


def legacy_signature(
    key: PrivateKey,
    digest: str,
    *,
    tamper: bool = False,
    rekor: bool = False,
    signature_override: str | None = None,
) -> BuiltManifest:
    """The `.sig` manifest signing `digest`. `tamper` changes the payload after signing."""
    signed = payload(digest)
    signature = sign(key, signed)
    stored = signed.replace(b'"optional":null', b'"optional":{"tampered":"yes"}') if tamper else signed
    annotations = {SIGNATURE_ANNOTATION: signature_override or base64.b64encode(signature).decode()}
    if rekor:
        annotations[REKOR_BUNDLE_ANNOTATION] = rekor_bundle(key, signed, signature)
    layer = Blob(SIMPLE_SIGNING_MEDIA_TYPE, stored, annotations)
    config_doc = {
        "architecture": "",
        "config": {},
        "created": "0001-01-01T00:00:00Z",
        "history": [{"created": "0001-01-01T00:00:00Z"}],
        "os": "",
        "rootfs": {"type": "layers", "diff_ids": [layer.digest]},
    }
    config = Blob("application/vnd.oci.image.config.v1+json", canonical_json(config_doc))
    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config.descriptor(),
        "layers": [layer.descriptor()],
    }
    return BuiltManifest(OCI_MANIFEST, canonical_json(manifest), blobs=(config, layer))


def bundle_json(key: PrivateKey, message: bytes, *, digest_of: bytes | None = None) -> bytes:
    """A Sigstore bundle v0.3 whose messageSignature signs `message`; `digest_of` names
    other bytes' digest instead (a tampered bundle)."""
    named = hashlib.sha256(digest_of if digest_of is not None else message).digest()
    return json.dumps(
        {
            "mediaType": BUNDLE_MEDIA_TYPE,
            "verificationMaterial": {"publicKey": {"hint": hint(key.public_key())}, "tlogEntries": []},
            "messageSignature": {
                "messageDigest": {"algorithm": "SHA2_256", "digest": base64.b64encode(named).decode()},
                "signature": base64.b64encode(sign(key, message)).decode(),
            },
        }
    ).encode()


def bundle_referrer(subject: BuiltManifest, bundle: bytes) -> BuiltManifest:
    """The OCI 1.1 referrer cosign pushes for a bundle (`--new-bundle-format`)."""
    empty = Blob("application/vnd.oci.empty.v1+json", b"{}")
    layer = Blob(BUNDLE_MEDIA_TYPE, bundle)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": BUNDLE_MEDIA_TYPE,
        "config": empty.descriptor(),
        "layers": [layer.descriptor()],
        "subject": subject.descriptor(),
        "annotations": {"dev.sigstore.bundle.content": "message-signature"},
    }
    return BuiltManifest(OCI_MANIFEST, canonical_json(manifest), blobs=(empty, layer))
