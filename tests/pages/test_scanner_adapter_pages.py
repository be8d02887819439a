"""The "Scanner adapters" section of `/security/`: system admins register, disable,
enable and remove adapters (the fake adapter of `tests/scanning/test_harbor_adapter.py`
answers the metadata); everyone else is refused."""

# The shared fixtures are imported, so tests naming them as arguments "redefine" them.
# ruff: noqa: F811

from __future__ import annotations

import pytest

from audit.models import AuditAction, AuditEvent
from repositories.models import ScannerAdapter
from repositories.services import scanner_adapters
from tests.conftest import PERSONAS, World
from tests.scanning.adapter_registry_support import (  # noqa: F401  (fixtures are used by name)
    ADAPTER,
    FakeAdapter,
    fake_adapter,
    unreachable,
)
from tests.scanning.support import ACTOR

HTMX = {"HTTP_HX_REQUEST": "true"}
SECRET = "Bearer page-s3cret"


@pytest.fixture
def adapter(world: World, fake_adapter: FakeAdapter) -> ScannerAdapter:
    return scanner_adapters.register("trivy", ADAPTER, SECRET, ACTOR)


def test_the_security_page_lists_adapters_with_their_scanner_and_never_the_secret(
    world: World, adapter: ScannerAdapter
) -> None:
    page = world.client("sysadmin").get("/security/").content.decode()

    assert 'id="scanner-adapters"' in page and 'data-adapter="trivy"' in page
    assert "Trivy 0.50.0" in page and "Aqua Security" in page and ADAPTER in page
    assert 'id="scanner-adapter-add"' in page
    assert "s3cret" not in page


def test_a_system_admin_registers_an_adapter(world: World, fake_adapter: FakeAdapter) -> None:
    data = {"name": "trivy", "url": ADAPTER, "auth": SECRET}

    response = world.client("sysadmin").post("/security/scanner-adapters/", data, **HTMX)

    assert response.status_code == 200
    section = response.content.decode()
    assert section.lstrip().startswith('<section id="scanner-adapters-section"')
    assert 'data-adapter="trivy"' in section and "s3cret" not in section
    assert ScannerAdapter.objects.get().scanner["name"] == "Trivy"
    assert AuditEvent.objects.filter(action=AuditAction.SCANNER_ADAPTER_ADD, actor_name="sysadmin").exists()


def test_an_unreachable_adapter_shows_the_error_inline_and_saves_nothing(world: World, unreachable: None) -> None:
    data = {"name": "trivy", "url": ADAPTER}

    response = world.client("sysadmin").post("/security/scanner-adapters/", data, **HTMX)

    assert response.status_code == 200
    assert "The adapter did not answer its metadata" in response.content.decode()
    assert "unreachable" in response.content.decode()
    assert not ScannerAdapter.objects.exists()


def test_without_htmx_a_registration_redirects_to_the_page(world: World, fake_adapter: FakeAdapter) -> None:
    response = world.client("sysadmin").post("/security/scanner-adapters/", {"name": "trivy", "url": ADAPTER})

    assert response.status_code == 302 and response["Location"] == "/security/"
    assert ScannerAdapter.objects.filter(name="trivy").exists()


def test_disable_enable_and_remove_buttons(world: World, adapter: ScannerAdapter) -> None:
    client = world.client("sysadmin")
    url = f"/security/scanner-adapters/{adapter.pk}/"

    disabled = client.post(url + "enabled/", {}, **HTMX).content.decode()
    assert not ScannerAdapter.objects.get().enabled and "Enable</button>" in disabled
    client.post(url + "enabled/", {"enabled": "on"}, **HTMX)
    assert ScannerAdapter.objects.get().enabled
    removed = client.post(url + "remove/", **HTMX).content.decode()

    assert not ScannerAdapter.objects.exists() and 'id="scanner-adapters-empty"' in removed
    assert 'hx-confirm="Remove the scanner adapter' in disabled


@pytest.mark.parametrize("persona", [p for p in PERSONAS if p != "sysadmin"])
@pytest.mark.parametrize("action", ["add", "enabled", "remove"])
def test_only_system_admins_may_change_adapters(world: World, adapter: ScannerAdapter, persona: str, action: str) -> None:
    url = "/security/scanner-adapters/" if action == "add" else f"/security/scanner-adapters/{adapter.pk}/{action}/"

    response = world.client(persona).post(url, {"name": "clair", "url": ADAPTER}, **HTMX)

    assert response.status_code == (302 if persona == "anonymous" else 403)
    assert list(ScannerAdapter.objects.values_list("name", "enabled")) == [("trivy", True)]
