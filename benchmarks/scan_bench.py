"""Benchmark the built-in vulnerability scanner: a 2,000-package image with a 200 MB
layer, and matching against 200,000 generated OSV advisories.

Run from the repository root::

    .venv/bin/python benchmarks/scan_bench.py                          # under a minute on 2 idle cores
    .venv/bin/python benchmarks/scan_bench.py --no-django              # the pure engine only
    .venv/bin/python benchmarks/scan_bench.py --advisories-db 200000   # all 200,000 in the database too

Timings on a busy machine are several times these: every figure line ends with the
load average when it was taken (1, 5 and 15 minutes), and the last lines give the
whole process's peak RSS and its children's.

What it does (data from `benchmarks/scan_data.py`, deterministic). The process measured
is the one a deployment runs: it imports, syncs and scans. Generating fixtures (the
layers, the OSV zip) and the engine's match against all 200,000 advisories held in
memory (step 3; a scan never holds them) run in forked children, so they do not count in
its peak RSS; their own peaks are printed beside it. The goal is a whole-process peak of
at most 300 MB with 200,000 advisories in the database (`--advisories-db 200000`).

1. writes the image's two layers as tar.gz files in a temporary directory, streamed
   (never more than a chunk in memory): a base layer with Debian 12's os-release and
   a dpkg status of 2,000 binary packages from ~670 source packages, and a 200 MiB
   application layer with 300 Python distributions and 500 npm packages among small
   source files, the rest pseudo-random blobs gzip cannot shrink (level 1, to keep
   the build short). The build time is printed on its own line; with step 4, the OSV
   zip of `--advisories-db` advisories is written too (both in children);
2. scans those layers with the pure engine (`read_layers` -> `inventory` ->
   `find_vulnerabilities`, what `scan_layers` does), reading each file as a stream,
   against the index a scan really gets: only the advisories naming the image's
   packages (`advisory_index.load_index` does the same from the database). Printed:
   wall time per step, peak RSS as `getrusage(RUSAGE_SELF).ru_maxrss` (the kernel's
   high-water mark, reset just before the scan through /proc/self/clear_refs where
   allowed) and, from a second identical run under `tracemalloc`, the peak of
   Python-allocated memory; and, apart, the time to write the CycloneDX SBOM of the
   inventory, which every stored scan does: built directly (`repositories.vulns.sbom`,
   best of 3) and, before that, with `cyclonedx-python-lib` as it used to be
   (`tests/vulns/sbom_reference.py`, a development requirement), the ratio, and
   whether the two documents are the same;
3. generates 200,000 OSV advisories (Debian:12, PyPI and npm; one in 20 names an
   image package, two in five of those affect the installed version), builds the
   engine's index over all of them, and times matching the image's inventory against
   it: cold (version sort-key caches cleared) and warm (best of 3), checking the
   number of findings against what the generator planted;
4. unless `--no-django`: the end-to-end path on a throwaway SQLite database (or the
   database `DATABASE_URL` names, migrated first, which must hold no advisories and
   no repositories) and a real `docker-registry`
   (token auth as deployed; `--auth none` for an open one): pushes the image
   (layers uploaded as streams), imports `--advisories-db` advisories with
   `import_osv` from a zip, syncs, and times `scanning.scan_now()` twice, which
   streams the layers from the registry, loads the matching advisories from the
   database, matches, and stores the findings and the SBOM. The default imports the
   first 20,000 of the generated advisories: importing all 200,000 takes 1.5 minutes
   on PostgreSQL, about 3 on SQLite on an idle machine (plus 15 s writing the zip), while the scan itself
   loads only the rows for the image's packages, so its time hardly depends on the
   database's size.

5. unless `--no-polyglot`: the coverage image of issue 17, one Rocky Linux 9 layer with
   an `rpmdb.sqlite` of 2,000 packages (~30 KiB headers, ~60 MiB), 50 Go executables
   (built by Debian's Go when installed) and 200 jars (20 of them Spring Boot fat jars
   of 10 nested jars), scanned with the pure engine as in step 2 (executables and
   archives reduced as they stream past). Goal: at most 2 s engine time and a peak RSS
   of at most 300 MB; the line prints both with their ratio to the goal.

Everything goes in one temporary directory (`--tmpdir`), deleted at the end, on
failure and on Ctrl-C or SIGTERM. Needs the Debian package `docker-registry` for step 4.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import pickle
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
import uuid
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import interrupts_raise, quiet_registry_config, setup_django, token_auth
from benchmarks.scan_data import (
    Corpus,
    ImageSpec,
    MiB,
    WrittenLayer,
    image_spec,
    write_base_layer,
    write_big_layer,
    write_polyglot_layer,
)
from repositories.vulns.inventory import Inventory, extract, inventory, wanted
from repositories.vulns.layers import DEFAULT_LIMITS, read_layers
from repositories.vulns.names import normalize_name
from repositories.vulns.osv import build_index
from repositories.vulns.sbom import sbom_json
from repositories.vulns.scanner import ScanFinding, find_vulnerabilities
from repositories.vulns.versions.registry import APK, APK3, DPKG, MAVEN, PEP440, RPM, SEMVER

T = TypeVar("T")
REPOSITORY = "bench/debian-big"
TAG = "v1"


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packages", type=int, default=2000, help="dpkg binary packages in the image")
    parser.add_argument("--layer-mb", type=int, default=200, help="MiB of file content in the big layer")
    parser.add_argument(
        "--advisories", type=int, default=200_000, help="generated advisories to match against"
    )
    parser.add_argument(
        "--django",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run the end-to-end scan through the registry and the database (default: on)",
    )
    parser.add_argument(
        "--advisories-db",
        type=int,
        default=20_000,
        help="advisories imported into the database (step 4; 200000 adds 1.5 to 3 minutes)",
    )
    parser.add_argument(
        "--polyglot",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="step 5: the 2,000-rpm, 50-Go-binary, 200-jar image against its goal",
    )
    parser.add_argument("--auth", choices=["token", "none"], default="token", help="registry auth (step 4)")
    parser.add_argument("--tmpdir", default=None, help="where layers, registry storage and database go")
    return parser.parse_args(argv)


# --- measuring ------------------------------------------------------------------------


def _rss_mib(field: str, pid: int | str = "self") -> float | None:
    """VmRSS / VmHWM of this process (or another) from /proc, in MiB (None off Linux)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _reset_peak_rss() -> bool:
    """Reset the kernel's RSS high-water mark (ru_maxrss / VmHWM) to the current RSS."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _maxrss_mib(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # KiB on Linux


# The process's high-water mark before `_step_engine` resets it, so the end can still
# report the whole run's peak.
_peak_before_reset_mib = 0.0


def _process_peak_mib() -> float:
    return max(_peak_before_reset_mib, _maxrss_mib())


# Child processes' own peaks (VmHWM read just before they are stopped), by name.
# RUSAGE_CHILDREN cannot give them: a child started by fork or vfork and exec inherits
# the parent's high-water mark at that moment, so it reports this process's size.
_children_peak_mib: dict[str, float] = {}


def _record_child_peak(name: str, pid: int | None) -> None:
    peak = _rss_mib("VmHWM", pid) if pid is not None else None
    if peak is not None:
        _children_peak_mib[name] = peak


def _in_child(label: str, function: Callable[[], T]) -> T:
    """Run `function` in a forked child and return its (pickled) result, so what it
    allocates (generated fixtures, the 200,000-advisory index) never counts in this
    process's peak RSS. The child's own peak (its `ru_maxrss`, which starts at this
    process's size when forked) is kept under `label`."""
    sys.stdout.flush()
    sys.stderr.flush()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 0
        try:
            os.close(read_end)
            try:
                payload = pickle.dumps((True, function(), _maxrss_mib()))
            except BaseException as exc:  # reported by the parent
                payload = pickle.dumps((False, f"{type(exc).__name__}: {exc}", _maxrss_mib()))
                code = 1
            with os.fdopen(write_end, "wb") as out:
                out.write(payload)
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)
    os.close(write_end)
    try:
        with os.fdopen(read_end, "rb") as incoming:
            payload = incoming.read()
    finally:
        os.waitpid(pid, 0)
    if not payload:
        raise SystemExit(f"{label}: the child process died without an answer")
    ok, value, peak = pickle.loads(payload)  # noqa: S301  (our own child's answer)
    _children_peak_mib[label] = peak
    if not ok:
        raise SystemExit(f"{label} failed in its child process: {value}")
    return value  # type: ignore[no-any-return]


