"""`{% tag_rows %}` (repositories/templatetags/tag_rows.py) writes the tag table's rows in
Python: the HTML is the template loop's it replaced, byte for byte, for every kind of row
(accessories as rows and nested, labels, signature verdicts, scans of every state, index
children, estimated push times, never pulled), for users who may and may not delete,
label or see scans, in English and in Chinese."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.http import QueryDict
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import timezone, translation

from repositories.access import get_project
from repositories.models import Artifact, ArtifactSignature, Label, ScanReport, Tag
from repositories.models.labels import ArtifactLabel
from repositories.views.repositories import tags_context
from tests.conftest import World
from tests.pages.accessory_content import add_accessories
from tests.pages.scan_content import make_scans

# The loop `repositories/detail.html` had before the rows moved to Python.
TEMPLATE_LOOP = """{% load humanize scan_tags row_urls i18n %}{% if can.view_scans %}{% scan_summaries_for page.rows as scan_summaries %}{% endif %}
        {% for tag in page.rows %}
        <tr data-tag="{{ tag.name }}">
          {% if can_delete or can_label %}<td class="check-col"><input class="form-check-input" type="checkbox" name="tag" value="{{ tag.name }}" aria-label="{{ row_text.select|fill:tag.name }}"></td>{% endif %}
          <td class="tag-name">
            <span class="font-monospace">{{ tag.name|truncatechars:128 }}</span>
            {% if tag.accessory_subject %}{% include "repositories/_accessory_of.html" %}{% endif %}
            {% if tag.accessories %}{% include "repositories/_accessories.html" with accessories=tag.accessories counts=tag.accessory_counts %}{% endif %}
            {% if not tag.accessory_subject %}{% if tag.artifact.signature %}{% include "repositories/_signature_badge.html" with sig=tag.artifact.signature %}{% else %}{{ row_text.unsigned_badge }}{% endif %}{% endif %}
            {% if tag.labels %}<div class="tag-labels">{% for label in tag.labels %}{% include "labels/_chip.html" %} {% endfor %}</div>{% endif %}
          </td>
          <td class="text-nowrap">
            <a href="{{ artifact_url|row_url:tag.artifact.digest }}" title="{{ tag.artifact.digest }}"><code>{{ tag.artifact.short_digest }}</code></a>
            <button class="btn btn-link btn-sm p-0 ms-1 align-baseline" type="button" data-copy-text="{{ tag.artifact.digest }}" title="{{ row_text.copy_full_digest }}" aria-label="{{ row_text.copy_digest|fill:tag.name }}"><i class="bi bi-clipboard"></i></button>
          </td>
          <td>
            {% if tag.artifact.kind == "index" %}
            {% for child in tag.artifact.children.all %}<span class="badge rounded-pill bg-body-tertiary text-body border platform-chip">{{ child.platform|default:_("unknown") }}</span> {% empty %}<span class="text-body-secondary small">{% translate "index" %}</span>{% endfor %}
            {% elif tag.artifact.platform %}<span class="badge rounded-pill text-body-secondary border platform-chip">{{ tag.artifact.platform }}</span>
            {% elif tag.artifact.kind == "other" %}<span class="small text-body-secondary" title="{{ tag.artifact.artifact_type }}">{% translate "artifact" %}</span>
            {% endif %}
          </td>
          {% if can.view_scans %}<td class="scan-cell">{% with summary=scan_summaries|summary_for:tag.artifact_id %}{% if summary.never_scanned %}{{ row_text.not_scanned }}{% else %}{% include "scans/_summary.html" with summary=summary vuln_url=vulnerabilities_url|row_url:tag.artifact.digest %}{% endif %}{% endwith %}</td>{% endif %}{# scanning #}
          <td class="text-end text-nowrap">{{ tag.artifact.size|filesizeformat }}</td>
          <td class="text-nowrap">{% include "repositories/_pushed.html" with row=tag %}</td>
          <td class="text-nowrap d-none d-lg-table-cell">{% if tag.last_pull_at %}<span title="{{ tag.last_pull_at|date:'Y-m-d H:i:s e' }}">{{ tag.last_pull_at|naturaltime }}</span>{% else %}<span class="text-body-secondary">{{ row_text.never }}</span>{% endif %}</td>
          <td class="text-end">{{ tag.artifact.pull_count|intcomma }}</td>
          <td class="text-end text-nowrap">
            <button class="btn btn-sm btn-outline-secondary copy-pull" type="button" data-copy-text="{{ row_text.pull_command }}{{ tag.name }}"
                    title="{{ row_text.copy_pull_title|fill:tag.name }}" aria-label="{{ row_text.copy_pull|fill:tag.name }}"><i class="bi bi-terminal"></i><span class="d-none d-xl-inline"> {{ row_text.pull }}</span></button>
            {% if can_delete %}
            {% with delete_url=tag_delete_url|row_url:tag.name %}
            <a class="btn btn-sm btn-outline-danger tag-delete" href="{{ delete_url }}{{ row_text.delete_next }}" hx-get="{{ delete_url }}" hx-target="#modal"
               title="{{ row_text.delete|fill:tag.name }}" aria-label="{{ row_text.delete|fill:tag.name }}"><i class="bi bi-trash"></i></a>
            {% endwith %}
            {% endif %}
          </td>
        </tr>
        {% endfor %}"""
PYTHON_ROWS = """{% load scan_tags tag_rows %}{% if can.view_scans %}{% scan_summaries_for page.rows as scan_summaries %}{% endif %}
        {% tag_rows %}"""


@pytest.fixture
def rows(world: World) -> None:
    scans = make_scans(world.private)
    content = scans.content
    add_accessories(content)
    now = timezone.now()
    ScanReport.objects.create(artifact=content.other, status=ScanReport.Status.FAILED, created_at=now)
    ArtifactSignature.objects.create(artifact=content.image, status="signed", key_name="release <key>")
    ArtifactSignature.objects.create(artifact=content.index, status="invalid", reason="no_key", detail="x & y")
    label = Label.objects.create(project=world.private, name="prod <1>", color="#ff0000")
    ArtifactLabel.objects.create(artifact=content.image, label=label)
    Tag.objects.filter(repository=content.repository, name="v1.1").update(pushed_at_source="created", last_pull_at=now)
    Tag.objects.filter(repository=content.repository, name="latest").update(pushed_at_source="seen")
    Tag.objects.filter(repository=content.repository, name="v2.0").update(pushed_at_source="push", pushed_at=now - timedelta(days=3))
    Artifact.objects.filter(pk=content.other.pk).update(kind=Artifact.Kind.OTHER, os="", architecture="", artifact_type="application/x<y>")


@pytest.mark.parametrize("persona", ["sysadmin", "maintainer", "guest"])
@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("query", ["", "accessories=include&sort=-pushed", "accessories=only", "tag=v1&sort=-size"])
def test_the_rows_are_the_template_loops_byte_for_byte(world: World, rows: None, persona: str, language: str, query: str) -> None:
    user = world.user(persona)
    project = get_project(user, "acme")
    repository = project.repositories.get(name="acme/app")
    repository.project = project
    request = RequestFactory().get("/", {"q": "a&b"})
    request.user = user
    with translation.override(language):
        context = tags_context(project, repository, QueryDict(query))
        assert context["page"].rows
        expected = Template(TEMPLATE_LOOP).render(Context(context | {"request": request}))
        written = Template(PYTHON_ROWS).render(Context(context | {"request": request}))
    assert written == expected
    assert written.count("<tr data-tag=") == len(context["page"].rows)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_remembered_natural_times_are_humanizes_own(language: str) -> None:
    """The rows' `naturaltime` remembers each translated plural; what it writes is humanize's,
    for past and future times of every unit (half a second from any boundary)."""
    from django.contrib.humanize.templatetags.humanize import naturaltime as humanize_naturaltime

    from repositories.templatetags.tag_rows import naturaltime

    seconds = [0.5, 1.5, 30.5, 90.5, 3599.5, 3600.5, 7300.5, 86400.5, 3 * 86400 + 7200.5, 40 * 86400.5, 400 * 86400.5, 800 * 86400.5]
    with translation.override(language):
        for offset in [*seconds, *(-s for s in seconds[1:])]:
            value = timezone.now() - timedelta(seconds=offset)
            for _ in range(2):  # the second time from what it remembered
                assert naturaltime(value) == humanize_naturaltime(value), offset
