"""The gate with token auth: a refusal is told only to a client holding a valid grant.

Without one the gate lets the request through and the registry answers 401, so an
outsider learns nothing about a private image's vulnerabilities or signatures; a member
gets the policy's message, audited under their name.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from accounts.registry_auth.keys import create_key_pair, forget_signing_keys
from audit.context import Actor
from audit.models import AuditAction, AuditEvent
from repositories.gate_endpoints import reset_forwarder
from repositories.models import Project
from repositories.registry.builder import build_image, push, write_oci_layout
from repositories.registry.config import TokenAuth
from repositories.services import gate as gate_service
from repositories.services.registry import registry_client, reset_registry_client
from repositories.services.retention import save_immutable_rules
from repositories.services.sync import sync_now
from tests.factories import MembershipFactory, ProjectFactory, UserFactory
from tests.gate.conftest import SECRET
from tests.support.gate import GateServer
from tests.support.registry import RegistryFactory

pytestmark = [pytest.mark.slow]

ACTOR = Actor.system("test")
PASSWORD = "correct horse battery staple"


@pytest.fixture
def token_gate(
    transactional_db: Any, live_server: Any, registry_factory: RegistryFactory, settings: Any, tmp_path: Path
) -> Iterator[GateServer]:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    create_key_pair(key, cert)
    settings.WHARF_TOKEN_KEY, settings.WHARF_TOKEN_CERT = key, cert
    settings.WHARF_TOKEN_SERVICE, settings.WHARF_TOKEN_ISSUER = "wharf-registry", "wharf"
    settings.WHARF_REGISTRY_TOKEN_AUTH = True
    forget_signing_keys()
    registry = registry_factory(
        token_auth=TokenAuth(
            realm=f"{live_server.url}/service/token",
            service="wharf-registry",
            issuer="wharf",
            rootcertbundle=str(cert),
        )
    )
    settings.REGISTRY_URL = registry.url
    settings.WHARF_GATE_SECRET = SECRET
    settings.WHARF_GATE_STATE_DIR = tmp_path / "state"
    reset_registry_client()
    reset_forwarder()
    gate = GateServer(
        tmp_path / "gate",
        registry=registry,
        wharf=urlsplit(live_server.url).netloc,
        secret=SECRET,
        marker_dir=tmp_path / "state",
    )
    gate.start()
    try:
        yield gate
    finally:
        gate.stop()
        reset_registry_client()
        reset_forwarder()
        forget_signing_keys()


def _skopeo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["skopeo", "--insecure-policy", *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_only_a_client_entitled_to_pull_hears_why_it_is_refused(
    token_gate: GateServer, tmp_path: Path
) -> None:
    project = ProjectFactory(name="acme", is_public=False)
    alice = UserFactory(username="alice", password=PASSWORD)
    UserFactory(username="mallory", password=PASSWORD)  # a valid login holding no grant in acme
    MembershipFactory(project=project, user=alice, role="developer")
    digest = push(registry_client(), "acme/web", build_image(), "v1")
    sync_now()
    gate_service.save_policy(Project.objects.get(name="acme"), {"require_signed": True}, actor=ACTOR)
    reference = f"docker://{token_gate.host}/acme/web:v1"

    member = _skopeo("inspect", "--raw", "--tls-verify=false", f"--creds=alice:{PASSWORD}", reference)
    assert f"denied: image acme/web:v1 ({digest}): it is not signed" in member.stderr
    event = AuditEvent.objects.get(action=AuditAction.GATE_PULL_REFUSED)
    assert (event.actor_kind, event.actor_name) == ("user", "alice")

    for creds in ([f"--creds=mallory:{PASSWORD}"], ["--no-creds"]):
        outsider = _skopeo("inspect", "--raw", "--tls-verify=false", *creds, reference)
        assert outsider.returncode != 0
        assert "not signed" not in outsider.stderr and "policy" not in outsider.stderr
    assert AuditEvent.objects.filter(action=AuditAction.GATE_PULL_REFUSED).count() == 1


def test_an_immutable_tag_refuses_a_member_s_push_through_the_gate(
    token_gate: GateServer, tmp_path: Path
) -> None:
    project = ProjectFactory(name="acme", is_public=False)
    alice = UserFactory(username="alice", password=PASSWORD)
    MembershipFactory(project=project, user=alice, role="developer")
    first = push(registry_client(), "acme/web", build_image(), "v1")
    sync_now()
    save_immutable_rules(
        project,
        ACTOR,
        rules=[{"repositories": {"include": ["**"]}, "tags": {"include": ["v1"]}}],
        revert_protected_overwrites=False,
    )
    write_oci_layout(tmp_path / "layout", {"x": build_image()})
    target = f"docker://{token_gate.host}/acme/web"
    refused = _skopeo(
        "copy",
        "--dest-tls-verify=false",
        f"--dest-creds=alice:{PASSWORD}",
        f"oci:{tmp_path / 'layout'}:x",
        f"{target}:v1",
    )
    assert "is immutable" in refused.stderr, refused.stderr
    assert registry_client().head_manifest("acme/web", "v1") == first
    pushed = _skopeo(
        "copy",
        "--dest-tls-verify=false",
        f"--dest-creds=alice:{PASSWORD}",
        f"oci:{tmp_path / 'layout'}:x",
        f"{target}:v2",
    )
    assert pushed.returncode == 0, pushed.stderr
