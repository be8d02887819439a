"""`manage.py audit_verify`: check the audit log's hash chain end to end."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.services import verify_chain


class Command(BaseCommand):
    help = "Verify the audit log's hash chain and report the first broken link, if any."

    def handle(self, *args: Any, **options: Any) -> None:
        checked, broken = verify_chain()
        if broken is not None:
            raise CommandError(
                f"Audit chain broken at event {broken.event_id}: {broken.reason}. "
                f"({checked} events read up to there.)"
            )
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {checked} events verified."))
