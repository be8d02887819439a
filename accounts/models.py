"""Users and the API tokens scripts use to call Wharf's REST API."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core import validators
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from repositories.globs import PatternKind, any_match

from .permissions import standing


class UserSource(models.TextChoices):
    """Where an account comes from, and so where its password is checked."""

    LOCAL = "local", _("Local")
    LDAP = "ldap", _("LDAP")
    OIDC = "oidc", _("OIDC")


class User(AbstractUser):
    """A person who logs into Wharf. Superusers are Wharf's system administrators.

    A local account's password is checked here; a directory (LDAP) account's by the
    directory, at every login (`accounts.directory`)."""

    source = models.CharField(max_length=8, choices=UserSource.choices, default=UserSource.LOCAL)
    # The interface language the user chose (a code of settings.LANGUAGES); empty: the
    # browser's Accept-Language decides (`portal.language`).
    language = models.CharField(max_length=16, blank=True, default="")

    class Meta:
        ordering = ["username"]

    def __str__(self) -> str:
        return self.username


TOKEN_PREFIX = "wharf_"


def hash_token_secret(secret: str) -> str:
    """Tokens are 256-bit random strings, so a fast hash is as safe as a slow one."""
    return hashlib.sha256(secret.encode()).hexdigest()


class TokenScope(models.TextChoices):
    """What a personal access token may be used for (GitLab's names). See `ApiToken`."""

    API = "api", _("api: full API access")
    READ_API = "read_api", _("read_api: read-only API access")
    READ_REGISTRY = "read_registry", _("read_registry: pull images")
    WRITE_REGISTRY = "write_registry", _("write_registry: pull, push and delete images")


ALL_TOKEN_SCOPES: tuple[str, ...] = tuple(TokenScope.values)
API_SCOPES = frozenset({TokenScope.API.value, TokenScope.READ_API.value})
REGISTRY_SCOPES = frozenset({TokenScope.READ_REGISTRY.value, TokenScope.WRITE_REGISTRY.value})


def all_token_scopes() -> list[str]:
    """Every scope: the default of tokens made before scopes existed, so none stopped working."""
    return list(ALL_TOKEN_SCOPES)


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def usable(self) -> ApiTokenQuerySet:
        now = timezone.now()
        return self.filter(revoked_at__isnull=True, user__is_active=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiToken(models.Model):
    """A personal access token (`wharf_...`): for the API (`Authorization: Bearer ...`)
    and as the password at the registry token service.

    Only the SHA-256 of the secret is stored; the secret is shown once on creation.

    `scopes` is a non-empty subset of `TokenScope`, as in GitLab:

    - ``api``: the API as the user, every method;
    - ``read_api``: the API with GET, HEAD and OPTIONS only (writes are 403);
    - ``read_registry``: the registry token service grants pull only;
    - ``write_registry``: the registry token service grants pull, push and delete.

    A token acts as its user and never beyond: registry grants are always
    asked ∩ the user's role ∩ the token's scopes, so ``write_registry`` on a guest
    still pulls only. A token without an API scope is refused by the API, one without
    a registry scope by the token service. Tokens created before scopes existed have
    all four, so they kept working.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    hint = models.CharField(max_length=16, editable=False, help_text=_("Last characters, for display."))
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # A JSON list read in the same row as the hash: scopes cost the hot path no query.
    # (JSON rather than a PostgreSQL array so the embedded SQLite default works too;
    # the service validates the values.)
    scopes = models.JSONField(
        default=all_token_scopes,
        help_text=_("What the token may be used for: api, read_api, read_registry, write_registry."),
    )

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "name"],
                condition=models.Q(revoked_at__isnull=True),
                name="apitoken_unique_active_name",
                violation_error_message=_("You already have an active token with this name."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} / {self.name}"

    @staticmethod
    def new_secret() -> str:
        return TOKEN_PREFIX + secrets.token_urlsafe(32)

    @property
    def can_read_api(self) -> bool:
        return not API_SCOPES.isdisjoint(self.scopes)

    @property
    def can_write_api(self) -> bool:
        return TokenScope.API in self.scopes

    @property
    def registry_actions(self) -> frozenset[str]:
        """The most the token service may grant with this token (before the user's role)."""
        if TokenScope.WRITE_REGISTRY in self.scopes:
            return frozenset(ROBOT_ACTIONS)
        if TokenScope.READ_REGISTRY in self.scopes:
            return frozenset({"pull"})
        return frozenset()


ROBOT_PREFIX = "robot$"
ROBOT_ACTIONS = ("pull", "push", "delete")


class RobotAccountQuerySet(models.QuerySet["RobotAccount"]):
    def usable(self) -> RobotAccountQuerySet:
        now = timezone.now()
        return self.filter(enabled=True).filter(models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now))


class RobotAccount(models.Model):
    """A non-human account for CI pipelines, usable only at the registry token service.

    A project robot is named ``robot$<project>+<name>`` and acts in its project; a
    system robot (created by system admins) is named ``robot$<name>`` and acts in
    the projects listed in `project_names`. Either holds a subset of pull / push /
    delete, optionally only on repositories matching `repository_patterns`
    (globs on the path below the project, e.g. ``app-*`` or ``team/**``: Wharf's one
    dialect, `repositories.globs`). Only the
    SHA-256 of its secret is stored: the secret has 256 bits of entropy, so the
    fast hash keeps the token endpoint cheap for pipelines at no loss of safety.
    """

    project = models.ForeignKey(
        "repositories.Project", null=True, blank=True, on_delete=models.CASCADE, related_name="robots"
    )
    name = models.CharField(
        max_length=64,
        validators=[
            validators.RegexValidator(
                r"^[a-z0-9]+(?:[._-][a-z0-9]+)*\Z",
                message=_("Use lowercase letters and digits, separated by single '.', '_' or '-'."),
            )
        ],
    )
    project_names = models.JSONField(
        default=list, blank=True, help_text=_("System robots only: the projects it may act in.")
    )
    description = models.TextField(blank=True, max_length=1000)
    can_pull = models.BooleanField(default=True)
    can_push = models.BooleanField(default=False)
    can_delete = models.BooleanField(default=False)
    repository_patterns = models.JSONField(
        default=list, blank=True, help_text=_("Globs on the repository path below the project; empty means all.")
    )
    expires_at = models.DateTimeField(null=True, blank=True, help_text=_("Empty means it never expires."))
    enabled = models.BooleanField(default=True)
    secret_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = RobotAccountQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "name"],
                name="robot_unique_project_name",
                violation_error_message=_("This project already has a robot account with this name."),
            ),
            models.UniqueConstraint(
                fields=["name"],
                condition=models.Q(project__isnull=True),
                name="robot_unique_system_name",
                violation_error_message=_("A system robot account with this name already exists."),
            ),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        """The login name: ``robot$project+name``, or ``robot$name`` for a system robot."""
        project = self.project
        if project is None:
            return f"{ROBOT_PREFIX}{self.name}"
        return f"{ROBOT_PREFIX}{project.name}+{self.name}"

    @property
    def actions(self) -> frozenset[str]:
        flags = {"pull": self.can_pull, "push": self.can_push, "delete": self.can_delete}
        return frozenset(action for action, allowed in flags.items() if allowed)

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    def covers(self, project_name: str) -> bool:
        """Whether the robot may act in this project at all."""
        project = self.project
        if project is not None:
            return bool(project.name == project_name)
        return project_name in (self.project_names or [])

    def matches(self, repository_path: str) -> bool:
        """Whether the repository (its path below the project) matches the robot's patterns."""
        patterns = self.repository_patterns or []
        return not patterns or any_match(patterns, repository_path, PatternKind.REPOSITORY)

    @staticmethod
    def new_secret() -> str:
        return secrets.token_urlsafe(32)


