"""Texts Wharf stores for people to read later (a sync's summary, why a scan or a
webhook delivery failed, a retention run's outcome), shown in the reader's language.

Where Wharf writes the sentence, the writer calls `stored(gettext_noop("... %(x)s"),
x=...)`: the model keeps the English text in its text column (the API, the audit and
older rows read it) and, beside it in a `<field>_i18n` JSON column, the message id and
its parameters. Pages show `shown(text, data)`, the message translated at display.
A text that comes from elsewhere (the registry's error JSON, an exception of a library)
stays verbatim, as a parameter of a translated sentence ("The registry refused a read:
%(detail)s"). A parameter may itself be a stored message (a dict with `id`), which is
translated too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils import translation
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext


@dataclass(frozen=True, slots=True)
class Stored:
    """A message made by Wharf: its English text and what translates it at display."""

    text: str
    data: dict[str, Any] = field(default_factory=dict)

    def cut(self, length: int) -> Stored:
        """The text cut to fit its column (the data keeps every parameter)."""
        return Stored(self.text[:length], self.data)


def stored(msgid: str, **params: Any) -> Stored:
    """`msgid` (marked with `gettext_noop`) with named `params`; parameters may be
    `Stored` messages themselves."""
    data: dict[str, Any] = {"id": msgid}
    if params:
        data["params"] = {k: _param(v) for k, v in params.items()}
    with translation.override("en"):
        return Stored(_render(data), data)


def _param(value: Any) -> Any:
    """A parameter as stored: a message of Wharf's as its data, a verbatim text as text."""
    if isinstance(value, Stored):
        return value.data if value.data else value.text
    return value


def _render(data: Mapping[str, Any]) -> str:
    params = {
        k: _render(v) if isinstance(v, Mapping) and "id" in v else v for k, v in data.get("params", {}).items()
    }
    text = gettext(str(data["id"]))
    return text % params if params else text


def shown(text: str, data: Mapping[str, Any] | None) -> str:
    """`text` in the active language when its message id and parameters are known;
    the stored text as it is otherwise (older rows, texts from elsewhere)."""
    if not data or "id" not in data:
        return text
    try:
        return _render(data)
    except (KeyError, TypeError, ValueError):  # a catalogue and a row out of step
        return text


def _verbatim(text: Any) -> str:
    """Text that is not Wharf's (a remote's words, an old row): marked for no translation,
    which is what browsers' translators and the zh-Hans crawl's English check honour."""
    return format_html('<span translate="no">{}</span>', text)


def _render_html(data: Mapping[str, Any]) -> str:
    params = {}
    for key, value in data.get("params", {}).items():
        if isinstance(value, Mapping) and "id" in value:
            params[key] = _render_html(value)
        elif isinstance(value, str):
            params[key] = _verbatim(value)
        else:
            params[key] = value
    text = str(conditional_escape(gettext(str(data["id"]))))
    return text % params if params else text


def shown_html(text: str, data: Mapping[str, Any] | None) -> SafeString:
    """`shown` as HTML: Wharf's sentence translated, its text parameters (names, a
    registry's error) and any text without a message id marked `translate="no"`."""
    if not text:
        return mark_safe("")
    if data and "id" in data:
        try:
            return mark_safe(_render_html(data))  # noqa: S308 (every part escaped above)
        except (KeyError, TypeError, ValueError):
            pass
    return mark_safe(_verbatim(text))  # noqa: S308 (format_html escaped it)
