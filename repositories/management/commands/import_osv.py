"""`manage.py import_osv PATH [--rescan]`: load OSV advisories into Wharf's vulnerability database."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from audit.context import Actor
from repositories.models import OsvImport
from repositories.services.osv_import import OsvSourceError, import_osv


class Command(BaseCommand):
    help = (
        "Import OSV advisories from an osv.dev per-ecosystem all.zip "
        "(e.g. https://osv-vulnerabilities.storage.googleapis.com/Debian/all.zip) or a directory of JSON files."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="An all.zip or a directory of OSV JSON files.")
        parser.add_argument(
            "--rescan", action="store_true", help="Queue a rescan of every image once the import is done."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        try:
            run = import_osv(options["path"], actor=Actor.system("import_osv"))
        except OsvSourceError as exc:
            raise CommandError(str(exc)) from None
        elapsed = time.monotonic() - started
        self.stdout.write(
            f"OSV import #{run.pk} {run.status} in {elapsed:.1f}s: {run.seen} read, {run.created} created, "
            f"{run.updated} updated, {run.unchanged} unchanged, {run.withdrawn} withdrawn, {run.invalid} invalid; "
            f"database version {run.database_version or '-'}"
        )
        for error in run.errors[:20]:
            self.stderr.write(f"  invalid {error['entry']}: {error['reason']}")
        if run.invalid > 20:
            self.stderr.write(
                _("  ... and %(value)s more (see the import record)") % {"value": run.invalid - 20}
            )
        if run.status != OsvImport.Status.SUCCEEDED:
            raise CommandError(run.message)
        if options["rescan"]:
            from repositories.tasks import rescan_all

            rescan_all.delay()
            self.stdout.write(_("Rescan of all images queued."))
