"""Registry rows made directly with the ORM for the repository page tests.

`make_content(project)` gives `<project>/app` with:
- `image`: a linux/amd64 image with layers, config, labels, history and annotations
  (some of them hostile markup), tagged `v1.0` and `v1.1` (two tags, one digest);
- `index`: an OCI index over linux/amd64 and linux/arm64/v8 children, tagged `latest`;
- `other`: an image tagged `v2.0` and `v1x0` (the second tests that `.` in a glob is literal);
- `signature`: an artifact whose subject is `image`, untagged;
- `broken`: an artifact whose manifest could not be read, tagged `broken`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from repositories.models import Artifact, Project, Repository, Tag

HOSTILE = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json"
IMAGE_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"


def digest(seed: str) -> str:
    return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()


@dataclass
class Content:
    repository: Repository
    image: Artifact
    index: Artifact
    other: Artifact
    signature: Artifact
    broken: Artifact


def make_content(project: Project, name: str = "app") -> Content:
    now = timezone.now()
    repository = Repository.objects.create(
        project=project,
        name=f"{project.name}/{name}",
        tag_count=6,
        artifact_count=5,
        size=12_345_678,
        pull_count=42,
        last_push_at=now - timedelta(hours=3),
    )
    manifest = {
        "schemaVersion": 2,
        "mediaType": IMAGE_MEDIA_TYPE,
        "config": {"digest": digest("cfg"), "size": 321},
        "layers": [{"digest": digest("layer1"), "size": 1000}],
        "annotations": {"org.example.note": HOSTILE},
    }
    image = Artifact.objects.create(
        repository=repository,
        digest=digest(f"{repository.name}-image"),
        media_type=IMAGE_MEDIA_TYPE,
        size=5_000_000,
        os="linux",
        architecture="amd64",
        created=now - timedelta(days=2),
        pushed_at=now - timedelta(days=1),
        pull_count=7,
        labels={"org.opencontainers.image.title": "Demo app", "evil": HOSTILE, "huge": "x" * 50_000},
        annotations={"org.example.note": HOSTILE, "org.opencontainers.image.version": "1.0"},
        config={
            "env": ["PATH=/usr/bin", "GREETING=hello"],
            "entrypoint": ["/bin/app"],
            "cmd": ["--serve", HOSTILE],
            "working_dir": "/srv/app",
            "user": "app",
            "exposed_ports": ["8080/tcp"],
            "volumes": ["/data"],
            "history": [
                {"created": "2026-01-02T03:04:05Z", "created_by": "/bin/sh -c #(nop) ADD file:abc in /", "comment": "", "empty_layer": False},
                {"created": "2026-01-02T03:04:06Z", "created_by": f"RUN echo '{HOSTILE}'", "comment": "", "empty_layer": True},
            ],
        },
        layers=[
            {"digest": digest("layer1"), "size": 1000, "media_type": "application/vnd.oci.image.layer.v1.tar+gzip"},
            {"digest": digest("layer2"), "size": 2_500_000, "media_type": "application/vnd.oci.image.layer.v1.tar+gzip"},
        ],
        manifest=json.dumps(manifest, separators=(",", ":")).encode(),
        details_synced=True,
    )
    index = Artifact.objects.create(
        repository=repository,
        digest=digest(f"{repository.name}-index"),
        media_type=INDEX_MEDIA_TYPE,
        kind=Artifact.Kind.INDEX,
        size=7_000_000,
        pushed_at=now - timedelta(hours=3),
        manifest=json.dumps({"schemaVersion": 2, "mediaType": INDEX_MEDIA_TYPE, "manifests": []}).encode(),
        details_synced=True,
    )
    for arch, variant in (("amd64", ""), ("arm64", "v8")):
        Artifact.objects.create(
            repository=repository,
            digest=digest(f"{repository.name}-child-{arch}"),
            media_type=IMAGE_MEDIA_TYPE,
            size=3_500_000,
            os="linux",
            architecture=arch,
            variant=variant,
            parent=index,
            details_synced=True,
        )
    other = Artifact.objects.create(
        repository=repository, digest=digest(f"{repository.name}-other"), media_type=IMAGE_MEDIA_TYPE, size=100, os="linux",
        architecture="amd64", pushed_at=now - timedelta(days=30),
    )
    signature = Artifact.objects.create(
        repository=repository,
        digest=digest(f"{repository.name}-sig"),
        media_type=IMAGE_MEDIA_TYPE,
        artifact_type="application/vnd.example.signature",
        kind=Artifact.Kind.OTHER,
        subject_digest=image.digest,
        size=200,
    )
    broken = Artifact.objects.create(
        repository=repository,
        digest=digest(f"{repository.name}-broken"),
        media_type="",
        error=f"manifest is larger than 4 MiB {HOSTILE}",
        manifest=b"not json at all <b>",
    )
    tags = [
        ("v1.0", image, timedelta(days=1)),
        ("v1.1", image, timedelta(hours=20)),
        ("latest", index, timedelta(hours=3)),
        ("v2.0", other, timedelta(days=30)),
        ("v1x0", other, timedelta(days=29)),
        ("broken", broken, timedelta(days=5)),
    ]
    for tag_name, artifact, age in tags:
        Tag.objects.create(repository=repository, name=tag_name, artifact=artifact, pushed_at=now - age)
    return Content(repository, image, index, other, signature, broken)
