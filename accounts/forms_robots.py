"""Forms of the robot account pages (a project's Robots tab, the system robots page)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .forms import BootstrapForm
from .models import ROBOT_ACTIONS
from .services.robots import DEFAULT, _Default

# The robot actions as a person reads them (the codes stay in the API and the tokens).
ACTION_LABELS = {"pull": _("Pull"), "push": _("Push"), "delete": _("Delete")}

ROBOT_MAX_DAYS = 3650

EXPIRY_CHOICES = [("default", _("In 30 days")), ("days", _("In a number of days")), ("never", _("Never"))]


class RobotCreateForm(BootstrapForm):
    """A project robot: name, description, actions, repository patterns, expiry."""

    name = forms.CharField(
        max_length=64,
        help_text=_("Lowercase letters and digits, e.g. 'ci'. The login name becomes robot$project+name."),
    )
    description = forms.CharField(required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))
    actions = forms.MultipleChoiceField(
        label=_("Permissions"),
        choices=[(action, ACTION_LABELS.get(action, action)) for action in ROBOT_ACTIONS],
        widget=forms.CheckboxSelectMultiple,
        initial=["pull"],
        error_messages={"required": _("Choose at least one permission.")},
    )
    repository_patterns = forms.CharField(
        required=False,
        label=_("Repository patterns"),
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "app-*"}),
        help_text=(
            _(
                "One pattern per line on the path below the project: * within a name, ** across /, "
                "e.g. app-* or team/**. Empty: every repository."
            )
        ),
    )
    expiry = forms.ChoiceField(
        choices=EXPIRY_CHOICES, initial="default", widget=forms.RadioSelect, label=_("Expires")
    )
    expires_in_days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=ROBOT_MAX_DAYS,
        label=_("Days"),
        help_text=_("Used with 'In a number of days'."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Checkbox and radio lists are not text inputs: Bootstrap's check classes, not form-control.
        for name in ("actions", "expiry"):
            self.fields[name].widget.attrs["class"] = "form-check-input"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("expiry") == "days" and not data.get("expires_in_days"):
            self.add_error("expires_in_days", gettext("Give the number of days, or choose another expiry."))
        return data

    def patterns(self) -> list[str]:
        return [
            line.strip()
            for line in self.cleaned_data.get("repository_patterns", "").splitlines()
            if line.strip()
        ]

    def expires_at(self) -> dt.datetime | _Default | None:
        """The service's `expires_at`: DEFAULT (30 days), a moment, or None (never)."""
        choice = self.cleaned_data["expiry"]
        if choice == "never":
            return None
        if choice == "days":
            return timezone.now() + dt.timedelta(days=self.cleaned_data["expires_in_days"])
        return DEFAULT


class SystemRobotCreateForm(RobotCreateForm):
    """A system robot: the same, acting in each of the chosen projects."""

    projects = forms.MultipleChoiceField(
        choices=[],
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text=_("It gets its permissions in each of these."),
        error_messages={"required": _("Choose at least one project.")},
    )

    def __init__(self, *args: Any, project_names: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        projects = self.fields["projects"]
        assert isinstance(projects, forms.MultipleChoiceField)
        projects.choices = [(name, name) for name in project_names]
        self.fields["name"].help_text = gettext(
            "Lowercase letters and digits, e.g. 'mirror'. Logs in as robot$name."
        )
