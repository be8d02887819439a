"""Benchmark manifest GETs through the gate (nginx asking Wharf) against the registry directly.

Run from the repository root::

    .venv/bin/python benchmarks/gate_bench.py [--seconds 10] [--rounds 3] [--connections 16]
        [--cache-seconds 1] [--stale-seconds 1]

Makes a throwaway SQLite database (or uses DATABASE_URL, which must be empty) and a
registry (Debian's docker-registry, no token auth: wrk sends no credentials), pushes two
images and syncs them: `guarded/app:v1` in a project whose policy requires a signature
and blocks critical vulnerabilities (it is signed and scanned clean, so every request
walks the whole decision and is let through), `free/app:v1` in a project without a
policy. Starts gunicorn as the Procfile does (2 workers x 4 threads) and the gate's
nginx three times: asking Wharf on every manifest request, keeping Wharf's answers
`--cache-seconds` (the `WHARF_GATE_DECISION_CACHE` setting; requests at expiry wait for
Wharf), and keeping them with `--stale-seconds` of bounded staleness
(`WHARF_GATE_DECISION_STALE`: at expiry one background request asks Wharf). Then `wrk --latency` with 16
connections, rounds interleaved (direct, gate..., direct, ...) so load from elsewhere hits
all alike.

Prints first the latency of single requests (one client, one at a time), then per case
the median manifest GETs/s (min-max), p50, p99 (median/worst), non-2xx,
the ratio to the direct registry in the same round and the p99 added. Goals (issue 12):
ratio >= 0.8 and added p99 <= 5 ms. Needs `wrk` and `nginx` (Debian packages).

The end-to-end p99 difference at saturation on a small shared machine mostly measures
queueing (wrk, nginx, the registry and gunicorn take turns on the same cores). So each gate
also logs, per request, nginx's `$request_time` and the registry's
`$upstream_response_time` (`GateConfig.timing_log`): their difference is what the gate
itself added to that request (the decision, asked or kept, and the proxying), printed as
mean/p50/p99 in ms beside the end-to-end figures. nginx times in whole milliseconds, so
p50/p99 are multiples of 1 ms; the mean is finer.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ACCEPT = (
    "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json"
)
SECRET = "gate-bench-secret-0123456789"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer within {timeout}s")


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


@dataclass(frozen=True)
class Run:
    rps: float
    p50: float
    p99: float
    non2xx: int


def _wrk(url: str, seconds: int, connections: int) -> Run:
    args = [
        "wrk",
        "--latency",
        f"-t{min(2, connections)}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
    ]
    out = subprocess.run(  # noqa: S603  (our own arguments)
        [*args, "-H", f"Accept: {ACCEPT}", url], capture_output=True, text=True, check=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return Run(rps, p50, p99, int(non2xx.group(1)) if non2xx else 0)


def _gate_added(log: Path, offset: int) -> tuple[list[float], int]:
    """The ms the gate added to each 2xx manifest request logged in `log` past `offset`
    ($request_time minus the registry's $upstream_response_time), and the new offset."""
    time.sleep(1.2)  # the log's buffer is flushed every second
    with log.open("rb") as handle:
        handle.seek(offset)
        data = handle.read()
    added = []
    for line in data.decode(errors="replace").splitlines():
        match = re.match(r'\S+ (\d+) ([\d.]+) "([^"]*)"', line)
        if match is None or not match.group(1).startswith("2"):
            continue
        upstream = [float(v) for v in re.split(r"[,:]\s*", match.group(3)) if re.fullmatch(r"[\d.]+", v)]
        if upstream:
            added.append((float(match.group(2)) - sum(upstream)) * 1000)
    return added, offset + len(data)


def _describe(added: list[float]) -> str:
    if not added:
        return f"{'-':>20}"
    ordered = sorted(added)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"{statistics.fmean(ordered):6.2f}/{statistics.median(ordered):4.0f}/{p99:4.0f} ({len(ordered)})"


def _load() -> str:
    return "/".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--cache-seconds", type=int, default=1)
    parser.add_argument("--stale-seconds", type=int, default=1)
    options = parser.parse_args()
    for tool in ("wrk", "nginx", "docker-registry"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed (make bench-deps)")
    workdir = Path(tempfile.mkdtemp(prefix="wharf-gate-bench-"))
    processes: list[subprocess.Popen[bytes]] = []

    def stop(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        run(options, workdir, processes)
    finally:
        for process in processes:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=40)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        shutil.rmtree(workdir, ignore_errors=True)


def _start(args: list[str], env: dict[str, str], processes: list[subprocess.Popen[bytes]], log: Path) -> None:
    with log.open("ab") as out:
        processes.append(
            subprocess.Popen(  # noqa: S603  (our own arguments)
                args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        )


def run(options: argparse.Namespace, workdir: Path, processes: list[subprocess.Popen[bytes]]) -> None:
    registry_port, web_port = _free_port(), _free_port()
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}")
    os.environ.update(
        {
            "WHARF_VAR_DIR": str(workdir / "var"),
            "REGISTRY_URL": f"http://127.0.0.1:{registry_port}",
            "WHARF_REGISTRY_TOKEN_AUTH": "false",
            "REGISTRY_USERNAME": "",
            "WHARF_GATE_SECRET": SECRET,
            "WHARF_GATE_DECISION_STALE": str(options.stale_seconds),
            "DJANGO_SETTINGS_MODULE": "portal.settings",
        }
    )
    (workdir / "var").mkdir()
    from repositories.registry.config import registry_config, render_registry_config

    config = workdir / "registry.yml"
    config.write_text(
        render_registry_config(
            registry_config(
                storage_dir=str(workdir / "storage"), addr=f"127.0.0.1:{registry_port}", http_secret=SECRET
            )
        )
    )
    _start(["docker-registry", "serve", str(config)], dict(os.environ), processes, workdir / "registry.log")
    _wait(f"http://127.0.0.1:{registry_port}/v2/")

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from audit.context import Actor
    from repositories.models import Artifact, ArtifactSignature, Project, ScanReport
    from repositories.registry.builder import build_image, push
    from repositories.services.gate import save_policy
    from repositories.services.registry import registry_client
    from repositories.services.sync import sync_now

    for name in ("guarded/app", "free/app"):
        push(registry_client(), name, build_image(), "v1")
    sync_now()
    guarded = Project.objects.get(name="guarded")
    artifact = Artifact.objects.get(repository__name="guarded/app")
    ArtifactSignature.objects.create(artifact=artifact, status="signed", key_name="bench")
    ScanReport.objects.create(artifact=artifact, status=ScanReport.Status.SUCCEEDED)
    save_policy(guarded, {"require_signed": True, "block_severity": "critical"}, actor=Actor.system("bench"))
    from django.db import connections

    connections.close_all()

    env = dict(os.environ)
    workers = os.environ.get("WEB_CONCURRENCY", "2")
    gunicorn = str(ROOT / ".venv" / "bin" / "gunicorn")
    _start(
        [
            gunicorn,
            "portal.wsgi",
            "--bind",
            f"127.0.0.1:{web_port}",
            "--workers",
            workers,
            "--threads",
            "4",
            "--log-level",
            "warning",
        ],
        env,
        processes,
        workdir / "gunicorn.log",
    )
    _wait(f"http://127.0.0.1:{web_port}/login/")

    import pwd

    from repositories.gate.nginx import GateConfig, render_nginx_config
    from repositories.services.gate import write_markers

    state = workdir / "var" / "gate"
    os.environ["WHARF_GATE_STATE_DIR"] = str(state)
    from django.conf import settings

    settings.WHARF_GATE_STATE_DIR = state
    write_markers()
    gates: dict[str, tuple[int, Path]] = {}
    for label, cache, stale in (
        ("gate, asking Wharf every time", 0, 0),
        (f"gate, answers kept {options.cache_seconds}s", options.cache_seconds, 0),
        (f"gate, kept {options.cache_seconds}s + {options.stale_seconds}s stale", options.cache_seconds, options.stale_seconds),
    ):
        port = _free_port()
        prefix = workdir / f"nginx{port}"
        prefix.mkdir()
        (prefix / "nginx.conf").write_text(
            render_nginx_config(
                GateConfig(
                    listen=f"127.0.0.1:{port}",
                    registry=f"127.0.0.1:{registry_port}",
                    wharf=f"127.0.0.1:{web_port}",
                    secret=SECRET,
                    prefix=str(prefix),
                    marker_dir=str(state / "guarded"),
                    pull_marker_dir=str(state / "pull"),
                    cache_seconds=cache,
                    stale_seconds=stale,
                    timing_log=str(prefix / "timing.log"),
                    user=pwd.getpwuid(os.geteuid()).pw_name if os.geteuid() == 0 else None,
                )
            )
        )
        _start(
            [
                "nginx",
                "-e",
                "stderr",
                "-p",
                str(prefix),
                "-c",
                str(prefix / "nginx.conf"),
                "-g",
                "daemon off;",
            ],
            env,
            processes,
            prefix / "out.log",
        )
        _wait(f"http://127.0.0.1:{port}/v2/")
        gates[label] = (port, prefix / "timing.log")

    direct = f"http://127.0.0.1:{registry_port}"
    cases: list[tuple[str, str]] = [("registry directly", f"{direct}/v2/guarded/app/manifests/v1")]
    timing: dict[str, Path] = {}
    for label, (port, log) in gates.items():
        for what, repository in (("guarded project", "guarded/app"), ("no policy", "free/app")):
            cases.append((f"{label}: {what}", f"http://127.0.0.1:{port}/v2/{repository}/manifests/v1"))
            timing[cases[-1][0]] = log
    offsets = dict.fromkeys(timing.values(), 0)

    def added_by_gate(name: str) -> list[float]:
        """What nginx logged for `name` since the last call (cases run one after another)."""
        log = timing.get(name)
        if log is None:
            return []
        found, offsets[log] = _gate_added(log, offsets[log])
        return found

    for name, url in cases:
        answer = httpx.get(url, headers={"Accept": ACCEPT}, timeout=10)
        if answer.status_code != 200:
            raise SystemExit(f"{name}: {answer.status_code} {answer.text[:300]}")
        _wrk(url, 2, options.connections)  # warm up: connections, Python's first requests
        added_by_gate(name)  # skip the warm-up's lines

    print("\n== one client, one request at a time (200 manifest GETs each): the latency the gate adds")
    with httpx.Client(headers={"Accept": ACCEPT}, timeout=10) as client:
        for name, url in cases:
            times = []
            for _ in range(200):
                started = time.perf_counter()
                client.get(url)
                times.append((time.perf_counter() - started) * 1000)
            times.sort()
            print(
                f"{name:52} median {statistics.median(times):6.2f} ms   p99 {times[197]:6.2f} ms   "
                f"added by the gate (nginx's times, mean/p50/p99 ms): {_describe(added_by_gate(name))}"
            )

    print(
        f"\n== manifest GETs, wrk -c{options.connections} -d{options.seconds}s, {options.rounds} rounds, "
        f"{os.cpu_count()} cores, gunicorn {workers} workers x 4 threads, "
        f"{'SQLite' if 'sqlite' in os.environ['DATABASE_URL'] else 'DATABASE_URL'}, load {_load()}"
    )
    runs: dict[str, list[Run]] = {name: [] for name, _ in cases}
    added: dict[str, list[float]] = {name: [] for name, _ in cases}
    for _ in range(options.rounds):
        for name, url in cases:
            runs[name].append(_wrk(url, options.seconds, options.connections))
            added[name] += added_by_gate(name)
    base = runs[cases[0][0]]
    base_rps = statistics.median(r.rps for r in base)
    base_p99 = statistics.median(r.p99 for r in base)
    print(
        f"{'case':52} {'GETs/s median (min-max)':>24} {'p50 ms':>7} {'p99 ms med/max':>15} {'non-2xx':>8} "
        f"{'ratio':>6} {'+p99 ms':>8}  {'gate-added ms mean/p50/p99 (n)':>30}"
    )
    for name, results in runs.items():
        rps = [r.rps for r in results]
        median = statistics.median(rps)
        p99s = [r.p99 for r in results]
        ratio = statistics.median(r.rps / b.rps for r, b in zip(results, base, strict=True))
        print(
            f"{name:52} {f'{median:8.0f} ({min(rps):.0f}-{max(rps):.0f})':>24} "
            f"{statistics.median(r.p50 for r in results):7.2f} {statistics.median(p99s):7.2f}/{max(p99s):<7.2f} "
            f"{sum(r.non2xx for r in results):8d} {ratio:6.2f} {statistics.median(p99s) - base_p99:8.2f}  {_describe(added[name]):>30}"
        )
    print(
        f"goal: ratio >= 0.8 and added p99 <= 5 ms (registry directly: {base_rps:.0f}/s, p99 {base_p99:.2f} ms); "
        f"load after {_load()}"
    )
    print(
        "+p99 ms: end-to-end p99 minus the registry's (queueing included); gate-added: per request, "
        "nginx's $request_time minus the registry's $upstream_response_time (whole ms)"
    )


if __name__ == "__main__":
    main()
