"""`{{ run|in_language:"message" }}`: a stored text in the reader's language, as HTML
with the parts that are not Wharf's words marked `translate="no"` (cut it with
`truncatechars_html`); `in_language_text` is the plain text, for attributes
(`portal.stored_text`)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString

from portal.stored_text import shown, shown_html

register = template.Library()


@register.filter
def in_language(obj: Any, name: str) -> SafeString:
    """`obj.<name>` translated through `obj.<name>_i18n` when the model stores it."""
    return shown_html(getattr(obj, name, "") or "", getattr(obj, f"{name}_i18n", None))


@register.filter
def in_language_text(obj: Any, name: str) -> str:
    """The same as plain text."""
    return shown(getattr(obj, name, "") or "", getattr(obj, f"{name}_i18n", None))
