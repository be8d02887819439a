"""Benchmark the full registry sync against the real registry binary.

Run from the repository root::

    .venv/bin/python benchmarks/sync_bench.py --repos 200 --tags 50

What it does, in one process:

1. starts its own `docker-registry` (CNCF Distribution, via the test harness's
   `RegistryServer`) on a free port with temporary storage, logging at `warn` and
   trusting tokens signed by a throwaway key, as `manage.py registry_config`
   configures Wharf's registry (`--auth none`: an open registry instead); Wharf's
   client mints its tokens in-process, as in production;
2. fills it with R repositories x T tags, each tag a distinct small image (its own
   config blob; the one layer is shared within a repository and uploaded once;
   every fourth repository uses Docker v2 media types), pushed from a thread pool;
3. runs a full sync (`sync_now()`, settings.REGISTRY_URL pointed at that registry),
   then a second one of the unchanged registry (the steady-state cost), printing
   tags, wall time, tags/s, registry requests and requests per tag for each;
4. measures the registry's own manifest GET throughput with
   `wrk -t2 -c16 -d10s` and a Lua script rotating over a sample of real manifest
   URLs (every tag of up to 20 repositories spread over the catalog, at most 1,000),
   sending all four manifest media types in `Accept` and a pull token for those
   repositories;
5. prints the ratio of each sync's request rate (requests / wall time) to wrk's
   requests/s: how close the sync comes to what the registry can serve;
6. stops the registry and deletes its temporary directories at the end, on
   failure and on Ctrl-C (or SIGTERM).

Database: by default a throwaway SQLite file in the temporary directory, its tables
made by `call_command("migrate")`. With `DATABASE_URL` set it uses that database
instead (migrating it first), but refuses if it holds any repository: a full sync
removes every repository the benchmark registry does not have.

Needs the Debian packages `docker-registry` and `wrk` (`--wrk PATH` to use another).
R=200, T=50 takes about 5 minutes on 2 cores, a minute of it deleting the
registry's many small files at the end (`--tmpdir /dev/shm` makes filling and deleting faster).
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WRK_THREADS = 2
WRK_CONNECTIONS = 16
WRK_SECONDS = 10
WRK_SAMPLE = 1000
WRK_REPOSITORIES = 20


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repos", type=int, default=200, help="repositories to create (R)")
    parser.add_argument("--tags", type=int, default=50, help="tags per repository (T)")
    parser.add_argument("--fill-threads", type=int, default=16, help="concurrent pushes while filling")
    parser.add_argument(
        "--concurrency", type=int, default=None, help="sync concurrency (default: WHARF_SYNC_CONCURRENCY)"
    )
    parser.add_argument("--wrk", default=shutil.which("wrk") or "/usr/bin/wrk", help="the wrk binary")
    parser.add_argument(
        "--tmpdir",
        default=None,
        help="where the registry storage and SQLite file go (default: the system's; /dev/shm is faster)",
    )
    parser.add_argument(
        "--auth",
        choices=["token", "none"],
        default="token",
        help="token: the registry trusts Wharf's signed tokens, as deployed (default); none: an open registry",
    )
    return parser.parse_args(argv)


def _setup_django(workdir: Path) -> str:
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
    from repositories.models import Repository

    if given and Repository.objects.exists():
        raise SystemExit(
            "DATABASE_URL points at a database with repositories; the benchmark's full sync would "
            "remove them. Use an empty database, or unset DATABASE_URL for a throwaway SQLite."
        )
    from django.db import connection

    return f"{connection.vendor} ({'given DATABASE_URL' if given else 'temporary file'})"


@contextmanager
def _interrupts_raise() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt, so `finally` blocks clean up as on Ctrl-C."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _token_auth(enabled: bool) -> Any:
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


def _client_auth() -> Any:
    """What `registry_client()` uses: self-minted tokens when token auth is on."""
    from django.conf import settings

    if not settings.WHARF_REGISTRY_TOKEN_AUTH:
        return None
    from accounts.registry_auth.provider import WharfTokenProvider
    from repositories.registry.auth import ProvidedTokens

    return ProvidedTokens(WharfTokenProvider())


def _pull_token(repositories: Sequence[str]) -> str | None:
    """A pull token for `repositories`, like the one `docker pull` would get, for wrk."""
    from django.conf import settings

    if not settings.WHARF_REGISTRY_TOKEN_AUTH:
        return None
    from accounts.registry_auth.jwt import Access, mint_token

    access = [Access("repository", name, ("pull",)) for name in repositories]
    return mint_token("bench", access, lifetime=3600).token


def _quiet_registry_config(config_path: Path) -> None:
    """Log at `warn` like production (`manage.py registry_config`): the test harness
    logs every request at `info`, which costs the registry time under load."""
    import yaml

    config = yaml.safe_load(config_path.read_text())
    config["log"]["level"] = "warn"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))


def _tag_name(index: int) -> str:
    return f"1.{index // 10}.{index % 10}"


@dataclass(frozen=True)
class Filled:
    repositories: list[str]
    manifest_paths: dict[str, list[str]]  # repository → /v2/NAME/manifests/TAG, one per tag
    requests: int
    seconds: float


def _fill(url: str, repos: int, tags: int, threads: int) -> Filled:
    """Push R x T distinct images; the layer of a repository is uploaded once."""
    from repositories.registry import RegistryClient
    from repositories.registry.builder import DOCKER_LAYER, OCI_LAYER, Format, build_image, make_layer

    names = [f"bench{r % 20:02d}/app{r:04d}" for r in range(repos)]
    fmt_of: dict[str, Format] = {name: ("docker" if r % 4 == 3 else "oci") for r, name in enumerate(names)}
    layers = {
        name: make_layer({"app/id": name.encode()}, DOCKER_LAYER if fmt_of[name] == "docker" else OCI_LAYER)
        for name in names
    }
    client = RegistryClient(url, auth=_client_auth(), timeout=30.0, max_retries=1, max_connections=threads)

    def push_layer(name: str) -> None:
        client.upload_blob(name, layers[name][0].data, skip_existing=False)

    def push_tag(name: str, index: int) -> None:
        tag = _tag_name(index)
        image = build_image(
            fmt=fmt_of[name],
            layer_blobs=[layers[name]],
            labels={"org.opencontainers.image.title": name, "org.opencontainers.image.version": tag},
            created=f"2026-01-01T00:{index // 60 % 60:02d}:{index % 60:02d}Z",
        )
        # The config is new by construction: skip the HEAD that upload_blob would send.
        client.upload_blob(name, image.config.data, skip_existing=False)
        client.put_manifest(name, tag, image.raw, image.media_type)

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
    paths = {name: [f"/v2/{name}/manifests/{_tag_name(i)}" for i in range(tags)] for name in names}
    return Filled(names, paths, requests, seconds)


@dataclass(frozen=True)
class SyncFigures:
    label: str
    tags: int
    seconds: float
    requests: int
    status: str
    message: str

    @property
    def request_rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        return (
            f"{self.label:<10} {self.tags:,} tags in {self.seconds:.1f} s = {self.tags / self.seconds:,.0f} tags/s; "
            f"{self.requests:,} registry requests = {self.requests / max(self.tags, 1):.2f} per tag "
            f"({self.request_rate:,.0f} requests/s)"
        )


def _sync(label: str) -> SyncFigures:
    from repositories.models import SyncRun
    from repositories.services.sync import sync_now

    started = time.perf_counter()
    run = sync_now(trigger=SyncRun.Trigger.SYSTEM)
    seconds = time.perf_counter() - started
    if run.status != SyncRun.Status.SUCCEEDED:
        raise SystemExit(f"{label} did not succeed ({run.status}): {run.message}")
    return SyncFigures(label, run.tags_seen, seconds, run.requests, run.status, run.message)


ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)


def _wrk_script(paths: Sequence[str], token: str | None) -> str:
    """Lua for wrk: each request takes the next manifest URL of the sample, round robin."""
    entries = ",\n".join(f'  "{path}"' for path in paths)
    return (
        f"local paths = {{\n{entries}\n}}\n"
        "local i = 0\n"
        f'wrk.headers["Accept"] = "{ACCEPT}"\n'
        + (f'wrk.headers["Authorization"] = "Bearer {token}"\n' if token else "")
        + "function setup(thread)\n"
        "  thread:set('offset', math.random(#paths))\n"
        "end\n"
        "function init(args)\n"
        "  i = offset or 0\n"
        "end\n"
        "function request()\n"
        "  i = i + 1\n"
        "  return wrk.format('GET', paths[(i % #paths) + 1])\n"
        "end\n"
    )


@dataclass(frozen=True)
class WrkFigures:
    requests_per_second: float
    non_2xx: int
    urls: int
    repositories: int
    output: str


def _wrk(binary: str, url: str, paths: dict[str, list[str]], workdir: Path) -> WrkFigures:
    names = sorted(paths)
    sample = names[:: max(1, len(names) // WRK_REPOSITORIES)][:WRK_REPOSITORIES]
    urls = [path for name in sample for path in paths[name]][:WRK_SAMPLE]
    script = workdir / "manifests.lua"
    script.write_text(_wrk_script(urls, _pull_token(sample)))
    result = subprocess.run(  # noqa: S603  (our own arguments)
        [binary, f"-t{WRK_THREADS}", f"-c{WRK_CONNECTIONS}", f"-d{WRK_SECONDS}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        timeout=WRK_SECONDS + 30,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"wrk failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    rate = re.search(r"Requests/sec:\s+([\d.]+)", result.stdout)
    if rate is None:
        raise SystemExit(f"no Requests/sec in wrk's output:\n{result.stdout}")
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", result.stdout)
    return WrkFigures(
        float(rate.group(1)), int(errors.group(1)) if errors else 0, len(urls), len(sample), result.stdout
    )


def _registry_version() -> str:
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


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    if shutil.which(args.wrk) is None:
        raise SystemExit(f"{args.wrk} not found: apt-get install wrk")
    began = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="wharf-sync-bench-", dir=args.tmpdir))
    server: Any = None
    try:
        with _interrupts_raise():
            database = _setup_django(workdir)
            from django.conf import settings

            from repositories.services.registry import reset_registry_client
            from tests.support.registry import RegistryServer

            server = RegistryServer(workdir / "registry", token_auth=_token_auth(args.auth == "token"))
            _quiet_registry_config(server.config_path)
            server.start()
            auth = "token auth, Wharf-minted tokens" if args.auth == "token" else "no auth"
            print(
                f"registry   Distribution {_registry_version()} at {server.url} ({auth}); database {database}; "
                f"set up in {time.perf_counter() - began:.1f} s"
            )

            filled = _fill(server.url, args.repos, args.tags, args.fill_threads)
            total = sum(len(paths) for paths in filled.manifest_paths.values())
            print(
                f"fill       {args.repos} repositories x {args.tags} tags = {total:,} tags in "
                f"{filled.seconds:.1f} s ({total / filled.seconds:,.0f} tags/s, {filled.requests:,} requests, "
                f"{args.fill_threads} threads)"
            )

            settings.REGISTRY_URL = server.url
            if args.concurrency:
                settings.WHARF_SYNC_CONCURRENCY = args.concurrency
            reset_registry_client()
            first = _sync("sync 1")
            print(first.line())
            second = _sync("sync 2")
            print(second.line() + "  (unchanged registry)")
            if first.tags != total or second.tags != total:
                print(f"WARNING    the syncs saw {first.tags:,} and {second.tags:,} tags, not {total:,}")
            reset_registry_client()

            wrk = _wrk(args.wrk, server.url, filled.manifest_paths, workdir)
            print(
                f"wrk        manifest GETs by tag (-t{WRK_THREADS} -c{WRK_CONNECTIONS} -d{WRK_SECONDS}s, "
                f"{wrk.urls:,} URLs in {wrk.repositories} repositories): {wrk.requests_per_second:,.0f} requests/s"
                + (f"; {wrk.non_2xx:,} non-2xx responses!" if wrk.non_2xx else "")
            )
            print(
                f"ratio      sync requests/s / registry manifest GETs/s (sync concurrency "
                f"{settings.WHARF_SYNC_CONCURRENCY}): sync 1 {first.request_rate / wrk.requests_per_second:.2f}, "
                f"sync 2 {second.request_rate / wrk.requests_per_second:.2f}"
            )
    except KeyboardInterrupt:
        print("interrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        cleanup = time.perf_counter()
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        cleanup = time.perf_counter() - cleanup
    print(
        f"total      {time.perf_counter() - began:.0f} s, of which {cleanup:.0f} s deleting the registry's storage"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
