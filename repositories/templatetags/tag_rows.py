"""The rows of a repository's tag table (`repositories/detail.html`), written in Python.

As template nodes a row cost some 270 µs (60-odd variable lookups, filters and includes
each), which made the rows a third of the tag page's time; the same HTML written here
costs a fraction of that. What most rows show (the tag, digest, platform, size, push and
pull times, the actions) is written directly; what few rows show (accessories, labels, a
signature verdict, a scan summary, an estimated push time) still comes from the include
templates the other pages share. The output is the HTML the template loop wrote, byte for
byte (`tests/pages/test_tag_rows.py` compares them).

Every value from the registry is escaped (`conditional_escape`), as the template's
autoescaping did; the sentences come translated from the view (`row_texts`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma, naturaltime
from django.core.exceptions import ObjectDoesNotExist
from django.template.defaultfilters import date, filesizeformat, truncatechars
from django.template.loader import get_template
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]  # not in the stubs
from django.utils.translation import gettext

from .row_urls import escape_once, fill, row_url
from .scan_tags import summary_for

register = template.Library()

_TIME = "Y-m-d H:i:s e"


_e = escape_once


def _time(value: datetime) -> str:
    """`value|date:'Y-m-d H:i:s e'` as the template wrote it (in the current time zone)."""
    local = template_localtime(value)
    if local.tzinfo is None:
        return str(date(local, _TIME))
    zone = local.tzname() or ""
    return f"{local.year:04d}-{local.month:02d}-{local.day:02d} {local.hour:02d}:{local.minute:02d}:{local.second:02d} {zone}"


def _include(context: template.Context, name: str, **values: Any) -> str:
    """`{% include name with values %}` within the page's context."""
    with context.push(**values):
        return str(get_template(name).template.render(context))  # type: ignore[attr-defined]


@register.simple_tag(takes_context=True)
def tag_rows(context: template.Context) -> SafeString:
    """The `<tr>` of every row of `page` (a keyset page of tags, from `tags_page`)."""
    return mark_safe("".join(_row(context, tag) for tag in context["page"].rows))  # noqa: S308 - escaped parts


