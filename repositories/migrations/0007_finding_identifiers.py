"""Findings get a table of their names (id, aliases, upstream ids), so allowlists and
the id filters match them on SQLite as on PostgreSQL, through an index.

Advisories and findings also keep OSV's `upstream` ids. The backfill reads every
row once in primary-key batches (memory stays flat with millions of findings):
advisories take `upstream` from their stored OSV record, built-in findings take
their advisory's, and every finding gets its identifier rows. The normalisation
is copied here, not imported, so this migration keeps doing what it did when the
code moves on.
"""

import django.db.models.deletion
from django.db import migrations, models

BATCH = 2000
MAX_LENGTH = 255


def _normalize(value):
    return value.strip().upper()[:MAX_LENGTH]


def _strings(value):
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _names(vulnerability_id, aliases, upstream):
    names = []
    for value in (vulnerability_id, *_strings(aliases), *_strings(upstream)):
        if isinstance(value, str) and (name := _normalize(value)) and name not in names:
            names.append(name)
    return names


def _batches(queryset, *fields):
    """`values_list(pk, *fields)` of `queryset` in primary-key order, BATCH rows at a time."""
    last = 0
    while True:
        rows = list(queryset.filter(pk__gt=last).order_by("pk").values_list("pk", *fields)[:BATCH])
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def backfill_advisories(apps, schema_editor):
    Advisory = apps.get_model("repositories", "Advisory")
    for rows in _batches(Advisory.objects.filter(raw__has_key="upstream"), "raw__upstream"):
        changed = [Advisory(pk=pk, upstream=_strings(upstream)[:100]) for pk, upstream in rows if _strings(upstream)]
        Advisory.objects.bulk_update(changed, ["upstream"], batch_size=500)


def backfill_findings(apps, schema_editor):
    Advisory = apps.get_model("repositories", "Advisory")
    Finding = apps.get_model("repositories", "Finding")
    FindingIdentifier = apps.get_model("repositories", "FindingIdentifier")
    for rows in _batches(Finding.objects.all(), "vulnerability_id", "aliases", "upstream", "report__scanner"):
        builtin = {vid for _, vid, _, _, scanner in rows if scanner == "builtin"}
        upstream_of = {
            osv_id: _strings(upstream)
            for osv_id, upstream in Advisory.objects.filter(osv_id__in=builtin).values_list("osv_id", "upstream")
            if _strings(upstream)
        }
        changed = []
        identifiers = []
        for pk, vulnerability_id, aliases, upstream, scanner in rows:
            if scanner == "builtin" and not _strings(upstream) and vulnerability_id in upstream_of:
                upstream = upstream_of[vulnerability_id]
                changed.append(Finding(pk=pk, upstream=upstream))
            identifiers.extend(
                FindingIdentifier(finding_id=pk, value=name) for name in _names(vulnerability_id, aliases, upstream)
            )
        Finding.objects.bulk_update(changed, ["upstream"], batch_size=500)
        # ignore_conflicts: running it again (or over rows already written) adds nothing twice.
        FindingIdentifier.objects.bulk_create(identifiers, batch_size=BATCH, ignore_conflicts=True)


def backfill(apps, schema_editor):
    backfill_advisories(apps, schema_editor)
    backfill_findings(apps, schema_editor)


class Migration(migrations.Migration):

    dependencies = [
        ('repositories', '0006_pushed_at_source'),
    ]

    operations = [
        migrations.AddField(
            model_name='advisory',
            name='upstream',
            field=models.JSONField(blank=True, default=list, help_text='OSV `upstream`: the ids of the records this one was derived from.'),
        ),
        migrations.AddField(
            model_name='finding',
            name='upstream',
            field=models.JSONField(blank=True, default=list, help_text="The advisory's `upstream` ids, e.g. the CVE a Debian record is about."),
        ),
        migrations.CreateModel(
            name='FindingIdentifier',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('value', models.CharField(max_length=255)),
                ('finding', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='identifiers', to='repositories.finding')),
            ],
            options={
                'indexes': [models.Index(fields=['value', 'finding'], name='findingidentifier_value')],
                'constraints': [models.UniqueConstraint(fields=('finding', 'value'), name='findingidentifier_unique')],
            },
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
    ]
