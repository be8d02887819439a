"""`manage.py proxy_cache config PROJECT` writes the project's pull-through instance
config (and prints its path); `manage.py proxy_cache serve PROJECT` writes it and
becomes `docker-registry serve` on it, for the process supervisor (a Procfile line
per proxy-cache project, as the main registry's)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from repositories.registry.config import render_registry_config

from ...models import ProxyCache
from ...services.proxy_caches import instance_config, storage_dir


def write_config(cache: ProxyCache) -> Path:
    directory = storage_dir(cache)
    (directory / "storage").mkdir(parents=True, exist_ok=True)
    path = directory / "config.yml"
    # The upstream's password is in it: readable by Wharf's user only.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(render_registry_config(instance_config(cache)))
    return path


class Command(BaseCommand):
    help = "Write (config) or run (serve) the pull-through registry of a proxy-cache project."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["config", "serve"])
        parser.add_argument("project")
        parser.add_argument("--binary", default="docker-registry")

    def handle(self, *args: Any, **options: Any) -> None:
        cache = (
            ProxyCache.objects.select_related("project", "upstream")
            .filter(project__name=options["project"])
            .first()
        )
        if cache is None:
            raise CommandError(_("%(project)s is not a proxy-cache project.") % {"project": options["project"]})
        path = write_config(cache)
        if options["action"] == "config":
            self.stdout.write(str(path))
            return
        binary = shutil.which(options["binary"])
        if binary is None:
            raise CommandError(
                _("%(binary)s not found: apt-get install docker-registry") % {"binary": options["binary"]}
            )
        os.execv(binary, [binary, "serve", str(path)])  # noqa: S606  (becomes the registry process)
