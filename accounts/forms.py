"""Forms of the account pages, and how service errors land on forms."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

TOKEN_MAX_DAYS = 3650


def apply_validation_error(form: forms.Form, exc: ValidationError) -> None:
    """Put a service's `ValidationError` onto `form`: errors keyed by one of the
    form's fields go next to that field, the rest above the form."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


class BootstrapForm(forms.Form):
    """A form whose widgets carry Bootstrap's classes, and `is-invalid` when in error,
    so templates can render fields with `{{ field }}`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
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
    q = forms.CharField(required=False, max_length=150, label="Search")


class UserCreateForm(BootstrapForm):
    username = forms.CharField(max_length=150)
    email = forms.EmailField(required=False)
    password = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Leave blank to generate one; it is shown once.",
    )
    is_superuser = forms.BooleanField(required=False, label="System admin")


class UserEmailForm(BootstrapForm):
    email = forms.EmailField(required=False, label="E-mail")


class UserPasswordForm(BootstrapForm):
    password = forms.CharField(
        required=False,
        strip=False,
        label="New password",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Leave blank to generate one; it is shown once.",
    )


class TokenCreateForm(BootstrapForm):
    name = forms.CharField(max_length=100, help_text="What uses it, e.g. 'ci-pipeline'.")
    expires_in_days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=TOKEN_MAX_DAYS,
        label="Expires in (days)",
        help_text="Leave blank for a token that does not expire.",
    )
