"""Serializers of repositories, tags, artifacts and sync runs: output only, plus
the two request bodies (tag bulk delete, sync trigger).

Everything here comes from the registry and is untrusted: JSON needs no escaping,
but stored JSON blobs are read defensively (`_str_list`, `_dict`) so a manifest or
config of an unexpected shape cannot crash a response.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..accessories import Accessory, AccessoryKind, accessory_subject_of, kind_of
from ..freshness import LastSynced
from ..models import Artifact, ArtifactSignature, Repository, SignatureStatus, SyncRun, Tag
from ..models.labels import Label
from ..services.labels import labels_by_artifact
from .registry_base import REPOSITORY_NAME_REGEX, TAG_REGEX

BULK_DELETE_MAX = 500


def _str_list(value: Any) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        return [str(value)]
    return [str(item) for item in value]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def pull_command(repository: Repository, reference: str) -> str:
    """`docker pull host/repo:tag` (or `host/repo@digest`) for the public registry host."""
    separator = "@" if ":" in reference else ":"
    return f"docker pull {settings.REGISTRY_PUBLIC_HOST}/{repository.name}{separator}{reference}"


class RepositorySerializer(serializers.ModelSerializer[Repository]):
    project = serializers.CharField(source="project.name", read_only=True)
    short_name = serializers.CharField(read_only=True, help_text=gettext_lazy("The name inside its project."))

    class Meta:
        model = Repository
        fields = [
            "name",
            "short_name",
            "project",
            "description",
            "tag_count",
            "artifact_count",
            "size",
            "pull_count",
            "last_push_at",
            "last_pull_at",
        ]
        read_only_fields = fields


class RepositoryDetailSerializer(RepositorySerializer):
    """One repository, with how current Wharf's view of it is (`repositories.freshness`)."""

    last_synced_at = serializers.SerializerMethodField(
        help_text=gettext_lazy("When the newest succeeded sync covering it (whole registry, its project or itself) finished; "
        "null if none has.")
    )
    last_sync_run = serializers.SerializerMethodField(help_text=gettext_lazy("That sync run's id, or null."))
    last_notification_at = serializers.SerializerMethodField(
        help_text=gettext_lazy("When the newest registry notification about it (push, pull, delete) arrived; null if none.")
    )

    class Meta(RepositorySerializer.Meta):
        fields = [*RepositorySerializer.Meta.fields, "last_synced_at", "last_sync_run", "last_notification_at"]
        read_only_fields = fields

    def _freshness(self) -> LastSynced:
        # Read by the view in two queries (`last_synced`); a serializer of one object.
        freshness: LastSynced = self.context["freshness"]
        return freshness

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_last_synced_at(self, repository: Repository) -> str | None:
        at = self._freshness().synced_at
        return serializers.DateTimeField().to_representation(at) if at else None

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_last_sync_run(self, repository: Repository) -> int | None:
        run = self._freshness().run
        return run.pk if run is not None else None

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_last_notification_at(self, repository: Repository) -> str | None:
        at = self._freshness().event_at
        return serializers.DateTimeField().to_representation(at) if at else None


class AccessorySerializer(serializers.Serializer[Accessory]):
    """A signature, SBOM, attestation or other referrer of a tag's artifact."""

    kind = serializers.ChoiceField(choices=AccessoryKind.choices)
    tag = serializers.CharField(allow_null=True, help_text=gettext_lazy("Its tag; null when it was pushed by digest only."))
    digest = serializers.CharField(help_text=gettext_lazy("Its own manifest's digest."))


class AccessoryOfSerializer(serializers.Serializer[dict[str, str]]):
    kind = serializers.ChoiceField(choices=AccessoryKind.choices)
    subject_digest = serializers.CharField()


class SignatureSerializer(serializers.Serializer[Any]):
    """An artifact's cosign signature verdict against its project's trusted keys."""

    status = serializers.ChoiceField(choices=SignatureStatus.choices)
    key = serializers.CharField(help_text=gettext_lazy("The trusted key that verified it (signed); else empty."))
    reason = serializers.CharField(
        help_text=gettext_lazy("Why it is invalid: other_digest, tampered, wrong_key, no_keys, malformed, unreadable; else empty.")
    )
    detail = serializers.CharField()
    checked_at = serializers.DateTimeField(allow_null=True)


