"""The webhook form of the pages; the service validates (URL target, events)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.forms import BootstrapForm

from .events import NOT_YET_EMITTED, SYSTEM_ONLY, WebhookEvent
from .models import WebhookFormat
from .targets import MAX_URL_LENGTH


class WebhookForm(BootstrapForm):
    name = forms.CharField(max_length=100)
    url = forms.CharField(
        max_length=MAX_URL_LENGTH,
        label=_("Target URL"),
        help_text=_("http:// or https://; loopback and private addresses are refused unless the site allows them."),
    )
    events = forms.MultipleChoiceField(
        choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple, error_messages={"required": _("Choose at least one event.")}
    )
    format = forms.ChoiceField(choices=WebhookFormat.choices)
    secret = forms.CharField(
        max_length=200,
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Optional: signs each body (HMAC-SHA256 in X-Wharf-Signature-256). Never shown again."),
    )
    enabled = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args: Any, editing: bool = False, system: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["events"].widget.attrs["class"] = "form-check-input"
        if not system:  # a project's webhook is offered only its project's events
            events: Any = self.fields["events"]
            events.choices = [(v, label) for v, label in WebhookEvent.choices if v not in SYSTEM_ONLY]
        if editing:
            self.fields["secret"].help_text = gettext("Leave empty to keep the current secret.")
            self.fields["clear_secret"] = forms.BooleanField(required=False, label=gettext("Remove the secret"))
            self.fields["clear_secret"].widget.attrs["class"] = "form-check-input"

    @staticmethod
    def not_yet_emitted() -> frozenset[str]:
        return NOT_YET_EMITTED
