"""Forms of the account pages, and how service errors land on forms."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from accounts.models import TokenScope
from accounts.registry_auth import throttle
from audit.context import Actor, client_ip, request_id
from audit.models import ActorKind, AuditAction
from audit.services import record

DIRECTORY_DOWN = "wharf_directory_down"  # set on the request by accounts.directory.backends
TOKEN_MAX_DAYS = 3650


def apply_validation_error(form: forms.Form, exc: ValidationError) -> None:
    """Put a service's `ValidationError` onto `form`: errors keyed by one of the
    form's fields go next to that field, the rest above the form."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


# Labels of the fields that are declared without one: Django would make an English
# label from the field's name ("Name", "Enabled"), which a Chinese page then shows.
FIELD_LABELS = {
    "name": _("Name"),
    "description": _("Description"),
    "username": _("Username"),
    "password": _("Password"),
    "email": _("Email"),
    "role": _("Role"),
    "schedule": _("Schedule"),
    "enabled": _("Enabled"),
    "reason": _("Reason"),
    "projects": _("Projects"),
    "project": _("Project"),
    "repository": _("Repository"),
    "repositories": _("Repositories"),
    "team": _("Team"),
    "tags": _("Tags"),
    "labels": _("Labels"),
    "label": _("Label"),
    "events": _("Events"),
    "format": _("Format"),
    "secret": _("Secret"),
    "endpoint": _("Endpoint"),
    "upstream": _("Upstream"),
    "url": _("URL"),
    "port": _("Port"),
    "scopes": _("Scopes"),
    "expiry": _("Expiry"),
    "expires_on": _("Expires on"),
    "expires_in_days": _("Expires in (days)"),
    "is_public": _("Public"),
    "override": _("Override"),
    "public_key": _("Public key"),
    "vulnerability_id": _("Vulnerability"),
    "repository_patterns": _("Repository patterns"),
    "replace_namespace": _("Replace namespace"),
    "quota_bytes": _("Storage quota"),
    "quota_artifacts": _("Artifact quota"),
    "require_signed": _("Require signed images"),
}


class BootstrapForm(forms.Form):
    """A form whose widgets carry Bootstrap's classes, and `is-invalid` when in error,
    so templates can render fields with `{{ field }}`. A field declared without a label
    gets the translated one of `FIELD_LABELS`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if field.label is None and name in FIELD_LABELS:
                field.label = FIELD_LABELS[name]
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()

    def full_clean(self) -> None:
        super().full_clean()
        self.mark_invalid()

    def add_error(self, field: str | None, error: Any) -> None:
        super().add_error(field, error)
        self.mark_invalid()

    def mark_invalid(self) -> None:
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                if "is-invalid" not in widget.attrs.get("class", ""):
                    widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()


class UserSearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=150, label=_("Search"))


class UserCreateForm(BootstrapForm):
    username = forms.CharField(max_length=150)
    email = forms.EmailField(required=False)
    password = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Leave blank to generate one; it is shown once."),
    )
    is_superuser = forms.BooleanField(required=False, label=_("System admin"))


class UserEmailForm(BootstrapForm):
    email = forms.EmailField(required=False, label=_("E-mail"))


class UserPasswordForm(BootstrapForm):
    password = forms.CharField(
        required=False,
        strip=False,
        label=_("New password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Leave blank to generate one; it is shown once."),
    )


class TokenCreateForm(BootstrapForm):
    name = forms.CharField(max_length=100, help_text=_("What uses it, e.g. 'ci-pipeline'."))
    expires_in_days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=TOKEN_MAX_DAYS,
        label=_("Expires in (days)"),
        help_text=_("Leave blank for a token that does not expire."),
    )
    scopes = forms.MultipleChoiceField(
        choices=TokenScope.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": _("Choose at least one scope."),
            "invalid_choice": _("Unknown scope %(value)s."),
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A checkbox list is not a text input: Bootstrap's check class, not form-control.
        self.fields["scopes"].widget.attrs["class"] = "form-check-input"


class ThrottledAuthenticationForm(AuthenticationForm):
    """The login form, refusing an account or address after too many failures.

    Shares its counters with the registry token service (`registry_auth.throttle`):
    guessing a password through `docker login` or through this form is the same
    attack. While locked, even the right password is refused, so the lock does not
    reveal a correct guess.
    """

    def clean(self) -> dict[str, Any]:
        username = str(self.data.get("username", ""))[:150]
        address = client_ip(self.request) if self.request is not None else None
        lock = throttle.check(username, address)
        if lock is not None:
            minutes = lock.retry_after // 60 or 1
            raise ValidationError(
                (
                    ngettext(
                        "Too many failed logins for this account. Try again in %(minutes)s minute.",
                        "Too many failed logins for this account. Try again in %(minutes)s minutes.",
                        minutes,
                    )
                    if lock.reason == "account"
                    else ngettext(
                        "Too many failed logins for this address. Try again in %(minutes)s minute.",
                        "Too many failed logins for this address. Try again in %(minutes)s minutes.",
                        minutes,
                    )
                )
                % {"minutes": minutes},
                code="throttled",
            )
        try:
            return super().clean()
        except ValidationError:
            if getattr(self.request, DIRECTORY_DOWN, False):
                raise ValidationError(
                    gettext("The directory did not answer, so directory accounts cannot log in now. "
                    "Local accounts still can."),
                    code="directory_down",
                ) from None
            tripped = throttle.record_failure(username, address)
            if tripped is not None and self.request is not None:
                record(
                    AuditAction.LOGIN_THROTTLED,
                    actor=Actor(kind=ActorKind.ANONYMOUS, name=username, ip=address,
                                request_id=request_id(self.request)),
                    target_type="user",
                    target_name=username,
                    details={"locked": tripped.reason, "seconds": tripped.retry_after},
                )
            raise


class TeamForm(BootstrapForm):
    name = forms.CharField(max_length=64)
    description = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class TeamMemberAddForm(BootstrapForm):
    username = forms.CharField(max_length=150)