def _row(context: template.Context, tag: Any) -> str:
    text = context["row_text"]
    artifact = tag.artifact
    name = _e(tag.name)
    checkable = context.get("can_delete") or context.get("can_label")
    parts = [f'\n        <tr data-tag="{name}">\n          ']
    if checkable:
        parts.append(
            f'<td class="check-col"><input class="form-check-input" type="checkbox" name="tag" value="{name}" '
            f'aria-label="{fill(text["select"], tag.name)}"></td>'
        )
    parts.append(
        f'\n          <td class="tag-name">\n            <span class="font-monospace">{_e(truncatechars(tag.name, 128))}</span>\n            '
    )
    with context.push(tag=tag):
        if tag.accessory_subject:
            parts.append(_include(context, "repositories/_accessory_of.html"))
        parts.append("\n            ")
        if tag.accessories:
            parts.append(
                _include(
                    context, "repositories/_accessories.html", accessories=tag.accessories, counts=tag.accessory_counts
                )
            )
        parts.append("\n            ")
        if not tag.accessory_subject:
            signature = _signature(artifact)
            if signature:
                parts.append(_include(context, "repositories/_signature_badge.html", sig=signature))
            else:
                parts.append(text["unsigned_badge"])
        parts.append("\n            ")
        if tag.labels:
            chips = "".join(_include(context, "labels/_chip.html", label=label) + " " for label in tag.labels)
            parts.append(f'<div class="tag-labels">{chips}</div>')
    digest = _e(artifact.digest)
    parts.append(
        "\n          </td>\n          <td class=\"text-nowrap\">\n"
        f'            <a href="{_e(row_url(context["artifact_url"], artifact.digest))}" title="{digest}"><code>{_e(artifact.short_digest)}</code></a>\n'
        f'            <button class="btn btn-link btn-sm p-0 ms-1 align-baseline" type="button" data-copy-text="{digest}" '
        f'title="{_e(text["copy_full_digest"])}" aria-label="{fill(text["copy_digest"], tag.name)}"><i class="bi bi-clipboard"></i></button>\n'
        "          </td>\n          <td>\n            "
    )
    parts.append(_platforms(artifact))
    parts.append("\n          </td>\n          ")
    if context["can"].get("view_scans"):
        summary = summary_for(context["scan_summaries"], tag.artifact_id)
        if summary is not None and summary.never_scanned:
            cell = text["not_scanned"]
        else:
            vuln_url = row_url(context["vulnerabilities_url"], artifact.digest)
            cell = _include(context, "scans/_summary.html", summary=summary, vuln_url=vuln_url)
        parts.append(f'<td class="scan-cell">{cell}</td>')
    parts.append(
        f'\n          <td class="text-end text-nowrap">{_e(filesizeformat(artifact.size))}</td>\n'
        f'          <td class="text-nowrap">{_pushed(context, tag)}</td>\n'
        f'          <td class="text-nowrap d-none d-lg-table-cell">{_pulled(tag, text)}</td>\n'
        f'          <td class="text-end">{_e(intcomma(artifact.pull_count))}</td>\n'
        '          <td class="text-end text-nowrap">\n'
        f'            <button class="btn btn-sm btn-outline-secondary copy-pull" type="button" data-copy-text="{_e(text["pull_command"])}{name}"\n'
        f'                    title="{fill(text["copy_pull_title"], tag.name)}" aria-label="{fill(text["copy_pull"], tag.name)}"><i class="bi bi-terminal"></i><span class="d-none d-xl-inline"> {_e(text["pull"])}</span></button>\n'
        "            "
    )
    if context.get("can_delete"):
        delete_url = _e(row_url(context["tag_delete_url"], tag.name))
        delete = fill(text["delete"], tag.name)
        parts.append(
            "\n            \n"
            f'            <a class="btn btn-sm btn-outline-danger tag-delete" href="{delete_url}{_e(text["delete_next"])}" hx-get="{delete_url}" hx-target="#modal"\n'
            f'               title="{delete}" aria-label="{delete}"><i class="bi bi-trash"></i></a>\n'
            "            \n            "
        )
    parts.append("\n          </td>\n        </tr>\n        ")
    return "".join(parts)


def _signature(artifact: Any) -> Any:
    """The artifact's (select_related) signature verdict, or None, without a query."""
    try:
        return artifact.signature
    except ObjectDoesNotExist:  # a reverse one-to-one without its row, as templates read it
        return None


def _platforms(artifact: Any) -> str:
    if artifact.kind == "index":
        unknown = gettext("unknown")
        chips = "".join(
            '<span class="badge rounded-pill bg-body-tertiary text-body border platform-chip">'
            f"{_e(child.platform or unknown)}</span> "
            for child in artifact.children.all()
        )
        if not chips:
            index = _e(gettext("index"))
            chips = f'<span class="text-body-secondary small">{index}</span>'
        return f"\n            {chips}\n            "
    if artifact.platform:
        return f'<span class="badge rounded-pill text-body-secondary border platform-chip">{_e(artifact.platform)}</span>\n            '
    if artifact.kind == "other":
        label = _e(gettext("artifact"))
        return f'<span class="small text-body-secondary" title="{_e(artifact.artifact_type)}">{label}</span>\n            '
    return ""


def _pushed(context: template.Context, tag: Any) -> str:
    """`repositories/_pushed.html` for `tag`: its common case (a push Wharf saw) written here."""
    if tag.pushed_at_source != "push":
        return _include(context, "repositories/_pushed.html", row=tag)
    pushed = gettext("Pushed %(pushed_at)s")
    title = fill(pushed.replace("%(pushed_at)s", "%(name)s"), _time(tag.pushed_at))
    return f'<span class="pushed-at" data-pushed-source="push" title="{title}">{_e(naturaltime(tag.pushed_at))}</span>\n'


def _pulled(tag: Any, text: dict[str, str]) -> str:
    if tag.last_pull_at:
        return (
            f'<span title="{_e(_time(tag.last_pull_at))}">{_e(naturaltime(tag.last_pull_at))}</span>'
        )
    return f'<span class="text-body-secondary">{_e(text["never"])}</span>'
