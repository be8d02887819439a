"""Serializers of the retention endpoints: policies, immutable rules, previews, runs and
the recycle bin.

Policies and immutable rules are validated by the services
(`repositories.services.retention`), not here: their errors come back keyed by field
path with rules numbered from 1 as on the page (`rules.2.tags.include.0`). So the
write serializers only check the top-level scalars and hand `rules` over as it came;
the nested rule serializers describe the shape in the OpenAPI schema.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import RecycleBinEntry, RetentionRun, RetentionRunItem, RuleTemplate


class RepositorySelectorSerializer(serializers.Serializer[Any]):
    include = serializers.ListField(
        child=serializers.CharField(),
        help_text=gettext_lazy("Doublestar globs on the repository path inside the project (`**`, `team-*/**`)."),
    )
    exclude = serializers.ListField(child=serializers.CharField(), required=False)


class ImmutableTagSelectorSerializer(serializers.Serializer[Any]):
    include = serializers.ListField(child=serializers.CharField(), help_text=gettext_lazy("Globs on tag names."))
    exclude = serializers.ListField(child=serializers.CharField(), required=False)


class TagSelectorSerializer(ImmutableTagSelectorSerializer):
    untagged = serializers.BooleanField(
        required=False, default=False, help_text=gettext_lazy("Select untagged artifacts too.")
    )


class LabelSelectorSerializer(serializers.Serializer[Any]):
    with_ = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text=gettext_lazy("Label names the artifact must all carry (global or the project's own labels)."),
    )
    without = serializers.ListField(
        child=serializers.CharField(), required=False, help_text=gettext_lazy("Label names it must carry none of.")
    )

    def get_fields(self) -> dict[str, Any]:
        # `with` is a Python keyword: the field is declared as `with_` and named `with` on the wire.
        fields = super().get_fields()
        fields["with"] = fields.pop("with_")
        return fields


class RetentionRuleSerializer(serializers.Serializer[Any]):
    repositories = RepositorySelectorSerializer()
    tags = TagSelectorSerializer()
    labels = LabelSelectorSerializer(required=False, help_text=gettext_lazy("Optional; empty lists: labels do not matter."))
    template = serializers.ChoiceField(choices=RuleTemplate.choices)
    n = serializers.IntegerField(
        allow_null=True,
        required=False,
        help_text=gettext_lazy("How many (latest_*_n: 1..10,000) or days (*_within_days: 1..3,650); null for `always`."),
    )


class ImmutableRuleSerializer(serializers.Serializer[Any]):
    repositories = RepositorySelectorSerializer()
    tags = ImmutableTagSelectorSerializer()
    enabled = serializers.BooleanField(required=False, default=True)


@extend_schema_field(RetentionRuleSerializer(many=True))
class RetentionRulesField(serializers.JSONField):
    """The rules as sent: the service validates them and names each problem by field path."""


@extend_schema_field(ImmutableRuleSerializer(many=True))
class ImmutableRulesField(serializers.JSONField):
    """The immutable rules as sent: the service validates them."""


class RetentionPolicyInputSerializer(serializers.Serializer[Any]):
    """A whole policy; PUT replaces the saved one (rules in order, at most 15)."""

    enabled = serializers.BooleanField(required=False, default=False)
    schedule = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=100,
        help_text=gettext_lazy("Five-field cron expression (server time zone), or blank to run by hand only."),
    )
    allow_empty_repository = serializers.BooleanField(
        required=False, default=False, help_text=gettext_lazy("Whether a run may delete every artifact of a repository.")
    )
    rules = RetentionRulesField()


class RetentionPolicySerializer(serializers.Serializer[Any]):
    """The saved policy; a project without one shows an empty, disabled policy."""

    enabled = serializers.BooleanField()
    schedule = serializers.CharField(allow_blank=True)
    allow_empty_repository = serializers.BooleanField()
    rules = RetentionRuleSerializer(many=True)
    updated_at = serializers.DateTimeField(allow_null=True)
    updated_by = serializers.CharField(allow_null=True)


class ImmutableRulesInputSerializer(serializers.Serializer[Any]):
    revert_protected_overwrites = serializers.BooleanField(
        required=False,
        default=False,
        help_text=gettext_lazy("Put a protected tag back on its previous digest as soon as a push overwrites it."),
    )
    rules = ImmutableRulesField()


class ImmutableRulesSerializer(serializers.Serializer[Any]):
    revert_protected_overwrites = serializers.BooleanField()
    rules = ImmutableRuleSerializer(many=True)


# --- preview --------------------------------------------------------------------------------


class PreviewTagSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    protected_by = serializers.IntegerField(
        allow_null=True, help_text=gettext_lazy("The immutable rule protecting this tag.")
    )


class PreviewArtifactSerializer(serializers.Serializer[Any]):
    digest = serializers.CharField()
    kept = serializers.BooleanField()
    code = serializers.CharField(help_text=gettext_lazy("Why, as a code: retained, protected, not_retained, floor, ..."))
    reason = serializers.CharField(help_text=gettext_lazy('Why, in words: "kept by rule 2: 5 most recently pushed ...".'))
    rule = serializers.IntegerField(allow_null=True)
    owner = serializers.CharField(allow_null=True, help_text=gettext_lazy("The parent index or subject it follows."))
    tags = PreviewTagSerializer(many=True, help_text=gettext_lazy("Every tag of the artifact; a tag shares its decision."))


class PreviewRepositorySerializer(serializers.Serializer[Any]):
    repository = serializers.CharField(help_text=gettext_lazy("The full registry name."))
    path = serializers.CharField(help_text=gettext_lazy("The path inside the project, as patterns see it."))
    matched = serializers.BooleanField(help_text=gettext_lazy("Whether any rule applies (if not, nothing is deleted)."))
    kept_artifacts = serializers.IntegerField()
    deleted_artifacts = serializers.IntegerField()
    kept_tags = serializers.IntegerField()
    deleted_tags = serializers.IntegerField()
    artifacts = PreviewArtifactSerializer(many=True, required=False, help_text=gettext_lazy("Only with `?detail=1`."))


class PreviewTotalsSerializer(serializers.Serializer[Any]):
    kept_artifacts = serializers.IntegerField()
    deleted_artifacts = serializers.IntegerField()
    kept_tags = serializers.IntegerField()
    deleted_tags = serializers.IntegerField()


class PreviewSerializer(serializers.Serializer[Any]):
    totals = PreviewTotalsSerializer()
    repositories = PreviewRepositorySerializer(many=True)


# --- runs -------------------------------------------------------------------------------------


class RetentionRunSerializer(serializers.ModelSerializer[RetentionRun]):
    requested_by = serializers.CharField(
        source="requested_by.username", read_only=True, allow_null=True, default=None
    )
    duration = serializers.FloatField(read_only=True, allow_null=True, help_text=gettext_lazy("Seconds, once finished."))

    class Meta:
        model = RetentionRun
        fields = [
            "id",
            "dry_run",
            "status",
            "trigger",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
            "duration",
            "artifacts_evaluated",
            "artifacts_kept",
            "artifacts_planned",
            "artifacts_deleted",
            "artifacts_skipped",
            "artifacts_failed",
            "tags_deleted",
            "stop_requested",
            "message",
        ]
        read_only_fields = fields


class RetentionRunDetailSerializer(RetentionRunSerializer):
    policy = serializers.JSONField(
        read_only=True, help_text=gettext_lazy("The policy the run evaluated, with the immutable rules in force then.")
    )
    items_by_outcome = serializers.SerializerMethodField()

    class Meta(RetentionRunSerializer.Meta):
        fields = [*RetentionRunSerializer.Meta.fields, "policy", "items_by_outcome"]
        read_only_fields = fields

    @extend_schema_field(serializers.DictField(child=serializers.IntegerField()))
    def get_items_by_outcome(self, run: RetentionRun) -> dict[str, int]:
        return dict(getattr(run, "outcome_counts", {}))


class RetentionRunCreateSerializer(serializers.Serializer[Any]):
    dry_run = serializers.BooleanField(
        required=False, default=False, help_text=gettext_lazy("Evaluate and record what would be deleted, delete nothing.")
    )


class RetentionRunItemSerializer(serializers.ModelSerializer[RetentionRunItem]):
    repository = serializers.CharField(source="repository_name", read_only=True)
    tags = serializers.ListField(child=serializers.CharField(), read_only=True)
    reason = serializers.CharField(
        source="reason_text", read_only=True, help_text=_("Why, in the request's language.")
    )
    reason_params = serializers.DictField(
        read_only=True, help_text=_("The reason's parameters (rule number, tags, owner digest).")
    )

    class Meta:
        model = RetentionRunItem
        fields = [
            "id",
            "repository",
            "digest",
            "tags",
            "action",
            "reason",
            "reason_code",
            "reason_params",
            "owner_digest",
            "owner_relation",
            "outcome",
            "error",
            "attempts",
            "finished_at",
        ]
        read_only_fields = fields


# --- recycle bin ------------------------------------------------------------------------------


class RecycleBinEntrySerializer(serializers.ModelSerializer[RecycleBinEntry]):
    repository = serializers.CharField(source="repository_name", read_only=True)
    tags = serializers.SerializerMethodField()
    run = serializers.IntegerField(
        source="run_id", read_only=True, allow_null=True, help_text=gettext_lazy("The retention run.")
    )

    class Meta:
        model = RecycleBinEntry
        fields = [
            "id",
            "repository",
            "digest",
            "kind",
            "media_type",
            "size",
            "tags",
            "source",
            "run",
            "deleted_by",
            "deleted_at",
            "restored_at",
            "restored_by",
            "expires_at",
            "restorable",
            "collected_at",
            "collected_by",
        ]
        read_only_fields = fields

    restorable = serializers.BooleanField(
        read_only=True,
        help_text=gettext_lazy("False once restored, or once a garbage collection removed its layers (`collected_at`)."),
    )
    collected_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text=gettext_lazy("When a garbage collection was found to have removed its layers.")
    )
    collected_by = serializers.IntegerField(
        source="collected_by_id", read_only=True, allow_null=True, help_text=gettext_lazy("The GC run that removed them, if Wharf's.")
    )

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_tags(self, entry: RecycleBinEntry) -> list[str]:
        """The tags a restore puts back, by name."""
        return sorted(entry.tags)


class AdviceWarningSerializer(serializers.Serializer[Any]):
    repository = serializers.CharField(help_text=gettext_lazy("The repository's path inside the project."))
    digest = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    pulled_at = serializers.DateTimeField()
    deployed = serializers.BooleanField(help_text=gettext_lazy("Last pull newer than the repository's last push."))
    message = serializers.CharField()


class AdviceSerializer(serializers.Serializer[Any]):
    """The advisor's figures for a preview (`?advice=true`)."""

    bytes_freed = serializers.IntegerField(help_text=gettext_lazy("Blobs no kept artifact of the project references, each once."))
    blobs_freed = serializers.IntegerField()
    deleted_artifacts = serializers.IntegerField()
    pulled_within_days = serializers.DictField(
        child=serializers.IntegerField(), help_text=gettext_lazy("`7`, `30`, `90`: deleted artifacts pulled within that many days.")
    )
    last_pull_at = serializers.DateTimeField(allow_null=True, help_text=gettext_lazy("The most recent pull of a deleted artifact."))
    warnings = AdviceWarningSerializer(many=True)
    more_warnings = serializers.IntegerField()
