"""Robots made through the API and the page, used by real skopeo against the real
registry (Distribution) trusting Wharf's token service on a live server.

The login is the exact command the page shows, run through a shell, so the quoting
of `robot$project+name` is tested for real.
"""

from __future__ import annotations

import html
import os
import re
import subprocess
from pathlib import Path

import pytest
from django.test import Client

from accounts.registry_commands import login_commands
from tests.conftest import World
from tests.support.images import build_image, write_oci_layout
from tests.support.registry import RegistryServer

pytestmark = pytest.mark.slow


@pytest.fixture
def layout(tmp_path: Path) -> Path:
    return write_oci_layout(tmp_path / "layout", {"v1": build_image(labels={"test": "robots"})})


class Skopeo:
    """skopeo with its own auth file (never the machine's stored logins)."""

    def __init__(self, auth_file: Path) -> None:
        self.env = {**os.environ, "REGISTRY_AUTH_FILE": str(auth_file)}

    def shell(self, command: str, stdin: str) -> subprocess.CompletedProcess[str]:
        """Run a command line exactly as a person pastes it into a shell."""
        return subprocess.run(
            ["bash", "-c", command],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=self.env,
        )

    def login(self, command: str, secret: str) -> subprocess.CompletedProcess[str]:
        return self.shell(f"{command} --password-stdin", secret)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["skopeo", "--insecure-policy", *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=self.env,
        )

    def push(self, layout: Path, server: RegistryServer, reference: str) -> subprocess.CompletedProcess[str]:
        return self.run(
            "copy", "--dest-tls-verify=false", f"oci:{layout}:v1", f"docker://{server.host}/{reference}"
        )

    def inspect(self, server: RegistryServer, reference: str) -> subprocess.CompletedProcess[str]:
        return self.run("inspect", "--tls-verify=false", f"docker://{server.host}/{reference}")


def test_robot_created_through_the_api_pushes_and_pull_only_robot_from_the_page_cannot(
    world: World, token_registry: RegistryServer, layout: Path, tmp_path: Path
) -> None:
    padmin = Client()
    padmin.force_login(world.users["padmin"])

    created = padmin.post(
        "/api/v1/projects/acme/robots/",
        {"name": "builder", "permissions": ["pull", "push"]},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    builder = Skopeo(tmp_path / "builder.json")
    skopeo_login = login_commands(created.json()["full_name"])[1].text
    assert "'robot$acme+builder'" in skopeo_login
    logged_in = builder.login(skopeo_login, created.json()["secret"])
    assert logged_in.returncode == 0, logged_in.stderr
    pushed = builder.push(layout, token_registry, "acme/app:v1")
    assert pushed.returncode == 0, pushed.stderr

    page = padmin.post("/projects/acme/robots/", {"name": "reader", "actions": ["pull"], "expiry": "default"})
    assert page.status_code == 200
    text = page.content.decode()
    secret = re.search(r'id="robot-secret-value" value="([^"]+)"', text).group(1)  # type: ignore[union-attr]
    shown = [html.unescape(line) for line in re.findall(r"<code[^>]*>(skopeo login [^<]+)</code>", text)]
    assert shown == [f"skopeo login --tls-verify=false {token_registry.host} -u 'robot$acme+reader'"]
    reader = Skopeo(tmp_path / "reader.json")
    logged_in = reader.login(shown[0], secret)
    assert logged_in.returncode == 0, logged_in.stderr
    assert reader.inspect(token_registry, "acme/app:v1").returncode == 0
    refused = reader.push(layout, token_registry, "acme/other:v1")
    assert refused.returncode != 0
    assert "denied" in refused.stderr.lower() or "unauthorized" in refused.stderr.lower()


def test_regenerated_secret_replaces_the_old_one_at_the_registry(
    world: World, token_registry: RegistryServer, layout: Path, tmp_path: Path
) -> None:
    padmin = Client()
    padmin.force_login(world.users["padmin"])
    created = padmin.post(
        "/api/v1/projects/acme/robots/",
        {"name": "ci", "permissions": ["pull", "push"]},
        content_type="application/json",
    ).json()
    command = login_commands(created["full_name"])[1].text
    regenerated = padmin.post(f"/api/v1/projects/acme/robots/{created['id']}/regenerate/").json()
    assert Skopeo(tmp_path / "old.json").login(command, created["secret"]).returncode != 0
    fresh = Skopeo(tmp_path / "new.json")
    assert fresh.login(command, regenerated["secret"]).returncode == 0
    pushed = fresh.push(layout, token_registry, "acme/app:v1")
    assert pushed.returncode == 0, pushed.stderr
