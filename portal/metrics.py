"""Prometheus metrics at `/metrics` (prometheus_client).

Counters and histograms are kept by each process; with `PROMETHEUS_MULTIPROC_DIR`
set (gunicorn's workers and Celery's), each process writes them to files there and a
scrape adds them up (`MultiProcessCollector`), so a scrape of any web worker sees the
work done by every worker and task. The directory must be emptied when the service
starts (the Procfile does not; the process manager should).

Values that live in the database (artifacts and bytes per project, scans queued and
running) are gauges computed at scrape by `DatabaseCollector`: two grouped queries,
whatever the number of projects.

The events are observed where they are recorded, one call each: `http_request` by
`MetricsMiddleware` (and `token_request` from it, for `/service/token`),
`notification_applied` by the notification handler, `sync_finished`,
`retention_finished`, `scan_finished`, `webhook_delivery`.

Access: a bearer token (`WHARF_METRICS_TOKEN`) or a client address in
`WHARF_METRICS_ALLOWED_ADDRESSES` (addresses or networks); with neither set the
endpoint answers 403, so metrics are never public by accident.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from audit.context import client_ip

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_LONG_BUCKETS = (0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600)

HTTP_REQUESTS = Counter(
    "wharf_http_requests", "HTTP requests answered, by view and status.", ["view", "method", "status"]
)
HTTP_LATENCY = Histogram(
    "wharf_http_request_duration_seconds", "Time to answer an HTTP request, by view.", ["view"],
    buckets=_LATENCY_BUCKETS,
)
TOKEN_REQUESTS = Counter(
    "wharf_registry_token_requests", "Registry token requests, by outcome (granted, refused, throttled, error).",
    ["outcome"],
)
NOTIFICATION_LAG = Histogram(
    "wharf_notification_lag_seconds", "From a registry event's timestamp to Wharf having applied it, by action.",
    ["action"], buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
SYNC_RUNS = Counter("wharf_sync_runs", "Sync runs finished, by status.", ["status"])
SYNC_DURATION = Histogram("wharf_sync_duration_seconds", "Duration of finished sync runs.", buckets=_LONG_BUCKETS)
RETENTION_DELETIONS = Counter(
    "wharf_retention_deleted_artifacts", "Artifacts deleted by real retention runs, by project.", ["project"]
)
RETENTION_RUNS = Counter("wharf_retention_runs", "Retention runs finished, by status and kind.", ["status", "dry_run"])
SCANS = Counter("wharf_scans", "Scans finished, by status.", ["status"])
SCAN_DURATION = Histogram("wharf_scan_duration_seconds", "Duration of finished scans.", buckets=_LONG_BUCKETS)
WEBHOOK_DELIVERIES = Counter(
    "wharf_webhook_delivery_attempts", "Webhook delivery attempts, by outcome (succeeded, retrying, failed).",
    ["outcome"],
)
WEBHOOK_LATENCY = Histogram(
    "wharf_webhook_delivery_duration_seconds", "Time of one webhook delivery attempt.", buckets=_LATENCY_BUCKETS
)


def _seconds_between(start: datetime | None, end: datetime | None) -> float | None:
    return (end - start).total_seconds() if start and end else None


def http_request(view: str, method: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(view, method, str(status)).inc()
    HTTP_LATENCY.labels(view).observe(seconds)


def token_request(status: int) -> None:
    outcome = {200: "granted", 401: "refused", 403: "refused", 429: "throttled"}.get(status, "error")
    TOKEN_REQUESTS.labels(outcome).inc()


def notification_applied(action: str, occurred_at: datetime) -> None:
    NOTIFICATION_LAG.labels(action).observe(max(0.0, (timezone.now() - occurred_at).total_seconds()))


def sync_finished(run: Any) -> None:
    SYNC_RUNS.labels(run.status).inc()
    seconds = _seconds_between(run.started_at, run.finished_at)
    if seconds is not None:
        SYNC_DURATION.observe(seconds)


def retention_finished(run: Any) -> None:
    RETENTION_RUNS.labels(run.status, str(bool(run.dry_run)).lower()).inc()
    if not run.dry_run and run.artifacts_deleted:
        RETENTION_DELETIONS.labels(run.project.name).inc(run.artifacts_deleted)


def scan_finished(report: Any) -> None:
    SCANS.labels(report.status).inc()
    seconds = _seconds_between(report.started_at, report.finished_at)
    if seconds is not None:
        SCAN_DURATION.observe(seconds)


def webhook_delivery(outcome: str, seconds: float) -> None:
    WEBHOOK_DELIVERIES.labels(outcome).inc()
    WEBHOOK_LATENCY.observe(seconds)


class DatabaseCollector(Collector):
    """Gauges read from the database at scrape: per project, artifacts and bytes
    (from the repositories' kept counts); scans by state."""

    def collect(self) -> Iterator[Metric]:
        from django.db.models import Count, Sum

        from repositories.models import Repository, ScanReport

        artifacts = GaugeMetricFamily("wharf_project_artifacts", "Artifacts in each project.", labels=["project"])
        storage = GaugeMetricFamily(
            "wharf_project_storage_bytes", "Bytes of each project's top-level artifacts (shared layers counted per artifact).",
            labels=["project"],
        )
        rows = Repository.objects.values("project__name").annotate(n=Sum("artifact_count"), size=Sum("size"))
        for row in rows.order_by("project__name"):
            artifacts.add_metric([row["project__name"]], float(row["n"] or 0))
            storage.add_metric([row["project__name"]], float(row["size"] or 0))
        yield artifacts
        yield storage
        scans = GaugeMetricFamily("wharf_scan_reports", "Scan reports by state (queued and running are the live ones).", labels=["status"])
        counts = dict(ScanReport.objects.values_list("status").annotate(n=Count("id")).order_by())
        for status in ScanReport.Status.values:
            scans.add_metric([status], float(counts.get(status, 0)))
        yield scans


class _ProcessCollector(Collector):
    """This process's own metrics (the default registry), when not in multiprocess mode."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def scrape_registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_ProcessCollector())
    registry.register(DatabaseCollector())
    return registry


def _address_allowed(request: HttpRequest) -> bool:
    address = client_ip(request)
    if not address or not settings.WHARF_METRICS_ALLOWED_ADDRESSES:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(net, strict=False) for net in settings.WHARF_METRICS_ALLOWED_ADDRESSES)


def _token_given(request: HttpRequest) -> bool:
    token = settings.WHARF_METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    return bool(token) and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


def metrics_view(request: HttpRequest) -> HttpResponse:
    """`GET /metrics`: the Prometheus text format, for a bearer token or an allowed address."""
    if not (_token_given(request) or _address_allowed(request)):
        if settings.WHARF_METRICS_TOKEN:
            response = HttpResponse("A bearer token is required.\n", status=401, content_type="text/plain")
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        return HttpResponse(
            "Metrics are not open to this address (WHARF_METRICS_TOKEN, WHARF_METRICS_ALLOWED_ADDRESSES).\n",
            status=403,
            content_type="text/plain",
        )
    return HttpResponse(generate_latest(scrape_registry()), content_type=CONTENT_TYPE_LATEST)


class MetricsMiddleware:
    """Counts every answer by view name (never by raw path: ids would explode the
    label set) and status, and times it. Unresolved URLs are `<unresolved>`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = (match.view_name or match._func_path) if match is not None else "<unresolved>"
        http_request(view, request.method or "", response.status_code, time.perf_counter() - started)
        if view == "registry-token":
            token_request(response.status_code)
        return response
