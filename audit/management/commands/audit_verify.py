"""`manage.py audit_verify`: check the audit log's hash chain end to end."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from audit.services import verify_chain


class Command(BaseCommand):
    help = "Verify the audit log's hash chain and report the first broken link, if any."

    def handle(self, *args: Any, **options: Any) -> None:
        checked, broken = verify_chain()
        if broken is not None:
            raise CommandError(
                _(
                    "Audit chain broken at event %(event_id)s: %(reason)s. (%(checked)s events read up to there.)"
                )
                % {"event_id": broken.event_id, "reason": broken.reason, "checked": checked}
            )
        self.stdout.write(
            self.style.SUCCESS(_("Audit chain intact: %(checked)s events verified.") % {"checked": checked})
        )
