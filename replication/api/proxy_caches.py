"""`/api/v1/proxy-caches/`: proxy-cache projects (system admins): list, configure
(`{project, upstream, port?}`), read, remove, and `POST {id}/imports/` to run the
import rule now."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from portal.api.actors import request_actor
from repositories.models import Project

from ..models import ProxyCache, RegistryEndpoint
from ..services import proxy_caches
from ..services import runs as run_service
from .permissions import MayManageReplication
from .rules import RunSerializer


class ProxyCacheSerializer(serializers.ModelSerializer[ProxyCache]):
    project = serializers.SlugRelatedField(slug_field="name", queryset=Project.objects.all())
    upstream = serializers.SlugRelatedField(slug_field="name", queryset=RegistryEndpoint.objects.all())
    port = serializers.IntegerField(required=False, min_value=1024, max_value=65535)
    rule = serializers.SlugRelatedField(slug_field="name", read_only=True)
    url = serializers.CharField(read_only=True, help_text=gettext_lazy("Where clients pull through."))

    class Meta:
        model = ProxyCache
        fields = ["id", "project", "upstream", "port", "url", "rule", "created_at"]
        read_only_fields = ["id", "url", "rule", "created_at"]
        validators: list[Any] = []
        extra_kwargs: dict[str, dict[str, Any]] = {"project": {"validators": []}, "port": {"validators": []}}


class ProxyCacheViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[ProxyCache]
):
    permission_classes = [IsAuthenticated, MayManageReplication]
    serializer_class = ProxyCacheSerializer
    filter_backends: list[Any] = []
    http_method_names = ["get", "post", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[ProxyCache]:
        return ProxyCache.objects.select_related("project", "upstream", "rule").order_by("project__name")

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        return RunSerializer if self.action == "imports" else ProxyCacheSerializer

    @extend_schema(request=ProxyCacheSerializer, responses={201: ProxyCacheSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = ProxyCacheSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        cache = proxy_caches.configure(actor=request_actor(request), **body.validated_data)
        return Response(ProxyCacheSerializer(cache).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        proxy_caches.remove(self.get_object(), actor=request_actor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={202: RunSerializer})
    @action(detail=True, methods=["post"])
    def imports(self, request: Request, pk: str) -> Response:
        """Import what the instance cached now (a run of the import rule)."""
        run, _ = run_service.request_run(self.get_object().rule, actor=request_actor(request))
        return Response(RunSerializer(run).data, status=status.HTTP_202_ACCEPTED)
