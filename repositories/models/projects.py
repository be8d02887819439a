"""Projects (registry namespaces) and who belongs to them."""

from __future__ import annotations

import operator
from collections.abc import Callable
from functools import reduce
from typing import Any

from django.conf import settings
from django.core.validators import MaxLengthValidator, MinLengthValidator, RegexValidator
from django.db import models
from django.db.models import FilteredRelation, OuterRef, Subquery
from django.db.models.functions import Coalesce, Concat, StrIndex
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import TeamMember
from accounts.permissions import Perm, Role, Standing, public_grants, roles_granting, standing

PROJECT_NAME_MIN = 2
PROJECT_NAME_MAX = 64

project_name_validators: list[Callable[[Any], None]] = [
    MinLengthValidator(PROJECT_NAME_MIN),
    MaxLengthValidator(PROJECT_NAME_MAX),
    RegexValidator(
        r"^[a-z0-9]+(?:[._-][a-z0-9]+)*\Z",
        message=_(
            "Use lowercase letters and digits, separated by single '.', '_' or '-' "
            "(an OCI repository path component), e.g. 'team-app'."
        ),
        code="invalid_project_name",
    ),
]


class ProjectQuerySet(models.QuerySet["Project"]):
    """The one way to read which projects someone may see.

    The filters are built from `accounts.permissions` (the user's `Standing`, the
    roles granting a permission, whether public projects grant it), never from
    role names or user flags, so they answer what `project_permissions` answers.
    """

    def for_user(self, user: Any) -> ProjectQuerySet:
        """Projects `user` may see (`Perm.VIEW_PROJECT`): all for system admins, public
        ones plus their own for other active users, nothing for inactive users. The
        site may keep the list from anonymous visitors (`WHARF_ANONYMOUS_PUBLIC_LIST`):
        a listing switch, not a permission, since anyone may still pull a public project."""
        if standing(user) is Standing.ANONYMOUS and not settings.WHARF_ANONYMOUS_PUBLIC_LIST:
            return self.none()
        return self.where_user_may(user, Perm.VIEW_PROJECT)

    def where_user_may(self, user: Any, perm: Perm) -> ProjectQuerySet:
        """Projects where `user` holds `perm`, in one query: all for system admins, else
        public projects when public projects grant it, plus their memberships whose role
        grants it, as far as their standing lets each of those count.

        The membership is a join to the user's own row only (`_with_my_membership`), at
        most one per project since (project, user) is unique: no DISTINCT, and the planner
        reads it from the membership index."""
        who = standing(user)
        if who.holds_everything:
            return self.all()
        allowed: list[models.Q] = []
        if who.holds_public_grants and public_grants(perm):
            allowed.append(models.Q(is_public=True))
        roles = roles_granting(perm) if who.holds_role_grants else frozenset()
        queryset = self
        if roles:
            queryset = self._with_my_membership(user)
            if roles == frozenset(Role):  # every role grants it: the membership alone decides
                allowed.append(models.Q(**{f"{_MY_ROLE}__isnull": False}))
            else:
                allowed.append(models.Q(**{f"{_MY_ROLE}__in": sorted(roles)}))
        if not allowed:
            return self.none()
        return queryset.filter(reduce(operator.or_, allowed))

    def with_role(self, user: Any) -> ProjectQuerySet:
        """Annotate `my_role`: the user's role in each project (the highest of their own
        and their teams' roles), or None. Read from the same expression as
        `where_user_may`, so listing and annotating cost one join together."""
        if standing(user) is Standing.ANONYMOUS:
            return self.annotate(my_role=models.Value(None, output_field=models.CharField()))
        return self._with_my_membership(user).annotate(my_role=models.F(_MY_ROLE))

    def _with_my_membership(self, user: Any) -> ProjectQuerySet:
        """Alias `_my_role` to `user`'s role in each project (NULL when they hold none):
        the role of their own membership row, read through a LEFT JOIN on that one row,
        unless one of their teams holds a stronger role there, read by one subquery.

        The subquery asks only for a team role stronger than the user's own (ranked as
        `Role` lists them), so `COALESCE(stronger team role, own role)` is the highest
        with the subquery written once; it reads the project's team rows of the
        user's teams (`team_id IN` the user's `TeamMember` rows), no join and no DISTINCT.

        Added once per queryset, and the filters go through the alias rather than the
        relation (which Django would join again in each `filter()`), so whatever the
        order of `where_user_may` and `with_role`, they share one join."""
        # Django keeps a queryset's FilteredRelations here (no public accessor; not in the stubs).
        present = getattr(self.query, "_filtered_relations", {}).get(_MY_MEMBERSHIP)
        if present is not None:
            # Django stores the condition renamed to the alias' prefix.
            if present.condition != models.Q(**{f"{_MY_MEMBERSHIP}__user": user}):
                raise ValueError("This queryset already joins another user's membership.")
            return self
        relation = FilteredRelation("memberships", condition=models.Q(memberships__user=user))
        own_role = f"{_MY_MEMBERSHIP}__role"
        stronger_team_role = (
            ProjectTeam.objects.filter(
                project=OuterRef("pk"),
                team_id__in=TeamMember.objects.filter(user=user).values("team_id"),
            )
            .alias(_rank=role_rank("role"))
            .filter(_rank__lt=OuterRef(_MY_OWN_RANK))
            .order_by("_rank")
            .values("role")[:1]
        )
        return (
            self.alias(**{_MY_MEMBERSHIP: relation})
            .alias(**{_MY_OWN_RANK: Coalesce(role_rank(own_role), models.Value(len(Role)))})
            .alias(**{_MY_ROLE: Coalesce(Subquery(stronger_team_role), models.F(own_role))})
        )


