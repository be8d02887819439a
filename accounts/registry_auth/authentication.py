"""Who is asking: the Basic credentials of a token request, checked.

The password may be the user's password (Django's slow hasher, by design) or a
personal access token `wharf_...` (a fast SHA-256 lookup: the secret has 256 bits
of entropy, so a slow hash would buy nothing and cost every CI pipeline) with a
registry scope, which then caps the grants (`Principal.token_actions`). Robot
accounts (`robot$...`) are checked the same fast way.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password

from accounts.directory.login import directory_login_enabled, directory_user
from accounts.models import ROBOT_PREFIX, TOKEN_PREFIX, ApiToken, UserSource, hash_token_secret

from . import lookup, password_cache, throttle
from .grants import Principal
from .last_used import touch_last_used

MAX_USERNAME = 150
MAX_PASSWORD = 1024  # hashing a megabyte-long "password" is a cheap way to burn our CPU

WRONG_PASSWORD = "Incorrect username or password."
DISABLED = "This account is disabled."
BAD_TOKEN = "The access token is invalid, expired or revoked, or belongs to another user."
MALFORMED = "Malformed credentials: send HTTP Basic (username and password or access token)."
NO_REGISTRY_SCOPE = (
    "This access token has no registry scope: create a token with 'read_registry' (pull) "
    "or 'write_registry' (pull, push, delete) to use it with docker, podman or skopeo."
)


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str


@dataclass(frozen=True)
class Outcome:
    """A principal, or the reason (shown to the client) why there is none.

    `guessed` is False when the secret was right but may not be used here (a token
    without a registry scope): that is no password guess, so it does not count
    towards the brute-force lock of the account. `lock` is set, and nothing was
    checked, when a password was tried on a locked account or from a locked address.
    """

    principal: Principal | None
    reason: str = ""
    guessed: bool = True
    projects: lookup.Projects = field(default_factory=dict)
    lock: throttle.Lock | None = None


def parse_basic(header: str) -> Credentials | None:
    """The credentials of an `Authorization: Basic ...` header, or None when malformed."""
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, sep, password = decoded.partition(":")
    if not sep or not username or len(username) > MAX_USERNAME or len(password) > MAX_PASSWORD:
        return None
    return Credentials(username, password)


def _robot_outcome(credentials: Credentials, names: Sequence[str]) -> Outcome:
    from .robots import authenticate_robot

    robot, reason, projects = authenticate_robot(credentials.username, credentials.password, names)
    if robot is None:
        return Outcome(None, reason)
    return Outcome(Principal.for_robot(robot), projects=projects)


def _token_outcome(credentials: Credentials, names: Sequence[str]) -> Outcome:
    if not credentials.password.startswith(TOKEN_PREFIX):
        return Outcome(None, BAD_TOKEN)
    token, projects = lookup.token_by_hash(hash_token_secret(credentials.password), names)
    # An inactive user's tokens are unusable, with the same answer as a wrong one (`ApiToken.usable`).
    if token is None or not token.user.is_active or token.user.get_username() != credentials.username:
        return Outcome(None, BAD_TOKEN)
    if not token.registry_actions:
        return Outcome(None, NO_REGISTRY_SCOPE, guessed=False)
    touch_last_used(ApiToken, token.pk)
    return Outcome(Principal.for_token(token), projects=projects)


def _password_outcome(credentials: Credentials, names: Sequence[str], address: str | None) -> Outcome:
    # The lock comes with the user's row; it is checked before any password is.
    user, projects, lock = lookup.user_and_lock(credentials.username, names, address)
    if user is None:
        lock = throttle.check(credentials.username, address)
    if lock is not None:
        return Outcome(None, lock=lock, guessed=False)
    if directory_login_enabled() and (user is None or user.source == UserSource.LDAP):
        # The directory decides (and refreshes the user's name, e-mail and teams), so a
        # user disabled or removed there is refused here too; no password cache for it.
        if directory_user(credentials.username, credentials.password) is None:
            return Outcome(None, WRONG_PASSWORD)
        user, projects = lookup.user_by_username(credentials.username, names)
        if user is None:
            return Outcome(None, WRONG_PASSWORD)
    elif user is None:
        # Spend the same hashing time as for a real user, so timing does not reveal who exists.
        make_password(credentials.password)
        return Outcome(None, WRONG_PASSWORD)
    elif user.source != UserSource.LOCAL:
        # Directory and OIDC accounts have no local password to check.
        return Outcome(None, WRONG_PASSWORD)
    elif not password_cache.verified(credentials.username, credentials.password, user.pk, user.password):
        with password_cache.one_check_at_a_time(credentials.username, credentials.password):
            # Another thread may have verified the same credentials while this one waited.
            if not password_cache.verified(credentials.username, credentials.password, user.pk, user.password):
                if not user.check_password(credentials.password):
                    return Outcome(None, WRONG_PASSWORD)
                # check_password may have upgraded the stored hash: remember the one now stored.
                password_cache.remember(credentials.username, credentials.password, user.pk, user.password)
    if not user.is_active:
        return Outcome(None, DISABLED)
    return Outcome(Principal.for_user(user), projects=projects)


def authenticate(credentials: Credentials, project_names: Iterable[str] = (), address: str | None = None) -> Outcome:
    """Check the credentials and read the projects named by the scopes: one query.

    `Outcome.projects` holds the facts `compute_grants` needs for those projects, read
    in the same statement as the principal's own row.

    Only a password is held against the brute-force lock (of the account and of the
    client's `address`, read in that statement too). A personal access token or a robot's
    secret carries 256 random bits: a lock in front of it protects nothing, so a lock on
    the account or the address does not stop a valid token; wrong ones are still refused
    and counted towards the lock.
    """
    names = sorted(set(project_names))
    if credentials.username.startswith(ROBOT_PREFIX):
        return _robot_outcome(credentials, names)
    if credentials.password.startswith(TOKEN_PREFIX):
        return _token_outcome(credentials, names)
    return _password_outcome(credentials, names, address)
