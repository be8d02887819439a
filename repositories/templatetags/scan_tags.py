"""Template tags that put a severity summary next to artifacts on pages whose views
know nothing of scanning (the tag list, the artifact page).

`{% scan_summaries page.object_list as summaries %}` reads the summaries of all the
rows' artifacts in two queries (see `views.scans.scan_summaries`), so a page of
tags costs the same whatever its length; `summaries|summary_for:tag.artifact_id`
picks one row's.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template

from ..models import Severity
from ..views.scans import ScanSummary, scan_summaries

register = template.Library()


@register.simple_tag
def scan_summaries_for(rows: Iterable[Any]) -> dict[int, ScanSummary]:
    """Summaries keyed by artifact id, for rows that are artifacts or carry `artifact_id`."""
    ids = [getattr(row, "artifact_id", None) or row.pk for row in rows]
    return scan_summaries(ids)


@register.filter
def summary_for(summaries: dict[int, ScanSummary], artifact_id: int) -> ScanSummary | None:
    return summaries.get(artifact_id)


@register.filter
def band_counts(counts: Any) -> list[tuple[str, str, int]]:
    """(band, label, count) of a `{band: n}` JSON object, Critical first, zeros left out
    (PostgreSQL's jsonb does not keep key order)."""
    if not isinstance(counts, dict):
        return []
    rows = []
    for band in Severity:
        try:
            n = int(counts.get(band.value) or 0)
        except (TypeError, ValueError):
            n = 0
        if n:
            rows.append((band.value, str(band.label), n))
    return rows


@register.simple_tag
def scan_summaries_for_artifact(artifact: Any) -> ScanSummary | None:
    return scan_summaries([artifact.pk]).get(artifact.pk)


@register.filter
def severity_label(band: str) -> str:
    """A severity band's code (`critical`) as the reader's word for it."""
    try:
        return str(Severity(band).label)
    except ValueError:
        return band
