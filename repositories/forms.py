"""Forms of the project pages. Validation of names and rules lives in the service
functions; these forms only shape input, and `apply_validation_error` puts the
services' errors back onto them."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.forms import BootstrapForm
from accounts.permissions import Role

from .globs import PatternError, PatternKind, compile_filter
from .models.projects import PROJECT_NAME_MAX

PROJECTS_PER_PAGE = 25


def validate_tag_filter(value: str) -> None:
    """The validator of the tag filter on the repository page and in the API, so a
    pattern refused in one is refused in the other with the same message."""
    try:
        compile_filter(value, PatternKind.TAG)
    except PatternError as error:
        # Through params: a message may quote `%`, and messages are %-formatted with them.
        raise ValidationError("%(message)s", code="invalid_pattern", params={"message": str(error)}) from error


class ProjectListForm(forms.Form):
    """The query string of the project list."""

    SORTS = [
        ("name", _("Name (A–Z)")),
        ("-name", _("Name (Z–A)")),
        ("-created", _("Newest first")),
        ("created", _("Oldest first")),
        ("members", _("Most members")),
        ("role", _("My role")),
    ]

    q = forms.CharField(required=False, max_length=100, label=_("Search"))
    sort = forms.ChoiceField(required=False, choices=SORTS, label=_("Sort by"))
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)


class ProjectCreateForm(BootstrapForm):
    name = forms.CharField(
        max_length=PROJECT_NAME_MAX,
        label=_("Name"),
        help_text=_("Lowercase letters and digits, separated by '.', '_' or '-'. It cannot change later."),
    )
    description = forms.CharField(
        required=False, max_length=2000, label=_("Description"), widget=forms.Textarea(attrs={"rows": 3})
    )
    is_public = forms.BooleanField(
        required=False, label=_("Public"), help_text=_("Every user can browse and pull a public project.")
    )


class ProjectUpdateForm(BootstrapForm):
    description = forms.CharField(
        required=False, max_length=2000, label=_("Description"), widget=forms.Textarea(attrs={"rows": 3})
    )
    is_public = forms.BooleanField(
        required=False, label=_("Public"), help_text=_("Every user can browse and pull a public project.")
    )


class MemberAddForm(BootstrapForm):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.DEVELOPER)


class MemberRoleForm(BootstrapForm):
    role = forms.ChoiceField(choices=Role.choices)


class ProjectTeamAddForm(BootstrapForm):
    team = forms.CharField(max_length=64)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.DEVELOPER)