def _load() -> str:
    """`load 1.9/2.3/1.1` (1, 5, 15 minutes): appended to every figure line."""
    if not hasattr(os, "getloadavg"):
        return "load n/a"
    return "load " + "/".join(f"{value:.1f}" for value in os.getloadavg())


def _timed(function: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    value = function()
    return value, time.perf_counter() - started


def _clear_version_caches() -> None:
    for scheme in (DPKG, APK, APK3, RPM, MAVEN, PEP440, SEMVER):
        scheme.sort_key.cache_clear()  # type: ignore[attr-defined]  # an lru_cache wrapper


# --- step 5: the polyglot image (rpm, Go, Java) ------------------------------------------------


ENGINE_GOAL_S = 2.0
RSS_GOAL_MB = 300.0


def _step_polyglot(workdir: Path) -> None:
    global _peak_before_reset_mib
    (layer, built_s) = _timed(lambda: _in_child("polyglot writer", lambda: write_polyglot_layer(workdir)))
    _clear_version_caches()
    gc.collect()
    _peak_before_reset_mib = max(_peak_before_reset_mib, _maxrss_mib())
    reset = _reset_peak_rss()
    rss_before = _rss_mib("VmRSS") or _maxrss_mib()
    cpu_before = time.process_time()
    scan = _engine_scan([layer], {})
    cpu_s = time.process_time() - cpu_before
    peak_mb = _maxrss_mib() * MiB / 1e6
    kinds: dict[str, int] = {}
    for package in scan.inventory.packages:
        kinds[package.kind] = kinds.get(package.kind, 0) + 1
    print(
        f"polyglot   {layer.tar_bytes / MiB:,.0f} MiB tar / {layer.size / MiB:,.0f} MiB gz ({layer.entries:,} entries, "
        f"built in {built_s:.1f} s, not timed); engine {scan.total_s:.2f} s (read layers {scan.read_s:.2f} s, "
        f"inventory {scan.inventory_s:.2f} s, match {scan.match_s:.2f} s) = {scan.total_s / ENGINE_GOAL_S:.2f} x the "
        f"{ENGINE_GOAL_S:.0f} s goal ({'met' if scan.total_s <= ENGINE_GOAL_S else 'NOT met'}; CPU time {cpu_s:.2f} s = "
        f"{cpu_s / ENGINE_GOAL_S:.2f} x, what it costs on an idle core); peak RSS {peak_mb:,.0f} MB"
        f"{' (reset before the scan)' if reset else ''}, {rss_before * MiB / 1e6:,.0f} MB before it = "
        f"{peak_mb / RSS_GOAL_MB:.2f} x the {RSS_GOAL_MB:.0f} MB goal ({'met' if peak_mb <= RSS_GOAL_MB else 'NOT met'}); "
        f"{len(scan.inventory.packages):,} packages ({', '.join(f'{n:,} {k}' for k, n in sorted(kinds.items()))}); "
        f"{_load()}"
    )


# --- step 2: the pure engine on the layers --------------------------------------------------


@dataclass
class EngineScan:
    inventory: Inventory
    findings: list[ScanFinding]
    read_s: float
    inventory_s: float
    match_s: float

    @property
    def total_s(self) -> float:
        return self.read_s + self.inventory_s + self.match_s


def _engine_scan(layers: Sequence[WrittenLayer], index: Any) -> EngineScan:
    """`scan_layers` step by step, each layer read from an open file as a stream."""

    def streams() -> Iterator[tuple[str, Any]]:
        for layer in layers:
            with layer.open() as stream:
                yield layer.digest, stream

    image, read_s = _timed(lambda: read_layers(streams(), wanted, DEFAULT_LIMITS, extract))
    found, inventory_s = _timed(lambda: inventory(image))
    findings, match_s = _timed(lambda: find_vulnerabilities(found, index))
    return EngineScan(found, findings, read_s, inventory_s, match_s)


def _step_engine(
    spec: ImageSpec, layers: Sequence[WrittenLayer], corpus: Corpus, advisories: int
) -> Inventory:
    global _peak_before_reset_mib
    index = build_index(corpus.hits(advisories))
    loaded = sum(len(v) for v in index.values())
    gc.collect()
    _peak_before_reset_mib = max(_peak_before_reset_mib, _maxrss_mib())
    reset = _reset_peak_rss()
    rss_before = _rss_mib("VmRSS") or _maxrss_mib()
    scan = _engine_scan(layers, index)
    peak = _maxrss_mib()
    tracemalloc.start()
    traced = _engine_scan(layers, index)
    _, heap_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    tar_mib = sum(layer.tar_bytes for layer in layers) / MiB
    kinds: dict[str, int] = {}
    for package in scan.inventory.packages:
        kinds[package.kind] = kinds.get(package.kind, 0) + 1
    print(
        f"engine     scan {scan.total_s:.2f} s: read layers {scan.read_s:.2f} s ({tar_mib / scan.read_s:,.0f} MiB/s "
        f"of tar), inventory {scan.inventory_s:.2f} s, match {scan.match_s:.2f} s; "
        f"{len(scan.inventory.packages):,} packages ({', '.join(f'{n:,} {k}' for k, n in kinds.items())}), "
        f"{len(scan.findings):,} findings against the {loaded:,} advisories naming them; {_load()}"
    )
    _sbom(scan.inventory, layers[0].digest)
    print(
        f"memory     peak RSS {peak:,.0f} MiB (getrusage ru_maxrss{', reset before the scan' if reset else ''}; "
        f"+{peak - rss_before:,.0f} MiB over the {rss_before:,.0f} MiB before it); Python heap peak "
        f"{heap_peak / MiB:,.1f} MiB (tracemalloc, a second run: {traced.total_s:.2f} s traced); "
        f"the layers hold {tar_mib:,.0f} MiB; {_load()}"
    )
    _, expected = corpus.expected(advisories)
    if len(scan.findings) != expected or len(scan.inventory.packages) != spec.packages:
        print(
            f"WARNING    expected {spec.packages:,} packages and {expected:,} findings, got "
            f"{len(scan.inventory.packages):,} and {len(scan.findings):,}"
        )
    return scan.inventory


def _sbom(found: Inventory, digest: str) -> None:
    """Not part of `scan_layers`, but every stored scan writes one (`scanning._store_image_scan`):
    the direct writer against the library it replaced, on the same inventory, in this run."""
    when = dt.datetime.now(dt.UTC)
    serial = uuid.uuid4()

    def direct() -> str:
        return sbom_json(
            found, image_name=REPOSITORY, image_digest=digest, serial_number=serial, timestamp=when
        )

    text, first_s = _timed(direct)
    direct_s = min(first_s, *(_timed(direct)[1] for _ in range(2)))
    try:
        from tests.vulns.sbom_reference import reference_sbom_json
    except ImportError:  # cyclonedx-python-lib is a development requirement
        print(
            f"sbom       CycloneDX JSON of {len(found.packages):,} packages in {direct_s:.2f} s (best of 3); "
            f"cyclonedx-python-lib not installed, no before figure; {_load()}"
        )
        return
    library, library_s = _timed(
        lambda: reference_sbom_json(
            found, image_name=REPOSITORY, image_digest=digest, serial_number=serial, timestamp=when
        )
    )
    same = "the same document" if json.loads(text) == json.loads(library) else "DIFFERENT documents"
    print(
        f"sbom       CycloneDX JSON of {len(found.packages):,} packages (written by every stored scan): "
        f"direct {direct_s:.3f} s (best of 3, first {first_s:.3f} s), cyclonedx-python-lib {library_s:.2f} s "
        f"(before, once): {library_s / direct_s:,.0f}x faster, {same} "
        f"({len(text) / MiB:.1f} / {len(library) / MiB:.1f} MiB of JSON); {_load()}"
    )


# --- step 3: matching against the whole generated database ---------------------------------


def _step_database(found: Inventory, corpus: Corpus, count: int) -> None:
    rss_before = _rss_mib("VmRSS") or 0.0
    advisories, generate_s = _timed(lambda: list(corpus.advisories(count)))
    index, index_s = _timed(lambda: build_index(advisories))
    rss_after = _rss_mib("VmRSS") or 0.0
    print(
        f"database   {count:,} advisories generated in {generate_s:.1f} s, indexed in {index_s:.2f} s "
        f"({count / index_s:,.0f} advisories/s): {len(index):,} (ecosystem, package) keys, "
        f"{rss_after - rss_before:,.0f} MiB of RSS; {_load()}"
    )
    # The (ecosystem, name) keys `find_vulnerabilities` looks up: all packages here have an ecosystem.
    keys = {(p.ecosystem, normalize_name(p.ecosystem, p.source_name)) for p in found.packages if p.ecosystem}
    considered = sum(len(index.get(key, ())) for key in keys)
    _clear_version_caches()
    cold, cold_s = _timed(lambda: find_vulnerabilities(found, index))
    warm_s = min(_timed(lambda: find_vulnerabilities(found, index))[1] for _ in range(3))
    packages = len(found.packages)
    print(
        f"match      {packages:,} packages against {count:,} advisories ({considered:,} name them): "
        f"cold {cold_s:.2f} s = {packages / cold_s:,.0f} packages/s, {considered / cold_s:,.0f} advisories/s; "
        f"warm {warm_s:.2f} s = {packages / warm_s:,.0f} packages/s, {considered / warm_s:,.0f} advisories/s; "
        f"{len(cold):,} findings; {_load()}"
    )
    _, expected = corpus.expected(count)
    if len(cold) != expected:
        print(f"WARNING    expected {expected:,} findings, got {len(cold):,}")


# --- step 4: end to end through the registry and the database -------------------------------


def _push_headers() -> dict[str, str]:
    from django.conf import settings

    if not settings.WHARF_REGISTRY_TOKEN_AUTH:
        return {}
    from accounts.registry_auth.jwt import Access, mint_token

    token = mint_token("bench", [Access("repository", REPOSITORY, ("pull", "push"))], lifetime=3600).token
    return {"Authorization": f"Bearer {token}"}


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as stream:
        while chunk := stream.read(MiB):
            yield chunk


def _push(url: str, layers: Sequence[WrittenLayer]) -> float:
    """Push the image: each layer streamed from its file (monolithic PUT), then config and manifest."""
    import httpx

    from repositories.registry.builder import OCI_LAYER, canonical_json, sha256
    from repositories.registry.manifests import OCI_CONFIG, OCI_MANIFEST

    headers = _push_headers()
    started = time.perf_counter()
    config = canonical_json(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["/bin/sh"]},
            "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]},
        }
    )
    blobs: list[tuple[str, int, Any]] = [(layer.digest, layer.size, layer.path) for layer in layers]
    blobs.append((sha256(config), len(config), config))
    with httpx.Client(base_url=url, headers=headers, timeout=120.0) as http:
        for digest, size, content in blobs:
            start = http.post(f"/v2/{REPOSITORY}/blobs/uploads/")
            start.raise_for_status()
            body = _file_chunks(content) if isinstance(content, Path) else content
            # Merge, not replace: the Location's own query (`_state`) must stay.
            target = httpx.URL(start.headers["Location"]).copy_merge_params({"digest": digest})
            put = http.put(
                target,
                content=body,
                headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
            )
            put.raise_for_status()
        manifest = canonical_json(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": OCI_CONFIG, "digest": sha256(config), "size": len(config)},
                "layers": [
                    {"mediaType": OCI_LAYER, "digest": layer.digest, "size": layer.size} for layer in layers
                ],
            }
        )
        http.put(
            f"/v2/{REPOSITORY}/manifests/{TAG}", content=manifest, headers={"Content-Type": OCI_MANIFEST}
        ).raise_for_status()
    return time.perf_counter() - started