_NO_ROLE = "-"
_ROLE_POSITIONS = ",".join(["", *Role.values, _NO_ROLE, ""])


def role_sort_key(field: str) -> models.Func:
    """A sort key for the role in `field`, strongest first and no role last, that reads
    `field` once: its position in a list of the roles (`INSTR`/`STRPOS`). `my_role` is an
    expression with a subquery, which a CASE would repeat once per role."""
    wrapped = Concat(models.Value(","), Coalesce(models.F(field), models.Value(_NO_ROLE)), models.Value(","))
    return StrIndex(models.Value(_ROLE_POSITIONS), wrapped)


def role_rank(field: str) -> models.Case:
    """The rank of the role in `field`: 0 for the strongest, in `Role`'s order (NULL if none)."""
    return models.Case(
        *[models.When(**{field: role.value}, then=models.Value(rank)) for rank, role in enumerate(Role)],
        output_field=models.IntegerField(),
    )


_MY_MEMBERSHIP = "my_membership"
_MY_OWN_RANK = "_my_own_rank"  # the rank of the user's own role; one past the weakest if none
_MY_ROLE = "_my_role"  # the highest role; role columns are NOT NULL: NULL here means no role


class Project(models.Model):
    """A namespace in the registry: repositories are named `<project>/<repo>[/...]`."""

    name = models.CharField(max_length=PROJECT_NAME_MAX, validators=project_name_validators)
    description = models.TextField(blank=True, max_length=2000)
    is_public = models.BooleanField(
        default=False, help_text=_("Public projects can be browsed and pulled by every user.")
    )
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProjectQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["name"],
                name="project_unique_name",
                violation_error_message=_("A project with this name already exists."),
            )
        ]
        # The project list's sort by creation, the name as tie-breaker (`views.projects`).
        indexes = [models.Index(fields=["created_at", "name"], name="project_created_name")]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's role in a project. A user holds at most one role per project."""

    # No single-column indexes: the unique (project, user) and the (user, project) index
    # lead with each column and serve every lookup by one of them.
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="memberships", db_index=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships", db_index=False
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["project", "user__username"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "user"],
                name="membership_unique_user",
                violation_error_message=_("This user is already a member of the project."),
            )
        ]
        indexes = [models.Index(fields=["user", "project"], name="membership_user_project")]

    def __str__(self) -> str:
        return f"{self.user} in {self.project} as {self.role}"


class ProjectTeam(models.Model):
    """A team's role in a project: every member of the team holds it there (a user's
    role is the highest of their own and their teams', see `ProjectQuerySet`)."""

    # The unique (project, team) and the (team, project) index serve every lookup.
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="team_memberships", db_index=False
    )
    team = models.ForeignKey(
        "accounts.Team", on_delete=models.CASCADE, related_name="project_memberships", db_index=False
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["project", "team__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "team"],
                name="projectteam_unique_team",
                violation_error_message=_("This team is already a member of the project."),
            )
        ]
        indexes = [models.Index(fields=["team", "project"], name="projectteam_team_project")]

    def __str__(self) -> str:
        return f"{self.team} in {self.project} as {self.role}"
