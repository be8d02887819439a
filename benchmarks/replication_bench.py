"""Benchmark push replication of R repositories x T tags between two local registries
against `skopeo sync` of the same set, in the same run.

Run from the repository root::

    .venv/bin/python benchmarks/replication_bench.py --repos 20 --tags 10 --rounds 3

What it does, in one process:

1. starts three `docker-registry` processes (the test harness's `RegistryServer`,
   logging at `warn`, open: no token auth): the source, playing Wharf's own registry,
   and one empty destination for each contender;
2. fills the source with R x T distinct small images (`_common.fill`: a config of
   its own per tag, one layer per repository) and syncs Wharf's database from it
   (push replication chooses its candidates from Wharf's rows);
3. each round: empties both destinations (new storage, same ports), then runs, in
   alternating order, Wharf's replication (a push rule over the R repositories to a
   registry endpoint, `runs.run_now`, concurrency `--concurrency`) and
   `skopeo sync --src yaml` of the same repositories (all tags) into the other;
   each is timed from start to finish and checked: every tag is at its destination;
4. prints each round's tags/s of both and the ratio Wharf / skopeo, then the median,
   min and max of the ratio, with the load average (the machine is shared: read the
   ratio, not the absolute figures);
5. stops the registries and deletes the temporary directories at the end, on failure
   and on Ctrl-C (or SIGTERM).

Needs `docker-registry` and `skopeo` (Debian packages; `make test` installs both).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._common import (  # noqa: E402  (needs ROOT on sys.path)
    fill,
    interrupts_raise,
    quiet_registry_config,
    registry_version,
    setup_django,
    token_auth,
)


def _yaml_source(path: Path, host: str, repositories: list[str]) -> Path:
    lines = [f"{host}:", "  tls-verify: false", "  images:"]
    lines += [f"    {name}: []" for name in repositories]  # [] means every tag
    path.write_text("\n".join(lines) + "\n")
    return path


def _skopeo_sync(source_yaml: Path, destination: str) -> float:
    command = [
        shutil.which("skopeo") or "skopeo",
        "sync",
        "--src",
        "yaml",
        "--dest",
        "docker",
        "--dest-tls-verify=false",
        "--retry-times",
        "0",
        str(source_yaml),
        destination,
    ]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=3600, check=False)  # noqa: S603
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"skopeo sync failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return seconds


def _count_tags(url: str, prefix: str) -> int:
    from repositories.registry import RegistryClient

    with RegistryClient(url, timeout=30.0) as client:
        return sum(len(client.tags(name)) for name in client.catalog() if name.startswith(prefix))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repos", type=int, default=20)
    parser.add_argument("--tags", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8, help="Wharf's artifacts at once")
    parser.add_argument("--tmpdir", default=None, help="where the registries keep their storage")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs) at the end")
    args = parser.parse_args()
    for tool in ("docker-registry", "skopeo"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found: apt-get install {tool}")

    workdir = Path(tempfile.mkdtemp(prefix="wharf-replication-bench-", dir=args.tmpdir))
    servers = []
    try:
        with interrupts_raise():
            database = setup_django(workdir)
            from django.conf import settings

            from audit.context import Actor
            from replication.models import RegistryEndpoint, ReplicationRule
            from replication.services import runs
            from repositories.services.registry import reset_registry_client
            from repositories.services.sync import sync_now
            from tests.support.registry import RegistryServer

            token_auth(False)
            for name in ("source", "wharf-dest", "skopeo-dest"):
                server = RegistryServer(workdir / name)
                quiet_registry_config(server.config_path)
                server.start()
                servers.append(server)
            source, wharf_dest, skopeo_dest = servers
            settings.REGISTRY_URL = source.url
            settings.WHARF_REPLICATION_CONCURRENCY = args.concurrency
            reset_registry_client()

            filled = fill(source.url, args.repos, args.tags, threads=8, namespace="bench")
            total = args.repos * args.tags
            print(f"registry {registry_version()}, skopeo {skopeo_version()}, database {database}")
            print(
                f"filled {args.repos} x {args.tags} = {total} tags in {filled.seconds:.1f}s; syncing Wharf..."
            )
            sync = sync_now()
            assert sync.status == "succeeded", sync.message
            endpoint = RegistryEndpoint.objects.create(name="bench", url=wharf_dest.url)
            rule = ReplicationRule.objects.create(
                name="bench", endpoint=endpoint, repositories="bench/**", concurrency=args.concurrency
            )
            yaml_source = _yaml_source(workdir / "skopeo.yml", source.host, filled.repositories)
            ratios: list[float] = []
            for round_number in range(1, args.rounds + 1):
                for server in (wharf_dest, skopeo_dest):
                    server.stop()
                    shutil.rmtree(server.storage, ignore_errors=True)
                    server.storage.mkdir(parents=True)
                    server.start()

                def wharf() -> float:
                    started = time.perf_counter()
                    run = runs.run_now(rule, actor=Actor.system("bench"))
                    seconds = time.perf_counter() - started
                    if run.status != "succeeded" or run.copied != total:
                        raise SystemExit(f"replication run failed: {run.message}")
                    return seconds

                def skopeo() -> float:
                    return _skopeo_sync(yaml_source, f"{skopeo_dest.host}/mirror")

                order = [("wharf", wharf), ("skopeo", skopeo)]
                if round_number % 2 == 0:
                    order.reverse()
                seconds = {name: job() for name, job in order}
                copied = {
                    "wharf": _count_tags(wharf_dest.url, "bench/"),
                    "skopeo": _count_tags(skopeo_dest.url, "mirror/"),
                }
                if copied["wharf"] != total or copied["skopeo"] != total:
                    raise SystemExit(f"not every tag arrived: {copied} of {total}")
                rate = {name: total / s for name, s in seconds.items()}
                ratio = rate["wharf"] / rate["skopeo"]
                ratios.append(ratio)
                print(
                    f"round {round_number}: wharf {seconds['wharf']:.2f}s ({rate['wharf']:.1f} tags/s), "
                    f"skopeo sync {seconds['skopeo']:.2f}s ({rate['skopeo']:.1f} tags/s), "
                    f"ratio wharf/skopeo {ratio:.2f}x, load {os.getloadavg()[0]:.2f}"
                )
            print(
                f"ratio wharf/skopeo over {len(ratios)} rounds: median {statistics.median(ratios):.2f}x, "
                f"min {min(ratios):.2f}x, max {max(ratios):.2f}x (goal >= 1.0x)"
            )
    finally:
        for server in servers:
            server.stop()
        if args.keep:
            print(f"kept {workdir} (registry logs, skopeo.yml)")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def skopeo_version() -> str:
    done = subprocess.run(["skopeo", "--version"], capture_output=True, text=True, check=False)  # noqa: S607
    return done.stdout.strip().split()[-1] if done.stdout.strip() else "?"


if __name__ == "__main__":
    main()
