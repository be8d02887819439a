"""`manage.py serve PROCESS...`: the last step of `make run`.

Creates the first admin when there is none, prints the banner (URL, login, how to
push and seed), starts the named Procfile processes with honcho, and prints the
banner again once the web server answers, so it is not lost above their logs. A
generated password lives only in this process's memory, which is why this command
runs honcho instead of `make` calling `ensure_admin` and then honcho.

Ctrl-C reaches honcho directly (same process group) and honcho stops everything;
a SIGTERM sent to this process alone is passed on to honcho. The exit status is
honcho's.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from django.utils.translation import gettext

from accounts.services.users import ensure_first_admin
from audit.context import Actor
from portal.welcome import Welcome, render, shared_environment

PROBE_INTERVAL_SECONDS = 0.5


def probe_url(bind: str) -> str | None:
    """Where to ask whether gunicorn answers, from its `--bind` (None for a Unix socket)."""
    if bind.startswith(("unix:", "fd://")):
        return None
    host, _, port = bind.rpartition(":")
    if host in ("", "0.0.0.0", "[::]"):  # noqa: S104 (a wildcard bind answers on loopback too)
        host = "127.0.0.1"
    return f"http://{host}:{port}/"


def fresh_metrics_directory() -> str:
    """Where gunicorn's and Celery's processes keep their Prometheus counters
    (`PROMETHEUS_MULTIPROC_DIR`, so one scrape sees every process: `portal.metrics`),
    emptied now so counts of an earlier run do not carry over."""
    directory = Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or settings.VAR_DIR / "prometheus")
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)  # honcho and its processes inherit it
    return str(directory)


def _honcho() -> str:
    beside = Path(sys.executable).with_name("honcho")
    found = str(beside) if beside.exists() else shutil.which("honcho")
    if not found:
        raise CommandError(gettext("honcho is not installed (it is in requirements.txt: run `make deps`)."))
    return found


class Command(BaseCommand):
    help = (
        "Create the first admin if needed, start the Procfile's processes with honcho, print where to log in."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("processes", nargs="+", help="Procfile process names, e.g. web worker registry.")
        parser.add_argument("--username", default=os.environ.get("WHARF_ADMIN_USERNAME", "admin"))

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            admin = ensure_first_admin(
                actor=Actor.system("make run"),
                username=options["username"],
                password=os.environ.get("WHARF_ADMIN_PASSWORD", ""),
            )
        except ValidationError as exc:
            raise CommandError(
                gettext("Could not create the admin: %(messages)s") % {"messages": "; ".join(exc.messages)}
            ) from exc
        connections.close_all()  # this process only waits from here on
        welcome = Welcome(
            url=settings.WHARF_PUBLIC_URL,
            registry_host=settings.REGISTRY_PUBLIC_HOST,
            admin_username=admin.username,
            admin_created=admin.created,
            generated_password=admin.generated_password,
            environment=shared_environment(os.environ),
        )
        self._show(render(welcome, up=False))
        fresh_metrics_directory()
        # Process names come from the Makefile (or the operator); the shell is not involved.
        honcho = subprocess.Popen([_honcho(), "start", *options["processes"]], cwd=settings.BASE_DIR)  # noqa: S603

        def pass_on(signum: int, frame: FrameType | None) -> None:
            honcho.send_signal(signum)

        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the terminal's Ctrl-C reaches honcho itself
        signal.signal(signal.SIGTERM, pass_on)
        bind = os.environ.get("WHARF_BIND") or f"127.0.0.1:{settings.WHARF_PORT}"
        url = probe_url(bind) if "web" in options["processes"] else None
        if url and self._wait_until_answers(url, honcho):
            self._show(render(welcome, up=True))
        code = honcho.wait()
        if code:
            raise SystemExit(code)

    def _show(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()

    def _wait_until_answers(self, url: str, honcho: subprocess.Popen[bytes]) -> bool:
        """True once `url` gives any HTTP answer; False if honcho stops first."""
        while honcho.poll() is None:
            try:
                httpx.get(url, timeout=2.0)
            except httpx.HTTPError:
                time.sleep(PROBE_INTERVAL_SECONDS)
            else:
                return True
        return False
