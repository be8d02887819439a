"""Serializers of the users, me and tokens APIs. Validation of usernames,
passwords and token names stays in `accounts.services`."""

from __future__ import annotations

from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from ..models import ApiToken, User, all_token_scopes


class UserSerializer(serializers.ModelSerializer[User]):
    class Meta:
        model = User
        fields = ["id", "username", "email", "is_active", "is_superuser", "date_joined", "last_login"]
        read_only_fields = fields


class CreatedUserSerializer(UserSerializer):
    password = serializers.CharField(
        source="generated_password",
        read_only=True,
        allow_null=True,
        help_text=gettext_lazy("The generated password, shown only this once; null when you chose one."),
    )

    class Meta(UserSerializer.Meta):
        fields = [*UserSerializer.Meta.fields, "password"]
        read_only_fields = fields


class UserCreateSerializer(serializers.Serializer[User]):
    username = serializers.CharField()
    email = serializers.CharField(required=False, allow_blank=True, default="")
    password = serializers.CharField(
        required=False, write_only=True, help_text=gettext_lazy("Leave out to have Wharf generate one.")
    )
    is_superuser = serializers.BooleanField(required=False, default=False)


class UserUpdateSerializer(serializers.Serializer[User]):
    email = serializers.CharField(required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)
    is_superuser = serializers.BooleanField(required=False)


class PasswordResetSerializer(serializers.Serializer[User]):
    password = serializers.CharField(
        required=False, write_only=True, help_text=gettext_lazy("Leave out to have Wharf generate one.")
    )


class PasswordResetResultSerializer(serializers.Serializer[User]):
    password = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text=gettext_lazy("The generated password, shown only this once; null when you chose one."),
    )


class MeSerializer(serializers.ModelSerializer[User]):
    class Meta:
        model = User
        fields = ["id", "username", "email", "is_superuser"]
        read_only_fields = fields


class ApiTokenSerializer(serializers.ModelSerializer[ApiToken]):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "hint", "scopes", "created_at", "expires_at", "last_used_at", "revoked_at"]
        read_only_fields = fields


class CreatedApiTokenSerializer(ApiTokenSerializer):
    secret = serializers.CharField(
        read_only=True, help_text=gettext_lazy("Send as 'Authorization: Bearer <secret>'. Shown only this once.")
    )

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class ApiTokenCreateSerializer(serializers.Serializer[ApiToken]):
    name = serializers.CharField(allow_blank=True)
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    # Plain strings: the service refuses unknown or no scopes, so the page and the API
    # give the same message, as one list under `scopes` like every other field error.
    scopes = serializers.ListField(
        child=serializers.CharField(),
        max_length=10,
        error_messages={"max_length": _("Give at most {max_length} scopes.")},
        required=False,
        default=all_token_scopes,
        help_text=gettext_lazy("api, read_api, read_registry and/or write_registry; at least one. Left out: all four."),
    )