def signature_of(artifact: Artifact) -> dict[str, Any]:
    """The verdict (`artifact.signature`, selected with the artifact), unsigned if none."""
    try:
        row: ArtifactSignature | None = artifact.signature
    except ArtifactSignature.DoesNotExist:
        row = None
    if row is None:
        return {"status": SignatureStatus.UNSIGNED.value, "key": "", "reason": "", "detail": "", "checked_at": None}
    return {
        "status": row.status,
        "key": row.key_name,
        "reason": row.reason,
        "detail": row.detail,
        "checked_at": serializers.DateTimeField().to_representation(row.checked_at),
    }


class PlatformSerializer(serializers.Serializer[Artifact]):
    """One platform of an artifact: an index's child, or a single-platform image itself."""

    digest = serializers.CharField()
    os = serializers.CharField()
    architecture = serializers.CharField()
    variant = serializers.CharField()
    platform = serializers.CharField(help_text=gettext_lazy("os/architecture[/variant]"))


def platforms_of(artifact: Artifact) -> list[Artifact]:
    """An index's children (prefetched by the views), else the artifact itself if it
    names a platform."""
    if artifact.kind == Artifact.Kind.INDEX:
        return sorted(artifact.children.all(), key=lambda c: (c.os, c.architecture, c.variant, c.digest))
    return [artifact] if artifact.os or artifact.architecture else []


