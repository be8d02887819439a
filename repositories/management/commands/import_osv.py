"""`manage.py import_osv PATH [--rescan]`: load OSV advisories into Wharf's vulnerability database."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from audit.context import Actor
from portal.stored_text import shown
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
            _(
                "OSV import #%(pk)s %(status)s in %(seconds)ss: %(seen)s read, %(created)s created, "
                "%(updated)s updated, %(unchanged)s unchanged, %(withdrawn)s withdrawn, %(invalid)s invalid; "
                "database version %(version)s"
            )
            % {
                "pk": run.pk,
                "status": run.status,
                "seconds": f"{elapsed:.1f}",
                "seen": run.seen,
                "created": run.created,
                "updated": run.updated,
                "unchanged": run.unchanged,
                "withdrawn": run.withdrawn,
                "invalid": run.invalid,
                "version": run.database_version or "-",
            }
        )
        for error in run.errors[:20]:
            self.stderr.write(
                _("  invalid %(entry)s: %(reason)s") % {"entry": error["entry"], "reason": error["reason"]}
            )
        if run.invalid > 20:
            self.stderr.write(
                _("  ... and %(count)s more (see the import record)") % {"count": run.invalid - 20}
            )
        if run.status != OsvImport.Status.SUCCEEDED:
            raise CommandError(shown(run.message, run.message_i18n))
        if options["rescan"]:
            from repositories.tasks import rescan_all

            rescan_all.delay()
            self.stdout.write(_("Rescan of all images queued."))
