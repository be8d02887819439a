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
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._common import (  # noqa: E402  (needs ROOT on sys.path)
    fill,
    interrupts_raise,
    quiet_registry_config,
    registry_version,
    setup_django,
    token_auth,
)

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


def _pull_token(repositories: Sequence[str]) -> str | None:
    """A pull token for `repositories`, like the one `docker pull` would get, for wrk."""
    from django.conf import settings

    if not settings.WHARF_REGISTRY_TOKEN_AUTH:
        return None
    from accounts.registry_auth.jwt import Access, mint_token

    access = [Access("repository", name, ("pull",)) for name in repositories]
    return mint_token("bench", access, lifetime=3600).token


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


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    if shutil.which(args.wrk) is None:
        raise SystemExit(f"{args.wrk} not found: apt-get install wrk")
    began = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="wharf-sync-bench-", dir=args.tmpdir))
    server: Any = None
    try:
        with interrupts_raise():
            database = setup_django(workdir)
            from django.conf import settings

            from repositories.services.registry import reset_registry_client
            from tests.support.registry import RegistryServer

            server = RegistryServer(workdir / "registry", token_auth=token_auth(args.auth == "token"))
            quiet_registry_config(server.config_path)
            server.start()
            auth = "token auth, Wharf-minted tokens" if args.auth == "token" else "no auth"
            print(
                f"registry   Distribution {registry_version()} at {server.url} ({auth}); database {database}; "
                f"set up in {time.perf_counter() - began:.1f} s"
            )

            filled = fill(server.url, args.repos, args.tags, args.fill_threads)
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
