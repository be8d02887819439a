"""Promoting an artifact: copying it from one project's repository into another's
under a tag, with its index children and its referrers (cosign `.sig`/`.att`/`.sbom`
tags, the referrers tag schema, manifests whose `subject` is it), by cross-repository
blob mounts inside Wharf's registry, so no layer is uploaded again.

The caller has checked the permissions (`replication.access`: pull on the source,
push on the target). The registry is changed first; if it refuses or is down,
Wharf records nothing and `RegistryActionFailed` says why. Then one transaction
writes the target's rows (repository, bare artifacts and tags, as a push
notification would: their details are read by the same task afterwards), the
`Promotion` and its audit event.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.context import Actor
from audit.models import AuditAction
from audit.services import record
from repositories.accessories import reference_tag_names
from repositories.models import Artifact, Project, Repository, Tag
from repositories.registry import RegistryError
from repositories.registry.client import REPOSITORY_RE, TAG_RE
from repositories.services.errors import RegistryActionFailed
from repositories.services.registry import registry_client
from repositories.services.retention import protecting_rule

from ..copier import Copier, CopyStats
from ..models import Promotion
from .placement import Placed, place


def _target_name(target_project: Project, repository: str) -> str:
    repository = repository.strip().strip("/")
    prefix = f"{target_project.name}/"
    if repository.startswith(prefix):
        repository = repository[len(prefix) :]
    name = f"{target_project.name}/{repository}"
    if not repository or len(name) > 255 or not REPOSITORY_RE.match(name):
        raise ValidationError(
            {"repository": _("Use lowercase letters, digits and separators (. _ -), components joined by /.")}
        )
    return name


def _validate(artifact: Artifact, target_name: str, tag: str) -> None:
    if not TAG_RE.match(tag):
        raise ValidationError(
            {"tag": _("A tag is up to 128 letters, digits, _ . or -, not starting with . or -.")}
        )
    if artifact.parent_id is not None:
        raise ValidationError(_("This is a platform image inside an index: promote the index."))
    existing = Repository.objects.filter(name=target_name).first()
    if existing is not None:
        current = Tag.objects.filter(repository=existing, name=tag).select_related("artifact").first()
        if current is not None and current.artifact.digest != artifact.digest:
            number = protecting_rule(existing, tag)
            if number is not None:
                raise ValidationError(
                    {
                        "tag": _("%(tag)s is protected by immutable rule %(number)s; it cannot be moved.")
                        % {"tag": f"{target_name}:{tag}", "number": number}
                    }
                )


def _referrers(client: Any, source: Repository, digests: list[str]) -> tuple[list[str], list[str]]:
    """The referrers of `digests` in `source`: reference tags the registry lists, and
    digests of untagged manifests whose `subject` is one of them (from Wharf's rows:
    Distribution 2.8 has no referrers API)."""
    names = {name for digest in digests for name in reference_tag_names(digest)}
    tags = sorted(name for name in client.tags(source.name) if name in names)
    by_subject = sorted(
        set(
            Artifact.objects.filter(
                repository=source, subject_digest__in=digests, tags__isnull=True
            ).values_list("digest", flat=True)
        )
    )
    return tags, by_subject


def promote(
    artifact: Artifact, *, target_project: Project, repository: str, tag: str, actor: Actor
) -> Promotion:
    """Copy `artifact` (its `repository.project` loaded) to `target_project`/`repository`
    under `tag`; returns the recorded `Promotion`."""
    source = artifact.repository
    target_name = _target_name(target_project, repository)
    tag = tag.strip()
    _validate(artifact, target_name, tag)
    if (
        target_name == source.name
        and Tag.objects.filter(repository=source, name=tag, artifact=artifact).exists()
    ):
        raise ValidationError({"tag": _("%(tag)s already is this artifact.") % {"tag": f"{target_name}:{tag}"}})
    client = registry_client()
    copier = Copier(client, client, same_registry=True)
    stats = CopyStats()
    try:
        children = list(Artifact.objects.filter(parent=artifact).values_list("digest", flat=True))
        referrer_tags, referrer_digests = _referrers(client, source, [artifact.digest, *children])
        copied = copier.copy(source.name, artifact.digest, target_name, tag)
        stats.add(copied.stats)
        tagged_referrers: list[tuple[str, str]] = []
        for name in referrer_tags:
            referrer = copier.copy(source.name, name, target_name, name)
            stats.add(referrer.stats)
            tagged_referrers.append((name, referrer.digest))
        for digest in referrer_digests:
            stats.add(copier.copy(source.name, digest, target_name, None).stats)
    except RegistryError as exc:
        raise RegistryActionFailed(
            _("The registry did not take the promotion of %(source)s: %(error)s")
            % {"source": f"{source.name}@{artifact.digest}", "error": exc},
            transient=exc.transient,
        ) from exc
    now = timezone.now()
    with transaction.atomic():
        source_rows = {
            a.digest: a
            for a in Artifact.objects.filter(repository=source, digest__in=referrer_digests).only(
                "digest", "media_type", "size"
            )
        }
        placed = [Placed(artifact.digest, tag, artifact.media_type, artifact.size)]
        placed += [Placed(digest, name) for name, digest in tagged_referrers]
        for digest in referrer_digests:
            row = source_rows.get(digest)
            placed.append(Placed(digest, None, row.media_type if row else "", row.size if row else 0))
        place(target_name, placed, actor=actor, now=now)
        promotion = Promotion.objects.create(
            digest=artifact.digest,
            source_project=source.project,
            source_repository=source.name,
            target_project=target_project,
            target_repository=target_name,
            tag=tag,
            promoted_by_id=actor.user_id,
            actor_name=actor.name[:150],
            created_at=now,
            referrers=[*referrer_tags, *referrer_digests],
            stats=stats.as_dict(),
        )
        details = {
            "digest": artifact.digest,
            "from": f"{source.name}@{artifact.digest}",
            "from_project": source.project.name,
            "referrers": promotion.referrers,
            **stats.as_dict(),
        }
        record(
            AuditAction.ARTIFACT_PROMOTE,
            actor=actor,
            project=target_project,
            target_type="tag",
            target_name=f"{target_name}:{tag}",
            details=details,
        )
    return promotion


def holders(digest: str, user: Any) -> list[Repository]:
    """The repositories holding `digest` that `user` may see (which projects have it)."""
    return list(
        Repository.objects.for_user(user)
        .filter(artifacts__digest=digest)
        .select_related("project")
        .order_by("name")
    )


def history(digest: str, user: Any) -> list[Promotion]:
    """Promotions of `digest` whose source or target project `user` may see, newest first."""
    visible = Project.objects.for_user(user).values("pk")
    return list(
        Promotion.objects.filter(digest=digest)
        .filter(Q(source_project__in=visible) | Q(target_project__in=visible))
        .select_related("promoted_by")
        .order_by("-created_at", "-id")[:100]
    )
