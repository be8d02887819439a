"""Forms of the retention pages: the policy with its ordered rules, and the immutable tag rules.

Rules are plain indexed fields (`rules-0-template`, `rules-1-tag_include`, ... and a
`rules-count`), so the editor works as an ordinary form without JavaScript: adding,
removing and moving a rule are submit buttons (`edit=add`, `edit=up-2`, ...) that
re-render the form without saving. Patterns are typed separated by spaces or new lines
(a comma cannot separate them: `{a,b}` is a pattern). Validation is the service's
(`save_policy`, `save_immutable_rules`): its errors, keyed by paths such as
`rules.2.tags.include.0`, are put next to the field they name by `RuleList.apply_errors`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils.translation import gettext_lazy

from accounts.forms import BootstrapForm

from .models import RuleTemplate

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

# Immutable rules have no limit in the engine; the page keeps the form a sane size.
MAX_IMMUTABLE_RULES = 30

# Service path → form field (the service numbers rules from 1).
_FIELD_OF_PATH = {
    "repositories.include": "repository_include",
    "repositories.exclude": "repository_exclude",
    "tags.include": "tag_include",
    "tags.exclude": "tag_exclude",
    "tags.untagged": "untagged",
    "labels.with": "label_with",
    "labels.without": "label_without",
    "template": "template",
    "n": "n",
}


def split_patterns(text: str) -> list[str]:
    """Patterns as typed: separated by whitespace."""
    return text.split()


def join_patterns(patterns: list[str]) -> str:
    return " ".join(patterns)


def split_labels(text: str) -> list[str]:
    """Label names as typed: separated by commas (a name may contain spaces, never a comma)."""
    return [name.strip() for name in text.split(",") if name.strip()]


def join_labels(names: list[str]) -> str:
    return ", ".join(names)


PATTERN_HELP = gettext_lazy("Globs separated by spaces: `**` all, `team-*/**`, `v{1,2}.*`.")


def _pattern_field(label: StrOrPromise, placeholder: str = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        max_length=5000,
        widget=forms.TextInput(
            attrs={"placeholder": placeholder, "autocomplete": "off", "spellcheck": "false"}
        ),
    )


class RawRuleForm(BootstrapForm):
    """A rule's form: its values as typed (bound) or given (initial), never cleaned here."""

    def raw(self) -> dict[str, Any]:
        """The values as typed, to re-render the rule elsewhere in the list."""
        values: dict[str, Any] = {}
        for name, field in self.fields.items():
            value = self[name].value()
            if isinstance(field, forms.BooleanField):
                values[name] = bool(value)
            else:
                values[name] = "" if value is None else str(value).strip()
        return values

    def data_for_service(self) -> Any:
        raise NotImplementedError


class PolicyForm(BootstrapForm):
    """The policy's own settings; its rules are a `RuleList` of `RuleForm`."""

    enabled = forms.BooleanField(label=gettext_lazy("Enabled (run on the schedule)"), required=False)
    schedule = forms.CharField(
        label=gettext_lazy("Schedule (cron)"),
        required=False,
        max_length=100,
        help_text=gettext_lazy("Five fields: minute hour day-of-month month day-of-week, server time. Empty: only by hand."),
        widget=forms.TextInput(
            attrs={"placeholder": "0 3 * * *", "autocomplete": "off", "spellcheck": "false"}
        ),
    )
    allow_empty_repository = forms.BooleanField(
        label=gettext_lazy("Allow a run to delete every artifact of a repository"), required=False
    )


