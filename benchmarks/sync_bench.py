"""Benchmark the full registry sync against what the registry itself serves, like for like.

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
   every fourth repository uses Docker v2 media types), pushed from a thread pool
   (`--fill push`, the default) or written straight into the registry's filesystem
   storage (`--fill storage`: about a minute for 100,000 tags against 10-20 pushing
   them, e.g. `--repos 1000 --tags 100 --fill storage --rounds 1`);
3. measures the registry's own ceiling with `wrk` at the sync's concurrency
   (`-c` = the sync's thread count, `-t2`) for the request mix each sync needs, a
   Lua script rotating over every tag of up to 20 repositories spread over the
   catalog, each request carrying a pull token for its repository only (as the
   sync's are) and the four manifest media types in `Accept`:
   - *first sync*: per repository one tag list, per tag a manifest GET by tag and
     a config blob GET (what a sync must read for a digest it has never seen);
   - *unchanged*: per repository one tag list, per tag a manifest HEAD (all a sync
     needs to learn that a known tag still points at the same digest);
   - *manifest GET*: manifest GETs by tag only (the figure earlier READMEs quoted);
4. runs N rounds (`--rounds`) of: a first sync into an empty database, then a
   sync of the unchanged registry; between rounds the database's repositories are
   deleted again, and the wrk mixes are measured again, so the ceiling is
   measured before, between and after the syncs in the same run;
5. prints, for every sync, tags/s and requests/s, the share of its wall time spent
   applying listings to the database (the main thread), and the ratios to the
   registry: tags/s / (wrk requests/s / the mix's requests per tag), and requests/s
   / wrk requests/s; then the median, min and max over the rounds; the load
   average beside every figure (the machine is shared: read the ratios); and the time a
   first sync of 100,000 tags would take at the measured rate (an extrapolation, said so);
   `--repos 1 --tags 2000` shows one big repository, whose tags the sync spreads over
   its threads;
6. stops the registry and deletes its temporary directories at the end, on
   failure and on Ctrl-C (or SIGTERM).

Database: by default a throwaway SQLite file in the temporary directory, its tables
made by `call_command("migrate")`. With `DATABASE_URL` set it uses that database
instead (migrating it first), but refuses if it holds any repository: a full sync
removes every repository the benchmark registry does not have.

Needs the Debian packages `docker-registry` and `wrk` (`make bench-deps`; `--wrk
PATH` to use another). R=200, T=50 with 3 rounds takes about 5 minutes on 2 cores
(`--tmpdir /dev/shm` makes filling and deleting the registry's files faster).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._common import (  # noqa: E402  (needs ROOT on sys.path)
    Filled,
    fill,
    fill_storage,
    interrupts_raise,
    quiet_registry_config,
    registry_version,
    setup_django,
    token_auth,
)

WRK_THREADS = 2
WRK_SAMPLE_TAGS = 1000
WRK_REPOSITORIES = 20

ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repos", type=int, default=200, help="repositories to create (R)")
    parser.add_argument("--tags", type=int, default=50, help="tags per repository (T)")
    parser.add_argument("--rounds", type=int, default=3, help="first + unchanged syncs to run (N)")
    parser.add_argument("--fill-threads", type=int, default=16, help="concurrent pushes while filling")
    parser.add_argument(
        "--fill",
        choices=["push", "storage"],
        default="push",
        help=(
            "push: through the registry's API (default); storage: the same images written straight into "
            "its filesystem storage (minutes faster at 100,000 tags; docs/registry.md)"
        ),
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="sync concurrency, and wrk's connections (default: WHARF_SYNC_CONCURRENCY)",
    )
    parser.add_argument("--wrk-seconds", type=int, default=5, help="duration of each wrk measurement")
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


def _cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user + system, every thread) of this process, or of process `pid`."""
    if pid is None:
        times = os.times()
        return times.user + times.system
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds this process and the registry spent between `start` and `stop`:
    on two cores the registry and the sync share, each CPU-second the sync saves per
    tag is one the registry can serve with."""

    def __init__(self, registry_pid: int) -> None:
        self.registry_pid = registry_pid
        self.ours = self.registry = 0.0

    def start(self) -> None:
        self._ours, self._registry = _cpu_seconds(), _cpu_seconds(self.registry_pid)

    def stop(self) -> tuple[float, float]:
        self.ours = _cpu_seconds() - self._ours
        self.registry = _cpu_seconds(self.registry_pid) - self._registry
        return self.ours, self.registry


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"[load {one:.1f}/{five:.1f}]"


# --- the registry's ceiling: wrk on each sync's request mix ----------------------------


@dataclass(frozen=True)
class Mix:
    """One request mix: what wrk sends, round robin, and how many tags it covers."""

    label: str
    requests: list[tuple[str, str, int, bool]]  # method, path, index of the token, send Accept
    tags: int

    @property
    def per_tag(self) -> float:
        return len(self.requests) / self.tags


def _mixes(filled: Filled) -> tuple[list[str], list[Mix]]:
    """The sampled repositories and the three mixes over their tags."""
    names = sorted(filled.manifest_paths)
    sample = names[:: max(1, len(names) // WRK_REPOSITORIES)][:WRK_REPOSITORIES]
    per_repository = max(1, WRK_SAMPLE_TAGS // len(sample))
    first: list[tuple[str, str, int, bool]] = []
    unchanged: list[tuple[str, str, int, bool]] = []
    manifests: list[tuple[str, str, int, bool]] = []
    tags = 0
    for index, name in enumerate(sample):
        paths = filled.manifest_paths[name][:per_repository]
        configs = filled.configs[name][:per_repository]
        tags += len(paths)
        first.append(("GET", f"/v2/{name}/tags/list", index, False))
        unchanged.append(("GET", f"/v2/{name}/tags/list", index, False))
        for path, config in zip(paths, configs, strict=True):
            first.append(("GET", path, index, True))
            first.append(("GET", f"/v2/{name}/blobs/{config}", index, False))
            unchanged.append(("HEAD", path, index, True))
            manifests.append(("GET", path, index, True))
    return sample, [
        Mix("first sync (tag list + manifest GET + config GET per tag)", first, tags),
        Mix("unchanged (tag list + manifest HEAD per tag)", unchanged, tags),
        Mix("manifest GET by tag only", manifests, tags),
    ]


def _tokens(repositories: Sequence[str]) -> list[str] | None:
    """A pull token per repository, like the sync's (one scope per request), for wrk."""
    from django.conf import settings

    if not settings.WHARF_REGISTRY_TOKEN_AUTH:
        return None
    from accounts.registry_auth.jwt import Access, mint_token

    return [
        mint_token("bench", [Access("repository", name, ("pull",))], lifetime=3600).token
        for name in repositories
    ]


