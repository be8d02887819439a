"""Row URLs and sentences without a `reverse()` or a translation per row: the view reverses each URL once per page with a
marker in place of the row's value (`row_url_template`), and each row fills its value in
(`{{ artifact_url|row_url:tag.artifact.digest }}`), quoted as `reverse()` quotes it.
A tag page of 50 rows used to spend most of its time in 170-odd `reverse()` calls, and then
a good part in 350-odd `{% translate %}` / `{% blocktranslate %}` renderings (`fill`)."""

from __future__ import annotations

import html
from urllib.parse import quote

from django import template
from django.urls import reverse
from django.utils.encoding import iri_to_uri
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

MARKER = "__wharf_row__"
# What `reverse()` leaves unquoted in a path argument (django.urls.resolvers).
_SAFE = "!$&'()*+,;=/~:@"


def row_url_template(viewname: str, *args: str) -> str:
    """The URL of `viewname` with `args` and the row's value (the last argument) left as a marker."""
    return reverse(viewname, args=[*args, MARKER])


@register.filter
def row_url(url_template: str, value: object) -> str:
    """`url_template` (from `row_url_template`) with this row's `value` in place of the marker."""
    return url_template.replace(MARKER, iri_to_uri(quote(str(value), safe=_SAFE)))


@register.filter
def fill(text: str, value: object) -> SafeString:
    """`text`, a sentence the view translated once per page with `%(name)s` for the row's
    part (`row_texts`), with this row's `value` escaped into it, as `{% blocktranslate %}`
    escapes its variables (and, as it does, not the translation itself)."""
    return mark_safe(text % {"name": escape_once(value)})  # noqa: S308 - the value is escaped


def escape_once(value: object) -> str:
    """`conditional_escape(value)` (a value already marked safe stays as it is), without the
    lazy-string wrapper Django's own has on every call: the tag rows call it thousands of times."""
    if hasattr(value, "__html__"):
        return str(value.__html__())
    return html.escape(str(value))