def _write_osv_zip(path: Path, corpus: Corpus, count: int) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for advisory in corpus.advisories(count):
            archive.writestr(f"{advisory['id']}.json", json.dumps(advisory))


def _step_django(
    args: argparse.Namespace,
    workdir: Path,
    layers: Sequence[WrittenLayer],
    osv_zip: Path,
    corpus: Corpus,
    cleanup: ExitStack,
) -> None:
    """Push, import, sync and scan; the registry is stopped by `cleanup`, whatever happens."""
    database = setup_django(workdir)
    from django.conf import settings

    from audit.context import Actor
    from repositories.models import ScanReport, Tag
    from repositories.services import scanning
    from repositories.services.osv_import import import_osv
    from repositories.services.registry import reset_registry_client
    from repositories.services.sync import sync_now
    from tests.support.registry import RegistryServer

    server = RegistryServer(workdir / "registry", token_auth=token_auth(args.auth == "token"))
    quiet_registry_config(server.config_path)
    cleanup.callback(server.stop)
    server.start()
    process = server._process  # the benchmark reads its peak RSS from /proc before stopping it
    # Registered after `stop`, so it runs before it.
    cleanup.callback(_record_child_peak, "docker-registry", process.pid if process else None)
    push_s = _push(server.url, layers)
    rss_before_import = _rss_mib("VmRSS") or 0.0
    run, import_s = _timed(lambda: import_osv(osv_zip, actor=Actor.system("scan-bench")))
    if run.status != "succeeded":
        raise SystemExit(f"import failed: {run.message}")
    settings.REGISTRY_URL = server.url
    reset_registry_client()
    sync = sync_now()
    if sync.status != "succeeded":
        raise SystemExit(f"sync failed: {sync.message}")
    auth = "token auth" if args.auth == "token" else "no auth"
    print(
        f"django     {database}, registry at {server.url} ({auth}): image pushed in {push_s:.1f} s "
        f"(layers streamed); {run.created:,} advisories imported in {import_s:.1f} s "
        f"({run.created / import_s:,.0f}/s from the zip; RSS {rss_before_import:,.0f} MiB before, peak "
        f"{_maxrss_mib():,.0f} MiB after)"
        + (
            f"; the first {args.advisories_db:,} of the {args.advisories:,} above (--advisories-db for more)"
            if args.advisories_db < args.advisories
            else ""
        )
        + f"; {_load()}"
    )
    artifact = (
        Tag.objects.select_related("artifact__repository__project")
        .get(repository__name=REPOSITORY, name=TAG)
        .artifact
    )
    _, expected = corpus.expected(args.advisories_db)
    for attempt in (1, 2):
        report, scan_s = _timed(lambda: scanning.scan_now(artifact))
        if report.status != ScanReport.Status.SUCCEEDED:
            raise SystemExit(f"scan failed: {report.error}")
        stored = report.findings.count()
        print(
            f"scan_now   {attempt}: {scan_s:.1f} s for {report.packages:,} packages, {stored:,} findings stored "
            f"(expected {expected:,}), worst {report.worst_severity}"
            + (
                "; layers streamed from the registry, advisories loaded from the database"
                if attempt == 1
                else ""
            )
            + f"; {_load()}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    began = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="wharf-scan-bench-", dir=args.tmpdir))
    try:
        with interrupts_raise(), ExitStack() as cleanup:
            spec = image_spec(args.packages, layer_mib=args.layer_mb)
            corpus = Corpus(spec)
            (base, base_s), (big, big_s) = (
                _timed(lambda: _in_child("layer writer", lambda: write_base_layer(spec, workdir))),
                _timed(lambda: _in_child("layer writer", lambda: write_big_layer(spec, workdir))),
            )
            layers = [base, big]
            print(
                f"image      {spec.packages:,} packages ({spec.deb_packages:,} dpkg from {len(spec.sources):,} "
                f"sources, {len(spec.python)} PyPI, {len(spec.npm)} npm); layers {base.tar_bytes / MiB:.1f} MiB "
                f"tar / {base.size / 1024:,.0f} KiB gz and {big.tar_bytes / MiB:,.0f} MiB tar / {big.size / MiB:,.0f} "
                f"MiB gz ({big.entries:,} entries); built in {base_s + big_s:.1f} s (streamed to disk, not timed below); "
                f"{_load()}"
            )
            osv_zip = workdir / "osv.zip"
            if args.django:
                _, zip_s = _timed(
                    lambda: _in_child(
                        "osv.zip writer", lambda: _write_osv_zip(osv_zip, corpus, args.advisories_db)
                    )
                )
                print(
                    f"osv.zip    the first {args.advisories_db:,} generated advisories written in {zip_s:.1f} s "
                    f"({osv_zip.stat().st_size / MiB:,.0f} MiB, in a child process); {_load()}"
                )
            found = _step_engine(spec, layers, corpus, args.advisories)
            # The whole generated database in memory is the engine's benchmark, not what a
            # scan holds (it loads only its packages' rows): a child keeps it out of the peak.
            _in_child("in-memory match", lambda: _step_database(found, corpus, args.advisories))
            if args.polyglot:
                _step_polyglot(workdir)
            if args.django:
                _step_django(args, workdir, layers, osv_zip, corpus, cleanup)
    except KeyboardInterrupt:
        print("interrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    children = ", ".join(f"{name} {mib:,.0f} MiB" for name, mib in _children_peak_mib.items()) or "none"
    whole = _process_peak_mib()
    print(
        f"peak RSS   whole process {whole:,.0f} MiB = {whole * MiB / 1e6:,.0f} MB (getrusage RUSAGE_SELF "
        f"ru_maxrss, the higher of before the engine's reset and at the end; goal <= 300 MB: "
        f"{'met' if whole * MiB / 1e6 <= 300 else 'NOT met'}); children {_maxrss_mib(resource.RUSAGE_CHILDREN):,.0f} "
        f"MiB (RUSAGE_CHILDREN, the largest child waited for): {children} (fixture writers and the "
        f"in-memory match run in forked children, so they do not count above; a forked child starts "
        f"at this process's size; docker-registry's is its VmHWM before stopping)"
    )
    print(
        f"total      {time.perf_counter() - began:.0f} s on {os.cpu_count()} CPUs "
        f"({_load()} at the end: other work on the machine skews the figures)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