class RuleForm(RawRuleForm):
    """One retention rule."""

    repository_include = _pattern_field(gettext_lazy("Repositories"), "**")
    repository_exclude = _pattern_field(gettext_lazy("except repositories"))
    tag_include = _pattern_field(gettext_lazy("Tags"), "**")
    tag_exclude = _pattern_field(gettext_lazy("except tags"))
    untagged = forms.BooleanField(label=gettext_lazy("and untagged artifacts"), required=False)
    label_with = _pattern_field(gettext_lazy("labelled"), "release")
    label_without = _pattern_field(gettext_lazy("not labelled"))
    template = forms.ChoiceField(label=gettext_lazy("Template"), choices=RuleTemplate.choices)
    # Text, not IntegerField: the service checks N (range depends on the template), and one
    # message per problem is enough.
    n = forms.CharField(
        label=gettext_lazy("N"),
        required=False,
        max_length=12,
        widget=forms.NumberInput(attrs={"min": 1, "placeholder": gettext_lazy("N")}),
    )

    def data_for_service(self) -> dict[str, Any]:
        """The rule in the service's shape, from the raw values (the service validates)."""
        raw = self.raw()
        return {
            "repositories": {
                "include": split_patterns(raw["repository_include"]),
                "exclude": split_patterns(raw["repository_exclude"]),
            },
            "tags": {
                "include": split_patterns(raw["tag_include"]),
                "exclude": split_patterns(raw["tag_exclude"]),
                "untagged": raw["untagged"],
            },
            "labels": {"with": split_labels(raw["label_with"]), "without": split_labels(raw["label_without"])},
            "template": raw["template"],
            "n": raw["n"],
        }

    @staticmethod
    def initial_from_service(rule: dict[str, Any]) -> dict[str, Any]:
        repos, tags, labels = rule.get("repositories", {}), rule.get("tags", {}), rule.get("labels") or {}
        return {
            "repository_include": join_patterns(repos.get("include", [])),
            "repository_exclude": join_patterns(repos.get("exclude", [])),
            "tag_include": join_patterns(tags.get("include", [])),
            "tag_exclude": join_patterns(tags.get("exclude", [])),
            "untagged": bool(tags.get("untagged")),
            "label_with": join_labels(labels.get("with", [])),
            "label_without": join_labels(labels.get("without", [])),
            "template": rule.get("template", ""),
            "n": "" if rule.get("n") is None else str(rule["n"]),
        }


NEW_RULE: dict[str, Any] = {
    "repository_include": "**",
    "repository_exclude": "",
    "tag_include": "**",
    "tag_exclude": "",
    "untagged": False,
    "label_with": "",
    "label_without": "",
    "template": RuleTemplate.LATEST_PUSHED_N.value,
    "n": "10",
}


class ImmutableRuleForm(RawRuleForm):
    """One immutable tag rule."""

    repository_include = _pattern_field(gettext_lazy("Repositories"), "**")
    repository_exclude = _pattern_field(gettext_lazy("except repositories"))
    tag_include = _pattern_field(gettext_lazy("Tags"), "release-*")
    tag_exclude = _pattern_field(gettext_lazy("except tags"))
    enabled = forms.BooleanField(label=gettext_lazy("Enabled"), required=False)

    def data_for_service(self) -> dict[str, Any]:
        raw = self.raw()
        return {
            "repositories": {
                "include": split_patterns(raw["repository_include"]),
                "exclude": split_patterns(raw["repository_exclude"]),
            },
            "tags": {
                "include": split_patterns(raw["tag_include"]),
                "exclude": split_patterns(raw["tag_exclude"]),
            },
            "enabled": raw["enabled"],
        }

    @staticmethod
    def initial_from_service(rule: dict[str, Any]) -> dict[str, Any]:
        repos, tags = rule.get("repositories", {}), rule.get("tags", {})
        return {
            "repository_include": join_patterns(repos.get("include", [])),
            "repository_exclude": join_patterns(repos.get("exclude", [])),
            "tag_include": join_patterns(tags.get("include", [])),
            "tag_exclude": join_patterns(tags.get("exclude", [])),
            "enabled": bool(rule.get("enabled", True)),
        }


NEW_IMMUTABLE_RULE: dict[str, Any] = {
    "repository_include": "**",
    "repository_exclude": "",
    "tag_include": "",
    "tag_exclude": "",
    "enabled": True,
}


class ImmutableSettingsForm(BootstrapForm):
    revert_protected_overwrites = forms.BooleanField(
        label=gettext_lazy("Put overwritten protected tags back at once"),
        required=False,
        help_text=gettext_lazy("When a push moves a protected tag, Wharf flags and audits it; with this on it also "
        "pushes the tag back onto its previous image."),
    )


