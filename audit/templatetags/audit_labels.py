"""`{{ event.target_type|target_type_label }}`: an audit target type in the reader's language."""

from __future__ import annotations

from django import template

from audit.models import TARGET_TYPE_LABELS

register = template.Library()


@register.filter
def target_type_label(code: str) -> str:
    return str(TARGET_TYPE_LABELS.get(code, code))
