"""`manage.py registry_config`: write the config of Wharf's own registry and print its path.

Filesystem storage under REGISTRY_STORAGE_DIR, deletes enabled (retention and
undo need them), and notifications to Wharf with the shared secret header.
Listens on REGISTRY_URL's host and port. With WHARF_REGISTRY_TOKEN_AUTH, the registry
trusts tokens from Wharf's `/service/token` (the signing key is created if missing).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from accounts.registry_auth.keys import SigningKeyMissing, create_key_pair
from repositories.registry.config import (
    NotificationEndpoint,
    TokenAuth,
    registry_config,
    render_registry_config,
)


def _listen_address(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise CommandError(
            _("REGISTRY_URL=%(url)r: Wharf runs its own registry only on a plain http:// URL.") % {"url": url}
        )
    return f"{parts.hostname}:{parts.port or 80}"


class Command(BaseCommand):
    help = "Write the Distribution registry config for Wharf's own registry and print its path."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--output", help="Where to write (default: REGISTRY_STORAGE_DIR/config.yml).")

    def handle(self, *args: Any, **options: Any) -> None:
        base: Path = settings.REGISTRY_STORAGE_DIR
        base.mkdir(parents=True, exist_ok=True)
        secret_file = base / "http_secret"
        if not secret_file.exists():
            secret_file.write_text(secrets.token_urlsafe(32))
            secret_file.chmod(0o600)
        token_auth = self._token_auth() if settings.WHARF_REGISTRY_TOKEN_AUTH else None
        config = registry_config(
            storage_dir=str(base / "data"),
            addr=_listen_address(settings.REGISTRY_URL),
            http_secret=secret_file.read_text().strip(),
            delete_enabled=True,
            notifications=[
                NotificationEndpoint(
                    url=settings.WHARF_NOTIFY_URL,
                    headers={"Authorization": f"Bearer {settings.WHARF_NOTIFY_SECRET}"},
                    ignored_media_types=("application/octet-stream",),
                )
            ],
            token_auth=token_auth,
        )
        output = Path(options["output"]) if options["output"] else base / "config.yml"
        output.write_text(render_registry_config(config))
        output.chmod(0o600)
        self.stdout.write(str(output))

    def _token_auth(self) -> TokenAuth:
        """Trust Wharf's token service; create its signing key on first use (never replace it)."""
        key, cert = Path(settings.WHARF_TOKEN_KEY), Path(settings.WHARF_TOKEN_CERT)
        try:
            if create_key_pair(key, cert):
                self.stderr.write(
                    _("Created the token signing key %(key)s and certificate %(cert)s.")
                    % {"key": key, "cert": cert}
                )
        except SigningKeyMissing as exc:
            raise CommandError(str(exc)) from exc
        return TokenAuth(
            realm=f"{settings.WHARF_PUBLIC_URL}/service/token",
            service=settings.WHARF_TOKEN_SERVICE,
            issuer=settings.WHARF_TOKEN_ISSUER,
            rootcertbundle=str(cert.resolve()),
        )
