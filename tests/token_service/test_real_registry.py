"""Against the real registry (Distribution 2.8) trusting Wharf's token service, with real skopeo.

The registry's token realm is the live Wharf server of the test; tokens are
signed with a key made for the session (`key_files`).
"""

from __future__ import annotations

import datetime as dt
import io
import os
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import RobotAccount
from accounts.registry_auth.jwt import Access, mint_token
from accounts.registry_auth.keys import create_key_pair, load_signing_key
from accounts.services.robots import create_robot
from accounts.services.tokens import create_token
from audit.context import Actor
from repositories.models import Repository
from repositories.registry.auth import BearerChallenge
from repositories.registry.errors import RegistryError
from repositories.services.registry import registry_client
from repositories.services.sync import sync_now
from tests.conftest import World
from tests.factories import PASSWORD
from tests.support.images import build_image, write_oci_layout
from tests.support.registry import RegistryServer, free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def layout(tmp_path: Path) -> Path:
    return write_oci_layout(tmp_path / "layout", {"v1": build_image(labels={"test": "token-service"})})


@pytest.fixture
def skopeo(tmp_path: Path, token_registry: RegistryServer) -> Any:
    """Run skopeo against the token registry, never reading the machine's stored logins."""
    env = {**os.environ, "REGISTRY_AUTH_FILE": str(tmp_path / "auth.json")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["skopeo", "--insecure-policy", *args], capture_output=True, text=True, timeout=60, check=False, env=env
        )

    return run


def _push(skopeo: Any, layout: Path, server: RegistryServer, reference: str, creds: str) -> subprocess.CompletedProcess[str]:
    return skopeo(
        "copy", "--dest-tls-verify=false", f"--dest-creds={creds}", f"oci:{layout}:v1", f"docker://{server.host}/{reference}"
    )


def _inspect(skopeo: Any, server: RegistryServer, reference: str, creds: str | None) -> subprocess.CompletedProcess[str]:
    auth = [f"--creds={creds}"] if creds else ["--no-creds"]
    return skopeo("inspect", "--tls-verify=false", *auth, f"docker://{server.host}/{reference}")


def _delete(skopeo: Any, server: RegistryServer, reference: str, creds: str) -> subprocess.CompletedProcess[str]:
    return skopeo("delete", "--tls-verify=false", f"--creds={creds}", f"docker://{server.host}/{reference}")


def test_developer_pushes_and_guest_cannot(world: World, token_registry: RegistryServer, skopeo: Any, layout: Path) -> None:
    pushed = _push(skopeo, layout, token_registry, "acme/app:v1", f"developer:{PASSWORD}")
    assert pushed.returncode == 0, pushed.stderr
    refused = _push(skopeo, layout, token_registry, "acme/other:v1", f"guest:{PASSWORD}")
    assert refused.returncode != 0
    assert "denied" in refused.stderr.lower() or "unauthorized" in refused.stderr.lower()
    assert _inspect(skopeo, token_registry, "acme/app:v1", f"guest:{PASSWORD}").returncode == 0


def test_anonymous_pulls_public_images_and_not_private_ones(
    world: World, token_registry: RegistryServer, skopeo: Any, layout: Path
) -> None:
    for reference in ("pub/app:v1", "acme/app:v1"):
        assert _push(skopeo, layout, token_registry, reference, f"developer:{PASSWORD}").returncode == 0
    public = _inspect(skopeo, token_registry, "pub/app:v1", None)
    assert public.returncode == 0, public.stderr
    private = _inspect(skopeo, token_registry, "acme/app:v1", None)
    assert private.returncode != 0
    anonymous_push = _push(skopeo, layout, token_registry, "pub/anon:v1", ":")
    assert anonymous_push.returncode != 0


def test_developer_cannot_delete_and_maintainer_can(
    world: World, token_registry: RegistryServer, skopeo: Any, layout: Path
) -> None:
    assert _push(skopeo, layout, token_registry, "acme/app:v1", f"developer:{PASSWORD}").returncode == 0
    refused = _delete(skopeo, token_registry, "acme/app:v1", f"developer:{PASSWORD}")
    assert refused.returncode != 0
    assert "401" in refused.stderr and "delete" in refused.stderr  # the token lacked the delete action
    assert _inspect(skopeo, token_registry, "acme/app:v1", f"developer:{PASSWORD}").returncode == 0
    deleted = _delete(skopeo, token_registry, "acme/app:v1", f"maintainer:{PASSWORD}")
    assert deleted.returncode == 0, deleted.stderr
    assert _inspect(skopeo, token_registry, "acme/app:v1", f"maintainer:{PASSWORD}").returncode != 0


def test_registry_client_with_basic_credentials_follows_the_bearer_challenge(
    world: World, token_registry: RegistryServer, skopeo: Any, layout: Path
) -> None:
    assert _push(skopeo, layout, token_registry, "acme/app:v1", f"developer:{PASSWORD}").returncode == 0
    developer = token_registry.client(auth=BearerChallenge("developer", PASSWORD))
    digest = developer.get_manifest("acme/app", "v1").digest
    with pytest.raises(RegistryError):
        developer.delete_manifest("acme/app", digest)
    maintainer = token_registry.client(auth=BearerChallenge("maintainer", PASSWORD))
    assert maintainer.delete_manifest("acme/app", digest) is True


