"""`manage.py seed_demo`: push a few small sample images, then sync, so the portal has content.

Pushes into settings.REGISTRY_URL with Wharf's own client (`registry_client()`):

- `library/alpine`: 3.19, 3.20 and `latest` (the same digest as 3.20);
- `demo/web`: v1.0.0 and v1.1.0 (single-platform OCI images), v1.2.0 and `latest`
  (an OCI index over linux/amd64 and linux/arm64/v8), with OCI labels, history,
  env, entrypoint and exposed ports, plus an SPDX SBOM artifact whose `subject` is
  v1.1.0, tagged the cosign way (`sha256-<hex>.sbom`: 2.8 has no referrers API);
- `demo/api`: Docker v2 manifests (v0.9.0, v1.0.0 and `latest`).

Content is deterministic (fixed files and creation times), so running it again
pushes byte-identical manifests and changes nothing. The `demo` and `library`
projects are created public when missing, so every signed-in user can browse them;
existing projects are left as they are. A sync runs in-process at the end, so the
images show up even when registry notifications are not configured.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from audit.context import Actor
from portal.stored_text import shown
from repositories.models import Project, SyncRun
from repositories.registry import RegistryError
from repositories.registry.builder import (
    DOCKER_LAYER,
    OCI_LAYER,
    Blob,
    BuiltManifest,
    Format,
    build_artifact,
    build_image,
    build_index,
    canonical_json,
    make_layer,
    push,
)
from repositories.services.projects import create_project
from repositories.services.registry import registry_client
from repositories.services.sync import sync_now

SOURCE = "https://github.com/example/wharf-demo"
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SBOM_TYPE = "application/spdx+json"
PROJECTS = {"demo": "Sample images pushed by `manage.py seed_demo`.", "library": "Base images."}


@dataclass(frozen=True)
class DemoTag:
    """One tag the command pushes: where, under which name, and what."""

    repository: str
    tag: str
    manifest: BuiltManifest


def _layer(files: Mapping[str, str], fmt: Format = "oci") -> tuple[Blob, str]:
    """A layer with fixed files (and mtimes): the same bytes, so the same digest, every run."""
    return make_layer(
        {name: text.encode() for name, text in files.items()}, OCI_LAYER if fmt == "oci" else DOCKER_LAYER
    )


def _alpine_layer(version: str, architecture: str, fmt: Format = "oci") -> tuple[Blob, str]:
    return _layer(
        {
            "etc/alpine-release": f"{version}\n",
            "etc/os-release": f'NAME="Alpine Linux"\nID=alpine\nVERSION_ID={version}\nARCH={architecture}\n',
        },
        fmt,
    )


def _alpine(version: str, created: str) -> BuiltManifest:
    return build_image(
        layer_blobs=[_alpine_layer(version, "amd64")],
        labels={"org.opencontainers.image.title": "alpine", "org.opencontainers.image.version": version},
        env=(PATH_ENV,),
        cmd=("/bin/sh",),
        working_dir="/",
        exposed_ports=(),
        created=created,
        history=[
            f"/bin/sh -c #(nop) ADD file:alpine-minirootfs-{version}-x86_64.tar.gz in / ",
            '/bin/sh -c #(nop)  CMD ["/bin/sh"]',
        ],
    )


def _web(
    version: str, created: str, architecture: str = "amd64", variant: str | None = None
) -> BuiltManifest:
    return build_image(
        architecture=architecture,
        variant=variant,
        layer_blobs=[
            _alpine_layer("3.20.3", architecture),
            _layer({"app/VERSION": f"{version}\n", "app/index.html": f"<h1>demo web {version}</h1>\n"}),
        ],
        labels={
            "org.opencontainers.image.source": f"{SOURCE}-web",
            "org.opencontainers.image.title": "demo-web",
            "org.opencontainers.image.version": version,
            "org.opencontainers.image.description": "A tiny static web server for the Wharf demo.",
            "org.opencontainers.image.licenses": "Apache-2.0",
        },
        env=(PATH_ENV, f"APP_VERSION={version}", "PORT=8080"),
        entrypoint=("/usr/bin/python3", "-m", "http.server"),
        cmd=("8080",),
        working_dir="/app",
        exposed_ports=("8080/tcp",),
        created=created,
        history=[
            "/bin/sh -c #(nop) ADD file:alpine-minirootfs-3.20.3 in / ",
            "COPY app/ /app/ # buildkit",
            f"ENV APP_VERSION={version} PORT=8080",
            "WORKDIR /app",
            "EXPOSE map[8080/tcp:{}]",
            'ENTRYPOINT ["/usr/bin/python3" "-m" "http.server"]',
            'CMD ["8080"]',
        ],
    )


def _api(version: str, created: str) -> BuiltManifest:
    return build_image(
        fmt="docker",
        layer_blobs=[
            _alpine_layer("3.19.4", "amd64", "docker"),
            _layer({"srv/api": f"#!/bin/sh\necho demo api {version}\n"}, "docker"),
        ],
        labels={
            "org.opencontainers.image.source": f"{SOURCE}-api",
            "org.opencontainers.image.title": "demo-api",
            "org.opencontainers.image.version": version,
        },
        env=(PATH_ENV, "LOG_LEVEL=info"),
        entrypoint=("/srv/api",),
        cmd=(),
        working_dir="/srv",
        exposed_ports=("9000/tcp",),
        created=created,
        history=[
            "/bin/sh -c #(nop) ADD file:alpine-minirootfs-3.19.4 in / ",
            "/bin/sh -c #(nop) COPY file:api in /srv/api ",
            "/bin/sh -c #(nop)  ENV LOG_LEVEL=info",
            "/bin/sh -c #(nop)  EXPOSE 9000/tcp",
            '/bin/sh -c #(nop)  ENTRYPOINT ["/srv/api"]',
        ],
    )


def _sbom(subject: BuiltManifest, created: str) -> BuiltManifest:
    document: dict[str, Any] = {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": "demo-web",
        "creationInfo": {"created": created, "creators": ["Tool: wharf-seed-demo"]},
        "packages": [
            {"SPDXID": "SPDXRef-alpine-baselayout", "name": "alpine-baselayout", "versionInfo": "3.6.5-r0"},
            {"SPDXID": "SPDXRef-python3", "name": "python3", "versionInfo": "3.12.7-r0"},
        ],
    }
    return build_artifact(
        SBOM_TYPE,
        canonical_json(document),
        payload_media_type=SBOM_TYPE,
        subject=subject,
        annotations={"org.opencontainers.image.created": created},
    )


def demo_tags() -> list[DemoTag]:
    """Everything the command pushes, in push order (children and subjects first)."""
    alpine_319 = _alpine("3.19.4", "2025-09-05T10:00:00Z")
    alpine_320 = _alpine("3.20.3", "2025-09-06T10:00:00Z")
    web_100 = _web("1.0.0", "2026-01-05T09:00:00Z")
    web_110 = _web("1.1.0", "2026-02-10T09:00:00Z")
    web_120 = build_index(
        [
            _web("1.2.0", "2026-03-20T09:00:00Z", "amd64"),
            _web("1.2.0", "2026-03-20T09:00:00Z", "arm64", "v8"),
        ],
        annotations={
            "org.opencontainers.image.version": "1.2.0",
            "org.opencontainers.image.source": f"{SOURCE}-web",
        },
    )
    sbom = _sbom(web_110, "2026-02-10T09:05:00Z")
    api_090 = _api("0.9.0", "2026-01-20T14:00:00Z")
    api_100 = _api("1.0.0", "2026-03-01T14:00:00Z")
    return [
        DemoTag("library/alpine", "3.19", alpine_319),
        DemoTag("library/alpine", "3.20", alpine_320),
        DemoTag("library/alpine", "latest", alpine_320),
        DemoTag("demo/web", "v1.0.0", web_100),
        DemoTag("demo/web", "v1.1.0", web_110),
        DemoTag("demo/web", "v1.2.0", web_120),
        DemoTag("demo/web", "latest", web_120),
        DemoTag("demo/web", web_110.digest.replace(":", "-") + ".sbom", sbom),
        DemoTag("demo/api", "v0.9.0", api_090),
        DemoTag("demo/api", "v1.0.0", api_100),
        DemoTag("demo/api", "latest", api_100),
    ]


def _ensure_projects(names: Sequence[str]) -> list[str]:
    """Create the missing demo projects as public ones; returns the names created."""
    created = []
    for name in names:
        if not Project.objects.filter(name=name).exists():
            create_project(
                actor=Actor.system("seed_demo"), name=name, is_public=True, description=PROJECTS[name]
            )
            created.append(name)
    return created


class Command(BaseCommand):
    help = "Push a few small sample images into the registry (REGISTRY_URL) and sync them into Wharf."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--base-url",
            default=None,
            help="Where Wharf's web server answers, for the link printed at the end (default: WHARF_PUBLIC_URL).",
        )
        parser.add_argument("--no-sync", action="store_true", help="Push only; do not run a sync afterwards.")

    def handle(self, *args: Any, **options: Any) -> None:
        client = registry_client()
        url = str(client.base_url).rstrip("/")
        try:
            client.ping()
        except RegistryError as exc:
            if exc.transient:
                raise CommandError(
                    _(
                        "The registry at %(url)s cannot be reached (%(exc)s). Start it (`make run` does) or point REGISTRY_URL at a running registry, then try again."
                    )
                    % {"url": url, "exc": exc}
                ) from exc
            raise CommandError(
                _(
                    "The registry at %(url)s refused Wharf (%(exc)s). Check that it trusts Wharf's tokens (`manage.py registry_config`) or set REGISTRY_USERNAME and REGISTRY_PASSWORD."
                )
                % {"url": url, "exc": exc}
            ) from exc
        tags = demo_tags()
        repositories = sorted({item.repository for item in tags})
        # Before pushing: push notifications would otherwise create them private first.
        created = _ensure_projects(sorted({name.split("/", 1)[0] for name in repositories}))
        if created:
            self.stdout.write(_("created public projects: %(created)s") % {"created": ", ".join(created)})
        try:
            for item in tags:
                push(client, item.repository, item.manifest, tag=item.tag)
        except RegistryError as exc:
            raise CommandError(
                _("Pushing the demo images to %(url)s failed: %(exc)s") % {"url": url, "exc": exc}
            ) from exc
        summary = _("pushed %(tags)s tags in %(repositories)s repositories to %(url)s") % {
            "tags": len(tags),
            "repositories": len(repositories),
            "url": url,
        }
        if not options["no_sync"]:
            run = sync_now(trigger=SyncRun.Trigger.SYSTEM)
            if run.status == SyncRun.Status.SUCCEEDED:
                summary = _("%(summary)s; synced: %(message)s") % {
                    "summary": summary,
                    "message": shown(run.message, run.message_i18n),
                }
            elif run.status == SyncRun.Status.FAILED:
                raise CommandError(
                    _("%(summary)s, but the sync failed: %(message)s")
                    % {"summary": summary, "message": shown(run.message, run.message_i18n)}
                )
            else:  # another sync was queued or running already: it will pick the images up
                summary = _("%(summary)s; a sync is already %(status)s (run %(pk)s)") % {
                    "summary": summary,
                    "status": run.get_status_display().lower(),
                    "pk": run.pk,
                }
        base = (options["base_url"] or settings.WHARF_PUBLIC_URL).rstrip("/")
        self.stdout.write(
            self.style.SUCCESS(
                _("%(summary)s\nopen %(base)s/projects/demo/") % {"summary": summary, "base": base}
            )
        )
