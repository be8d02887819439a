"""`/api/v1/me/language/`: the caller's interface language, read and changed.

The same service as the account menu's switcher (`accounts.services.language`)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from audit.context import Actor
from portal.language import language_choices

from ..models import User
from ..services.language import set_language


class LanguageSerializer(serializers.Serializer[User]):
    language = serializers.ChoiceField(
        choices=[code for code, _ in language_choices()],
        allow_blank=True,
        help_text=gettext_lazy("A language code (en, zh-hans), or empty for the browser's Accept-Language."),
    )


class MyLanguageView(GenericAPIView[User]):
    serializer_class = LanguageSerializer
    pagination_class = None
    filter_backends: list[type] = []

    @extend_schema(responses=LanguageSerializer)
    def get(self, request: Request) -> Response:
        return Response({"language": request.user.language})

    @extend_schema(request=LanguageSerializer, responses=LanguageSerializer)
    def put(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = LanguageSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = set_language(
            request.user, actor=Actor.from_request(request), language=serializer.validated_data["language"]
        )
        return Response({"language": user.language})
