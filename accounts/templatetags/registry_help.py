"""`{% push_help %}`: the "Push an image" panel of a project page, with the exact
commands for that project (push for those who may push, pull for the rest)."""

from __future__ import annotations

from typing import Any

from django import template

from ..registry_commands import is_local_host, login_commands, pull_commands, push_commands, registry_host

register = template.Library()


@register.inclusion_tag("projects/_push_panel.html", takes_context=True)
def push_help(context: template.Context) -> dict[str, Any]:
    """Reads `project` and `can` (repositories.views.tabs.project_context) from the page."""
    project = context["project"]
    can = context.get("can") or {}
    host = registry_host()
    if can.get("push"):
        mode, commands = "push", push_commands(project.name, host)
    elif can.get("pull"):
        mode, commands = "pull", pull_commands(project.name, host)
    else:
        mode, commands = "", []
    return {
        "mode": mode,
        "commands": commands,
        "registry_host": host,
        "local_registry": is_local_host(host),
        "project": project,
        "user": context.get("user"),
    }


@register.inclusion_tag("accounts/_login_help.html", takes_context=True)
def login_help(context: template.Context) -> dict[str, Any]:
    """How the signed-in user logs in to the registry with a token as the password."""
    user = context["user"]
    host = registry_host()
    return {
        "commands": login_commands(user.get_username(), host),
        "registry_host": host,
        "local_registry": is_local_host(host),
        "api_url": context["request"].build_absolute_uri("/api/v1/me/"),
    }
