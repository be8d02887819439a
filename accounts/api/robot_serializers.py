"""Serializers of the robot accounts API. Validation of names, actions, patterns and
expiry stays in `accounts.services.robots` (its ValidationErrors become 400s)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy
from rest_framework import serializers

from ..models import ROBOT_ACTIONS, RobotAccount


class RobotSerializer(serializers.ModelSerializer[RobotAccount]):
    full_name = serializers.CharField(
        read_only=True, help_text=gettext_lazy("The login name: robot$project+name or robot$name.")
    )
    project = serializers.SlugRelatedField(slug_field="name", read_only=True, allow_null=True)
    projects = serializers.ListField(
        source="project_names", child=serializers.CharField(), read_only=True, help_text=gettext_lazy("System robots only.")
    )
    permissions = serializers.SerializerMethodField()
    is_expired = serializers.BooleanField(read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = RobotAccount
        fields = [
            "id",
            "name",
            "full_name",
            "project",
            "projects",
            "description",
            "permissions",
            "repository_patterns",
            "expires_at",
            "is_expired",
            "enabled",
            "created_at",
            "created_by",
            "last_used_at",
        ]
        read_only_fields = fields

    def get_permissions(self, robot: RobotAccount) -> list[str]:
        return [action for action in ROBOT_ACTIONS if action in robot.actions]


class CreatedRobotSerializer(RobotSerializer):
    secret = serializers.CharField(
        read_only=True,
        help_text=gettext_lazy("The password for docker/skopeo login. Shown only this once; Wharf keeps a hash."),
    )

    class Meta(RobotSerializer.Meta):
        fields = [*RobotSerializer.Meta.fields, "secret"]
        read_only_fields = fields


NO_PROJECT = gettext_lazy("Choose at least one project.")
_PATTERNS_HELP = (
    "Globs on the repository path below the project: `*` within a name, `**` across `/` "
    "(e.g. app-*, team/**); empty means all."
)


class RobotCreateSerializer(serializers.Serializer[RobotAccount]):
    name = serializers.CharField()
    description = serializers.CharField(required=False, allow_blank=True, default="")
    permissions = serializers.ListField(
        child=serializers.ChoiceField(choices=list(ROBOT_ACTIONS)),
        help_text=gettext_lazy("A subset of pull, push, delete."),
    )
    repository_patterns = serializers.ListField(
        child=serializers.CharField(), required=False, default=list, help_text=_PATTERNS_HELP
    )
    expires_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text=gettext_lazy("Leave out for 30 days from now; null for never.")
    )


class SystemRobotCreateSerializer(RobotCreateSerializer):
    projects = serializers.ListField(
        child=serializers.CharField(),
        allow_empty=False,
        error_messages={"empty": NO_PROJECT},
        help_text=gettext_lazy("The projects it acts in (names)."),
    )


class RobotUpdateSerializer(serializers.Serializer[RobotAccount]):
    description = serializers.CharField(required=False, allow_blank=True)
    enabled = serializers.BooleanField(required=False)
    permissions = serializers.ListField(
        child=serializers.ChoiceField(choices=list(ROBOT_ACTIONS)),
        required=False,
        help_text=gettext_lazy("A subset of pull, push, delete."),
    )
    repository_patterns = serializers.ListField(
        child=serializers.CharField(), required=False, help_text=_PATTERNS_HELP
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True, help_text=gettext_lazy("null: never expires."))


class SystemRobotUpdateSerializer(RobotUpdateSerializer):
    projects = serializers.ListField(
        child=serializers.CharField(), required=False, allow_empty=False, error_messages={"empty": NO_PROJECT}
    )
