"""The boxed banner `make run` prints: where Wharf is, how to log in, push and seed.

Pure text from plain values, so it is tested without starting anything. It is
printed twice by `manage.py serve`: before the processes start, and again once the
web server answers, so it is not lost above their logs.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# Knobs a second terminal needs to reach the same site (`seed_demo`, `changepassword`).
# Connection URLs are left out: they may carry credentials, and a banner is no place for them.
SHARED_KNOBS = ("WHARF_VAR_DIR", "WHARF_PORT", "WHARF_REGISTRY_PORT", "REGISTRY_URL")


@dataclass(frozen=True)
class Welcome:
    """What the banner says."""

    url: str
    registry_host: str
    admin_username: str
    admin_created: bool
    generated_password: str | None = None
    manage: str = ".venv/bin/python manage.py"
    environment: Mapping[str, str] | None = None

    def command(self, *args: str) -> str:
        """A manage.py command line for a second terminal, with the knobs this site runs with."""
        knobs = [f"{name}={shlex.quote(value)}" for name, value in (self.environment or {}).items()]
        return " ".join([*knobs, self.manage, *(shlex.quote(a) for a in args)])


def shared_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The SHARED_KNOBS set in `environ`, in a stable order."""
    return {name: environ[name] for name in SHARED_KNOBS if environ.get(name)}


def login_lines(welcome: Welcome) -> list[str]:
    user = welcome.admin_username
    if welcome.generated_password:
        return [
            f"Log in:    {user} / {welcome.generated_password}",
            "           (generated just now and shown only here: change it after logging in)",
        ]
    if welcome.admin_created:
        return [f"Log in:    {user} / the password in WHARF_ADMIN_PASSWORD"]
    return [
        f"Log in:    {user} (an existing admin; no new password was made)",
        f"           forgot it? {welcome.command('changepassword', user)}",
    ]


def banner_lines(welcome: Welcome, *, up: bool) -> list[str]:
    registry = welcome.registry_host
    return [
        f"Wharf is {'up' if up else 'starting'}: {welcome.url}",
        "",
        *login_lines(welcome),
        "",
        f"Push:      skopeo login --tls-verify=false {registry}",
        f"           skopeo copy --dest-tls-verify=false oci:DIR:TAG docker://{registry}/PROJECT/REPO:TAG",
        "           (create the project first; the tag shows within a second)",
        f"Demo data: {welcome.command('seed_demo')}",
        "Stop:      Ctrl-C" if up else "Waiting for the web server to answer...",
    ]


def boxed(lines: Sequence[str]) -> str:
    """The lines in an ASCII box (no colour or Unicode: it must survive any log or pipe)."""
    width = max(len(line) for line in lines)
    rule = "+" + "-" * (width + 4) + "+"
    body = [f"|  {line.ljust(width)}  |" for line in lines]
    return "\n".join(["", rule, *body, rule, ""])


def render(welcome: Welcome, *, up: bool) -> str:
    return boxed(banner_lines(welcome, up=up))