class RuleList:
    """An ordered list of rule forms named `<prefix>-<i>-<field>`, with `<prefix>-count`.

    Bound from a POST (`from_post`) or built from the service's data (`from_service`).
    `edit(action)` adds, removes or moves a rule and gives the list to re-render.
    """

    def __init__(
        self,
        form_class: type[RawRuleForm],
        forms_: list[RawRuleForm],
        *,
        prefix: str,
        limit: int,
        new: dict[str, Any],
    ) -> None:
        self.form_class = form_class
        self.forms = forms_
        self.prefix = prefix
        self.limit = limit
        self.new = new
        self.errors: list[str] = []  # about the list as a whole (e.g. too many rules)

    @classmethod
    def from_post(
        cls, form_class: type[RawRuleForm], data: QueryDict, *, prefix: str, limit: int, new: dict[str, Any]
    ) -> RuleList:
        try:
            count = int(data.get(f"{prefix}-count", "0"))
        except ValueError:
            count = 0
        # One more than the limit is enough for the service to say "too many"; never unbounded.
        count = max(0, min(count, limit + 1))
        forms_ = [form_class(data, prefix=f"{prefix}-{i}") for i in range(count)]
        return cls(form_class, forms_, prefix=prefix, limit=limit, new=new)

    @classmethod
    def from_initial(
        cls,
        form_class: type[RawRuleForm],
        rows: list[dict[str, Any]],
        *,
        prefix: str,
        limit: int,
        new: dict[str, Any],
    ) -> RuleList:
        forms_ = [form_class(initial=row, prefix=f"{prefix}-{i}") for i, row in enumerate(rows)]
        return cls(form_class, forms_, prefix=prefix, limit=limit, new=new)

    def data_for_service(self) -> list[dict[str, Any]]:
        return [form.data_for_service() for form in self.forms]

    def edit(self, action: str) -> RuleList:
        """The list after `add`, `remove-N`, `up-N` or `down-N` (N from 1, as on the page)."""
        rows = [form.raw() for form in self.forms]
        verb, _, number = action.partition("-")
        index = int(number) - 1 if number.isdigit() else -1
        if verb == "add" and len(rows) < self.limit:
            rows.append(dict(self.new))
        elif verb == "remove" and 0 <= index < len(rows):
            rows.pop(index)
        elif verb == "up" and 0 < index < len(rows):
            rows[index - 1], rows[index] = rows[index], rows[index - 1]
        elif verb == "down" and 0 <= index < len(rows) - 1:
            rows[index + 1], rows[index] = rows[index], rows[index + 1]
        return RuleList.from_initial(
            self.form_class, rows, prefix=self.prefix, limit=self.limit, new=self.new
        )

    def apply_errors(self, exc: ValidationError, root: str) -> list[tuple[str, list[str]]]:
        """Put the service's errors under `root` (`rules`, `immutable`) next to their
        fields; returns the (key, messages) it could not place."""
        rest: list[tuple[str, list[str]]] = []
        by_key: dict[str | None, list[ValidationError]]
        if hasattr(exc, "error_dict"):  # noqa: SIM108  (a ternary types as a union mypy refuses)
            by_key = dict(exc.error_dict.items())
        else:
            by_key = {None: exc.error_list}
        for key, errors in by_key.items():
            messages = [m for e in errors for m in e.messages]
            parts = (key or "").split(".")
            if key == root:
                self.errors += messages
                continue
            if parts[0] != root or len(parts) < 2 or not parts[1].isdigit():
                rest.append((key or "", messages))
                continue
            number = int(parts[1])
            if not 1 <= number <= len(self.forms):
                self.errors += messages
                continue
            form = self.forms[number - 1]
            path = ".".join(parts[2:4])
            field = _FIELD_OF_PATH.get(path)
            if field not in form.fields:
                form.add_error(None, messages)
                continue
            if len(parts) > 4 and parts[4].isdigit():
                value = str(form[field].value() or "")
                typed = split_labels(value) if field.startswith("label_") else split_patterns(value)
                position = int(parts[4])
                if position < len(typed):
                    messages = [f"`{typed[position]}`: {m}" for m in messages]
            form.add_error(field, messages)
        return rest

    @property
    def can_add(self) -> bool:
        return len(self.forms) < self.limit

    def __len__(self) -> int:
        return len(self.forms)
