"""What the replication tests share: content pushed to a real registry, and the
registry's own access log read back to count what it was sent."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from repositories.registry import RegistryClient
from repositories.registry.builder import (
    BuiltManifest,
    build_artifact,
    build_image,
    build_index,
    make_layer,
    push,
)
from tests.support import cosign
from tests.support.registry import RegistryServer

_REQUEST = re.compile(r'http\.request\.method=(\w+) .*?http\.request\.uri="?([^" ]+)"? ')


@dataclass
class Content:
    image: BuiltManifest
    index: BuiltManifest
    signature: BuiltManifest
    referrer: BuiltManifest


def push_content(client: RegistryClient, repository: str) -> Content:
    """An image `v1` with its cosign `.sig` tag and an OCI referrer pushed by digest, and
    a two-platform index `multi` sharing a base layer with the image."""
    base = make_layer()
    image = build_image(layer_blobs=[base, make_layer()])
    index = build_index(
        [
            build_image(architecture="amd64", layer_blobs=[base, make_layer()]),
            build_image(architecture="arm64", variant="v8", layer_blobs=[base, make_layer()]),
        ]
    )
    push(client, repository, image, "v1")
    push(client, repository, index, "multi")
    signature = cosign.legacy_signature(cosign.new_key(), image.digest)
    push(client, repository, signature, image.digest.replace(":", "-") + ".sig")
    referrer = build_artifact("application/spdx+json", b'{"spdxVersion":"SPDX-2.3"}', subject=image)
    push(client, repository, referrer)
    return Content(image=image, index=index, signature=signature, referrer=referrer)


class AccessLog:
    """The requests a registry logged since `mark()`: (method, path) pairs."""

    def __init__(self, server: RegistryServer) -> None:
        self.server = server
        self.offset = 0

    def mark(self) -> None:
        self.offset = self.server.log_path.stat().st_size

    def requests(self) -> list[tuple[str, str]]:
        with self.server.log_path.open("rb") as log:
            log.seek(self.offset)
            text = log.read().decode(errors="replace")
        return [
            (m.group(1), m.group(2))
            for line in text.splitlines()
            if "response completed" in line and (m := _REQUEST.search(line))
        ]

    def blob_uploads(self) -> int:
        """Blob bytes sent: upload PUTs and PATCHes (a mount is a POST answered 201)."""
        return sum(
            1 for method, uri in self.requests() if method in ("PUT", "PATCH") and "/blobs/uploads/" in uri
        )

    def mounts(self) -> int:
        return sum(1 for method, uri in self.requests() if method == "POST" and "mount=" in uri)


def notify_push(repository: str, digest: str, media_type: str, tag: str = "") -> None:
    """What the registry's push notification does in Wharf (a manifest pushed by
    digest only is invisible to a sync: Distribution cannot list untagged manifests)."""
    from repositories.services.events import handle_notification
    from repositories.tasks import fill_artifact_details

    target = {"repository": repository, "digest": digest, "mediaType": media_type, "size": 1}
    if tag:
        target["tag"] = tag
    outcome = handle_notification(
        {
            "events": [
                {
                    "id": str(uuid.uuid4()),
                    "timestamp": "2026-12-06T10:00:00.123Z",
                    "action": "push",
                    "target": target,
                    "request": {"addr": "10.1.2.3:5555", "method": "PUT"},
                    "actor": {"name": "ci"},
                }
            ]
        }
    )
    for artifact_id in outcome.details_wanted:
        fill_artifact_details(artifact_id)
