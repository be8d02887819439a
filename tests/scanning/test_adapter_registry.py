"""Registering Harbor scanner adapters (`services.scanner_adapters`) and scanning with
a registered one through the `run_adapter_scan` task, against the fake adapter."""

# The shared fixtures are imported, so tests naming them as arguments "redefine" them.
# ruff: noqa: F811

from __future__ import annotations

from typing import Any

import httpx
import pytest
from django.core.exceptions import ValidationError

from audit.models import AuditAction, AuditEvent
from repositories import tasks
from repositories.models import Artifact, Repository, ScannerAdapter, ScanReport
from repositories.services import scanner_adapters
from tests.factories import ProjectFactory, UserFactory
from tests.scanning.adapter_registry_support import (  # noqa: F401  (fixtures are used by name)
    ADAPTER,
    FakeAdapter,
    fake_adapter,
    token_key,
    unreachable,
)
from tests.scanning.support import ACTOR
from tests.scanning.test_harbor_adapter import DIGEST, IMAGE_MIME

pytestmark = pytest.mark.django_db


def audit_actions() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


def test_registering_reads_and_stores_the_adapters_metadata(fake_adapter: FakeAdapter) -> None:
    adapter = scanner_adapters.register("trivy", ADAPTER, "Bearer s3cret", ACTOR)

    adapter.refresh_from_db()
    assert adapter.scanner == {"name": "Trivy", "vendor": "Aqua Security", "version": "0.50.0"}
    assert adapter.metadata["capabilities"][0]["produces_mime_types"]
    assert adapter.metadata_fetched_at is not None and adapter.enabled
    assert fake_adapter.requests[0].headers["Authorization"] == "Bearer s3cret"
    event = AuditEvent.objects.get(action=AuditAction.SCANNER_ADAPTER_ADD)
    assert event.target_name == "trivy" and event.details["has_auth"] is True
    assert "s3cret" not in str(event.details)


def test_an_unreachable_adapter_is_refused_on_url_and_nothing_is_saved(unreachable: None) -> None:
    with pytest.raises(ValidationError) as error:
        scanner_adapters.register("trivy", ADAPTER, "", ACTOR)

    assert "unreachable" in " ".join(error.value.message_dict["url"])
    assert not ScannerAdapter.objects.exists() and not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    ("metadata", "status", "message"),
    [({"no": "scanner"}, 200, "names no scanner"), ({"error": {"message": "adapter is sick"}}, 500, "adapter is sick")],
)
def test_an_adapter_with_bad_metadata_is_refused_with_its_message(
    monkeypatch: pytest.MonkeyPatch, metadata: dict[str, Any], status: int, message: str
) -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=metadata)

    monkeypatch.setattr(scanner_adapters, "transport_factory", lambda: httpx.MockTransport(handle))

    with pytest.raises(ValidationError) as error:
        scanner_adapters.register("trivy", ADAPTER, "", ACTOR)

    assert message in " ".join(error.value.message_dict["url"])
    assert not ScannerAdapter.objects.exists()


def test_a_taken_name_is_refused_before_the_adapter_is_asked(fake_adapter: FakeAdapter) -> None:
    scanner_adapters.register("trivy", ADAPTER, "", ACTOR)
    asked = len(fake_adapter.requests)

    with pytest.raises(ValidationError, match="exists already"):
        scanner_adapters.register("trivy", "http://other.test", "", ACTOR)

    assert len(fake_adapter.requests) == asked
    assert ScannerAdapter.objects.count() == 1


def test_refresh_disable_and_remove_are_audited(fake_adapter: FakeAdapter) -> None:
    adapter = scanner_adapters.register("trivy", ADAPTER, "", ACTOR)
    fake_adapter.metadata = {**fake_adapter.metadata, "scanner": {"name": "Trivy", "vendor": "Aqua", "version": "0.51.0"}}

    scanner_adapters.refresh_metadata(adapter, ACTOR)
    scanner_adapters.set_enabled(adapter, False, ACTOR)
    scanner_adapters.set_enabled(adapter, False, ACTOR)  # no change, no audit row
    scanner_adapters.remove(adapter, ACTOR)

    assert adapter.scanner["version"] == "0.51.0"
    assert audit_actions() == [
        AuditAction.SCANNER_ADAPTER_ADD,
        AuditAction.SCANNER_ADAPTER_UPDATE,
        AuditAction.SCANNER_ADAPTER_UPDATE,
        AuditAction.SCANNER_ADAPTER_REMOVE,
    ]
    assert not ScannerAdapter.objects.exists()


@pytest.fixture
def image() -> Artifact:
    repository = Repository.objects.create(project=ProjectFactory(name="acme"), name="acme/app")
    return Artifact.objects.create(
        repository=repository, digest=DIGEST, media_type=IMAGE_MIME, kind=Artifact.Kind.IMAGE, details_synced=True
    )


def test_the_task_scans_with_the_registered_adapter_as_the_user(
    fake_adapter: FakeAdapter, token_key: None, image: Artifact
) -> None:
    adapter = scanner_adapters.register("trivy", ADAPTER, "Bearer s3cret", ACTOR)
    user = UserFactory(username="alice")

    tasks.run_adapter_scan.delay(image.pk, adapter.pk, "alice")

    report = ScanReport.objects.get(artifact=image)
    assert (report.scanner, report.status, report.requested_by) == ("harbor-adapter", "succeeded", user)
    assert report.findings.count() == 3
    assert fake_adapter.scan_requests[0]["registry"]["url"] == "http://registry.internal:5000"
    assert all(r.headers["Authorization"] == "Bearer s3cret" for r in fake_adapter.requests)


def test_the_task_does_nothing_for_a_disabled_or_removed_adapter(fake_adapter: FakeAdapter, image: Artifact) -> None:
    adapter = scanner_adapters.register("trivy", ADAPTER, "", ACTOR)
    scanner_adapters.set_enabled(adapter, False, ACTOR)

    tasks.run_adapter_scan.delay(image.pk, adapter.pk, "alice")
    tasks.run_adapter_scan.delay(image.pk, adapter.pk + 1000, "alice")

    assert not ScanReport.objects.exists()
