"""Bodies of scan requests: which scanner to ask, and what an adapter scan answers."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import serializers

from ..models import ScannerAdapter


class ScanRequestSerializer(serializers.Serializer[Any]):
    """`{}` (or no body) for the built-in scanner; `{"adapter": id}` for a registered,
    enabled scanner adapter."""

    adapter = serializers.IntegerField(
        required=False, allow_null=True, help_text=gettext_lazy("A registered scanner adapter's id; empty for the built-in scanner.")
    )

    def validate_adapter(self, value: int | None) -> ScannerAdapter | None:
        if value is None:
            return None
        adapter = ScannerAdapter.objects.filter(pk=value).first()
        if adapter is None:
            raise serializers.ValidationError(_("No scanner adapter has this id."))
        if not adapter.enabled:
            raise serializers.ValidationError(_("The scanner adapter %(name)s is disabled.") % {"name": adapter.name})
        return adapter


class AdapterScanQueuedSerializer(serializers.Serializer[Any]):
    """A queued adapter scan: its report shows up in the artifact's list once it starts."""

    adapter = serializers.IntegerField()
    adapter_name = serializers.CharField()
    digest = serializers.CharField()
    status = serializers.CharField()
