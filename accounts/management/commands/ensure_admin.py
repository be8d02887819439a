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
from django.utils.translation import gettext as _

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
            raise CommandError(
                _("Could not create the admin: %(messages)s") % {"messages": "; ".join(exc.messages)}
            ) from exc
        if not admin.created:
            self.stdout.write(_("A system admin exists already; nothing to do."))
            return
        self.stdout.write(
            self.style.SUCCESS(_("Created system admin '%(username)s'.") % {"username": admin.username})
        )
        if admin.generated_password:
            self.stdout.write(
                self.style.WARNING(
                    _("  password: %(generated_password)s   (shown once; change it after logging in)")
                    % {"generated_password": admin.generated_password}
                )
            )
