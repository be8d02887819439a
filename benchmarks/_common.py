"""What the registry benchmarks share: Django on a throwaway database, a registry that
trusts Wharf's tokens, Ctrl-C/SIGTERM cleanup, and filling the registry with distinct images.

Imported by `sync_bench.py` and `retention_bench.py` (run from the repository root, which
they put on `sys.path` first); not a module of the product.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any


def setup_django(workdir: Path) -> str:
    """Configure Django on a throwaway SQLite (or the DATABASE_URL given); returns a label."""
    given = os.environ.get("DATABASE_URL")
    if not given:
        os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    # Keep the settings' generated files (secret key, static root) out of the checkout's var/.
    os.environ.setdefault("WHARF_VAR_DIR", str(workdir / "var"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    # Settings log every registry request at INFO: 30,000 lines would cost time and bury the figures.
    for name in ("httpx", "httpcore", "repositories"):
        logging.getLogger(name).setLevel(logging.WARNING)
    from repositories.models import Advisory, Repository

    if given and (Repository.objects.exists() or Advisory.objects.exists()):
        raise SystemExit(
            "DATABASE_URL must name an empty database: the benchmark syncs (removing what the "
            "registry lacks) and imports into it. Unset it for a throwaway SQLite."
        )
    from django.db import connection

    return f"{connection.vendor} ({'given DATABASE_URL' if given else 'temporary file'})"


@contextmanager
def interrupts_raise() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt, so `finally` blocks clean up as on Ctrl-C."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def token_auth(enabled: bool) -> Any:
    """The registry's `auth.token` trusting Wharf's signing key (created in the temp VAR_DIR),
    and Wharf's client minting tokens in-process; None (and no tokens) for an open registry."""
    from django.conf import settings

    settings.WHARF_REGISTRY_TOKEN_AUTH = enabled
    if not enabled:
        return None
    from accounts.registry_auth.keys import create_key_pair
    from repositories.registry.config import TokenAuth

    create_key_pair(Path(settings.WHARF_TOKEN_KEY), Path(settings.WHARF_TOKEN_CERT))
    return TokenAuth(
        realm="http://127.0.0.1:9/service/token",  # never called: Wharf's client mints its own tokens
        service=settings.WHARF_TOKEN_SERVICE,
        issuer=settings.WHARF_TOKEN_ISSUER,
        rootcertbundle=str(settings.WHARF_TOKEN_CERT),
    )


def client_auth() -> Any:
    """What `registry_client()` uses: self-minted tokens when token auth is on."""
    from django.conf import settings

    if not settings.WHARF_REGISTRY_TOKEN_AUTH:
        return None
    from accounts.registry_auth.provider import WharfTokenProvider
    from repositories.registry.auth import ProvidedTokens

    return ProvidedTokens(WharfTokenProvider())


def quiet_registry_config(config_path: Path) -> None:
    """Log at `warn` like production (`manage.py registry_config`): the test harness
    logs every request at `info`, which costs the registry time under load."""
    import yaml

    config = yaml.safe_load(config_path.read_text())
    config["log"]["level"] = "warn"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))