def test_disabled_user_wrong_password_and_throttling_are_refused(
    world: World, token_registry: RegistryServer, skopeo: Any, layout: Path, settings: Any
) -> None:
    assert _push(skopeo, layout, token_registry, "acme/app:v1", f"developer:{PASSWORD}").returncode == 0
    wrong = _inspect(skopeo, token_registry, "acme/app:v1", "guest:wrong")
    assert wrong.returncode != 0
    assert "Incorrect username or password." in wrong.stderr
    user = world.users["limited"]
    user.is_active = False
    user.save()
    disabled = _inspect(skopeo, token_registry, "acme/app:v1", f"limited:{PASSWORD}")
    assert disabled.returncode != 0
    assert "This account is disabled." in disabled.stderr
    settings.WHARF_TOKEN_FAILURES_PER_ACCOUNT = 2
    assert _inspect(skopeo, token_registry, "acme/app:v1", "guest:wrong-again").returncode != 0  # the second failure
    locked = _inspect(skopeo, token_registry, "acme/app:v1", f"guest:{PASSWORD}")
    assert locked.returncode != 0
    assert "429" in locked.stderr or "too many" in locked.stderr.lower()


def test_personal_access_token_works_as_the_password(
    world: World, token_registry: RegistryServer, skopeo: Any, layout: Path
) -> None:
    user = world.users["developer"]
    _, secret = create_token(user, actor=Actor.for_user(user), name="ci")
    pushed = _push(skopeo, layout, token_registry, "acme/app:v1", f"developer:{secret}")
    assert pushed.returncode == 0, pushed.stderr


def test_pull_only_robot_cannot_push_and_expired_robot_is_refused(
    world: World, token_registry: RegistryServer, skopeo: Any, layout: Path
) -> None:
    padmin = world.users["padmin"]
    assert _push(skopeo, layout, token_registry, "acme/app:v1", f"developer:{PASSWORD}").returncode == 0
    robot, secret = create_robot(
        actor=Actor.for_user(padmin), created_by=padmin, project=world.private, name="ci", actions=["pull"]
    )
    creds = f"robot$acme+ci:{secret}"
    assert _inspect(skopeo, token_registry, "acme/app:v1", creds).returncode == 0
    assert _push(skopeo, layout, token_registry, "acme/robot:v1", creds).returncode != 0
    RobotAccount.objects.filter(pk=robot.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert _inspect(skopeo, token_registry, "acme/app:v1", creds).returncode != 0


def test_wharf_sync_works_with_self_minted_tokens_catalog_included(
    world: World, token_registry: RegistryServer, skopeo: Any, layout: Path
) -> None:
    for reference in ("acme/app:v1", "pub/web:v1"):
        assert _push(skopeo, layout, token_registry, reference, f"developer:{PASSWORD}").returncode == 0
    run = sync_now()
    assert run.status == "succeeded", run
    assert set(Repository.objects.values_list("name", flat=True)) >= {"acme/app", "pub/web"}
    assert registry_client().catalog() == ["acme/app", "pub/web"]


def test_registry_2_8_finds_the_key_by_libtrust_kid_alone_and_rejects_other_keys(
    world: World, token_registry: RegistryServer, key_files: tuple[Path, Path], tmp_path: Path
) -> None:
    catalog = [Access("registry", "catalog", ("*",))]
    kid_only = replace(load_signing_key(*key_files), x5c=())
    response = httpx.get(
        f"{token_registry.url}/v2/_catalog",
        headers={"Authorization": f"Bearer {mint_token('wharf', catalog, key=kid_only).token}"},
    )
    assert response.status_code == 200, response.text
    create_key_pair(tmp_path / "other.pem", tmp_path / "other.crt")
    stranger = load_signing_key(tmp_path / "other.pem", tmp_path / "other.crt")
    response = httpx.get(
        f"{token_registry.url}/v2/_catalog",
        headers={"Authorization": f"Bearer {mint_token('wharf', catalog, key=stranger).token}"},
    )
    assert response.status_code == 401


def test_registry_config_command_output_runs_the_registry_and_skopeo_logs_in(
    world: World, live_server: Any, tmp_path: Path, settings: Any
) -> None:
    port = free_port()
    settings.REGISTRY_URL = f"http://127.0.0.1:{port}"
    settings.REGISTRY_STORAGE_DIR = tmp_path / "registry"
    settings.WHARF_PUBLIC_URL = live_server.url
    settings.WHARF_NOTIFY_URL = f"{live_server.url}/service/notifications"
    settings.WHARF_TOKEN_KEY, settings.WHARF_TOKEN_CERT = tmp_path / "tk" / "key.pem", tmp_path / "tk" / "cert.pem"
    settings.WHARF_REGISTRY_TOKEN_AUTH = True
    out = io.StringIO()
    call_command("registry_config", stdout=out, stderr=io.StringIO())
    server = RegistryServer(tmp_path / "server", port=port)
    server.config_path = Path(out.getvalue().strip())
    env = {**os.environ, "REGISTRY_AUTH_FILE": str(tmp_path / "auth.json")}
    login = ["skopeo", "login", "--tls-verify=false", "-u"]
    with server:
        ok = subprocess.run(
            [*login, "developer", "--password-stdin", server.host],
            input=PASSWORD, capture_output=True, text=True, timeout=60, check=False, env=env,
        )
        assert ok.returncode == 0, ok.stderr
        bad = subprocess.run(
            [*login, "developer", "--password-stdin", server.host],
            input="wrong", capture_output=True, text=True, timeout=60, check=False, env=env,
        )
        assert bad.returncode != 0
