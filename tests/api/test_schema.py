"""The OpenAPI schema and its Swagger UI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import call_command

from tests.support.assets import mentions_a_cdn, off_site_assets

PATHS = [
    "/api/v1/projects/",
    "/api/v1/projects/{name}/",
    "/api/v1/projects/{project_name}/members/",
    "/api/v1/projects/{project_name}/members/{id}/",
    "/api/v1/projects/{project_name}/audit-events/",
    "/api/v1/projects/{project_name}/audit-events/export/",
    "/api/v1/audit-events/",
    "/api/v1/audit-events/export/",
    "/api/v1/users/",
    "/api/v1/users/{id}/",
    "/api/v1/users/{id}/reset-password/",
    "/api/v1/me/",
    "/api/v1/tokens/",
    "/api/v1/tokens/{id}/",
    "/api/v1/projects/{project_name}/repositories/",
    "/api/v1/projects/{project_name}/sync-runs/",
    "/api/v1/projects/{project_name}/sync-runs/{id}/",
    "/api/v1/repositories/{repository_name}/",
    "/api/v1/repositories/{repository_name}/-/tags/",
    "/api/v1/repositories/{repository_name}/-/tags/{tag}/",
    "/api/v1/repositories/{repository_name}/-/tags/bulk-delete/",
    "/api/v1/repositories/{repository_name}/-/artifacts/",
    "/api/v1/repositories/{repository_name}/-/artifacts/{digest}/",
    "/api/v1/repositories/{repository_name}/-/artifacts/{digest}/manifest/",
    "/api/v1/sync-runs/",
    "/api/v1/sync-runs/{id}/",
    "/api/v1/projects/{project_name}/retention-policy/",
    "/api/v1/projects/{project_name}/retention-policy/preview/",
    "/api/v1/projects/{project_name}/immutable-rules/",
    "/api/v1/projects/{project_name}/retention-runs/",
    "/api/v1/projects/{project_name}/retention-runs/{id}/",
    "/api/v1/projects/{project_name}/retention-runs/{id}/stop/",
    "/api/v1/projects/{project_name}/retention-runs/{run_id}/items/",
    "/api/v1/projects/{project_name}/recycle-bin/",
    "/api/v1/projects/{project_name}/recycle-bin/{id}/",
    "/api/v1/projects/{project_name}/recycle-bin/{id}/restore/",
]

# Scanning: reports, findings, SBOMs, Trivy uploads, compare, allowlists, the OSV database.
PATHS += [
    "/api/v1/repositories/{repository_name}/-/artifacts/{digest}/scans/",
    "/api/v1/repositories/{repository_name}/-/artifacts/{digest}/scans/{id}/",
    "/api/v1/repositories/{repository_name}/-/artifacts/{digest}/scans/{report_id}/findings/",
    "/api/v1/repositories/{repository_name}/-/artifacts/{digest}/scans/{report_id}/findings/export/",
    "/api/v1/repositories/{repository_name}/-/artifacts/{digest}/sbom/",
    "/api/v1/repositories/{repository_name}/-/artifacts/{digest}/trivy-reports/",
    "/api/v1/repositories/{repository_name}/-/compare/",
    "/api/v1/projects/{project_name}/allowlist/",
    "/api/v1/projects/{project_name}/allowlist/{id}/",
    "/api/v1/projects/{project_name}/scan-settings/",
    # Storage usage.
    "/api/v1/projects/{project_name}/usage/",
    "/api/v1/repositories/{repository_name}/-/usage/",
    "/api/v1/gc-runs/",
    "/api/v1/gc-runs/{id}/",
    "/api/v1/allowlist/",
    "/api/v1/allowlist/{id}/",
    "/api/v1/osv-imports/",
    "/api/v1/osv-imports/{id}/",
    "/api/v1/scanner-adapters/",
    "/api/v1/scanner-adapters/{id}/",
    "/api/v1/scanner-adapters/{id}/refresh/",
    "/api/v1/vulnerability-database/",
]

# Robot accounts: per project and system-wide; regenerate answers a new secret.
PATHS += [
    "/api/v1/projects/{project_name}/robots/",
    "/api/v1/projects/{project_name}/robots/{id}/",
    "/api/v1/projects/{project_name}/robots/{id}/regenerate/",
    "/api/v1/robots/",
    "/api/v1/robots/{id}/",
    "/api/v1/robots/{id}/regenerate/",
]

# Webhooks: per project and system-wide; test events and redelivery.
PATHS += [
    "/api/v1/projects/{project_name}/webhooks/",
    "/api/v1/projects/{project_name}/webhooks/{id}/",
    "/api/v1/projects/{project_name}/webhooks/{id}/test/",
    "/api/v1/projects/{project_name}/webhooks/{webhook_id}/deliveries/",
    "/api/v1/projects/{project_name}/webhooks/{webhook_id}/deliveries/{id}/redeliver/",
    "/api/v1/webhooks/",
    "/api/v1/webhooks/{id}/",
    "/api/v1/webhooks/{id}/test/",
    "/api/v1/webhooks/{webhook_id}/deliveries/",
    "/api/v1/webhooks/{webhook_id}/deliveries/{id}/redeliver/",
]

# Labels: global, per project, and on artifacts.
PATHS += [
    "/api/v1/labels/",
    "/api/v1/labels/{id}/",
    "/api/v1/projects/{project_name}/labels/",
    "/api/v1/projects/{project_name}/labels/{id}/",
    "/api/v1/repositories/{repository_name}/-/artifacts/{digest}/labels/",
    "/api/v1/repositories/{repository_name}/-/artifacts/{digest}/labels/{id}/",
    "/api/v1/retention-default/",
    "/api/v1/projects/{project_name}/effective-retention-policy/",
]

@pytest.mark.django_db
def test_schema_is_served_with_every_api_path(client: Any) -> None:
    response = client.get("/api/schema/")

    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert set(PATHS) <= set(schema["paths"])
    assert "apiToken" in schema["components"]["securitySchemes"]


@pytest.mark.django_db
def test_swagger_ui_is_served_without_a_cdn(client: Any, settings: Any) -> None:
    # No collectstatic in tests, so no manifest to look hashed names up in.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }

    response = client.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert off_site_assets(html) == [] and not mentions_a_cdn(html)
    assert b"/static/drf_spectacular_sidecar/swagger-ui-dist/" in response.content


def test_schema_generates_and_validates_without_warnings(tmp_path: Path) -> None:
    out = tmp_path / "schema.yml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))

    assert set(PATHS) <= set(yaml.safe_load(out.read_text())["paths"])
