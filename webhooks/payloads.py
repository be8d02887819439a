"""The body of a delivery in each format. Pure: plain data in, plain data out.

Every event is described once by `EventData` (what, where, who, when, and the
event's own details); each format renders it:
- Harbor: `{type, occur_at, operator, event_data: {resources, repository, ...}}`
  as Harbor 2.x sends it (`type` from `events.HARBOR_TYPES`).
- CloudEvents 1.0 structured mode: the attributes and `data` in one JSON object,
  sent as `application/cloudevents+json`.
- Slack: `{"text": ...}` for an incoming-webhook URL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext

from .events import HARBOR_TYPES, WebhookEvent, cloudevents_type
from .models import WebhookFormat

CONTENT_TYPES = {
    WebhookFormat.HARBOR: "application/json",
    WebhookFormat.CLOUDEVENTS: "application/cloudevents+json",
    WebhookFormat.SLACK: "application/json",
}


@dataclass(frozen=True)
class EventData:
    event: str
    event_id: str
    occurred_at: datetime
    operator: str
    project: str | None
    project_public: bool = False
    repository: str = ""  # full registry name, e.g. "acme/app"
    digest: str = ""
    tag: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def subject(self) -> str:
        if self.repository and self.tag:
            return f"{self.repository}:{self.tag}"
        if self.repository and self.digest:
            return f"{self.repository}@{self.digest}"
        return self.repository or (self.project or "")


def _harbor(data: EventData, registry_host: str) -> dict[str, Any]:
    event_data: dict[str, Any] = {}
    if data.repository:
        namespace, _, name = data.repository.rpartition("/")
        event_data["repository"] = {
            "name": name,
            "namespace": namespace or data.project or "",
            "repo_full_name": data.repository,
            "repo_type": "public" if data.project_public else "private",
        }
        resource: dict[str, Any] = {"digest": data.digest, "tag": data.tag}
        reference = f":{data.tag}" if data.tag else (f"@{data.digest}" if data.digest else "")
        resource["resource_url"] = f"{registry_host}/{data.repository}{reference}" if registry_host else ""
        if "scan" in data.details:
            resource["scan_overview"] = data.details["scan"]
        event_data["resources"] = [resource]
    if "retention" in data.details:
        event_data["retention"] = data.details["retention"]
    extra = {k: v for k, v in data.details.items() if k not in ("scan", "retention")}
    if extra:
        event_data["custom_attributes"] = extra
    return {
        "type": HARBOR_TYPES.get(data.event, data.event.upper()),
        "occur_at": int(data.occurred_at.timestamp()),
        "operator": data.operator,
        "event_data": event_data,
    }


def _cloudevent(data: EventData, source: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "specversion": "1.0",
        "id": data.event_id,
        "source": source,
        "type": cloudevents_type(data.event),
        "time": data.occurred_at.isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "data": {
            "project": data.project,
            "repository": data.repository or None,
            "digest": data.digest or None,
            "tag": data.tag or None,
            "operator": data.operator,
            **data.details,
        },
    }
    if data.subject:
        body["subject"] = data.subject
    return body


def _label(event: str) -> str:
    try:
        return str(WebhookEvent(event).label)
    except ValueError:
        return gettext("Test event") if event == "wharf.test" else event


def _slack(data: EventData) -> dict[str, Any]:
    # A channel's message, sent by the worker: in the site's language (LANGUAGE_CODE),
    # never in whichever language the request that caused the event happened to use.
    with translation.override(settings.LANGUAGE_CODE):
        values = {
            "event": _label(data.event),
            "where": f"`{data.subject}`" if data.subject else "Wharf",
            "operator": data.operator,
        }
        parts = [
            (gettext("*%(event)s*: %(where)s by %(operator)s") if data.operator else "*%(event)s*: %(where)s")
            % values
        ]
        scan = data.details.get("scan")
        if isinstance(scan, dict) and scan.get("summary"):
            parts.append(", ".join(f"{k}: {v}" for k, v in scan["summary"].items()))
        retention = data.details.get("retention")
        if isinstance(retention, dict):
            parts.append(
                gettext("%(count)s deleted (%(status)s)")
                % {"count": retention.get("deleted", 0), "status": retention.get("status", "")}
            )
        gc = data.details.get("gc")
        if isinstance(gc, dict):
            values = {
                "status": gc.get("status", ""),
                "blobs": gc.get("blobs_removed", 0),
                "bytes": gc.get("bytes_removed", 0),
            }
            parts.append(
                (
                    gettext("%(status)s, dry run, would remove %(blobs)s blobs (%(bytes)s bytes)")
                    if gc.get("dry_run")
                    else gettext("%(status)s, removed %(blobs)s blobs (%(bytes)s bytes)")
                )
                % values
            )
    return {"text": " · ".join(parts)}


def render(data: EventData, fmt: str, *, site_url: str, registry_host: str) -> dict[str, Any]:
    """The JSON body for a webhook of format `fmt`."""
    if fmt == WebhookFormat.CLOUDEVENTS:
        source = f"{site_url.rstrip('/')}/projects/{data.project}/" if data.project else site_url or "/"
        return _cloudevent(data, source or "/")
    if fmt == WebhookFormat.SLACK:
        return _slack(data)
    return _harbor(data, registry_host)
