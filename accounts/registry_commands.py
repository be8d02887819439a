"""The exact shell commands the pages show for logging in, pushing and pulling.

One place builds them so the robots page, the tokens page and the project's push
panel never disagree. Usernames go through `shlex.quote`: a robot's name holds a
`$` (``robot$acme+ci``) that a shell would otherwise expand, so it is shown
single-quoted, exactly as it must be typed.
"""

from __future__ import annotations

import ipaddress
import shlex
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _


def registry_host() -> str:
    """The registry's address as clients outside reach it (`REGISTRY_PUBLIC_HOST`)."""
    return str(settings.REGISTRY_PUBLIC_HOST)


def is_local_host(host: str) -> bool:
    """Whether Docker treats `host` as insecure-by-default (loopback), so a plain-http
    registry there needs no `insecure-registries` entry."""
    if host.startswith("["):  # [IPv6]:port
        name = host[1:].split("]", 1)[0]
    else:  # name:port or a bare IPv6 address (several colons, no port)
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


EXAMPLE_IMAGE = "my-image:latest"
"""The repository and tag the help shows; shell-safe, so a copied command runs as is."""


@dataclass(frozen=True)
class Command:
    """One command line with a short label, rendered with its own copy button."""

    label: str
    text: str


def login_commands(username: str, host: str | None = None) -> list[Command]:
    """`docker login` and `skopeo login` for `username` (a person or a robot)."""
    host = host or registry_host()
    user = shlex.quote(username)
    return [
        Command("Docker", f"docker login {host} -u {user}"),
        Command("skopeo", f"skopeo login --tls-verify=false {host} -u {user}"),
    ]


def push_commands(project_name: str, host: str | None = None) -> list[Command]:
    """Log in, tag and push an image into `project_name`, with Docker and with skopeo."""
    host = host or registry_host()
    target = f"{host}/{project_name}/{EXAMPLE_IMAGE}"
    return [
        Command(_("Log in"), f"docker login {host}"),
        Command(_("Tag a local image"), f"docker tag local-image {target}"),
        Command(_("Push"), f"docker push {target}"),
        Command(_("Log in (skopeo)"), f"skopeo login --tls-verify=false {host}"),
        Command(
            _("Copy an OCI layout in"),
            f"skopeo copy --dest-tls-verify=false oci:./layout:latest docker://{target}",
        ),
    ]


def pull_commands(project_name: str, host: str | None = None) -> list[Command]:
    """Pull an image of `project_name`, with Docker and with skopeo."""
    host = host or registry_host()
    source = f"{host}/{project_name}/{EXAMPLE_IMAGE}"
    return [
        Command(_("Log in"), f"docker login {host}"),
        Command(_("Pull"), f"docker pull {source}"),
        Command(_("Log in (skopeo)"), f"skopeo login --tls-verify=false {host}"),
        Command(
            _("Copy out to an OCI layout"),
            f"skopeo copy --src-tls-verify=false docker://{source} oci:./layout:latest",
        ),
    ]
