"""`manage.py ensure_admin`: create the first system admin when there is none.

The password is WHARF_ADMIN_PASSWORD when set, else a generated one printed exactly
once (it is not stored anywhere else). `make run` does the same through
`manage.py serve`, which prints it in its banner instead.
"""

from __future__ import annotations

import os
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.services.users import ensure_first_admin
from audit.context import Actor


class Command(BaseCommand):
    help = (
        "Create a first system admin if the site has none (password from WHARF_ADMIN_PASSWORD or generated)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username", default=os.environ.get("WHARF_ADMIN_USERNAME", "admin"))

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            admin = ensure_first_admin(
                actor=Actor.system("ensure_admin"),
                username=options["username"],
                password=os.environ.get("WHARF_ADMIN_PASSWORD", ""),
            )
        except ValidationError as exc:
            raise CommandError(f"Could not create the admin: {'; '.join(exc.messages)}") from exc
        if not admin.created:
            self.stdout.write("A system admin exists already; nothing to do.")
            return
        self.stdout.write(self.style.SUCCESS(f"Created system admin '{admin.username}'."))
        if admin.generated_password:
            self.stdout.write(
                self.style.WARNING(
                    f"  password: {admin.generated_password}   (shown once; change it after logging in)"
                )
            )
