"""`{{ run|in_language:"message" }}`: a stored text in the reader's language
(`portal.stored_text`)."""

from __future__ import annotations

from typing import Any

from django import template

from portal.stored_text import shown

register = template.Library()


@register.filter
def in_language(obj: Any, name: str) -> str:
    """`obj.<name>` translated through `obj.<name>_i18n` when the model stores it."""
    return shown(getattr(obj, name, "") or "", getattr(obj, f"{name}_i18n", None))