def registry_version() -> str:
    try:
        out = subprocess.run(  # noqa: S603
            [shutil.which("docker-registry") or "/usr/bin/docker-registry", "--version"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout
    except OSError:
        return "docker-registry"
    return out.strip().split()[-1] if out.strip() else "docker-registry"


def tag_name(index: int) -> str:
    return f"1.{index // 10}.{index % 10}"


@dataclass(frozen=True)
class Filled:
    repositories: list[str]
    manifest_paths: dict[str, list[str]]  # repository → /v2/NAME/manifests/TAG, one per tag
    digests: dict[str, list[str]]  # repository → manifest digest of each tag, in tag order
    requests: int
    seconds: float
    configs: dict[str, list[str]] = field(default_factory=dict)  # repository → config digest of each tag


def fill(url: str, repos: int, tags: int, threads: int, *, namespace: str | None = None) -> Filled:
    """Push R x T distinct images; the layer of a repository is uploaded once.

    Repositories are spread over 20 namespaces (`bench07/app0027`), or all in `namespace`
    (one Wharf project) when it is given. Tag i of a repository is `tag_name(i)`, its image
    created i seconds after 2026-01-01T00:00:00Z (Wharf's first sync takes that as its push
    time, so a higher i is a more recent push), every fourth repository in Docker v2 media types.
    """
    from repositories.registry import RegistryClient
    from repositories.registry.builder import DOCKER_LAYER, OCI_LAYER, Format, build_image, make_layer

    if namespace:
        names = [f"{namespace}/app{r:04d}" for r in range(repos)]
    else:
        names = [f"bench{r % 20:02d}/app{r:04d}" for r in range(repos)]
    fmt_of: dict[str, Format] = {name: ("docker" if r % 4 == 3 else "oci") for r, name in enumerate(names)}
    layers = {
        name: make_layer({"app/id": name.encode()}, DOCKER_LAYER if fmt_of[name] == "docker" else OCI_LAYER)
        for name in names
    }
    digests: dict[tuple[str, int], str] = {}
    configs: dict[tuple[str, int], str] = {}
    client = RegistryClient(url, auth=client_auth(), timeout=30.0, max_retries=1, max_connections=threads)

    def push_layer(name: str) -> None:
        client.upload_blob(name, layers[name][0].data, skip_existing=False)

    def push_tag(name: str, index: int) -> None:
        tag = tag_name(index)
        image = build_image(
            fmt=fmt_of[name],
            layer_blobs=[layers[name]],
            labels={"org.opencontainers.image.title": name, "org.opencontainers.image.version": tag},
            created=f"2026-01-01T00:{index // 60 % 60:02d}:{index % 60:02d}Z",
        )
        # The config is new by construction: skip the HEAD that upload_blob would send.
        client.upload_blob(name, image.config.data, skip_existing=False)
        digests[(name, index)] = client.put_manifest(name, tag, image.raw, image.media_type)
        configs[(name, index)] = image.config.digest

    started = time.perf_counter()
    try:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            for future in as_completed([pool.submit(push_layer, name) for name in names]):
                future.result()
            jobs = [pool.submit(push_tag, name, i) for name in names for i in range(tags)]
            try:
                for future in as_completed(jobs):
                    future.result()
            except BaseException:
                for job in jobs:
                    job.cancel()
                raise
        seconds = time.perf_counter() - started
        requests = client.request_count
    finally:
        client.close()
    paths = {name: [f"/v2/{name}/manifests/{tag_name(i)}" for i in range(tags)] for name in names}
    by_name = {name: [digests[(name, i)] for i in range(tags)] for name in names}
    config_digests = {name: [configs[(name, i)] for i in range(tags)] for name in names}
    return Filled(names, paths, by_name, requests, seconds, config_digests)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def fill_storage(storage: Path, repos: int, tags: int, threads: int = 4, *, namespace: str | None = None) -> Filled:
    """The same R x T images as `fill`, written straight into the registry's filesystem storage.

    Pushing 100,000 tags through the registry takes 10-20 minutes on 2 cores; writing the
    files the registry's filesystem driver would have written takes about a minute, so a
    sync of 100,000 tags can be measured at all. The layout is CNCF Distribution 2.x's
    (`docs/registry.md`, "Filesystem storage layout"): blobs under
    `docker/registry/v2/blobs/sha256/<2>/<hex>/data`, and per repository the `_layers` links
    of its blobs (which also make the catalog list it), the manifest's revision link and the
    tag's `current` and `index` links. The registry serves what it finds there as it would a
    pushed image (manifest reads by tag and digest, blob reads, tag lists, the catalog);
    `requests` is 0 since none were made. The registry may be running: nothing it caches
    refers to files that did not exist.
    """
    from repositories.registry.builder import DOCKER_LAYER, OCI_LAYER, Format, build_image, make_layer

    root = storage / "docker" / "registry" / "v2"
    if namespace:
        names = [f"{namespace}/app{r:04d}" for r in range(repos)]
    else:
        names = [f"bench{r % 20:02d}/app{r:04d}" for r in range(repos)]
    fmt_of: dict[str, Format] = {name: ("docker" if r % 4 == 3 else "oci") for r, name in enumerate(names)}

    def blob(digest: str, data: bytes) -> None:
        hex_ = digest.split(":", 1)[1]
        _write(root / "blobs" / "sha256" / hex_[:2] / hex_ / "data", data)

    def link(path: Path, digest: str) -> None:
        _write(path, digest.encode())

    def one_repository(name: str) -> tuple[str, list[str], list[str]]:
        layer = make_layer({"app/id": name.encode()}, DOCKER_LAYER if fmt_of[name] == "docker" else OCI_LAYER)
        repository = root / "repositories" / name
        blob(layer[0].digest, layer[0].data)
        link(repository / "_layers" / "sha256" / layer[0].digest.split(":", 1)[1] / "link", layer[0].digest)
        digests, configs = [], []
        for index in range(tags):
            tag = tag_name(index)
            image = build_image(
                fmt=fmt_of[name],
                layer_blobs=[layer],
                labels={"org.opencontainers.image.title": name, "org.opencontainers.image.version": tag},
                created=f"2026-01-01T00:{index // 60 % 60:02d}:{index % 60:02d}Z",
            )
            config, digest = image.config, image.digest
            blob(config.digest, config.data)
            link(repository / "_layers" / "sha256" / config.digest.split(":", 1)[1] / "link", config.digest)
            blob(digest, image.raw)
            hex_ = digest.split(":", 1)[1]
            manifests = repository / "_manifests"
            link(manifests / "revisions" / "sha256" / hex_ / "link", digest)
            link(manifests / "tags" / tag / "current" / "link", digest)
            link(manifests / "tags" / tag / "index" / "sha256" / hex_ / "link", digest)
            digests.append(digest)
            configs.append(config.digest)
        return name, digests, configs

    started = time.perf_counter()
    by_name: dict[str, list[str]] = {}
    config_digests: dict[str, list[str]] = {}
    if repos == 1:  # one big repository: its tags in parallel would need a split; one thread is fine
        results = [one_repository(names[0])]
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            results = list(pool.map(one_repository, names))
    for name, digests, configs in results:
        by_name[name], config_digests[name] = digests, configs
    seconds = time.perf_counter() - started
    paths = {name: [f"/v2/{name}/manifests/{tag_name(i)}" for i in range(tags)] for name in names}
    return Filled(names, paths, by_name, 0, seconds, config_digests)

