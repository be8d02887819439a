"""Project → Retention: the policy editor with its live preview, and the immutable tag rules.

Everyone with `Perm.VIEW_RETENTION` sees the policy; `Perm.MANAGE_RETENTION` edits and
previews it (a preview evaluates rules nobody saved: part of editing, as in the API);
`Perm.MANAGE_IMMUTABLE` edits the immutable rules.

The editor is one form that works without JavaScript: the add / remove / move buttons
submit it with `edit=<action>` and get it back re-rendered, unsaved; `edit=preview`
shows the preview under it. With htmx the same buttons swap only the form's content,
and any change re-posts the form to `retention_preview` (debounced), which evaluates
it with the engine and saves nothing.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import Perm
from accounts.views.http import HtmxHttpRequest, render_page, wants_partial
from audit.context import Actor

from .. import retention as engine
from ..access import get_project, require
from ..forms_retention import (
    MAX_IMMUTABLE_RULES,
    NEW_IMMUTABLE_RULE,
    NEW_RULE,
    ImmutableRuleForm,
    ImmutableSettingsForm,
    PolicyForm,
    RuleForm,
    RuleList,
)
from ..models import Project, Repository, RetentionPolicy, RetentionRun
from ..services.retention import (
    immutable_data,
    policy_data,
    preview,
    repository_path,
    save_immutable_rules,
    save_policy,
)
from .tabs import project_context

EDIT_ACTIONS = ("add", "remove", "up", "down")
# A preview lists every artifact of a repository up to this many; then "and N more".
PREVIEW_ARTIFACTS = 200
# ... and lists artifacts inline for the first repositories until this many rows are
# shown; the others list theirs when opened (one repository evaluated, `retention_preview`
# with `repository`). At 1,000 repositories the page was 5.7 MB of rows nobody opened.
PREVIEW_ROWS = 400
RECENT_RUNS = 10


def retention_context(project: Project, section: str) -> dict[str, Any]:
    """The Retention tab's context: the project's tabs, and which sub-page is shown."""
    context = project_context(project, "retention")
    context["section"] = section
    return context


def _policy_forms(project: Project) -> tuple[PolicyForm, RuleList]:
    row = RetentionPolicy.objects.filter(project=project).first()
    data = policy_data(row)
    form = PolicyForm(
        initial={k: data[k] for k in ("enabled", "schedule", "allow_empty_repository")}, prefix=None
    )
    rules = RuleList.from_initial(
        RuleForm,
        [RuleForm.initial_from_service(rule) for rule in data["rules"]],
        prefix="rules",
        limit=engine.MAX_RULES,
        new=NEW_RULE,
    )
    return form, rules


def _posted_policy(request: HtmxHttpRequest) -> tuple[PolicyForm, RuleList]:
    form = PolicyForm(request.POST)
    rules = RuleList.from_post(RuleForm, request.POST, prefix="rules", limit=engine.MAX_RULES, new=NEW_RULE)
    return form, rules


def _policy_for_service(form: PolicyForm, rules: RuleList) -> dict[str, Any]:
    form.is_valid()  # booleans and a bounded schedule: it cannot fail but for a too-long schedule
    cleaned = form.cleaned_data
    return {
        "enabled": bool(cleaned.get("enabled")),
        "schedule": str(cleaned.get("schedule") or form.data.get("schedule", ""))[:100],
        "allow_empty_repository": bool(cleaned.get("allow_empty_repository")),
        "rules": rules.data_for_service(),
    }


def _page(
    request: HtmxHttpRequest,
    project: Project,
    form: PolicyForm,
    rules: RuleList,
    *,
    partial: str = "editor",
    preview_context: dict[str, Any] | None = None,
    refresh_preview: bool = False,
) -> HttpResponse:
    """The policy page, or (htmx) the editor form's content alone. `refresh_preview`: the
    content asks for a new preview once swapped in (after an edit of the rule list)."""
    context = retention_context(project, "policy")
    runs = (
        RetentionRun.objects.filter(project=project)
        .select_related("requested_by")
        .defer("policy")
        .order_by("-created_at", "-id")[:RECENT_RUNS]
    )
    saved = RetentionPolicy.objects.select_related("updated_by").filter(project=project).first()
    context.update(
        form=form,
        rules=rules,
        runs=list(runs),
        saved=saved,
        max_rules=engine.MAX_RULES,
        preview=preview_context,
        refresh_preview=refresh_preview,
        editable=Perm.MANAGE_RETENTION in project.perms,  # type: ignore[attr-defined]
    )
    if not wants_partial(request):  # the default's box is outside the editor an htmx edit swaps
        from .retention_default import default_context

        context.update(default_context(project))
    return render_page(request, "retention/policy.html", partial, context)


@login_required
@require_http_methods(["GET", "POST"])
def retention_policy(request: HtmxHttpRequest, name: str) -> HttpResponse:
    """GET: the policy, its editor and recent runs. POST (`MANAGE_RETENTION`): an edit
    of the rule list (`edit=...`, nothing saved), a preview, or saving the policy."""
    project = get_project(request.user, name, Perm.VIEW_RETENTION)
    if request.method == "GET":
        form, rules = _policy_forms(project)
        proposed = request.GET.get("propose", "")
        if proposed.isdigit() and Perm.MANAGE_RETENTION in project.perms:  # type: ignore[attr-defined]
            # The advisor's proposal loaded into the editor, unsaved.
            rules = RuleList.from_initial(
                RuleForm, [NEW_RULE | {"n": str(min(int(proposed), engine.MAX_COUNT))}], prefix="rules",
                limit=engine.MAX_RULES, new=NEW_RULE,
            )
        return _page(request, project, form, rules)
    require(request.user, project, Perm.MANAGE_RETENTION)
    form, rules = _posted_policy(request)
    edit = request.POST.get("edit", "")
    if edit.split("-")[0] in EDIT_ACTIONS:
        return _page(request, project, form, rules.edit(edit), refresh_preview=True)
    if edit == "preview":
        return _page(request, project, form, rules, preview_context=_preview_context(project, form, rules))
    data = _policy_for_service(form, rules)
    try:
        save_policy(project, Actor.from_request(request), user=request.user, **data)
    except ValidationError as exc:
        _apply_policy_errors(form, rules, exc)
        messages.error(request, _("The policy was not saved: correct the errors shown."))
        # The save may have cancelled a preview of these very values: show it again.
        return _page(request, project, form, rules, refresh_preview=True)
    messages.success(request, _("Retention policy saved."))
    if not request.htmx:
        return redirect("projects:retention", project.name)
    form, rules = _policy_forms(project)
    return _page(request, project, form, rules, refresh_preview=True)


def _apply_policy_errors(form: PolicyForm, rules: RuleList, exc: ValidationError) -> None:
    rest = rules.apply_errors(exc, "rules")
    for key, errors in rest:
        form.add_error(key if key in form.fields else None, errors)


@login_required
@require_POST
def retention_preview(request: HtmxHttpRequest, name: str) -> HttpResponse:
    """What the posted (unsaved) policy would keep and delete now: nothing is saved. With
    `?repository=<full name>`, the artifact rows of that one repository (a preview lists
    the first repositories' rows inline and the others' when opened)."""
    project = get_project(request.user, name, Perm.MANAGE_RETENTION)
    form, rules = _posted_policy(request)
    wanted = request.GET.get("repository")
    if wanted is None:
        return render(request, "retention/_preview.html", _preview_context(project, form, rules))
    repository = get_object_or_404(Repository, project=project, name=wanted[:255])
    try:
        evaluation = preview(project, _policy_for_service(form, rules), repository=repository)
    except ValidationError:
        # The whole preview above says what to correct; this part just stays empty.
        return render(request, "retention/_preview_rows.html", {"repo": None})
    rows = preview_rows(project, evaluation)["repositories"]
    return render(request, "retention/_preview_rows.html", {"repo": rows[0] if rows else None})


def _preview_context(project: Project, form: PolicyForm, rules: RuleList) -> dict[str, Any]:
    data = _policy_for_service(form, rules)
    from ..services.retention_advisor import advice_body, advised_preview

    try:
        with advised_preview(project, data) as (evaluation, advice):
            rows = preview_rows(project, evaluation)  # while the database finishes the advice's sum
            del evaluation
            assert advice is not None
            return {"project": project, **rows, "advice": advice_body(advice())}
    except ValidationError as exc:
        problems = [f"{_where(key)}: {message}" for key, errors in exc.message_dict.items() for message in errors]
        return {"project": project, "problems": problems}


def _where(key: str) -> str:
    """`rules.2.tags.include.0` → `Rule 2, tags include`: where a problem is, in words."""
    parts = key.split(".")
    if parts[0] == "rules" and len(parts) > 1 and parts[1].isdigit():
        rest = " ".join(p for p in parts[2:4])
        return f"Rule {parts[1]}" + (f", {rest}" if rest else "")
    return key.capitalize() if key else "Policy"


def preview_rows(project: Project, evaluation: engine.Evaluation, *, budget: int | None = None) -> dict[str, Any]:
    """The preview as the template shows it: totals, and per repository its counts and
    (capped at PREVIEW_ARTIFACTS) every artifact with its tags, decision and reason: for
    the repositories in order until `budget` rows are listed (at least the first
    repository's); the others' `artifacts` are None, listed when opened."""
    names = Repository.objects.filter(project=project).values_list("name", flat=True)
    full_names = {repository_path(project, n): n for n in names}
    summaries = evaluation.summaries()
    listed: set[str] = set()
    rows_left = PREVIEW_ROWS if budget is None else budget
    for summary in summaries:
        if listed and rows_left <= 0:
            break
        listed.add(summary.repository)
        rows_left -= min(PREVIEW_ARTIFACTS, summary.kept_artifacts + summary.deleted_artifacts)
    shown: dict[str, list[engine.ArtifactDecision]] = defaultdict(list)
    for decision in evaluation.artifacts:
        repository = decision.artifact.repository
        if repository in listed and len(shown[repository]) < PREVIEW_ARTIFACTS:
            shown[repository].append(decision)
    # Tags of the listed artifacts only (a tag knows its artifact's decision object).
    wanted = {id(decision) for decisions in shown.values() for decision in decisions}
    tags_of: dict[int, list[tuple[str, int | None]]] = defaultdict(list)
    for tag in evaluation.tags:
        if id(tag.decision) in wanted:
            tags_of[id(tag.decision)].append((tag.name, tag.protected_by))
    repositories = [
        {
            "name": full_names.get(summary.repository, summary.repository),
            "summary": summary,
            "artifacts": [
                {
                    "digest": decision.digest,
                    "kept": decision.kept,
                    "code": decision.code.value,
                    "reason": decision.reason,
                    "tags": tags_of.get(id(decision), []),
                }
                for decision in shown[summary.repository]
            ]
            if summary.repository in listed
            else None,
            "more": max(0, summary.kept_artifacts + summary.deleted_artifacts - PREVIEW_ARTIFACTS),
        }
        for summary in summaries
    ]
    totals = {
        "kept": sum(s.kept_artifacts for s in summaries),
        "deleted": sum(s.deleted_artifacts for s in summaries),
        "deleted_tags": sum(s.deleted_tags for s in summaries),
        "matched": sum(1 for s in summaries if s.matched),
    }
    return {"repositories": repositories, "totals": totals}


# --- immutable tag rules ------------------------------------------------------------------


def _immutable_forms(project: Project) -> tuple[ImmutableSettingsForm, RuleList]:
    data = immutable_data(project)
    form = ImmutableSettingsForm(initial={"revert_protected_overwrites": data["revert_protected_overwrites"]})
    rules = RuleList.from_initial(
        ImmutableRuleForm,
        [ImmutableRuleForm.initial_from_service(rule) for rule in data["rules"]],
        prefix="immutable",
        limit=MAX_IMMUTABLE_RULES,
        new=NEW_IMMUTABLE_RULE,
    )
    return form, rules


def _immutable_page(
    request: HtmxHttpRequest, project: Project, form: ImmutableSettingsForm, rules: RuleList
) -> HttpResponse:
    context = retention_context(project, "immutable")
    context.update(
        form=form,
        rules=rules,
        editable=Perm.MANAGE_IMMUTABLE in project.perms,  # type: ignore[attr-defined]
    )
    return render_page(request, "retention/immutable.html", "editor", context)


@login_required
@require_http_methods(["GET", "POST"])
def immutable_rules(request: HtmxHttpRequest, name: str) -> HttpResponse:
    """GET: the immutable tag rules. POST (`MANAGE_IMMUTABLE`): edit the list or save it."""
    project = get_project(request.user, name, Perm.VIEW_RETENTION)
    if request.method == "GET":
        form, rules = _immutable_forms(project)
        return _immutable_page(request, project, form, rules)
    require(request.user, project, Perm.MANAGE_IMMUTABLE)
    form = ImmutableSettingsForm(request.POST)
    rules = RuleList.from_post(
        ImmutableRuleForm, request.POST, prefix="immutable", limit=MAX_IMMUTABLE_RULES, new=NEW_IMMUTABLE_RULE
    )
    edit = request.POST.get("edit", "")
    if edit.split("-")[0] in EDIT_ACTIONS:
        return _immutable_page(request, project, form, rules.edit(edit))
    form.is_valid()
    try:
        save_immutable_rules(
            project,
            Actor.from_request(request),
            user=request.user,
            rules=rules.data_for_service(),
            revert_protected_overwrites=bool(form.cleaned_data.get("revert_protected_overwrites")),
        )
    except ValidationError as exc:
        for _key, errors in rules.apply_errors(exc, "immutable"):
            form.add_error(None, errors)
        messages.error(request, _("The immutable rules were not saved: correct the errors shown."))
        return _immutable_page(request, project, form, rules)
    messages.success(request, _("Immutable tag rules saved."))
    if not request.htmx:
        return redirect("projects:retention_immutable", project.name)
    form, rules = _immutable_forms(project)
    return _immutable_page(request, project, form, rules)
