"""Accessory rows (signatures, SBOMs, attestations, referrers) made with the ORM on
top of `make_content` (tests/pages/repository_content.py), for the page and API tests.

`add_accessories(content)` adds to `<project>/app`:
- on `image` (tags `v1.0`, `v1.1`): cosign tags `sha256-<hex>.sig`, `.sbom` and `.att`
  (the untagged `content.signature`, whose `subject` is `image`, makes a second signature);
- on `index` (tag `latest`): an OCI referrers-schema index tagged `sha256-<hex>`;
- on `other` (tags `v2.0`, `v1x0`): an SPDX SBOM with a `subject`, tagged `sbom-v2`;
- an orphan: `sha256-<hex>.sig` of a digest that is not in the repository;
- `lonely`, an untagged image, and `sha256-<hex>.att` of it (a subject with no tag).
"""

from __future__ import annotations

from dataclasses import dataclass

from repositories.models import Artifact, Repository, Tag
from tests.pages.repository_content import IMAGE_MEDIA_TYPE, INDEX_MEDIA_TYPE, Content, digest

COSIGN_SIGNATURE_LAYER = "application/vnd.dev.cosign.simplesigning.v1+json"


def reference_tag(subject: str, suffix: str = "") -> str:
    """The cosign / referrers tag of `subject` (`sha256:<hex>` → `sha256-<hex>.sig`)."""
    return subject.replace(":", "-", 1) + suffix


@dataclass
class Accessories:
    sig: Artifact
    sbom: Artifact
    att: Artifact
    referrers: Artifact
    spdx: Artifact
    orphan: Artifact
    missing_subject: str
    lonely: Artifact
    lonely_att: Artifact


def tagged(repository: Repository, seed: str, tag: str, **fields: object) -> Artifact:
    values: dict[str, object] = {"media_type": IMAGE_MEDIA_TYPE, "size": 300, **fields}
    artifact = Artifact.objects.create(repository=repository, digest=digest(f"{repository.name}-{seed}"), **values)
    Tag.objects.create(repository=repository, name=tag, artifact=artifact)
    return artifact


def add_accessories(content: Content) -> Accessories:
    repository = content.repository
    image, index = content.image.digest, content.index.digest
    sig = tagged(repository, "cosign-sig", reference_tag(image, ".sig"), artifact_type=COSIGN_SIGNATURE_LAYER)
    sbom = tagged(repository, "cosign-sbom", reference_tag(image, ".sbom"))
    att = tagged(repository, "cosign-att", reference_tag(image, ".att"))
    referrers = tagged(
        repository, "referrers", reference_tag(index), media_type=INDEX_MEDIA_TYPE, kind=Artifact.Kind.INDEX
    )
    spdx = tagged(
        repository,
        "spdx",
        "sbom-v2",
        artifact_type="application/spdx+json",
        kind=Artifact.Kind.OTHER,
        subject_digest=content.other.digest,
    )
    missing = digest("never pushed here")
    orphan = tagged(repository, "orphan-sig", reference_tag(missing, ".sig"))
    lonely = Artifact.objects.create(repository=repository, digest=digest(f"{repository.name}-lonely"), size=10)
    lonely_att = tagged(repository, "lonely-att", reference_tag(lonely.digest, ".att"))
    return Accessories(sig, sbom, att, referrers, spdx, orphan, missing, lonely, lonely_att)
