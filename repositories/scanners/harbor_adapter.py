"""A client of Harbor's Pluggable Scanner API (v1.1 / v1.2), for scanner adapters
such as Trivy's, Clair's or Anchore's.

The three calls of the spec:

- `GET /api/v1/metadata`: the scanner's name, vendor and version, and its
  capabilities (the artifact mime types it consumes, the report types it produces);
- `POST /api/v1/scan` with a ScanRequest (`registry: {url, authorization}`,
  `artifact: {repository, digest, mime_type}`) → 202 with the scan request id;
- `GET /api/v1/scan/{id}/report` with the report mime type in `Accept`: 200 with
  the report, or 302 (with `Refresh-After`, in seconds) while it is not ready.
  The 302 is *not* followed: it only means "ask again later".

Every failure is one `HarborAdapterError` whose `transient` flag says whether
trying again later may help (connection errors, timeouts, 429 and 5xx). Adapters
are external, so every response body is hostile: sizes are capped, shapes checked,
and unknown fields ignored.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

API_PREFIX = "/api/v1"
METADATA_MIME = "application/vnd.scanner.adapter.metadata+json; version=1.0"
SCAN_REQUEST_MIME = "application/vnd.scanner.adapter.scan.request+json; version=1.0"
SCAN_RESPONSE_MIME = "application/vnd.scanner.adapter.scan.response+json; version=1.0"
VULNERABILITY_REPORT_MIME = "application/vnd.security.vulnerability.report; version=1.1"
ERROR_MIME = "application/vnd.scanner.adapter.error+json; version=1.0"
DEFAULT_RETRY_AFTER = 5.0
MAX_RETRY_AFTER = 300.0
MAX_BODY_BYTES = 64 * 1024 * 1024  # a report of a large image is a few MiB
# Harbor's severity names; `Negligible` and `None` are what some adapters emit for the lowest.
SEVERITIES = {
    "critical": "critical",
    "high": "high",
    "medium": "medium",
    "low": "low",
    "negligible": "low",
    "unknown": "unknown",
    "none": "unknown",
}


class HarborAdapterError(Exception):
    """A failed adapter call; `transient` says whether retrying later may succeed."""

    def __init__(self, message: str, *, transient: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.transient = transient
        self.status = status

    def __str__(self) -> str:
        return self.message if self.status is None else f"{self.message} (HTTP {self.status})"


@dataclass(frozen=True)
class Capability:
    """One entry of `capabilities[]`: what the adapter reads and what it writes."""

    consumes_mime_types: tuple[str, ...]
    produces_mime_types: tuple[str, ...]
    type: str = "vulnerability"  # v1.2; v1.1 adapters only scan for vulnerabilities


@dataclass(frozen=True)
class AdapterMetadata:
    name: str
    vendor: str
    version: str
    capabilities: tuple[Capability, ...]
    properties: dict[str, str] = field(default_factory=dict)

    def consumes(self, artifact_mime: str) -> bool:
        return any(artifact_mime in c.consumes_mime_types for c in self.capabilities)

    def produces(self, report_mime: str) -> bool:
        wanted = _mime_key(report_mime)
        return any(wanted in {_mime_key(m) for m in c.produces_mime_types} for c in self.capabilities)


@dataclass(frozen=True)
class AdapterVulnerability:
    """One `vulnerabilities[]` item of a v1.1 report; `severity` is a Wharf band."""

    id: str
    package: str
    version: str
    fix_version: str
    severity: str
    description: str
    links: tuple[str, ...]
    cvss_score: float | None
    cvss_vector: str


@dataclass(frozen=True)
class AdapterReport:
    generated_at: str
    scanner_name: str
    scanner_version: str
    vulnerabilities: tuple[AdapterVulnerability, ...]
    skipped: int = 0


@dataclass(frozen=True)
class NotReady:
    """The report is still being made: ask again after `retry_after` seconds."""

    retry_after: float


def _mime_key(mime: str) -> str:
    """A mime type without spaces, for comparing `a; version=1.1` with `a;version=1.1`."""
    return mime.replace(" ", "").lower()


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(data: Mapping[str, Any], key: str, limit: int = 255) -> str:
    value = data.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    return value[:limit] if isinstance(value, str) else ""


def _score(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 10:
        return float(value)
    return None


def _cvss(item: Mapping[str, Any]) -> tuple[float | None, str]:
    """The CVSS v3 score and vector: `preferred_cvss` (v1.1), else the NVD entry of
    `vendor_attributes.CVSS` (what Trivy's adapter writes), else any vendor's."""
    preferred = _dict(item.get("preferred_cvss"))
    score = _score(preferred.get("score_v3"))
    if score is not None:
        return score, _str(preferred, "vector_v3")
    sources = _dict(_dict(item.get("vendor_attributes")).get("CVSS"))
    for source in ["nvd", *sources.keys()]:
        entry = _dict(sources.get(source))
        score = _score(entry.get("V3Score"))
        if score is not None:
            return score, _str(entry, "V3Vector")
    return None, ""


def parse_report(data: Any) -> AdapterReport:
    """A v1.1 vulnerability report; raises `HarborAdapterError` if it is not one."""
    if not isinstance(data, Mapping) or not isinstance(data.get("vulnerabilities", []), list):
        raise HarborAdapterError("The adapter's report is not a vulnerability report object.", transient=False)
    vulnerabilities: list[AdapterVulnerability] = []
    skipped = 0
    for raw in _list(data.get("vulnerabilities")):
        item = _dict(raw)
        vulnerability_id, package = _str(item, "id"), _str(item, "package")
        if not vulnerability_id or not package:
            skipped += 1
            continue
        score, vector = _cvss(item)
        links = tuple(
            link[:1000] for link in _list(item.get("links")) if isinstance(link, str) and link.startswith("http")
        )[:20]
        vulnerabilities.append(
            AdapterVulnerability(
                id=vulnerability_id,
                package=package,
                version=_str(item, "version"),
                fix_version=_str(item, "fix_version"),
                severity=SEVERITIES.get(_str(item, "severity").lower(), "unknown"),
                description=_str(item, "description", 4000),
                links=links,
                cvss_score=score,
                cvss_vector=vector,
            )
        )
    scanner = _dict(data.get("scanner"))
    return AdapterReport(
        generated_at=_str(data, "generated_at"),
        scanner_name=_str(scanner, "name"),
        scanner_version=_str(scanner, "version"),
        vulnerabilities=tuple(vulnerabilities),
        skipped=skipped,
    )


def parse_metadata(data: Any) -> AdapterMetadata:
    if not isinstance(data, Mapping) or not isinstance(data.get("scanner"), Mapping):
        raise HarborAdapterError("The adapter's metadata names no scanner.", transient=False)
    scanner = _dict(data.get("scanner"))
    capabilities = tuple(
        Capability(
            consumes_mime_types=tuple(m for m in _list(_dict(c).get("consumes_mime_types")) if isinstance(m, str)),
            produces_mime_types=tuple(m for m in _list(_dict(c).get("produces_mime_types")) if isinstance(m, str)),
            type=_str(_dict(c), "type") or "vulnerability",
        )
        for c in _list(data.get("capabilities"))
    )
    properties = {str(k): str(v) for k, v in _dict(data.get("properties")).items() if isinstance(v, str | int | float)}
    return AdapterMetadata(
        name=_str(scanner, "name"),
        vendor=_str(scanner, "vendor"),
        version=_str(scanner, "version"),
        capabilities=capabilities,
        properties=properties,
    )


def _retry_after(response: httpx.Response) -> float:
    raw = response.headers.get("Refresh-After") or response.headers.get("Retry-After") or ""
    try:
        seconds = float(raw)
    except ValueError:
        return DEFAULT_RETRY_AFTER
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _error_message(response: httpx.Response) -> str:
    """The adapter's own `{"error": {"message": ...}}`, else the start of the body."""
    try:
        message = _str(_dict(_dict(response.json()).get("error")), "message", 500)
    except ValueError:
        message = ""
    return message or response.text[:200] or response.reason_phrase


class HarborAdapterClient:
    """The adapter at `base_url` (e.g. `http://trivy-adapter:8080`). `auth_header` is
    the `Authorization` value the adapter expects from its Harbor, if any."""

    def __init__(
        self,
        base_url: str,
        auth_header: str | None = None,
        timeout: float = 30.0,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": auth_header} if auth_header else {}
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url + API_PREFIX,
            headers=headers,
            timeout=timeout,
            follow_redirects=False,
            transport=transport,
        )

    def __repr__(self) -> str:  # never the auth header
        return f"HarborAdapterClient({self.base_url!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HarborAdapterClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, follow_redirects=False, **kwargs)
        except httpx.TimeoutException as exc:
            raise HarborAdapterError(f"The scanner adapter timed out: {exc}", transient=True) from exc
        except httpx.HTTPError as exc:
            raise HarborAdapterError(f"The scanner adapter is unreachable: {exc}", transient=True) from exc
        if len(response.content) > MAX_BODY_BYTES:
            raise HarborAdapterError("The scanner adapter's answer is too large.", transient=False)
        return response

    def _fail(self, what: str, response: httpx.Response) -> HarborAdapterError:
        status = response.status_code
        transient = status == 429 or status >= 500
        return HarborAdapterError(f"{what}: {_error_message(response)}", transient=transient, status=status)

    def _json(self, what: str, response: httpx.Response) -> Any:
        try:
            return json.loads(response.content)
        except ValueError as exc:
            raise HarborAdapterError(f"{what}: the answer is not JSON.", transient=False) from exc

    def metadata(self) -> AdapterMetadata:
        """The adapter's scanner and capabilities."""
        response = self._send("GET", "/metadata", headers={"Accept": METADATA_MIME})
        if response.status_code != 200:
            raise self._fail("Reading the adapter's metadata failed", response)
        return parse_metadata(self._json("The adapter's metadata", response))

    def scan(self, registry_url: str, authorization: str, repository: str, digest: str, mime_type: str) -> str:
        """Ask for a scan of `repository@digest`, which the adapter pulls from
        `registry_url` with `authorization`; returns the scan request id."""
        body = {
            "registry": {"url": registry_url, "authorization": authorization},
            "artifact": {"repository": repository, "digest": digest, "mime_type": mime_type},
        }
        response = self._send(
            "POST",
            "/scan",
            content=json.dumps(body).encode(),
            headers={"Content-Type": SCAN_REQUEST_MIME, "Accept": SCAN_RESPONSE_MIME},
        )
        if response.status_code not in (200, 202):
            raise self._fail("The adapter refused the scan request", response)
        scan_id = _dict(self._json("The adapter's scan response", response)).get("id")
        if not isinstance(scan_id, str) or not scan_id or len(scan_id) > 255:
            raise HarborAdapterError("The adapter's scan response has no request id.", transient=False)
        return scan_id

    def report(self, scan_id: str, mime: str = VULNERABILITY_REPORT_MIME) -> AdapterReport | NotReady:
        """The report of scan `scan_id`, or `NotReady` (302) with the seconds to wait."""
        response = self._send("GET", f"/scan/{quote(scan_id, safe='')}/report", headers={"Accept": mime})
        if response.status_code == 302:
            return NotReady(retry_after=_retry_after(response))
        if response.status_code != 200:
            raise self._fail(f"Reading the report of scan {scan_id} failed", response)
        return parse_report(self._json("The adapter's report", response))