TEAM_NAME_MAX = 64

team_name_validators: list[Any] = [
    validators.RegexValidator(
        r"^[A-Za-z0-9](?:[A-Za-z0-9 ._-]*[A-Za-z0-9])?\Z",
        message=_(
            "Use letters, digits, spaces, '.', '_' or '-', starting and ending with a letter or digit "
            "(a directory group's name fits), e.g. 'Platform team'."
        ),
        code="invalid_team_name",
    ),
]


class TeamQuerySet(models.QuerySet["Team"]):
    def visible_to(self, user: Any) -> TeamQuerySet:
        """Teams `user` may look at: every team for system admins, their own for other
        active users (a team's name and members are not everyone's business)."""
        who = standing(user)
        if who.holds_everything:
            return self.all()
        if not who.holds_role_grants:
            return self.none()
        return self.filter(pk__in=TeamMember.objects.filter(user=user).values("team_id"))


class Team(models.Model):
    """A named group of users. A team is a member of projects with a role, like a user
    (`repositories.ProjectTeam`); each member holds that role there (the highest of their
    own and their teams' roles counts, see `accounts.permissions`). A team mirrored from a
    directory group names it in `directory_group` and its members follow the directory."""

    name = models.CharField(max_length=TEAM_NAME_MAX, validators=team_name_validators)
    description = models.TextField(blank=True, max_length=2000)
    directory_group = models.CharField(
        max_length=255, blank=True, default="", help_text=_("The LDAP group this team mirrors, if any.")
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = TeamQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["name"],
                name="team_unique_name",
                violation_error_message=_("A team with this name already exists."),
            )
        ]

    def __str__(self) -> str:
        return self.name


class TeamMember(models.Model):
    """A user in a team. A user is in a team at most once."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships", db_index=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_memberships", db_index=False
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["team", "user__username"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "user"],
                name="teammember_unique_user",
                violation_error_message=_("This user is already in the team."),
            )
        ]
        # The role lookup reads a user's teams: (user, team) serves it from the index alone.
        indexes = [models.Index(fields=["user", "team"], name="teammember_user_team")]

    def __str__(self) -> str:
        return f"{self.user} in {self.team}"


class LoginFailure(models.Model):
    """Failed logins of one account or one client address in the current window (`registry_auth.throttle`).

    In the database rather than the cache so that every process sees the same counts (the
    embedded default runs several web workers, each with its own in-memory cache) and so
    that the token service reads them in the same query as the user's row.
    """

    # "user:<sha256 of the lowercased username>" or "addr:<sha256 of the address>", truncated.
    key = models.CharField(max_length=80, primary_key=True)
    failures = models.PositiveIntegerField(default=0)
    window_ends = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key}: {self.failures} until {self.window_ends}"
