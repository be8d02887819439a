"""End to end against the real registry: an image and its cosign `.sig` pushed with
Wharf's OCI client, the registry's push notifications handled as the endpoint does,
then the badge on the tag list and the verdicts after key changes."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from django.core.exceptions import ValidationError

from audit.context import Actor
from repositories.models import Artifact, ArtifactSignature, Project
from repositories.registry.builder import BuiltManifest, build_image, push
from repositories.registry.manifests import OCI_MANIFEST
from repositories.services import signatures
from repositories.services.events import handle_notification
from repositories.tasks import enqueue_details, enqueue_signature_checks
from tests.factories import MembershipFactory, UserFactory
from tests.support import cosign

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

ACTOR = Actor.system("test")


def _notify(capture: Any, repository: str, tag: str, digest: str) -> None:
    body = {
        "events": [
            {
                "id": str(uuid.uuid4()),
                "timestamp": "2026-12-06T10:00:00.123Z",
                "action": "push",
                "target": {
                    "repository": repository,
                    "digest": digest,
                    "tag": tag,
                    "mediaType": OCI_MANIFEST,
                    "size": 1,
                },
                "request": {"addr": "10.1.2.3:5555", "method": "PUT"},
                "actor": {"name": "ci"},
            }
        ]
    }
    with capture(execute=True):  # as the endpoint (`repositories.webhooks`) does
        outcome = handle_notification(body)
        enqueue_details(outcome.details_wanted)
        enqueue_signature_checks(outcome.signatures_wanted)


def _push(server: Any, capture: Any, manifest: BuiltManifest, tag: str) -> str:
    digest = push(server.client(), "acme/web", manifest, tag)
    _notify(capture, "acme/web", tag, digest)
    return digest


def _sig_tag(digest: str) -> str:
    return digest.replace(":", "-") + ".sig"


def _badge(client: Any, tag: str) -> str:
    page = client.get("/projects/acme/repositories/web/").content.decode()
    row = page.split(f'data-tag="{tag}"', 1)[1].split("</tr>", 1)[0]
    return row.split('data-signature="', 1)[1].split('"', 1)[0]


def test_a_pushed_signature_is_verified_and_shown_on_the_tag_list(
    wharf_registry: Any, django_capture_on_commit_callbacks: Any, client: Any
) -> None:
    project = Project.objects.create(name="acme")
    admin = UserFactory(username="alice")
    MembershipFactory(project=project, user=admin, role="project_admin")
    client.force_login(admin)
    key, stranger = cosign.new_key(), cosign.new_key()
    with django_capture_on_commit_callbacks(execute=True):
        signatures.add_key(project=project, name="release", public_key=cosign.public_pem(key), actor=ACTOR)

    image, other = build_image(), build_image()
    digest = _push(wharf_registry, django_capture_on_commit_callbacks, image, "v1")
    other_digest = _push(wharf_registry, django_capture_on_commit_callbacks, other, "v2")
    assert _badge(client, "v1") == "unsigned"

    _push(
        wharf_registry,
        django_capture_on_commit_callbacks,
        cosign.legacy_signature(key, digest),
        _sig_tag(digest),
    )
    assert _badge(client, "v1") == "signed"
    assert "release" in client.get(f"/projects/acme/repositories/web/-/artifacts/{digest}/").content.decode()

    # A signature by an untrusted key is invalid, and says why.
    sig = cosign.legacy_signature(stranger, other_digest)
    _push(wharf_registry, django_capture_on_commit_callbacks, sig, _sig_tag(other_digest))
    assert _badge(client, "v2") == "invalid"
    verdict = ArtifactSignature.objects.get(artifact__digest=other_digest)
    assert verdict.reason == "wrong_key"

    # The filter on the page and the API agree.
    signed_only = client.get("/projects/acme/repositories/web/?signature=signed").content.decode()
    assert 'data-tag="v1"' in signed_only and 'data-tag="v2"' not in signed_only
    rows = client.get("/api/v1/repositories/acme/web/-/tags/?signature=invalid").json()["results"]
    assert [r["name"] for r in rows] == ["v2"] and rows[0]["signature"]["reason"] == "wrong_key"

    # Trusting the stranger's key re-verifies the project (the task runs on commit).
    with django_capture_on_commit_callbacks(execute=True):
        signatures.add_key(project=project, name="ci", public_key=cosign.public_pem(stranger), actor=ACTOR)
    assert _badge(client, "v2") == "signed"
    # Removing the release key leaves v1's signature untrusted.
    with django_capture_on_commit_callbacks(execute=True):
        signatures.remove_key(project.trusted_keys.get(name="release"), actor=ACTOR)
    assert _badge(client, "v1") == "invalid"


def test_a_bundle_referrer_signs_its_subject(
    wharf_registry: Any, django_capture_on_commit_callbacks: Any
) -> None:
    project = Project.objects.create(name="acme")
    key = cosign.new_key("ed25519")
    signatures.add_key(project=project, name="release", public_key=cosign.public_pem(key), actor=ACTOR)
    image = build_image()
    digest = _push(wharf_registry, django_capture_on_commit_callbacks, image, "v1")
    referrer = cosign.bundle_referrer(image, cosign.bundle_json(key, image.raw))
    push(wharf_registry.client(), "acme/web", referrer)
    _notify(django_capture_on_commit_callbacks, "acme/web", "", referrer.digest)
    verdict = ArtifactSignature.objects.get(artifact=Artifact.objects.get(digest=digest))
    assert (verdict.status, verdict.key_name) == ("signed", "release")


def test_a_sync_that_finds_a_signature_verifies_it(wharf_registry: Any) -> None:
    from repositories.models import SyncRun
    from repositories.services.sync import request_sync
    from repositories.tasks import run_sync

    project = Project.objects.create(name="acme")
    key = cosign.new_key("rsa")
    signatures.add_key(project=project, name="release", public_key=cosign.public_pem(key), actor=ACTOR)
    image = build_image()
    digest = push(wharf_registry.client(), "acme/web", image, "v1")
    push(wharf_registry.client(), "acme/web", cosign.legacy_signature(key, digest), _sig_tag(digest))
    run, _ = request_sync(actor=ACTOR, scope=SyncRun.Scope.PROJECT, project=project)
    run_sync(run.pk)  # the task, as the worker runs it: sync, then verification
    verdict = ArtifactSignature.objects.get(artifact__digest=digest)
    assert (verdict.status, verdict.key_name) == ("signed", "release")


def test_a_notation_signature_verifies_against_the_projects_ca_certificates(
    wharf_registry: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from repositories.registry.builder import build_artifact
    from repositories.signatures.notation import JWS_MEDIA_TYPE, SIGNATURE_ARTIFACT_TYPE
    from tests.signatures.test_notation import Pki, envelope

    project = Project.objects.create(name="acme")
    pki, stranger = Pki(), Pki("Someone else's root")
    image = build_image()
    digest = _push(wharf_registry, django_capture_on_commit_callbacks, image, "v1")

    def sign(data: bytes) -> None:
        referrer = build_artifact(
            SIGNATURE_ARTIFACT_TYPE, data, payload_media_type=JWS_MEDIA_TYPE, subject=image
        )
        push(wharf_registry.client(), "acme/web", referrer)
        _notify(django_capture_on_commit_callbacks, "acme/web", "", referrer.digest)

    def verdict() -> tuple[str, str, str]:
        row = ArtifactSignature.objects.get(artifact=Artifact.objects.get(digest=digest))
        return row.status, row.key_name, row.reason

    sign(envelope(stranger, digest))
    assert verdict() == ("invalid", "", "no_keys")  # the project trusts no certificate yet
    with pytest.raises(ValidationError):  # a signing (leaf) certificate is not a trust anchor
        signatures.add_key(project=project, name="leaf", public_key=pki.leaf.public_bytes(Encoding.PEM).decode(), actor=ACTOR)
    with django_capture_on_commit_callbacks(execute=True):
        signatures.add_key(project=project, name="corp-ca", public_key=pki.root_pem, actor=ACTOR)
    assert verdict() == ("invalid", "", "untrusted")  # another CA's chain

    sign(envelope(pki, digest, tamper=True))
    assert verdict()[2] == "tampered"  # more telling than an untrusted chain
    sign(envelope(pki, digest))
    assert verdict() == ("signed", "corp-ca", "")
    assert ArtifactSignature.objects.get(artifact__digest=digest).detail == "Notation: CN=release signer"