def _wrk_script(mix: Mix, tokens: list[str] | None) -> str:
    """Lua for wrk: each request takes the next entry of the mix, round robin."""
    entries = ",\n".join(
        f'  {{"{method}", "{path}", {index + 1}, {"true" if accept else "false"}}}'
        for method, path, index, accept in mix.requests
    )
    token_list = ",\n".join(f'  "Bearer {token}"' for token in tokens or [])
    return (
        f"local requests = {{\n{entries}\n}}\n"
        f"local tokens = {{\n{token_list}\n}}\n"
        f'local accept = "{ACCEPT}"\n'
        "local i = 0\n"
        "function setup(thread)\n"
        "  thread:set('offset', math.random(#requests))\n"
        "end\n"
        "function init(args)\n"
        "  i = offset or 0\n"
        "end\n"
        "function request()\n"
        "  i = i + 1\n"
        "  local r = requests[(i % #requests) + 1]\n"
        "  local headers = {}\n"
        "  if #tokens > 0 then headers['Authorization'] = tokens[r[3]] end\n"
        "  if r[4] then headers['Accept'] = accept end\n"
        "  return wrk.format(r[1], r[2], headers)\n"
        "end\n"
    )


def _wrk(binary: str, url: str, script: Path, connections: int, seconds: int) -> tuple[float, int]:
    """wrk's requests/s and its count of non-2xx/3xx answers."""
    result = subprocess.run(  # noqa: S603  (our own arguments)
        [binary, f"-t{WRK_THREADS}", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"wrk failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    rate = re.search(r"Requests/sec:\s+([\d.]+)", result.stdout)
    if rate is None:
        raise SystemExit(f"no Requests/sec in wrk's output:\n{result.stdout}")
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", result.stdout)
    return float(rate.group(1)), int(errors.group(1)) if errors else 0


def _http_mix_file(mix: Mix, tokens: list[str] | None) -> list[list[Any]]:
    """The mix as `http_mix.py` reads it: [method, path, headers]."""
    out: list[list[Any]] = []
    for method, path, index, accept in mix.requests:
        headers = {"Authorization": f"Bearer {tokens[index]}"} if tokens else {}
        if accept:
            headers["Accept"] = ACCEPT
        out.append([method, path, headers])
    return out


def _http_mix(url: str, mix_file: Path, connections: int, seconds: int) -> tuple[float, int]:
    result = subprocess.run(  # noqa: S603  (our own arguments)
        [
            sys.executable,
            str(ROOT / "benchmarks" / "http_mix.py"),
            url,
            str(mix_file),
            "--seconds",
            str(seconds),
            "--connections",
            str(connections),
            "--processes",
            str(WRK_THREADS),
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 90,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"http_mix failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    figures = json.loads(result.stdout)
    return float(figures["requests_per_second"]), int(figures["non_2xx"])


class Ceiling:
    """The registry's requests/s for every (mix, load generator), sampled several times
    during the run. wrk cannot send HEAD (it waits for the body a HEAD answer announces),
    so the unchanged mix goes through `http_mix.py`, which also measures the first-sync
    mix beside wrk to show how far the two agree."""

    def __init__(
        self,
        binary: str,
        url: str,
        plan: list[tuple[Mix, str]],
        tokens: list[str] | None,
        workdir: Path,
        connections: int,
        seconds: int,
        meter: CpuMeter,
    ) -> None:
        self.binary, self.url, self.plan = binary, url, plan
        self.meter = meter
        self.connections, self.seconds = connections, seconds
        self.files: list[Path] = []
        for number, (mix, tool) in enumerate(plan):
            if tool == "wrk":
                path = workdir / f"mix{number}.lua"
                path.write_text(_wrk_script(mix, tokens))
            else:
                path = workdir / f"mix{number}.json"
                path.write_text(json.dumps(_http_mix_file(mix, tokens)))
            self.files.append(path)
        self.samples: dict[tuple[str, str], list[float]] = {(mix.label, tool): [] for mix, tool in plan}

    def measure(self, when: str) -> None:
        for (mix, tool), path in zip(self.plan, self.files, strict=True):
            self.meter.start()
            if tool == "wrk":
                rate, non_2xx = _wrk(self.binary, self.url, path, self.connections, self.seconds)
            else:
                rate, non_2xx = _http_mix(self.url, path, self.connections, self.seconds)
            _, registry_cpu = self.meter.stop()
            self.samples[(mix.label, tool)].append(rate)
            # About: the meter's window also holds the load generator's start and end.
            per_request = registry_cpu / max(rate * self.seconds, 1) * 1e6
            print(
                f"{tool:<10} {when:<13} {mix.label}: {rate:,.0f} requests/s = {rate / mix.per_tag:,.0f} tags/s; "
                f"registry CPU about {per_request:,.0f} us/request {_load()}"
                + (f"; {non_2xx:,} non-2xx responses!" if non_2xx else "")
            )

    def requests_per_second(self, mix: Mix, tool: str) -> float:
        return statistics.median(self.samples[(mix.label, tool)])


# --- the syncs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncFigures:
    label: str
    tags: int
    seconds: float
    requests: int
    apply_seconds: float
    cpu: float  # CPU seconds of this process (every thread) during the sync
    registry_cpu: float  # CPU seconds of the registry during the sync

    @property
    def tag_rate(self) -> float:
        return self.tags / self.seconds

    @property
    def request_rate(self) -> float:
        return self.requests / self.seconds


class ApplyTimer:
    """Times the database side of a sync (applying listings, in the main thread) by
    wrapping the sync module's apply step for the duration of the benchmark."""

    def __init__(self) -> None:
        from repositories.services import sync

        self.seconds = 0.0
        original: Callable[..., Any] = sync._apply_with_one_retry

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started

        sync._apply_with_one_retry = timed  # type: ignore[assignment]


def _sync(label: str, timer: ApplyTimer, meter: CpuMeter) -> SyncFigures:
    from repositories.models import SyncRun
    from repositories.services.sync import sync_now

    timer.seconds = 0.0
    meter.start()
    started = time.perf_counter()
    run = sync_now(trigger=SyncRun.Trigger.SYSTEM)
    seconds = time.perf_counter() - started
    cpu, registry_cpu = meter.stop()
    if run.status != SyncRun.Status.SUCCEEDED:
        raise SystemExit(f"{label} did not succeed ({run.status}): {run.message}")
    return SyncFigures(label, run.tags_seen, seconds, run.requests, timer.seconds, cpu, registry_cpu)


def _forget_everything() -> float:
    """Delete every repository row, so the next sync is a first sync again."""
    from repositories.models import Repository

    started = time.perf_counter()
    Repository.objects.all().delete()
    return time.perf_counter() - started


def _report(figures: SyncFigures, mix: Mix, tool: str, ceiling: Ceiling) -> tuple[float, float]:
    wrk_rate = ceiling.requests_per_second(mix, tool)
    tag_ratio = figures.tag_rate / (wrk_rate / mix.per_tag)
    request_ratio = figures.request_rate / wrk_rate
    print(
        f"{figures.label:<10} {figures.tags:,} tags in {figures.seconds:.1f} s = {figures.tag_rate:,.0f} tags/s; "
        f"{figures.requests:,} requests = {figures.requests / max(figures.tags, 1):.2f} per tag "
        f"(the mix: {mix.per_tag:.2f}), {figures.request_rate:,.0f} requests/s; database apply "
        f"{figures.apply_seconds:.1f} s ({figures.apply_seconds / figures.seconds:.0%}) {_load()}\n"
        f"           CPU: Wharf {figures.cpu:.1f} s = {figures.cpu / max(figures.requests, 1) * 1e6:,.0f} us/request "
        f"({figures.cpu / figures.seconds:.2f} cores), the registry {figures.registry_cpu:.1f} s = "
        f"{figures.registry_cpu / max(figures.requests, 1) * 1e6:,.0f} us/request "
        f"({figures.registry_cpu / figures.seconds:.2f} cores)\n"
        f"           vs the registry ({tool}, same mix): tags/s {tag_ratio:.2f}x, requests/s {request_ratio:.2f}x"
    )
    return tag_ratio, request_ratio


def _spread(values: list[float]) -> str:
    return f"median {statistics.median(values):.2f}x (min {min(values):.2f}, max {max(values):.2f})"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    if shutil.which(args.wrk) is None:
        raise SystemExit(f"{args.wrk} not found: make bench-deps (apt-get install wrk)")
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
                f"set up in {time.perf_counter() - began:.1f} s {_load()}"
            )

            if args.fill == "storage":
                filled = fill_storage(server.storage, args.repos, args.tags)
                how = "written into the registry's storage"
            else:
                filled = fill(server.url, args.repos, args.tags, args.fill_threads)
                how = f"{filled.requests:,} requests, {args.fill_threads} threads"
            total = sum(len(paths) for paths in filled.manifest_paths.values())
            print(
                f"fill       {args.repos} repositories x {args.tags} tags = {total:,} tags in "
                f"{filled.seconds:.1f} s ({total / filled.seconds:,.0f} tags/s, {how}) {_load()}"
            )

            settings.REGISTRY_URL = server.url
            if args.concurrency:
                settings.WHARF_SYNC_CONCURRENCY = args.concurrency
            concurrency = settings.WHARF_SYNC_CONCURRENCY
            reset_registry_client()
            sample, mixes = _mixes(filled)
            first_mix, unchanged_mix, manifest_mix = mixes
            connections = max(concurrency, WRK_THREADS)
            plan = [
                (first_mix, "wrk"),
                (first_mix, "http_mix"),
                (unchanged_mix, "http_mix"),
                (manifest_mix, "wrk"),
            ]
            meter = CpuMeter(server.pid)
            ceiling = Ceiling(
                args.wrk, server.url, plan, _tokens(sample), workdir, connections, args.wrk_seconds, meter
            )
            print(
                f"ceiling    {WRK_THREADS} threads/processes x {connections} connections x {args.wrk_seconds} s "
                f"over {first_mix.tags:,} tags of {len(sample)} repositories; sync concurrency {concurrency}"
            )
            timer = ApplyTimer()
            ceiling.measure("before")
            runs: list[tuple[SyncFigures, SyncFigures]] = []
            for round_number in range(1, args.rounds + 1):
                if round_number > 1:
                    print(
                        f"reset      deleted every repository row in {_forget_everything():.1f} s {_load()}"
                    )
                first = _sync(f"first {round_number}", timer, meter)
                print(f"{first.label:<10} {first.tags:,} tags in {first.seconds:.1f} s {_load()}")
                unchanged = _sync(f"unchanged {round_number}", timer, meter)
                print(f"{unchanged.label:<10} {unchanged.tags:,} tags in {unchanged.seconds:.1f} s {_load()}")
                runs.append((first, unchanged))
                if first.tags != total or unchanged.tags != total:
                    print(
                        f"WARNING    the syncs saw {first.tags:,} and {unchanged.tags:,} tags, not {total:,}"
                    )
                ceiling.measure("after" if round_number == args.rounds else f"after round {round_number}")
            reset_registry_client()
            # Ratios against the median of every sample of the same mix, taken around all rounds.
            cases = (("first", 0, first_mix, "wrk"), ("unchanged", 1, unchanged_mix, "http_mix"))
            ratios: dict[str, list[tuple[float, float]]] = {kind: [] for kind, *_ in cases}
            for run in runs:
                for kind, position, mix, tool in cases:
                    ratios[kind].append(_report(run[position], mix, tool, ceiling))
            for kind, position, mix, tool in cases:
                rates = [run[position].tag_rate for run in runs]
                samples = ceiling.samples[(mix.label, tool)]
                print(
                    f"summary    {kind:<9} sync: {statistics.median(rates):,.0f} tags/s (min {min(rates):,.0f}, "
                    f"max {max(rates):,.0f}); registry ({tool}) {statistics.median(samples):,.0f} requests/s "
                    f"(min {min(samples):,.0f}, max {max(samples):,.0f}); ratio tags/s "
                    f"{_spread([r[0] for r in ratios[kind]])}, requests/s {_spread([r[1] for r in ratios[kind]])}"
                )
            calibration = ceiling.requests_per_second(first_mix, "http_mix") / ceiling.requests_per_second(
                first_mix, "wrk"
            )
            plain = ceiling.requests_per_second(manifest_mix, "wrk")
            print(
                f"summary    http_mix / wrk on the first-sync mix: {calibration:.2f}x; registry manifest GETs by "
                f"tag (wrk): {plain:,.0f}/s, first sync tags/s / that "
                f"{statistics.median(r[0].tag_rate for r in runs) / plain:.2f}x, unchanged "
                f"{statistics.median(r[1].tag_rate for r in runs) / plain:.2f}x {_load()}"
            )
            first_rate = statistics.median(r[0].tag_rate for r in runs)
            print(
                f"summary    a first sync of 100,000 tags at the median first-sync rate: "
                f"{100_000 / first_rate / 60:.1f} min (extrapolated from {total:,} tags, goal < 5 min); "
                f"at the registry's own rate for that mix: "
                f"{100_000 / (ceiling.requests_per_second(first_mix, 'wrk') / first_mix.per_tag) / 60:.1f} min "
                f"{_load()}"
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
