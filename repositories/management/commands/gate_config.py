"""`manage.py gate_config`: write the gate's nginx config and its failure-mode markers, print
the config's path.

The gate listens on WHARF_GATE_URL's host and port and fronts REGISTRY_URL; nginx reaches
Wharf at WHARF_GATE_UPSTREAM. `make run` starts it (Procfile `gate`) as
`nginx -p DIR -c DIR/nginx.conf -e stderr -g 'daemon off;'`.
"""

from __future__ import annotations

import os
import pwd
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from repositories.gate.nginx import FAILURE_MODES, GateConfig, render_nginx_config
from repositories.services.gate import marker_directory, pull_marker_directory, write_markers


def _host_port(url: str, what: str) -> str:
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise CommandError(_("%(setting)s=%(url)r: the gate runs on a plain http:// address.") % {"setting": what, "url": url})
    return f"{parts.hostname}:{parts.port or 80}"


class Command(BaseCommand):
    help = "Write the nginx config of the gate in front of the registry and print its path."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--output", help="Where to write (default: WHARF_GATE_STATE_DIR/nginx.conf).")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.WHARF_GATE_URL:
            raise CommandError(_("WHARF_GATE_URL is empty: the gate is turned off."))
        if settings.WHARF_GATE_FAILURE not in FAILURE_MODES:
            raise CommandError(_("WHARF_GATE_FAILURE must be one of %(modes)s.") % {"modes": ", ".join(FAILURE_MODES)})
        base = Path(settings.WHARF_GATE_STATE_DIR).resolve()
        base.mkdir(parents=True, exist_ok=True)
        guarded = write_markers()
        config = GateConfig(
            listen=_host_port(settings.WHARF_GATE_URL, "WHARF_GATE_URL"),
            registry=_host_port(settings.REGISTRY_URL, "REGISTRY_URL"),
            wharf=settings.WHARF_GATE_UPSTREAM,
            secret=settings.WHARF_GATE_SECRET,
            prefix=str(base),
            marker_dir=str(marker_directory().resolve()),
            pull_marker_dir=str(pull_marker_directory().resolve()),
            cache_seconds=settings.WHARF_GATE_DECISION_CACHE,
            stale_seconds=settings.WHARF_GATE_DECISION_STALE,
            default_project=settings.WHARF_DEFAULT_PROJECT,
            timeout=settings.WHARF_GATE_TIMEOUT,
            failure=settings.WHARF_GATE_FAILURE,
            user=pwd.getpwuid(os.geteuid()).pw_name if os.geteuid() == 0 else None,
        )
        output = Path(options["output"]) if options["output"] else base / "nginx.conf"
        output.write_text(render_nginx_config(config))
        output.chmod(0o600)  # it holds the gate's secret
        self.stderr.write(
            _("%(count)s project(s) with policies; failure mode %(mode)s.")
            % {"count": guarded, "mode": settings.WHARF_GATE_FAILURE}
        )
        self.stdout.write(str(output))
