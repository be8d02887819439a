"""Trigram indexes for substring search on names (`portal.search`), on PostgreSQL only.

pg_trgm's GIN indexes serve `LIKE '%text%'` / `ILIKE` at any table size: tag names
(the tag filter's plain text), repository names and descriptions (the repository
search). SQLite has no such index: there the search is the portable LIKE, and this
migration does nothing. Creating the extension needs a role allowed to (a superuser,
or the database owner for trusted extensions on PostgreSQL 13+); a database where an
administrator created it already is fine (`IF NOT EXISTS`).
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

INDEXES = {
    "tag_name_trgm": ("repositories_tag", "name"),
    "repo_name_trgm": ("repositories_repository", "name"),
    "repo_description_trgm": ("repositories_repository", "description"),
}


class PostgreSQLOnly(migrations.RunSQL):
    """RunSQL that runs only where `schema_editor.connection.vendor` is PostgreSQL."""

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [("repositories", "0017_lists_sort_indexes")]

    operations = [
        PostgreSQLOnly(
            sql=["CREATE EXTENSION IF NOT EXISTS pg_trgm"]
            + [
                f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({column} gin_trgm_ops)"
                for name, (table, column) in INDEXES.items()
            ],
            # The extension stays: other objects may use it.
            reverse_sql=[f"DROP INDEX IF EXISTS {name}" for name in INDEXES],
        )
    ]
