"""Serializers of the audit API."""

from __future__ import annotations

from rest_framework import serializers

from ..models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer[AuditEvent]):
    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "created_at",
            "actor_kind",
            "actor_name",
            "actor_ip",
            "action",
            "project_name",
            "target_type",
            "target_name",
            "details",
            "request_id",
            "hash",
        ]
        read_only_fields = fields
