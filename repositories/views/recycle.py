"""Project → Retention → Recently deleted: the recycle bin, and restoring from it.

Listing needs `Perm.VIEW_RETENTION`; restoring `Perm.DELETE_ARTIFACT` (a restore writes
artifacts and tags back, the same kind of change as deleting them; as in the API).
A refused restore (undone already, layers garbage-collected, a tag moved, the registry
down) is a flash message, never an error page. Entries a garbage collection made
unrestorable (`collected_at`) say so in the list and offer no restore.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from accounts.permissions import Perm
from accounts.views.http import HtmxHttpRequest, render_page
from audit.context import Actor
from portal import keyset
from portal.keyset import Ordering

from ..access import get_project
from ..models import Project, RecycleBinEntry
from ..services.errors import RegistryActionFailed
from ..services.recycle import collected_message, restore
from .retention_policy import retention_context

ENTRIES_PER_PAGE = 50
# Said in place of the service's wording, which ends with the first missing blob's digest.
GARBAGE_COLLECTED = gettext_lazy("its layers were removed by garbage collection; it cannot be restored.")


def _entries(project: Project) -> QuerySet[RecycleBinEntry]:
    return (
        RecycleBinEntry.objects.filter(project=project, expires_at__gt=timezone.now())
        .select_related("run")
        .defer("manifest", "children", "run__policy")
    )


# Newest deletion first, by cursor (`portal.keyset`) through `recycle_project_deleted_id`.
ENTRY_ORDERING = Ordering("-deleted", ("deleted_at", "id"), descending=True)


@login_required
@require_GET
def recycle_bin(request: HtmxHttpRequest, name: str) -> HttpResponse:
    project = get_project(request.user, name, Perm.VIEW_RETENTION)
    listed = keyset.page_context(_entries(project), ENTRY_ORDERING, request.GET, ENTRIES_PER_PAGE)
    context = retention_context(project, "deleted")
    context.update(listed)
    return render_page(request, "retention/recycle.html", "entries", context)


@login_required
@require_http_methods(["GET", "POST"])
def recycle_restore(request: HtmxHttpRequest, name: str, pk: int) -> HttpResponse:
    """GET: the confirmation (the modal for htmx). POST: restore, then back to the list."""
    project = get_project(request.user, name, Perm.DELETE_ARTIFACT)
    entry = get_object_or_404(
        RecycleBinEntry.objects.filter(project=project, expires_at__gt=timezone.now()), pk=pk
    )
    url = reverse("projects:retention_deleted", args=[project.name])
    if request.method == "GET":
        tags = sorted(entry.tags)
        context = {
            "title": _("Restore %(repository_name)s@%(digest)s…?")
            % {"repository_name": entry.repository_name, "digest": entry.digest[:19]},
            "message": (
                ngettext(
                    "The manifest goes back into %(repository)s with its tag %(tags)s. A tag that now "
                    "points at another image is not moved: the restore is refused instead.",
                    "The manifest goes back into %(repository)s with its tags %(tags)s. A tag that now "
                    "points at another image is not moved: the restore is refused instead.",
                    len(tags),
                )
                if tags
                else _(
                    "The manifest goes back into %(repository)s, untagged. A tag that now points at "
                    "another image is not moved: the restore is refused instead."
                )
            )
            % {"repository": entry.repository_name, "tags": ", ".join(tags)},
            "entry": entry,
            "action": reverse("projects:retention_restore", args=[project.name, entry.pk]),
            "cancel_url": url,
            "restored": entry.restored_at is not None,
            "collected": collected_message(entry) if entry.collected_at else "",
        }
        return render_page(request, "retention/restore_confirm.html", "dialog", context)
    where = f"{entry.repository_name}@{entry.digest}"
    try:
        restore(entry, Actor.from_request(request))
    except ValidationError as exc:
        if exc.code == "garbage_collected":
            entry.refresh_from_db(fields=["collected_at", "collected_by"])
            why = collected_message(entry) if entry.collected_at else GARBAGE_COLLECTED
            messages.error(request, _("%(where)s was not restored: %(reason)s") % {"where": where, "reason": why})
        else:
            messages.error(request, _("Not restored: %(messages)s") % {"messages": " ".join(exc.messages)})
    except RegistryActionFailed as exc:
        text = (
            _("Not restored: %(message)s The registry is unreachable; try again later.")
            if exc.transient
            else _("Not restored: %(message)s")
        )
        messages.error(request, text % {"message": exc.message})
    else:
        text = _("Restored %(where)s (%(tags)s).") if entry.tags else _("Restored %(where)s (untagged).")
        messages.success(request, text % {"where": where, "tags": ", ".join(sorted(entry.tags))})
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
