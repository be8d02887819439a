"""Run the gate (nginx, config from `repositories.gate.nginx`) in front of a test registry.

`GateServer` starts `nginx` on a free 127.0.0.1 port with its own prefix directory, the
registry it fronts and the Wharf it asks (the live server's host:port). It has `host`
and `url` like `RegistryServer`, so the skopeo helpers drive either.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path

import httpx

from repositories.gate.nginx import GateConfig, render_nginx_config
from tests.support.registry import RegistryServer, free_port, stop_process_group

NGINX_BINARY = os.environ.get("WHARF_TEST_NGINX_BINARY", "nginx")


class GateServer:
    def __init__(
        self,
        workdir: Path,
        *,
        registry: RegistryServer,
        wharf: str,
        secret: str,
        marker_dir: Path,
        cache_seconds: int = 0,
        stale_seconds: int = 0,
        failure: str = "by-project",
        timeout: float = 10.0,  # a loaded test machine can take seconds to answer
        workers: str = "1",
        port: int | None = None,
    ) -> None:
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.registry = registry
        self.config_path = workdir / "nginx.conf"
        self.config_path.write_text(
            render_nginx_config(
                GateConfig(
                    listen=f"127.0.0.1:{self.port}",
                    registry=registry.host,
                    wharf=wharf,
                    secret=secret,
                    prefix=str(workdir),
                    marker_dir=str(marker_dir / "guarded"),
                    pull_marker_dir=str(marker_dir / "pull"),
                    cache_seconds=cache_seconds,
                    stale_seconds=stale_seconds,
                    timeout=timeout,
                    failure=failure,
                    user=pwd.getpwuid(os.geteuid()).pw_name if os.geteuid() == 0 else None,
                    workers=workers,
                )
            )
        )
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def start(self, timeout: float = 10.0) -> None:
        if shutil.which(NGINX_BINARY) is None:
            raise RuntimeError(f"{NGINX_BINARY} not found: apt-get install nginx-light")
        log = (self.workdir / "nginx.out").open("ab")
        try:
            self._process = subprocess.Popen(
                [
                    NGINX_BINARY,
                    "-e",
                    "stderr",
                    "-p",
                    str(self.workdir),
                    "-c",
                    str(self.config_path),
                    "-g",
                    "daemon off;",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"nginx exited with {self._process.returncode}:\n{self.log_tail()}")
            try:
                httpx.get(f"{self.url}/v2/", timeout=1.0)
            except httpx.TransportError:
                time.sleep(0.05)
                continue
            return
        self.stop()
        raise RuntimeError(f"nginx did not answer within {timeout}s:\n{self.log_tail()}")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        stop_process_group(process)

    def log_tail(self, lines: int = 30) -> str:
        parts = []
        for name in ("nginx.out", "error.log"):
            with contextlib.suppress(OSError):
                parts.append(
                    "\n".join((self.workdir / name).read_text(errors="replace").splitlines()[-lines:])
                )
        return "\n".join(parts)

    def __enter__(self) -> GateServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
