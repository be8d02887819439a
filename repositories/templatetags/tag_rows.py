"""The rows of a repository's tag table (`repositories/detail.html`), written in Python.

As template nodes a row cost some 270 µs (60-odd variable lookups, filters and includes
each), which made the rows a third of the tag page's time; the same HTML written here
costs a fraction of that. What most rows show (the tag, digest, platform, size, push and
pull times, the actions, and an accessory's subject and chips, which fill whole pages of
signatures) is written directly; what few rows show (labels, a signature verdict, a scan
summary, an estimated push time) still comes from the include templates the other pages
share. The output is the HTML the template loop wrote, byte for
byte (`tests/pages/test_tag_rows.py` compares them).

Every value from the registry is escaped (`conditional_escape`), as the template's
autoescaping did; the sentences come translated from the view (`row_texts`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.contrib.humanize.templatetags.humanize import NaturalTimeFormatter, intcomma
from django.core.exceptions import ObjectDoesNotExist
from django.template.defaultfilters import date, filesizeformat, truncatechars
from django.template.loader import get_template
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]  # not in the stubs
from django.utils.translation import get_language, gettext

from .row_urls import escape_once, fill, row_url
from .scan_tags import summary_for

register = template.Library()

_TIME = "Y-m-d H:i:s e"


_e = escape_once


class _Translated:
    """One of humanize's lazy plural strings (`"%(count)s minutes ago"`), its `%` remembered
    per language and values: translating the lazy plural on every call was a tenth of a
    page's rows. The values are small counts (seconds, minutes, hours, days, ...) and the
    "2 days, 3 hours" they make, so what it remembers stays small."""

    def __init__(self, lazy: Any) -> None:
        self.lazy = lazy
        self.done: dict[tuple[str | None, tuple[tuple[str, object], ...]], str] = {}

    def __mod__(self, values: dict[str, object]) -> str:
        key = (get_language(), tuple(values.items()))
        found = self.done.get(key)
        if found is None:
            found = self.done[key] = str(self.lazy % values)
        return found


class _NaturalTime(NaturalTimeFormatter):
    """`naturaltime`, the same code on the same strings, with each translation remembered."""

    # The stubs type these as plain strings; humanize only ever applies `%` to them.
    time_strings = {key: (text if key == "now" else _Translated(text)) for key, text in NaturalTimeFormatter.time_strings.items()}  # type: ignore[misc]
    past_substrings = {key: _Translated(text) for key, text in NaturalTimeFormatter.past_substrings.items()}  # type: ignore[misc]
    future_substrings = {key: _Translated(text) for key, text in NaturalTimeFormatter.future_substrings.items()}  # type: ignore[misc]


def naturaltime(value: datetime) -> str:
    return _NaturalTime.string_for(value)  # type: ignore[no-any-return]


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
            parts.append(_accessory_of(tag, context["artifact_url"]))
        parts.append("\n            ")
        if tag.accessories:
            parts.append(_accessories(tag.accessories, tag.accessory_counts, context["artifact_url"]))
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


def _accessory_of(tag: Any, artifact_url: str) -> str:
    """`repositories/_accessory_of.html` for an accessory row."""
    home = tag.accessory_home
    subject = tag.accessory_subject
    short = _e(truncatechars(subject, 19))
    head = (
        f'\n<div class="small accessory-of" data-accessory-home="{_e(home)}">\n'
        '  <span class="badge rounded-pill text-bg-light border"><i class="bi bi-paperclip" aria-hidden="true"></i> '
        f"{_e(tag.accessory_kind.label)}</span>\n  "
    )
    if home == "missing":
        title = _blocktranslate(
            "No artifact %(accessory_subject)s is in this repository: it was deleted, or never pushed here.",
            accessory_subject=_e(subject),
        )
        text = _blocktranslate("accessory of missing <code>%(subject)s</code>", subject=short)
        body = f'\n  <span class="text-warning-emphasis" title="{title}">{text}</span>\n  '
    else:
        text = _blocktranslate(
            'accessory of <a href="%(url)s" title="%(full)s"><code>%(subject)s</code></a>',
            url=_e(row_url(artifact_url, subject)),
            full=_e(subject),
            subject=short,
        )
        untagged = f" {_e(gettext('(an untagged artifact)'))}" if home == "untagged" else ""
        body = f'\n  <span class="text-body-secondary">{text}{untagged}</span>\n  '
    return f"{head}{body}\n</div>\n"


def _accessories(accessories: list[Any], counts: list[Any], artifact_url: str) -> str:
    """`repositories/_accessories.html`: the chips of a row's accessories, opening to each one."""
    chips = "".join(
        f'<span class="badge rounded-pill text-bg-light border accessory-chip" data-accessory-kind="{_e(count.kind)}">'
        f'<i class="bi bi-paperclip" aria-hidden="true"></i> {_e(count.label)}'
        f"{f' ×{count.count}' if count.count > 1 else ''}</span> "
        for count in counts
    )
    items = []
    for accessory in accessories:
        if accessory.tag:
            shown = f'<span class="font-monospace">{_e(truncatechars(accessory.tag, 80))}</span>'
        else:
            untagged = _e(gettext("Pushed by digest, with no tag"))
            shown = f'<span class="text-body-secondary fst-italic" title="{untagged}">{_e(gettext("untagged"))}</span>'
        items.append(
            "\n    <li data-accessory=\"" + _e(accessory.tag or accessory.digest) + '">\n'
            f'      <span class="text-body-secondary">{_e(accessory.kind.label)}</span>\n'
            f"      {shown}\n"
            f'      <a href="{_e(row_url(artifact_url, accessory.digest))}" title="{_e(accessory.digest)}"><code>{_e(accessory.short_digest)}</code></a>\n'
            "    </li>\n    "
        )
    title = _e(gettext("Signatures, SBOMs, attestations and other referrers of this artifact"))
    return (
        '\n<details class="accessories small mt-1">\n'
        f'  <summary class="accessory-chips" title="{title}">\n    {chips}\n  </summary>\n'
        f'  <ul class="list-unstyled mb-0 ms-3 accessory-list">\n    {"".join(items)}\n  </ul>\n</details>\n'
    )


def _blocktranslate(message: str, **values: str) -> str:
    """`{% blocktranslate trimmed with ... %}`: the translated `message` with the (escaped) `values` put in."""
    return gettext(message) % values


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
