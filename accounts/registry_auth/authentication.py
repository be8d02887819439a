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
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password

from accounts.directory.login import directory_login_enabled, directory_user
from accounts.models import TOKEN_PREFIX, UserSource
from accounts.services.tokens import authenticate_token

from .grants import Principal

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
    towards the brute-force lock of the account.
    """

    principal: Principal | None
    reason: str = ""
    guessed: bool = True


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


def _robot_outcome(credentials: Credentials) -> Outcome:
    from .robots import authenticate_robot

    robot, reason = authenticate_robot(credentials.username, credentials.password)
    return Outcome(Principal.for_robot(robot)) if robot is not None else Outcome(None, reason)


def authenticate(credentials: Credentials) -> Outcome:
    """Check the credentials; one indexed query for a user or a token."""
    if credentials.username.startswith("robot$"):
        return _robot_outcome(credentials)
    if credentials.password.startswith(TOKEN_PREFIX):
        token = authenticate_token(credentials.password)
        if token is None or token.user.get_username() != credentials.username:
            return Outcome(None, BAD_TOKEN)
        if not token.registry_actions:
            return Outcome(None, NO_REGISTRY_SCOPE, guessed=False)
        return Outcome(Principal.for_token(token))
    user_model = get_user_model()
    user = user_model._default_manager.filter(**{user_model.USERNAME_FIELD: credentials.username}).first()
    if directory_login_enabled() and (user is None or user.source == UserSource.LDAP):
        user = directory_user(credentials.username, credentials.password)
        if user is None:
            return Outcome(None, WRONG_PASSWORD)
    elif user is None:
        # Spend the same hashing time as for a real user, so timing does not reveal who exists.
        make_password(credentials.password)
        return Outcome(None, WRONG_PASSWORD)
    elif user.source != UserSource.LOCAL or not user.check_password(credentials.password):
        return Outcome(None, WRONG_PASSWORD)
    if not user.is_active:
        return Outcome(None, DISABLED)
    return Outcome(Principal.for_user(user))
