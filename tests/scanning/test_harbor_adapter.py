"""The Harbor Pluggable Scanner API client and `scan_with_adapter`, against a fake
adapter that follows the spec (v1.1/v1.2), served through `httpx.MockTransport`.

No real adapter can run here; the fake answers the three calls as the spec says
(metadata, 202 on a scan request, 302 + Refresh-After while the report is not
ready, then 200) and records what it was sent.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from accounts.registry_auth.keys import create_key_pair
from audit.models import AuditAction, AuditEvent
from repositories.models import AllowlistEntry, Artifact, Finding, Repository, ScanReport
from repositories.scanners.harbor_adapter import (
    SCAN_REQUEST_MIME,
    VULNERABILITY_REPORT_MIME,
    AdapterReport,
    HarborAdapterClient,
    HarborAdapterError,
    NotReady,
)
from repositories.services.harbor_adapter import TOKEN_LIFETIME, scan_with_adapter
from repositories.services.scanning import ScanRefused
from tests.factories import ProjectFactory
from tests.scanning.support import ACTOR

ADAPTER = "http://adapter.test:8080"
IMAGE_MIME = "application/vnd.oci.image.manifest.v1+json"
DIGEST = "sha256:" + "cd" * 32

METADATA = {
    "scanner": {"name": "Trivy", "vendor": "Aqua Security", "version": "0.50.0"},
    "capabilities": [
        {
            "type": "vulnerability",
            "consumes_mime_types": [IMAGE_MIME, "application/vnd.docker.distribution.manifest.v2+json"],
            "produces_mime_types": [VULNERABILITY_REPORT_MIME],
        },
        {"type": "sbom", "consumes_mime_types": [IMAGE_MIME], "produces_mime_types": ["application/vnd.security.sbom.report+json; version=1.0"]},
    ],
    "properties": {
        "harbor.scanner-adapter/scanner-type": "os-package-vulnerability",
        "harbor.scanner-adapter/vulnerability-database-updated-at": "2026-11-28T10:00:00Z",
    },
}

REPORT = {
    "generated_at": "2026-11-29T12:00:00Z",
    "artifact": {"repository": "acme/app", "digest": DIGEST, "mime_type": IMAGE_MIME},
    "scanner": {"name": "Trivy", "vendor": "Aqua Security", "version": "0.50.0"},
    "severity": "Critical",
    "vulnerabilities": [
        {
            "id": "CVE-2099-5001",
            "package": "openssl",
            "version": "3.0.1",
            "fix_version": "3.0.2",
            "severity": "Critical",
            "description": "Heap overflow in X.509 parsing\nLonger text.",
            "links": ["https://avd.example/CVE-2099-5001", "javascript:alert(1)"],
            "preferred_cvss": {"score_v3": 9.8, "vector_v3": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
            "unknown_field": {"tolerated": True},
        },
        {
            "id": "CVE-2099-5002",
            "package": "zlib1g",
            "version": "1.2.13",
            "severity": "Negligible",
            "vendor_attributes": {"CVSS": {"nvd": {"V3Score": 3.3, "V3Vector": "CVSS:3.1/AV:L"}}},
        },
        {"id": "CVE-2099-5003", "package": "bash", "version": "5.2", "severity": "Whatever"},
        {"package": "no-id"},
        "not an object",
    ],
}


@dataclass
class FakeAdapter:
    """A spec-following adapter: `not_ready` report polls answer 302 before the 200."""

    not_ready: int = 1
    refresh_after: str = "7"
    scan_status: int = 202
    metadata: dict[str, Any] = field(default_factory=lambda: METADATA)
    report: Any = field(default_factory=lambda: REPORT)
    requests: list[httpx.Request] = field(default_factory=list)
    scan_requests: list[dict[str, Any]] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if request.method == "GET" and path == "/api/v1/metadata":
            return httpx.Response(200, json=self.metadata)
        if request.method == "POST" and path == "/api/v1/scan":
            if request.headers["Content-Type"] != SCAN_REQUEST_MIME:
                return httpx.Response(400, json={"error": {"message": "unsupported content type"}})
            if self.scan_status != 202:
                return httpx.Response(self.scan_status, json={"error": {"message": "scanner is on fire"}})
            self.scan_requests.append(json.loads(request.content))
            return httpx.Response(202, json={"id": "scan-1"})
        if request.method == "GET" and path == "/api/v1/scan/scan-1/report":
            if request.headers["Accept"] != VULNERABILITY_REPORT_MIME:
                return httpx.Response(422, json={"error": {"message": "unsupported report type"}})
            if self.report_polls() <= self.not_ready:
                # The spec's "not ready": a redirect to the same URL with Refresh-After.
                return httpx.Response(302, headers={"Refresh-After": self.refresh_after, "Location": str(request.url)})
            return httpx.Response(200, json=self.report)
        return httpx.Response(404, json={"error": {"message": f"no route {path}"}})

    def report_polls(self) -> int:
        return sum(1 for r in self.requests if r.url.path.endswith("/report"))

    def client(self, **kwargs: Any) -> HarborAdapterClient:
        return HarborAdapterClient(ADAPTER, transport=httpx.MockTransport(self.handle), **kwargs)


def jwt_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


# --- the client ---------------------------------------------------------------


def test_metadata_names_the_scanner_and_its_capabilities() -> None:
    metadata = FakeAdapter().client().metadata()

    assert (metadata.name, metadata.vendor, metadata.version) == ("Trivy", "Aqua Security", "0.50.0")
    assert metadata.consumes(IMAGE_MIME) and not metadata.consumes("application/vnd.oci.image.index.v1+json")
    assert metadata.produces("application/vnd.security.vulnerability.report;version=1.1")
    assert [c.type for c in metadata.capabilities] == ["vulnerability", "sbom"]


def test_scan_posts_the_scan_request_and_returns_its_id() -> None:
    adapter = FakeAdapter()

    scan_id = adapter.client(auth_header="Bearer adapter-secret").scan(
        "http://registry:5000", "Bearer t0ken", "acme/app", DIGEST, IMAGE_MIME
    )

    assert scan_id == "scan-1"
    assert adapter.scan_requests == [
        {
            "registry": {"url": "http://registry:5000", "authorization": "Bearer t0ken"},
            "artifact": {"repository": "acme/app", "digest": DIGEST, "mime_type": IMAGE_MIME},
        }
    ]
    assert adapter.requests[0].headers["Authorization"] == "Bearer adapter-secret"


def test_a_302_is_not_ready_and_is_not_followed() -> None:
    adapter = FakeAdapter(not_ready=1, refresh_after="7")
    client = adapter.client()

    first = client.report("scan-1")
    second = client.report("scan-1")

    assert first == NotReady(retry_after=7.0)
    assert isinstance(second, AdapterReport)
    # One request per call: following the Location would have fetched the report in the first call.
    assert adapter.report_polls() == 2


@pytest.mark.parametrize(("header", "expected"), [("", 5.0), ("soon", 5.0), ("100000", 300.0), ("-3", 0.0)])
def test_a_missing_or_odd_refresh_after_gets_a_sane_wait(header: str, expected: float) -> None:
    result = FakeAdapter(refresh_after=header).client().report("scan-1")

    assert result == NotReady(retry_after=expected)


def test_the_report_is_parsed_into_bands_scores_and_links() -> None:
    report = FakeAdapter(not_ready=0).client().report("scan-1")

    assert isinstance(report, AdapterReport)
    assert (report.scanner_name, report.scanner_version, report.skipped) == ("Trivy", "0.50.0", 2)
    by_id = {v.id: v for v in report.vulnerabilities}
    ssl = by_id["CVE-2099-5001"]
    assert (ssl.package, ssl.version, ssl.fix_version, ssl.severity) == ("openssl", "3.0.1", "3.0.2", "critical")
    assert (ssl.cvss_score, ssl.cvss_vector) == (9.8, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")
    assert ssl.links == ("https://avd.example/CVE-2099-5001",)
    assert (by_id["CVE-2099-5002"].severity, by_id["CVE-2099-5002"].cvss_score) == ("low", 3.3)
    assert (by_id["CVE-2099-5003"].severity, by_id["CVE-2099-5003"].cvss_score) == ("unknown", None)


@pytest.mark.parametrize(
    ("status", "transient"),
    [(500, True), (503, True), (429, True), (400, False), (404, False), (422, False)],
)
def test_errors_carry_the_adapters_message_and_whether_to_retry(status: int, transient: bool) -> None:
    adapter = FakeAdapter(scan_status=status)

    with pytest.raises(HarborAdapterError) as caught:
        adapter.client().scan("http://r", "Bearer x", "acme/app", DIGEST, IMAGE_MIME)

    assert caught.value.transient is transient
    assert caught.value.status == status
    assert "scanner is on fire" in str(caught.value)


def test_an_unreachable_adapter_is_a_transient_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client = HarborAdapterClient(ADAPTER, transport=httpx.MockTransport(refuse))

    with pytest.raises(HarborAdapterError) as caught:
        client.metadata()

    assert caught.value.transient and "unreachable" in str(caught.value)


@pytest.mark.parametrize(
    ("handler", "message"),
    [
        (lambda r: httpx.Response(200, content=b"<html>"), "not JSON"),
        (lambda r: httpx.Response(200, json=["a list"]), "not a vulnerability report"),
        (lambda r: httpx.Response(200, json={"vulnerabilities": {"a": 1}}), "not a vulnerability report"),
    ],
)
def test_a_malformed_report_is_a_permanent_error(handler: Callable[[httpx.Request], httpx.Response], message: str) -> None:
    client = HarborAdapterClient(ADAPTER, transport=httpx.MockTransport(handler))

    with pytest.raises(HarborAdapterError) as caught:
        client.report("scan-1")

    assert not caught.value.transient and message in str(caught.value)


def test_a_scan_id_is_escaped_into_the_report_path() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.raw_path.decode())
        return httpx.Response(302, headers={"Refresh-After": "1"})

    HarborAdapterClient(ADAPTER, transport=httpx.MockTransport(handler)).report("../../metadata?x")

    assert seen == ["/api/v1/scan/..%2F..%2Fmetadata%3Fx/report"]


# --- scan_with_adapter --------------------------------------------------------


@pytest.fixture
def token_key(tmp_path: Path, settings: Any) -> None:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    create_key_pair(key, cert)
    settings.WHARF_TOKEN_KEY, settings.WHARF_TOKEN_CERT = key, cert


@pytest.fixture
def artifact(db: Any, settings: Any) -> Artifact:
    settings.REGISTRY_URL = "http://registry.internal:5000"
    project = ProjectFactory(name="acme")
    repository = Repository.objects.create(project=project, name="acme/app")
    return Artifact.objects.create(
        repository=repository, digest=DIGEST, media_type=IMAGE_MIME, kind=Artifact.Kind.IMAGE, details_synced=True
    )


def test_a_scan_with_an_adapter_sends_a_pull_only_token_polls_and_stores_the_findings(
    artifact: Artifact, token_key: None
) -> None:
    adapter = FakeAdapter(not_ready=2, refresh_after="7")
    slept: list[float] = []

    report = scan_with_adapter(artifact, ADAPTER, ACTOR, client=adapter.client(), sleep=slept.append)

    assert report.status == ScanReport.Status.SUCCEEDED, report.error
    assert (report.scanner, report.scanner_version) == ("harbor-adapter", "Trivy 0.50.0")
    assert report.database_version == "2026-11-28T10:00:00Z"
    assert report.counts == {"critical": 1, "high": 0, "medium": 0, "low": 1, "unknown": 1}
    assert report.fixable_counts["critical"] == 1
    assert slept == [7.0, 7.0]
    assert adapter.report_polls() == 3
    (sent,) = adapter.scan_requests
    assert sent["registry"]["url"] == "http://registry.internal:5000"
    assert sent["artifact"] == {"repository": "acme/app", "digest": DIGEST, "mime_type": IMAGE_MIME}
    scheme, token = sent["registry"]["authorization"].split(" ", 1)
    claims = jwt_claims(token)
    assert scheme == "Bearer"
    assert claims["access"] == [{"type": "repository", "name": "acme/app", "actions": ["pull"]}]
    assert claims["exp"] - claims["iat"] == TOKEN_LIFETIME <= 900
    ssl = report.findings.get(vulnerability_id="CVE-2099-5001")
    assert (ssl.title, ssl.cvss_score, ssl.fixed_version) == ("Heap overflow in X.509 parsing", 9.8, "3.0.2")
    assert list(Finding.objects.named(["cve-2099-5001"])) == [ssl], "stored with its names, for filters"
    event = AuditEvent.objects.get(action=AuditAction.SCAN_REQUEST)
    assert event.details["scanner"] == "harbor-adapter"


def test_the_token_minter_is_injectable(artifact: Artifact) -> None:
    adapter = FakeAdapter(not_ready=0)

    scan_with_adapter(
        artifact, ADAPTER, ACTOR, client=adapter.client(), sleep=lambda s: None, token_minter=lambda repo: f"fake-{repo}"
    )

    assert adapter.scan_requests[0]["registry"]["authorization"] == "Bearer fake-acme/app"


def test_allowlisted_vulnerabilities_are_marked_and_not_counted(artifact: Artifact) -> None:
    AllowlistEntry.objects.create(project=artifact.repository.project, vulnerability_id="CVE-2099-5001", reason="x")

    report = scan_with_adapter(
        artifact, ADAPTER, ACTOR, client=FakeAdapter(not_ready=0).client(), sleep=lambda s: None,
        token_minter=lambda repo: "t",
    )

    assert (report.counts["critical"], report.allowlisted) == (0, 1)
    assert report.findings.get(vulnerability_id="CVE-2099-5001").allowlisted


def test_a_report_never_ready_fails_after_the_last_poll(artifact: Artifact) -> None:
    adapter = FakeAdapter(not_ready=100)
    slept: list[float] = []

    report = scan_with_adapter(
        artifact, ADAPTER, ACTOR, client=adapter.client(), sleep=slept.append, max_polls=3,
        token_minter=lambda repo: "t",
    )

    assert report.status == ScanReport.Status.FAILED
    assert "not ready after 3 polls" in report.error
    assert adapter.report_polls() == len(slept) == 3
    assert not report.findings.exists()


def test_an_adapter_refusing_the_scan_fails_the_report_with_its_message(artifact: Artifact) -> None:
    report = scan_with_adapter(
        artifact, ADAPTER, ACTOR, client=FakeAdapter(scan_status=500).client(), sleep=lambda s: None,
        token_minter=lambda repo: "t",
    )

    assert report.status == ScanReport.Status.FAILED
    assert "scanner is on fire" in report.error and report.finished_at is not None


def test_an_adapter_that_cannot_read_the_artifact_type_is_not_sent_the_scan(artifact: Artifact) -> None:
    adapter = FakeAdapter(metadata={**METADATA, "capabilities": [{"consumes_mime_types": ["x/y"], "produces_mime_types": [VULNERABILITY_REPORT_MIME]}]})

    report = scan_with_adapter(artifact, ADAPTER, ACTOR, client=adapter.client(), token_minter=lambda repo: "t")

    assert report.status == ScanReport.Status.FAILED
    assert IMAGE_MIME in report.error
    assert adapter.scan_requests == []


def test_an_index_is_refused(artifact: Artifact) -> None:
    Artifact.objects.filter(pk=artifact.pk).update(kind=Artifact.Kind.INDEX)
    artifact.refresh_from_db()

    with pytest.raises(ScanRefused):
        scan_with_adapter(artifact, ADAPTER, ACTOR, client=FakeAdapter().client())

    assert not ScanReport.objects.exists()


def test_a_scan_already_running_is_returned_untouched(artifact: Artifact) -> None:
    running = ScanReport.objects.create(
        artifact=artifact, scanner=ScanReport.Scanner.HARBOR_ADAPTER, status=ScanReport.Status.RUNNING
    )
    adapter = FakeAdapter()

    report = scan_with_adapter(artifact, ADAPTER, ACTOR, client=adapter.client())

    assert report.pk == running.pk and report.status == ScanReport.Status.RUNNING
    assert adapter.requests == []
