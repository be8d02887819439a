"""Benchmark the registry token endpoint under gunicorn, next to a trivial Django JSON view.

Run from the repository root::

    .venv/bin/python benchmarks/token_bench.py [--seconds 10] [--connections 16]

What it does:

1. makes a throwaway SQLite database (or uses DATABASE_URL, migrating it) and a
   throwaway signing key, with a user, a private project, a public project, a
   personal access token and a robot account;
2. starts gunicorn as the Procfile does (2 workers x 4 threads unless
   WEB_CONCURRENCY says otherwise) on a free port, with Wharf's settings plus one
   trivial JSON view (`benchmarks/token_bench_site`);
3. runs `wrk --latency` against: the trivial view (the framework's floor), an
   anonymous pull token for a public repository, a pull token with a personal
   access token, and a pull token for a robot (both through Basic auth and the
   fast SHA-256 check, not the slow password hash);
4. prints tokens/s, p50 and p99 latency of each and its ratio to the floor.

Password logins are not benchmarked: they cost one deliberate slow hash
(PBKDF2, ~0.3 s of CPU) each, which is what CI pipelines should avoid by using
tokens. Needs `wrk` (Debian package).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx

ROOT = Path(__file__).resolve().parent.parent
SETUP = """
import json
from django.core.management import call_command
from accounts.models import User
from accounts.permissions import Role
from accounts.services.robots import create_robot
from accounts.services.tokens import create_token
from audit.context import Actor
from repositories.models import Membership, Project
call_command("migrate", verbosity=0)
user, _ = User.objects.get_or_create(username="bench-dev")
acme, _ = Project.objects.get_or_create(name="bench-acme", defaults={"is_public": False})
pub, _ = Project.objects.get_or_create(name="bench-pub", defaults={"is_public": True})
Membership.objects.get_or_create(project=acme, user=user, defaults={"role": Role.DEVELOPER})
_, pat = create_token(user, actor=Actor.system(), name="bench-" + str(__import__("secrets").token_hex(4)))
robot, secret = create_robot(actor=Actor.system(), created_by=user, project=acme,
                             name="bench" + str(__import__("secrets").token_hex(4)), actions=["pull"])
print(json.dumps({"pat": pat, "robot": robot.full_name, "robot_secret": secret}))
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def _wait(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _wrk(wrk: str, url: str, seconds: int, connections: int, header: str | None) -> dict[str, float]:
    args = [wrk, "--latency", f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds}s"]
    if header:
        args += ["-H", f"Authorization: {header}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout  # noqa: S603
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {"rps": rps, "p50": p50, "p99": p99, "non2xx": float(errors.group(1)) if errors else 0.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--wrk", default=shutil.which("wrk") or "/usr/bin/wrk")
    options = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="wharf-token-bench-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "benchmarks.token_bench_site.settings",
        "WHARF_VAR_DIR": str(workdir / "var"),
        "WHARF_TOKEN_KEY": str(workdir / "key.pem"),
        "WHARF_TOKEN_CERT": str(workdir / "cert.pem"),
        "DEBUG": "false",
        "PYTHONPATH": str(ROOT),
    }
    env.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}")
    python = str(ROOT / ".venv" / "bin" / "python")
    gunicorn_proc = None
    try:
        subprocess.run(  # noqa: S603  (our own arguments)
            [python, "-c", "from accounts.registry_auth.keys import create_key_pair as c; import sys; "
             "from pathlib import Path; c(Path(sys.argv[1]), Path(sys.argv[2]))",
             env["WHARF_TOKEN_KEY"], env["WHARF_TOKEN_CERT"]],
            check=True, cwd=ROOT, env=env,
        )
        made = subprocess.run(  # noqa: S603
            [python, "manage.py", "shell", "-c", SETUP], check=True, cwd=ROOT, env=env, capture_output=True, text=True
        )
        secrets_ = json.loads(made.stdout.strip().splitlines()[-1])
        port = _free_port()
        workers = os.environ.get("WEB_CONCURRENCY", "2")
        gunicorn_proc = subprocess.Popen(  # noqa: S603
            [str(ROOT / ".venv" / "bin" / "gunicorn"), "portal.wsgi", "--bind", f"127.0.0.1:{port}",
             "--workers", workers, "--threads", "4", "--log-level", "warning"],
            cwd=ROOT, env=env, start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        _wait(f"{base}/bench/json")
        token_url = f"{base}/service/token?" + urlencode({"service": "wharf-registry", "scope": "repository:bench-pub/app:pull"})
        private_url = f"{base}/service/token?" + urlencode({"service": "wharf-registry", "scope": "repository:bench-acme/app:pull"})
        cases = [
            ("trivial Django JSON view (floor)", f"{base}/bench/json", None),
            ("token: anonymous, public pull", token_url, None),
            ("token: personal access token, pull", private_url, _basic("bench-dev", secrets_["pat"])),
            ("token: robot account, pull", private_url, _basic(secrets_["robot"], secrets_["robot_secret"])),
        ]
        check = httpx.get(private_url, headers={"Authorization": cases[2][2] or ""})
        assert check.status_code == 200, check.text
        print(f"gunicorn {workers} workers x 4 threads, wrk -c{options.connections} -d{options.seconds}s, "
              f"database {env['DATABASE_URL'].split(':')[0]}, cache {env.get('CACHE_URL', 'locmem')}")
        floor = None
        print(f"{'case':40} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'vs floor':>9}")
        for name, url, header in cases:
            result = _wrk(options.wrk, url, options.seconds, options.connections, header)
            floor = floor or result["rps"]
            print(f"{name:40} {result['rps']:9.0f} {result['p50']:8.2f} {result['p99']:8.2f} "
                  f"{result['non2xx']:8.0f} {result['rps'] / floor:9.2f}")
        return 0
    finally:
        if gunicorn_proc is not None:
            os.killpg(gunicorn_proc.pid, 15)
            gunicorn_proc.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
