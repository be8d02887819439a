"""The system-wide default retention policy: its editor (system admins), the read-only
view of it on a project's Retention tab (`default_context`), and opting a project out
where the site allows (`Perm.MANAGE_RETENTION`).

The editor is the project editor's form (`PolicyForm` + `RuleList`) without htmx: its
add / remove / move buttons post it and get it back re-rendered, unsaved.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.permissions import Perm, may_manage_default_retention
from accounts.views.http import HtmxHttpRequest, render_page, system_admin_required
from audit.context import Actor

from .. import retention as engine
from ..access import get_project
from ..forms_retention import NEW_RULE, PolicyForm, RuleForm, RuleList
from ..models import Artifact, Project
from ..retention.advisor import propose_keep_n
from ..retention.defaults import Origin
from ..services import retention_defaults
from ..services.retention import candidates_for, immutable_rules_for, parse_policy
from ..services.retention_advisor import advice_for
from .retention_policy import EDIT_ACTIONS, _apply_policy_errors, _policy_for_service


def default_context(project: Project) -> dict[str, Any]:
    """For the project's Retention tab: the policy in force, where it comes from, and
    whether the project may opt out of the default."""
    effective = retention_defaults.effective_policy(project)
    row = effective.default
    return {
        "retention_origin": effective.origin.value,
        "default_policy": row,
        # Each rule in words, as reasons name them ("10 most recently pushed matching `**`").
        "default_rules": [rule.describe() for rule in parse_policy(retention_defaults.default_data(row))[0].rules],
        "default_opted_out": effective.opted_out,
        "default_opt_out_allowed": retention_defaults.opt_out_allowed(),
        "default_follows": effective.origin is Origin.DEFAULT,
        **_proposal_context(project, wanted=effective.origin is not Origin.PROJECT),
    }


# A proposal evaluates the whole project (candidates, the engine, bytes freed): up to this
# many artifacts it is made with the page; beyond, the page asks for it once shown
# (`retention_proposal`), so a 100,000-artifact project's tab does not wait seconds for it.
PROPOSAL_INLINE_ARTIFACTS = 5_000


def _proposal_context(project: Project, *, wanted: bool) -> dict[str, Any]:
    if not wanted:
        return {"proposal": None, "proposal_deferred": False}
    # Counted up to the threshold only (a bounded subquery), whatever the project's size.
    artifacts = Artifact.objects.filter(repository__project=project)[: PROPOSAL_INLINE_ARTIFACTS + 1].count()
    if artifacts > PROPOSAL_INLINE_ARTIFACTS:
        return {"proposal": None, "proposal_deferred": True}
    return {"proposal": _proposal(project), "proposal_deferred": False}


@login_required
@require_GET
def retention_proposal(request: HtmxHttpRequest, name: str) -> HttpResponse:
    """The advisor's proposal card of a big project's Retention tab, asked for by the tab
    (`VIEW_RETENTION`, like the tab; loading it into the form stays `MANAGE_RETENTION`)."""
    project = get_project(request.user, name, Perm.VIEW_RETENTION)
    effective = retention_defaults.effective_policy(project)
    proposal = _proposal(project) if effective.origin is not Origin.PROJECT else None
    can = {perm.value: True for perm in project.perms}  # type: ignore[attr-defined]
    return render(request, "retention/_proposal.html", {"project": project, "proposal": proposal, "can": can})


def _proposal(project: Project) -> dict[str, Any] | None:
    """For a project without its own policy: the smallest "keep the N most recently
    pushed" keeping everything pulled in the last 90 days, and what it would free."""
    with engine.gc_paused():  # until the candidates are gone: see `retention_advisor.advised_preview`
        candidates = candidates_for(project)
        n = propose_keep_n(candidates, now=timezone.now())
        if n is None:
            return None
        policy = engine.Policy((engine.Rule(engine.Template.LATEST_PUSHED_N, n),))
        evaluation = engine.evaluate(
            policy, candidates, now=timezone.now(), immutable_rules=immutable_rules_for(project)
        )
        del candidates
        advice = advice_for(project, evaluation)
        del evaluation
    return {"n": n, "bytes_freed": advice.bytes_freed, "deleted": advice.deleted_artifacts}


def _forms_from_saved() -> tuple[PolicyForm, RuleList]:
    data = retention_defaults.default_data(retention_defaults.default_row())
    form = PolicyForm(initial={k: data[k] for k in ("enabled", "schedule", "allow_empty_repository")})
    rules = RuleList.from_initial(
        RuleForm, [RuleForm.initial_from_service(r) for r in data["rules"]], prefix="rules",
        limit=engine.MAX_RULES, new=NEW_RULE,
    )
    return form, rules


def _page(request: HtmxHttpRequest, form: PolicyForm, rules: RuleList) -> HttpResponse:
    context = {
        "nav": "retention-default",
        "form": form,
        "rules": rules,
        "saved": retention_defaults.default_row(),
        "max_rules": engine.MAX_RULES,
        "editable": may_manage_default_retention(request.user),
        "governed": retention_defaults.governed_by_default(),
        "opt_out_allowed": retention_defaults.opt_out_allowed(),
    }
    return render_page(request, "retention/default.html", "editor", context)


@system_admin_required
@require_http_methods(["GET", "POST"])
def default_policy(request: HtmxHttpRequest) -> HttpResponse:
    """GET: the default policy's editor; POST: an edit of the rule list or saving it."""
    if request.method == "GET":
        return _page(request, *_forms_from_saved())
    form = PolicyForm(request.POST)
    rules = RuleList.from_post(RuleForm, request.POST, prefix="rules", limit=engine.MAX_RULES, new=NEW_RULE)
    edit = request.POST.get("edit", "")
    if edit.split("-")[0] in EDIT_ACTIONS:
        return _page(request, form, rules.edit(edit))
    try:
        retention_defaults.save_default(Actor.from_request(request), user=request.user, **_policy_for_service(form, rules))
    except ValidationError as exc:
        _apply_policy_errors(form, rules, exc)
        messages.error(request, _("The default policy was not saved: correct the errors shown."))
        return _page(request, form, rules)
    messages.success(request, _("Default retention policy saved."))
    return redirect("projects:retention_default")


@login_required
@require_POST
def default_opt_out(request: HtmxHttpRequest, name: str) -> HttpResponse:
    """Opt the project out of the default (`opted_out=on`) or back in (anything else)."""
    project = get_project(request.user, name, Perm.MANAGE_RETENTION)
    opted_out = request.POST.get("opted_out") == "on"
    try:
        retention_defaults.set_opt_out(project, opted_out, Actor.from_request(request), user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, _("This project no longer follows the default policy.") if opted_out else _("This project follows the default policy.")
        )
    return redirect("projects:retention", project.name)