class LabelBriefSerializer(serializers.Serializer[Label]):
    """A Wharf label on an artifact (not the image's own OCI labels)."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    color = serializers.CharField()
    scope = serializers.CharField(help_text=gettext_lazy("`global` or `project`."))


WHARF_LABELS_HELP = (
    "The Wharf labels on the artifact (see /api/v1/labels/), by name; `labels` on an artifact's "
    "detail are the image's own OCI config labels."
)


def wharf_labels(context: dict[str, Any], artifact_id: int) -> list[dict[str, Any]]:
    """The artifact's Wharf labels from the view's one query for the page (`context["wharf_labels"]`),
    or, for a serializer used without it, from a query of its own."""
    found = context.get("wharf_labels")
    if found is None:
        found = labels_by_artifact([artifact_id])
    return LabelBriefSerializer(found.get(artifact_id, []), many=True).data  # type: ignore[return-value]


class TagSerializer(serializers.ModelSerializer[Tag]):
    digest = serializers.CharField(source="artifact.digest", read_only=True)
    short_digest = serializers.CharField(source="artifact.short_digest", read_only=True)
    kind = serializers.ChoiceField(source="artifact.kind", choices=Artifact.Kind.choices, read_only=True)
    media_type = serializers.CharField(source="artifact.media_type", read_only=True)
    platforms = serializers.SerializerMethodField()
    size = serializers.IntegerField(source="artifact.size", read_only=True)
    pull_count = serializers.IntegerField(
        source="artifact.pull_count", read_only=True, help_text=gettext_lazy("Pulls of the artifact, by any tag or digest.")
    )
    pull_command = serializers.SerializerMethodField()
    created = serializers.DateTimeField(
        source="artifact.created", read_only=True, allow_null=True, help_text=gettext_lazy("From the image config, if any.")
    )
    accessories = serializers.SerializerMethodField(
        help_text=gettext_lazy("Signatures, SBOMs, attestations and other referrers of this tag's artifact in this repository.")
    )
    accessory_of = serializers.SerializerMethodField(
        help_text=gettext_lazy("If this tag is itself an accessory: its kind and its subject's digest; else null.")
    )
    signature = serializers.SerializerMethodField(help_text=gettext_lazy("Cosign signature verdict of the tag's artifact."))
    wharf_labels = serializers.SerializerMethodField(help_text=WHARF_LABELS_HELP)

    class Meta:
        model = Tag
        fields = [
            "name",
            "digest",
            "short_digest",
            "kind",
            "media_type",
            "platforms",
            "size",
            "pushed_at",
            "pushed_at_source",
            "created",
            "last_pull_at",
            "pull_count",
            "pull_command",
            "accessories",
            "accessory_of",
            "signature",
            "wharf_labels",
        ]
        read_only_fields = fields

    @extend_schema_field(SignatureSerializer())
    def get_signature(self, tag: Tag) -> dict[str, Any]:
        return signature_of(tag.artifact)

    @extend_schema_field(LabelBriefSerializer(many=True))
    def get_wharf_labels(self, tag: Tag) -> list[dict[str, Any]]:
        return wharf_labels(self.context, tag.artifact_id)

    @extend_schema_field(PlatformSerializer(many=True))
    def get_platforms(self, tag: Tag) -> list[dict[str, Any]]:
        return PlatformSerializer(platforms_of(tag.artifact), many=True).data  # type: ignore[return-value]

    @extend_schema_field(AccessorySerializer(many=True))
    def get_accessories(self, tag: Tag) -> list[dict[str, Any]]:
        # The view fetched them for the whole page in one query (`accessories_for`).
        found = self.context.get("accessories") or {}
        return AccessorySerializer(found.get(tag.artifact.digest, []), many=True).data  # type: ignore[return-value]

    @extend_schema_field(AccessoryOfSerializer(allow_null=True))
    def get_accessory_of(self, tag: Tag) -> dict[str, str] | None:
        subject = accessory_subject_of(tag)
        if subject is None:
            return None
        kind = kind_of(tag.name, tag.artifact.artifact_type, tag.artifact.media_type)
        return {"kind": kind.value, "subject_digest": subject}

    def get_pull_command(self, tag: Tag) -> str:
        return pull_command(self.context.get("repository") or tag.repository, tag.name)


class LayerSerializer(serializers.Serializer[dict[str, Any]]):
    digest = serializers.CharField()
    size = serializers.IntegerField()
    media_type = serializers.CharField()


class HistoryEntrySerializer(serializers.Serializer[dict[str, Any]]):
    created = serializers.CharField(allow_null=True)
    created_by = serializers.CharField()
    comment = serializers.CharField()
    empty_layer = serializers.BooleanField()


class ImageConfigSerializer(serializers.Serializer[dict[str, Any]]):
    """The parts of an image config Wharf shows (labels are on the artifact)."""

    env = serializers.ListField(child=serializers.CharField())
    entrypoint = serializers.ListField(child=serializers.CharField(), allow_null=True)
    cmd = serializers.ListField(child=serializers.CharField(), allow_null=True)
    working_dir = serializers.CharField()
    user = serializers.CharField()
    exposed_ports = serializers.ListField(child=serializers.CharField())
    volumes = serializers.ListField(child=serializers.CharField())
    history = HistoryEntrySerializer(many=True)


class TagRefSerializer(serializers.ModelSerializer[Tag]):
    """A tag as listed on its artifact."""

    pull_command = serializers.SerializerMethodField()

    class Meta:
        model = Tag
        fields = ["name", "pushed_at", "pushed_at_source", "last_pull_at", "pull_command"]
        read_only_fields = fields

    def get_pull_command(self, tag: Tag) -> str:
        return pull_command(self.context["repository"], tag.name)


class ArtifactSerializer(serializers.ModelSerializer[Artifact]):
    """An artifact in a list: enough to pick one."""

    short_digest = serializers.CharField(read_only=True)
    platform = serializers.CharField(read_only=True, help_text=gettext_lazy("os/architecture[/variant], if any."))
    platforms = serializers.SerializerMethodField()
    tags = serializers.SerializerMethodField()
    signature = serializers.SerializerMethodField(help_text=gettext_lazy("Cosign signature verdict."))
    wharf_labels = serializers.SerializerMethodField(help_text=WHARF_LABELS_HELP)

    class Meta:
        model = Artifact
        fields = [
            "digest",
            "short_digest",
            "media_type",
            "artifact_type",
            "kind",
            "size",
            "platform",
            "platforms",
            "tags",
            "pushed_at",
            "pushed_at_source",
            "last_pull_at",
            "pull_count",
            "subject_digest",
            "signature",
            "wharf_labels",
            "error",
        ]
        read_only_fields = fields

    @extend_schema_field(SignatureSerializer())
    def get_signature(self, artifact: Artifact) -> dict[str, Any]:
        return signature_of(artifact)

    @extend_schema_field(LabelBriefSerializer(many=True))
    def get_wharf_labels(self, artifact: Artifact) -> list[dict[str, Any]]:
        return wharf_labels(self.context, artifact.pk)

    @extend_schema_field(PlatformSerializer(many=True))
    def get_platforms(self, artifact: Artifact) -> list[dict[str, Any]]:
        return PlatformSerializer(platforms_of(artifact), many=True).data  # type: ignore[return-value]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_tags(self, artifact: Artifact) -> list[str]:
        return sorted(tag.name for tag in artifact.tags.all())


class ArtifactChildSerializer(serializers.ModelSerializer[Artifact]):
    """One per-platform manifest of an index."""

    platform = serializers.CharField(read_only=True)

    class Meta:
        model = Artifact
        fields = ["digest", "media_type", "os", "architecture", "variant", "platform", "size", "error"]
        read_only_fields = fields


class ArtifactDetailSerializer(ArtifactSerializer):
    """Everything Wharf knows of one artifact, except the raw manifest (its own endpoint)."""

    annotations = serializers.SerializerMethodField()
    labels = serializers.SerializerMethodField()
    config = serializers.SerializerMethodField()
    layers = serializers.SerializerMethodField()
    children = ArtifactChildSerializer(many=True, read_only=True)
    tags = serializers.SerializerMethodField()  # type: ignore[assignment]
    parent_digest = serializers.CharField(source="parent.digest", read_only=True, allow_null=True, default=None)
    pull_command = serializers.SerializerMethodField()

    class Meta(ArtifactSerializer.Meta):
        fields = [
            *ArtifactSerializer.Meta.fields,
            "created",
            "annotations",
            "labels",
            "config",
            "layers",
            "children",
            "parent_digest",
            "pull_command",
            "details_synced",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.DictField(child=serializers.CharField()))
    def get_annotations(self, artifact: Artifact) -> dict[str, str]:
        return {str(k): str(v) for k, v in _dict(artifact.annotations).items()}

    @extend_schema_field(serializers.DictField(child=serializers.CharField()))
    def get_labels(self, artifact: Artifact) -> dict[str, str]:
        return {str(k): str(v) for k, v in _dict(artifact.labels).items()}

    @extend_schema_field(ImageConfigSerializer(allow_null=True))
    def get_config(self, artifact: Artifact) -> dict[str, Any] | None:
        config = _dict(artifact.config)
        if not config:
            return None  # not an image, or its config was not read
        history = config.get("history")
        return {
            "env": _str_list(config.get("env")) or [],
            "entrypoint": _str_list(config.get("entrypoint")),
            "cmd": _str_list(config.get("cmd")),
            "working_dir": str(config.get("working_dir") or ""),
            "user": str(config.get("user") or ""),
            "exposed_ports": _str_list(config.get("exposed_ports")) or [],
            "volumes": _str_list(config.get("volumes")) or [],
            "history": [
                {
                    "created": None if entry.get("created") is None else str(entry["created"]),
                    "created_by": str(entry.get("created_by") or ""),
                    "comment": str(entry.get("comment") or ""),
                    "empty_layer": bool(entry.get("empty_layer")),
                }
                for entry in (history if isinstance(history, list) else [])
                if isinstance(entry, dict)
            ],
        }

    @extend_schema_field(LayerSerializer(many=True))
    def get_layers(self, artifact: Artifact) -> list[dict[str, Any]]:
        layers = artifact.layers if isinstance(artifact.layers, list) else []
        return [
            {
                "digest": str(layer.get("digest") or ""),
                "size": layer.get("size") if isinstance(layer.get("size"), int) else 0,
                "media_type": str(layer.get("media_type") or ""),
            }
            for layer in layers
            if isinstance(layer, dict)
        ]

    @extend_schema_field(TagRefSerializer(many=True))
    def get_tags(self, artifact: Artifact) -> list[dict[str, Any]]:  # type: ignore[override]
        tags = sorted(artifact.tags.all(), key=lambda t: t.name)
        return TagRefSerializer(tags, many=True, context=self.context).data  # type: ignore[return-value]

    def get_pull_command(self, artifact: Artifact) -> str:
        return pull_command(self.context["repository"], artifact.digest)


class ManifestSerializer(serializers.Serializer[Artifact]):
    digest = serializers.CharField()
    media_type = serializers.CharField()
    size = serializers.SerializerMethodField(help_text=gettext_lazy("Bytes of the manifest as the registry served it."))
    manifest = serializers.SerializerMethodField(
        help_text=gettext_lazy("The manifest exactly as stored, decoded as UTF-8 (undecodable bytes replaced).")
    )

    def get_size(self, artifact: Artifact) -> int:
        return len(bytes(artifact.manifest))

    def get_manifest(self, artifact: Artifact) -> str:
        return bytes(artifact.manifest).decode("utf-8", errors="replace")


class BulkDeleteTagsSerializer(serializers.Serializer[Any]):
    tags = serializers.ListField(
        child=serializers.RegexField(rf"^{TAG_REGEX}\Z", max_length=128),
        min_length=1,
        max_length=BULK_DELETE_MAX,
        error_messages={
            "min_length": _("Name at least one tag."),
            "max_length": _("Delete at most {max_length} tags at a time."),
        },
        help_text=gettext_lazy("Names of the tags to delete, in this repository."),
    )


class TagOutcome(models.TextChoices):
    """What became of one tag of a bulk delete."""

    DELETED = "deleted", _("Deleted")
    NOT_FOUND = "not_found", _("Not found")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")


class TagOutcomeSerializer(serializers.Serializer[Any]):
    tag = serializers.CharField()
    outcome = serializers.ChoiceField(
        choices=TagOutcome.choices,
        help_text=gettext_lazy("`skipped`: not tried because the registry was unavailable for an earlier tag."),
    )
    detail = serializers.CharField(allow_blank=True)


class BulkDeleteResultSerializer(serializers.Serializer[Any]):
    deleted = serializers.IntegerField()
    failed = serializers.IntegerField(help_text=gettext_lazy("Tags not deleted: failed, skipped or not found."))
    results = TagOutcomeSerializer(many=True)


class SyncErrorSerializer(serializers.Serializer[Any]):
    where = serializers.CharField()
    message = serializers.CharField()


class SyncRunSerializer(serializers.ModelSerializer[SyncRun]):
    project = serializers.CharField(source="project.name", read_only=True, allow_null=True, default=None)
    repository = serializers.CharField(source="repository_name", read_only=True)
    requested_by = serializers.CharField(
        source="requested_by.username", read_only=True, allow_null=True, default=None
    )
    duration = serializers.FloatField(read_only=True, allow_null=True, help_text=gettext_lazy("Seconds, once finished."))
    errors = serializers.SerializerMethodField()

    class Meta:
        model = SyncRun
        fields = [
            "id",
            "scope",
            "project",
            "repository",
            "status",
            "trigger",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
            "duration",
            "repositories_seen",
            "repositories_added",
            "repositories_removed",
            "tags_seen",
            "tags_added",
            "tags_updated",
            "tags_removed",
            "artifacts_added",
            "artifacts_updated",
            "artifacts_removed",
            "requests",
            "errors",
            "message",
        ]
        read_only_fields = fields

    @extend_schema_field(SyncErrorSerializer(many=True))
    def get_errors(self, run: SyncRun) -> list[dict[str, str]]:
        errors = run.errors if isinstance(run.errors, list) else []
        return [
            {"where": str(e.get("where", "")), "message": str(e.get("message", ""))}
            for e in errors
            if isinstance(e, dict)
        ]


class SyncRunCreateSerializer(serializers.Serializer[SyncRun]):
    """What to sync: the whole registry, one project, or one repository."""

    scope = serializers.ChoiceField(choices=SyncRun.Scope.choices)
    project = serializers.CharField(
        required=False, help_text=gettext_lazy("The project's name; required for scope `project`.")
    )
    repository = serializers.RegexField(
        rf"^{REPOSITORY_NAME_REGEX}\Z",
        max_length=255,
        required=False,
        help_text=gettext_lazy("The repository's full name; required for scope `repository`."),
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        scope = attrs["scope"]
        if scope == SyncRun.Scope.PROJECT and not attrs.get("project"):
            raise serializers.ValidationError({"project": gettext("A project sync needs the project's name.")})
        if scope == SyncRun.Scope.REPOSITORY and not attrs.get("repository"):
            raise serializers.ValidationError({"repository": gettext("A repository sync needs the repository's name.")})
        if scope != SyncRun.Scope.REPOSITORY and attrs.get("repository"):
            raise serializers.ValidationError({"repository": gettext("Only a repository sync names a repository.")})
        if scope == SyncRun.Scope.REGISTRY and attrs.get("project"):
            raise serializers.ValidationError({"project": gettext("A registry sync covers every project; leave this out.")})
        return attrs
