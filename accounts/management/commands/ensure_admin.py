"""`manage.py ensure_admin`: create the first system admin when there is none.

Used by `make run` on a fresh clone. The password is WHARF_ADMIN_PASSWORD when
set, else a generated one printed exactly once (it is not stored anywhere else).
"""

from __future__ import annotations

import os
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.services.users import create_user, generate_password
from audit.context import Actor


class Command(BaseCommand):
    help = "Create a first system admin if the site has none (password from WHARF_ADMIN_PASSWORD or generated)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username", default=os.environ.get("WHARF_ADMIN_USERNAME", "admin"))

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        if User.objects.filter(is_superuser=True, is_active=True).exists():
            self.stdout.write("A system admin exists already; nothing to do.")
            return
        given = os.environ.get("WHARF_ADMIN_PASSWORD", "")
        password = given or generate_password()
        try:
            create_user(
                actor=Actor.system("ensure_admin"),
                username=options["username"],
                password=password,
                is_superuser=True,
            )
        except ValidationError as exc:
            raise CommandError(f"Could not create the admin: {'; '.join(exc.messages)}") from exc
        self.stdout.write(self.style.SUCCESS(f"Created system admin '{options['username']}'."))
        if not given:
            self.stdout.write(
                self.style.WARNING(f"  password: {password}   (shown once; change it after logging in)")
            )
