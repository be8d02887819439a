"""Run the real `docker-registry` binary (CNCF Distribution) for tests.

`RegistryServer` starts it on a free 127.0.0.1 port with temporary storage and
deletes enabled; it can be stopped and started again on the same port and storage
(for "registry went away mid-sync" tests). Fixtures:

- `registry` (session): one shared server; tests use unique repository names
  (`unique_repo`) so they do not see each other's content.
- `registry_factory` (function): fresh servers with their own storage, and
  optional notifications / token auth, for tests that need an empty catalog or
  a special config. Stopped at the end of the test.

Import the fixtures into a conftest.py (``from tests.support.registry import
registry, registry_factory``) to make them available below it.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from repositories.registry.client import RegistryClient
from repositories.registry.config import (
    NotificationEndpoint,
    TokenAuth,
    registry_config,
    render_registry_config,
)

REGISTRY_BINARY = os.environ.get("WHARF_TEST_REGISTRY_BINARY", "docker-registry")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def unique_repo(prefix: str = "test") -> str:
    """A repository name no other test uses (the session registry is shared)."""
    return f"{prefix}/r{secrets.token_hex(5)}"



def stop_process_group(process: subprocess.Popen[Any]) -> None:
    """SIGTERM the process group a server fixture started (`start_new_session`), SIGKILL it
    after 5 s; nothing if it is gone already."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)

class RegistryServer:
    """One `docker-registry serve` process with its own storage and config file."""

    def __init__(
        self,
        workdir: Path,
        *,
        port: int | None = None,
        notifications: list[NotificationEndpoint] | None = None,
        token_auth: TokenAuth | None = None,
        binary: str = REGISTRY_BINARY,
    ) -> None:
        self.workdir = workdir
        self.storage = workdir / "storage"
        self.storage.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.binary = binary
        self.config_path = workdir / "config.yml"
        self.log_path = workdir / "registry.log"
        self.config_path.write_text(
            render_registry_config(
                registry_config(
                    storage_dir=str(self.storage),
                    addr=f"127.0.0.1:{self.port}",
                    http_secret=secrets.token_hex(16),
                    notifications=notifications or (),
                    token_auth=token_auth,
                    log_level="info",
                )
            )
        )
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``, as used in image references (``HOST/repo:tag``)."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def pid(self) -> int:
        """The running registry's process id (benchmarks read its CPU time)."""
        assert self._process is not None, "the registry is not started"
        return self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def client(self, **kwargs: Any) -> RegistryClient:
        """A client for this registry; short timeouts and backoff suit tests."""
        kwargs.setdefault("timeout", 5.0)
        kwargs.setdefault("backoff_base", 0.05)
        kwargs.setdefault("max_retries", 2)
        return RegistryClient(self.url, **kwargs)

    def start(self, timeout: float = 15.0) -> None:
        if self.running:
            return
        if shutil.which(self.binary) is None:
            raise RuntimeError(f"{self.binary} not found: apt-get install docker-registry")
        log = self.log_path.open("ab")
        try:
            # Own process group, so stop() takes down anything the binary spawned.
            self._process = subprocess.Popen(
                [self.binary, "serve", str(self.config_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            log.close()
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"registry exited with {self._process.returncode}:\n{self.log_tail()}")
            try:
                response = httpx.get(f"{self.url}/v2/", timeout=1.0)
            except httpx.TransportError:
                time.sleep(0.05)
                continue
            if response.status_code in (200, 401):
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"registry did not answer /v2/ within {timeout}s:\n{self.log_tail()}")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        stop_process_group(process)

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def __enter__(self) -> RegistryServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


RegistryFactory = Callable[..., RegistryServer]


@pytest.fixture(scope="session", name="registry")
def registry() -> Iterator[RegistryServer]:
    """One real registry for the whole test session."""
    workdir = Path(tempfile.mkdtemp(prefix="wharf-registry-"))
    server = RegistryServer(workdir)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(name="registry_factory")
def registry_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryFactory]:
    """Start fresh registries (own storage, optional notifications / token auth) for one test."""
    servers: list[RegistryServer] = []

    def make(**kwargs: Any) -> RegistryServer:
        server = RegistryServer(tmp_path_factory.mktemp("registry"), **kwargs)
        servers.append(server)
        server.start()
        return server

    try:
        yield make
    finally:
        for server in servers:
            server.stop()
