"""Filter pieces shared by the API's FilterSets."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


class StrictBooleanField(forms.Field):
    """`true`/`false` (also `1`/`0`, `yes`/`no`); anything else is an error, not
    "no filter", which is what django-filter's own boolean widgets make of it."""

    widget = forms.TextInput
    default_error_messages = {"invalid": _("Use true or false.")}

    def to_python(self, value: Any) -> bool | None:
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValidationError(self.error_messages["invalid"], code="invalid")


@extend_schema_field(OpenApiTypes.BOOL)
class BooleanFilter(django_filters.BooleanFilter):
    """A boolean query parameter that refuses values it cannot read (400)."""

    field_class = StrictBooleanField


def query_bool(params: Any, name: str) -> bool | None:
    """A boolean query parameter read outside a FilterSet: None if absent, a 400
    naming it if unreadable."""
    try:
        return StrictBooleanField(required=False).clean(params.get(name))
    except ValidationError as exc:
        raise exceptions.ValidationError({name: exc.messages}) from exc
