"""Against the real registry: a cosign-style signature tag and an OCI 1.1 SBOM with a
`subject`, pushed beside an image and synced, are nested under the image's tag."""

from __future__ import annotations

import pytest

from repositories.services.sync import sync_now
from tests.pages.accessory_content import COSIGN_SIGNATURE_LAYER, reference_tag
from tests.support.images import build_artifact, build_image, push

pytestmark = [pytest.mark.slow]


def test_a_synced_cosign_signature_is_nested_under_its_image(world, wharf_registry):
    client = wharf_registry.client()
    image = build_image()
    push(client, "acme/app", image, tag="v1")
    signature = build_artifact(
        "application/vnd.dev.cosign.artifact.sig.v1+json",
        b'{"critical":{"image":{"docker-manifest-digest":"' + image.digest.encode() + b'"}}}',
        payload_media_type=COSIGN_SIGNATURE_LAYER,
    )
    sig_tag = reference_tag(image.digest, ".sig")
    push(client, "acme/app", signature, tag=sig_tag)
    sbom = build_artifact("application/spdx+json", b'{"spdxVersion":"SPDX-2.3"}', subject=image)
    push(client, "acme/app", sbom, tag="sbom-v1")
    run = sync_now()
    assert run.status == "succeeded", run.message

    response = world.client("guest").get("/projects/acme/repositories/app/")

    assert [t.name for t in response.context["page"].rows] == ["v1"]
    html = response.content.decode()
    row = html.split('<tr data-tag="v1">', 1)[1].split("</tr>", 1)[0]
    assert 'data-accessory-kind="signature"' in row and f'data-accessory="{sig_tag}"' in row
    assert 'data-accessory-kind="sbom"' in row and 'data-accessory="sbom-v1"' in row
    assert f"/-/artifacts/{signature.digest}/" in row
    assert "Last synced" in html and f"#{run.pk}, full sync" in html
