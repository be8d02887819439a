"""On SQLite (the embedded default), refuse UPDATE on the audit table at the database
level too, as 0002 does on PostgreSQL. DELETE is left alone here: Django's test
runner and `flush` empty SQLite tables with DELETE (PostgreSQL's use TRUNCATE, which
its trigger does not see); the hash chain (`manage.py audit_verify`) still names a
removed row on both databases."""

from __future__ import annotations

from typing import Any

from django.db import migrations

CREATE = """
CREATE TRIGGER IF NOT EXISTS audit_event_append_only
BEFORE UPDATE ON audit_auditevent
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only: UPDATE refused');
END;
"""

DROP = "DROP TRIGGER IF EXISTS audit_event_append_only;"


def forwards(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(CREATE, params=None)


def backwards(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0009_scanner_adapter_actions")]
    operations = [migrations.RunPython(forwards, backwards)]
