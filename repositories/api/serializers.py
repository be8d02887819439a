"""Serializers of the projects API. Validation of names, roles and memberships
stays in `repositories.services.projects`; these only shape input and output."""

from __future__ import annotations

from django.utils.translation import gettext_lazy
from rest_framework import serializers

from accounts.permissions import Role

from ..models import Membership, Project

# A TextField's max_length is not a model validator, so the API enforces it.
_DESCRIPTION_MAX = Project._meta.get_field("description").max_length


class ProjectSerializer(serializers.ModelSerializer[Project]):
    """A project as the caller sees it (from `ProjectViewSet.annotated`)."""

    created_by = serializers.CharField(
        source="created_by.username", read_only=True, allow_null=True, help_text=gettext_lazy("Username of the creator.")
    )
    member_count = serializers.IntegerField(read_only=True)
    my_role = serializers.ChoiceField(
        choices=Role.choices, read_only=True, allow_null=True, help_text=gettext_lazy("The caller's role, if a member.")
    )

    class Meta:
        model = Project
        fields = ["name", "description", "is_public", "created_at", "created_by", "member_count", "my_role"]
        read_only_fields = fields


class ProjectCreateSerializer(serializers.Serializer[Project]):
    name = serializers.CharField(help_text=gettext_lazy("Lowercase letters and digits separated by '.', '_' or '-'."))
    description = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=_DESCRIPTION_MAX
    )
    is_public = serializers.BooleanField(required=False, default=False)


class ProjectUpdateSerializer(serializers.Serializer[Project]):
    """The changeable fields; the name cannot change (it is part of every image name)."""

    description = serializers.CharField(required=False, allow_blank=True, max_length=_DESCRIPTION_MAX)
    is_public = serializers.BooleanField(required=False)


class MemberSerializer(serializers.ModelSerializer[Membership]):
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "username", "role", "created_at"]
        read_only_fields = fields


class MemberCreateSerializer(serializers.Serializer[Membership]):
    username = serializers.CharField()
    role = serializers.ChoiceField(choices=Role.choices)


class MemberUpdateSerializer(serializers.Serializer[Membership]):
    role = serializers.ChoiceField(choices=Role.choices)
