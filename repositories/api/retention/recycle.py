"""`recycle-bin/` of a project: what Wharf deleted (by retention or by hand), and restoring it."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.permissions import Perm
from portal.api.actors import request_actor
from portal.api.errors import ApiError
from portal.api.pagination import KeysetListMixin

from ...models import RecycleBinEntry
from ...services.errors import RegistryActionFailed
from ...services.recycle import restore
from ...views.recycle import ENTRY_ORDERING
from ..registry_base import REGISTRY_ERROR_RESPONSES, registry_failure
from ..retention_serializers import RecycleBinEntrySerializer
from .base import ProjectRetentionViewSet
from .filters import RecycleBinFilter


class RecycleBinViewSet(
    KeysetListMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    ProjectRetentionViewSet[RecycleBinEntry],
):
    """The project's recycle bin, newest deletion first: entries not yet expired,
    restored or not. Reading needs `Perm.VIEW_RETENTION`. Restoring needs
    `Perm.DELETE_ARTIFACT`: it writes artifacts and tags back into the registry, the same
    kind of change as deleting them, so whoever may delete may undo a deletion."""

    action_perms = {"restore": Perm.DELETE_ARTIFACT}
    serializer_class = RecycleBinEntrySerializer
    queryset = RecycleBinEntry.objects.none()
    filterset_class = RecycleBinFilter
    keyset_orderings = {"-deleted": ENTRY_ORDERING}
    keyset_default = "-deleted"
    lookup_value_regex = r"\d+"
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self) -> QuerySet[RecycleBinEntry]:
        if getattr(self, "swagger_fake_view", False):
            return RecycleBinEntry.objects.none()
        entries = RecycleBinEntry.objects.filter(project=self.project, expires_at__gt=timezone.now())
        if self.action != "restore":
            entries = entries.defer("manifest", "children")  # the bytes are for restoring only
        return entries.order_by("-deleted_at", "-id")

    @extend_schema(
        request=None,
        responses={
            200: OpenApiResponse(
                RecycleBinEntrySerializer, description=gettext_lazy("Restored: the manifest and its tags are back.")
            ),
            409: OpenApiResponse(
                description=gettext_lazy("Not restored: undone already, the registry's garbage collection removed its "
                "layers, or one of its tags now points at another image. `code` says which.")
            ),
            **REGISTRY_ERROR_RESPONSES,
        },
    )
    @action(detail=True, methods=["post"])
    def restore(self, request: Request, project_name: str, pk: str) -> Response:
        """Put the manifest (an index's children first) and its tags back, after checking
        that the registry still has every blob and that no tag was pushed elsewhere since.
        Audited. Nothing changes when it is refused."""
        entry = self.get_object()
        try:
            entry = restore(entry, request_actor(request))
        except ValidationError as exc:
            raise ApiError(
                status.HTTP_409_CONFLICT, " ".join(exc.messages), code=exc.code or "invalid"
            ) from exc
        except RegistryActionFailed as exc:
            raise registry_failure(exc) from exc
        return Response(RecycleBinEntrySerializer(entry).data)
