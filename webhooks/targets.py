"""Which URLs a webhook may POST to (SSRF): http(s), a host, at most 2000 characters,
no credentials, and, unless `WHARF_WEBHOOKS_ALLOW_PRIVATE` is set, a host whose
every address is public. The host is resolved and each address checked, both when a
webhook is saved and right before each delivery (a name may change its answer)."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

MAX_URL_LENGTH = 2000


class TargetRefused(ValueError):
    """The URL may not be used as a webhook target; the message says why."""


def refused_address(address: str) -> str | None:
    """Why `address` may not be a target (None when it may): anything not globally
    routable (loopback, private, link-local, shared, reserved) and multicast."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return _("%(address)s is a loopback address") % {"address": address}
    if ip.is_multicast:
        return _("%(address)s is a multicast address") % {"address": address}
    if not ip.is_global:
        return _("%(address)s is a private or reserved address") % {"address": address}
    return None


def first_refusal(addresses: Iterable[str]) -> str | None:
    """The first reason any of `addresses` is refused: every address must pass."""
    for address in addresses:
        reason = refused_address(address)
        if reason:
            return reason
    return None


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (IPv4 and IPv6)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def check_target(url: str, *, allow_private: bool | None = None) -> None:
    """Raise `TargetRefused` unless `url` is a usable target."""
    if allow_private is None:
        allow_private = settings.WHARF_WEBHOOKS_ALLOW_PRIVATE
    if len(url) > MAX_URL_LENGTH:
        raise TargetRefused(_("At most %(max)s characters.") % {"max": MAX_URL_LENGTH})
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused(_("Not a URL: %(exc)s.") % {"exc": exc}) from None
    if parts.scheme not in ("http", "https"):
        raise TargetRefused(_("Only http:// and https:// URLs can receive webhooks."))
    if not parts.hostname:
        raise TargetRefused(_("The URL has no host."))
    if parts.username or parts.password:
        raise TargetRefused(_("Put credentials in the secret, not in the URL (it is shown on pages)."))
    if any(c.isspace() for c in url):
        raise TargetRefused(_("The URL contains spaces."))
    if allow_private:
        return
    try:
        addresses = resolve(parts.hostname, port or (443 if parts.scheme == "https" else 80))
    except (OSError, UnicodeError):
        raise TargetRefused(
            _("The host %(hostname)s cannot be resolved.") % {"hostname": parts.hostname}
        ) from None
    reason = first_refusal(addresses)
    if reason:
        raise TargetRefused(
            _("%(hostname)s: %(reason)s; private targets are refused (WHARF_WEBHOOKS_ALLOW_PRIVATE).")
            % {"hostname": parts.hostname, "reason": reason}
        )


def validate_target(url: str) -> None:
    """`check_target` as a form/API field error on `url`."""
    try:
        check_target(url)
    except TargetRefused as exc:
        raise ValidationError({"url": [str(exc)]}) from None
