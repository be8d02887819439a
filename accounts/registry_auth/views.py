"""`GET /service/token`: the registry token endpoint (Docker token authentication).

The registry answers 401 with `WWW-Authenticate: Bearer realm=".../service/token",
service=..., scope=...`; clients call here with those parameters and Basic
credentials (or none, for anonymous) and get a JWT granting at most what they
asked and what Wharf's roles allow. Refusals are 401 with a message and audited one
by one; repeated failures are throttled (429): a password is checked against the lock
first, a personal access token or robot secret (256 random bits, not guessable) is not,
though its failures count towards the lock like any other (`authentication.authenticate`). Grants are audited in aggregate (one
event per principal, address, access set and minute, with a count: `grant_audit`).
The principal and the projects its scopes name are read in one query (`lookup`).

While a garbage collection sweeps (read-only maintenance), a request asking to push or
delete is answered 503 `UNAVAILABLE` with a message saying so and `Retry-After`, after
authentication (audited as a refusal, not counted as a failed login); pulls go on.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any
from urllib.parse import parse_qsl

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.http import http_date
from django.views.decorators.csrf import csrf_exempt

from accounts.models import ROBOT_PREFIX
from audit.context import Actor, client_ip, request_id
from audit.models import ActorKind, AuditAction
from audit.services import record

from . import grant_audit, throttle
from .authentication import MALFORMED, authenticate, parse_basic
from .grants import WRITE_ACTIONS, GrantedAccess, Principal, compute_grants, project_names, push_frozen_now
from .jwt import mint_token
from .lookup import anonymous_projects
from .scopes import MAX_SCOPES, PULL, REPOSITORY, Scope, parse_scopes

BASIC_CHALLENGE = 'Basic realm="Wharf registry"'
MAX_QUERY_FIELDS = 4 * MAX_SCOPES  # more parameters than this are ignored, not parsed
AUDITED_SCOPES = 20  # enough to see what was asked; a hostile request's 10,000 are not logged


# What `never_cache` writes, written at once: its two passes over Cache-Control cost a
# tenth of the token's own time. No answer of this endpoint may be stored on the way.
NO_STORE = "max-age=0, no-cache, no-store, must-revalidate, private"


def _json_response(body: dict[str, Any], status: int = 200, **headers: str) -> HttpResponse:
    """Compact JSON (ASCII), uncacheable, with its length: the page middleware that would
    add Content-Length does not run for this path (`middleware.TokenEndpointMiddleware`)."""
    content = json.dumps(body, separators=(",", ":")).encode()
    response = HttpResponse(content, content_type="application/json", status=status)
    response["Content-Length"] = str(len(content))
    response["Cache-Control"] = NO_STORE
    response["Expires"] = http_date(time.time())
    for name, value in headers.items():
        response[name] = value
    return response


def _error(status: int, code: str, message: str, **headers: str) -> HttpResponse:
    return _json_response({"errors": [{"code": code, "message": message}]}, status, **headers)


def _actor(request: HttpRequest, principal: Principal | None, username: str = "") -> Actor:
    ip, rid = client_ip(request), request_id(request)
    if principal is None or principal.kind == "anonymous":
        return Actor(kind=ActorKind.ANONYMOUS, name=username, ip=ip, request_id=rid)
    if principal.kind == "robot":
        return Actor(kind=ActorKind.ROBOT, name=principal.sub, ip=ip, request_id=rid)
    user = principal.user
    return Actor(kind=ActorKind.USER, name=principal.sub, ip=ip, request_id=rid, user_id=user.pk if user else None)


def _refuse(
    request: HttpRequest, username: str, reason: str, scopes: list[str], *, guessed: bool = True
) -> HttpResponse:
    """401 and an audit event; a wrong secret (`guessed`) also counts towards the lock."""
    address = client_ip(request)
    tripped = throttle.record_failure(username, address) if guessed else None
    actor = _actor(request, None, username)
    target_type = "robot" if username.startswith(ROBOT_PREFIX) else "user"
    record(
        AuditAction.REGISTRY_TOKEN_REFUSED,
        actor=actor,
        target_type=target_type,
        target_name=username,
        details={"reason": reason, "scopes": [scope[:200] for scope in scopes[:AUDITED_SCOPES]]},
    )
    if tripped is not None:
        record(
            AuditAction.REGISTRY_TOKEN_THROTTLED,
            actor=actor,
            target_type=target_type,
            target_name=username,
            details={"by": tripped.reason, "seconds": tripped.retry_after},
        )
    return _error(401, "UNAUTHORIZED", reason, **{"WWW-Authenticate": BASIC_CHALLENGE})


MAINTENANCE_MESSAGE = (
    "The registry is in read-only maintenance: a garbage collection is running. "
    "Pulls work; push or delete again when it has finished."
)
MAINTENANCE_RETRY_SECONDS = 60


def _writes(scopes: list[Scope]) -> bool:
    return any(s.type == REPOSITORY and s.actions & WRITE_ACTIONS for s in scopes)


def _maintenance(request: HttpRequest, principal: Principal, scope_params: list[str]) -> HttpResponse:
    """503 for a push or delete while a GC sweeps; audited, never counted as a failed login."""
    record(
        AuditAction.REGISTRY_TOKEN_REFUSED,
        actor=_actor(request, principal),
        target_type="robot" if principal.kind == "robot" else "user",
        target_name=principal.sub,
        details={"reason": "maintenance", "scopes": [scope[:200] for scope in scope_params[:AUDITED_SCOPES]]},
    )
    return _error(503, "UNAVAILABLE", MAINTENANCE_MESSAGE, **{"Retry-After": str(MAINTENANCE_RETRY_SECONDS)})


def _audit_grants(request: HttpRequest, principal: Principal, grants: list[GrantedAccess]) -> None:
    """Every grant is audited in aggregate (`grant_audit`); pull-only tokens are also counted per day."""
    if not grants:
        return
    if not any(set(g.access.actions) - {PULL} for g in grants if g.project_id is not None):
        throttle.count_pull_token()
    grant_audit.count_grant(_actor(request, principal), grants)


def _query(request: HttpRequest) -> tuple[str, list[str]]:
    """`service` and the `scope` values, read from at most a bounded number of parameters.

    Not `request.GET`: Django answers more than DATA_UPLOAD_MAX_NUMBER_FIELDS
    parameters with an error page, and a token request must never be one.
    """
    pieces = request.META.get("QUERY_STRING", "").split("&", MAX_QUERY_FIELDS)[:MAX_QUERY_FIELDS]
    service, scopes = "", []
    for name, value in parse_qsl("&".join(pieces), keep_blank_values=True, errors="replace"):
        if name == "scope":
            scopes.append(value)
        elif name == "service" and not service:
            service = value
    return service, scopes


def _rfc3339(timestamp: int) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat().replace("+00:00", "Z")


@csrf_exempt
def token(request: HttpRequest) -> HttpResponse:
    """Issue a registry token for the request's scopes (see the module docstring)."""
    if request.method not in ("GET", "HEAD"):
        return _error(405, "UNSUPPORTED", "Use GET.", Allow="GET, HEAD")
    service, scope_params = _query(request)
    if service and service != settings.WHARF_TOKEN_SERVICE:
        return _error(400, "UNSUPPORTED", f"Unknown service {service[:100]!r}: this is {settings.WHARF_TOKEN_SERVICE!r}.")
    scopes = parse_scopes(scope_params)
    names = project_names(scopes)
    principal = Principal.anonymous()
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header:
        projects = anonymous_projects(names)
    else:
        credentials = parse_basic(header)
        if credentials is None:
            return _error(401, "UNAUTHORIZED", MALFORMED, **{"WWW-Authenticate": BASIC_CHALLENGE})
        outcome = authenticate(credentials, names, client_ip(request))
        if outcome.lock is not None:
            lock = outcome.lock
            return _error(
                429,
                "TOOMANYREQUESTS",
                f"Too many failed logins for this {lock.reason}; try again in {lock.retry_after} seconds.",
                **{"Retry-After": str(lock.retry_after)},
            )
        if outcome.principal is None:
            return _refuse(request, credentials.username, outcome.reason, scope_params, guessed=outcome.guessed)
        principal, projects = outcome.principal, outcome.projects
    if _writes(scopes) and push_frozen_now():
        return _maintenance(request, principal, scope_params)
    grants = compute_grants(principal, scopes, projects)
    minted = mint_token(principal.sub, [g.access for g in grants])
    _audit_grants(request, principal, grants)
    body: dict[str, Any] = {
        "token": minted.token,
        "access_token": minted.token,
        "expires_in": minted.expires_in,
        "issued_at": _rfc3339(minted.issued_at),
    }
    return _json_response(body)
