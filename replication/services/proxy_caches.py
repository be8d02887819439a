"""Proxy-cache projects: configure (and remove) the pull-through instance of a project,
with the endpoint and pull rule that import what it cached (audited in one
transaction), and write the instance's Distribution config.

How it fits together: clients pull `CACHE_HOST/library/alpine:3.19` from the
project's Distribution instance in proxy mode, which fetches from the upstream once
and keeps it; the project's import rule (pull, every minute, and "Import now") copies
what the instance holds into Wharf's registry as `<project>/library/alpine:3.19`,
where it is listed, scanned and kept or deleted by retention like anything pushed.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from audit.context import Actor
from audit.models import AuditAction
from audit.services import record
from repositories.models import Project
from repositories.registry.config import registry_config

from .. import credentials
from ..models import ProxyCache, RegistryEndpoint, ReplicationRule

IMPORT_SCHEDULE = "* * * * *"


def _name(project: Project) -> str:
    return f"proxy-cache-{project.name}"[:100]


def free_port() -> int:
    """The first port from `WHARF_PROXY_CACHE_FIRST_PORT` no proxy cache uses."""
    used = set(ProxyCache.objects.values_list("port", flat=True))
    port = settings.WHARF_PROXY_CACHE_FIRST_PORT
    while port in used:
        port += 1
    return port


def configure(
    *, actor: Actor, project: Project, upstream: RegistryEndpoint, port: int | None = None
) -> ProxyCache:
    """Make `project` a proxy cache of `upstream`: its instance's port, the endpoint
    that reaches the instance, and the import rule."""
    if ProxyCache.objects.filter(project=project).exists():
        raise ValidationError({"project": _("%(project)s is a proxy cache already.") % {"project": project.name}})
    if ProxyCache.objects.filter(rule__endpoint=upstream).exists():
        raise ValidationError({"upstream": _("This endpoint is a proxy-cache instance itself.")})
    port = port or free_port()
    if not 1024 <= port <= 65535:
        raise ValidationError({"port": _("A port between 1024 and 65535.")})
    if ProxyCache.objects.filter(port=port).exists():
        raise ValidationError({"port": _("Another proxy cache listens there.")})
    name = _name(project)
    if (
        RegistryEndpoint.objects.filter(name=name).exists()
        or ReplicationRule.objects.filter(name=name).exists()
    ):
        raise ValidationError(
            _("An endpoint or rule called %(name)s exists already; rename or remove it first.") % {"name": name}
        )
    with transaction.atomic():
        instance = RegistryEndpoint.objects.create(
            name=name,
            url=f"http://127.0.0.1:{port}",
            description=f"The pull-through instance of project {project.name} (managed by Wharf).",
            created_by_id=actor.user_id,
        )
        rule = ReplicationRule.objects.create(
            name=name,
            description=f"Imports what the proxy cache of {project.name} holds (managed by Wharf).",
            endpoint=instance,
            direction=ReplicationRule.Direction.PULL,
            repositories="**",
            tags="**",
            destination_namespace=project.name,
            replace_namespace=False,
            trigger=ReplicationRule.Trigger.SCHEDULED,
            schedule=IMPORT_SCHEDULE,
            created_by_id=actor.user_id,
        )
        cache = ProxyCache.objects.create(
            project=project, upstream=upstream, port=port, rule=rule, created_by_id=actor.user_id
        )
        record(
            AuditAction.PROXY_CACHE_CREATE,
            actor=actor,
            project=project,
            target_type="project",
            target_name=project.name,
            details={
                "upstream": upstream.name,
                "upstream_url": upstream.url,
                "port": port,
                "rule": rule.name,
            },
        )
    return cache


def remove(cache: ProxyCache, *, actor: Actor) -> None:
    """Stop treating the project as a proxy cache: the import rule (with its runs) and the
    instance's endpoint go; what was imported stays in the project."""
    if cache.rule.runs.filter(status__in=["queued", "running"]).exists():
        raise ValidationError(_("An import is queued or running; remove the cache when it has finished."))
    with transaction.atomic():
        project, rule, instance = cache.project, cache.rule, cache.rule.endpoint
        details = {"upstream": cache.upstream.name, "port": cache.port}
        cache.delete()
        rule.delete()
        instance.delete()
        record(
            AuditAction.PROXY_CACHE_DELETE,
            actor=actor,
            project=project,
            target_type="project",
            target_name=project.name,
            details=details,
        )


def storage_dir(cache: ProxyCache) -> Path:
    return Path(settings.WHARF_PROXY_CACHE_DIR) / cache.project.name


def instance_config(cache: ProxyCache) -> dict[str, Any]:
    """The Distribution config of the project's pull-through instance: its own storage,
    127.0.0.1 on its port, no deletes from clients, and `proxy` naming the upstream
    with its credentials (decrypted here: the file is written with mode 0600)."""
    secret = hmac.new(
        settings.SECRET_KEY.encode(), f"proxy-cache:{cache.pk}".encode(), hashlib.sha256
    ).hexdigest()
    config = registry_config(
        storage_dir=str(storage_dir(cache) / "storage"),
        addr=f"127.0.0.1:{cache.port}",
        http_secret=secret[:32],
        delete_enabled=False,
    )
    proxy: dict[str, str] = {"remoteurl": cache.upstream.url}
    if cache.upstream.username:
        proxy["username"] = cache.upstream.username
        proxy["password"] = credentials.decrypt(cache.upstream.password) if cache.upstream.password else ""
    config["proxy"] = proxy
    return config
