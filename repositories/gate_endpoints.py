"""The endpoints nginx calls for the gate (`repositories.gate`): `/service/gate/pull` and
`/service/gate/push/v2/<name>/manifests/<reference>`.

Only nginx may call them: each request carries the shared secret nginx's config holds
(`X-Wharf-Gate-Secret`); without it they answer 404, as if absent. A refusal reaches
the client as the registry's error JSON (`DENIED`, the message naming the policy).

A refusal is told only to a client that the registry would serve: with token auth, the
request must carry a valid token of this Wharf granting the action on the repository.
Without one the gate lets the request through, and the registry answers 401 (the client
then fetches a token and asks again); so nobody learns about a private image's
vulnerabilities or signatures from the gate.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import threading
import time
from typing import Any

import httpx
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from accounts.registry_auth.jwt import grants_action, verified_claims
from audit.context import request_id

from .gate.nginx import ERROR_HEADER
from .gate.policy import Decision
from .services.gate import (
    MANIFEST_LIMIT,
    Judged,
    check_pull,
    gate_actor,
    judge_push,
    observe,
    record_refusal,
    release,
)

log = logging.getLogger(__name__)

MANIFEST_PATH = re.compile(
    r"^/v2/(?P<name>[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)/manifests/(?P<reference>[A-Za-z0-9_+.:=-]{1,200})$"
)
RELAYED_HEADERS = (
    "Location",
    "Docker-Content-Digest",
    "Docker-Distribution-Api-Version",
    "WWW-Authenticate",
    "Content-Type",
    "OCI-Subject",
)


def _from_nginx(request: HttpRequest) -> bool:
    given = request.headers.get("X-Wharf-Gate-Secret", "")
    return hmac.compare_digest(given.encode(), settings.WHARF_GATE_SECRET.encode())


def _error_body(code: str, message: str) -> str:
    return json.dumps({"errors": [{"code": code, "message": message, "detail": None}]}, separators=(",", ":"))


def _client_ip(request: HttpRequest) -> str | None:
    return request.headers.get("X-Real-IP") or request.META.get("REMOTE_ADDR") or None


def _entitled(request: HttpRequest, repository: str, action: str) -> tuple[bool, str | None]:
    """Whether the client may be told about `repository` (see the module docstring), and the
    token's subject."""
    if not settings.WHARF_REGISTRY_TOKEN_AUTH:
        return True, None
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return False, None
    claims = verified_claims(header[len("Bearer ") :].strip())
    if claims is None or not grants_action(claims, repository, action):
        return False, None
    return True, str(claims.get("sub") or "")


def _refused(request: HttpRequest, judged: Judged, action: str) -> bool:
    """Whether to refuse: the client is entitled to know; the refusal is audited then."""
    entitled, subject = _entitled(request, judged.repository, action)
    if not entitled:
        return False
    try:
        record_refusal(judged, gate_actor(subject, _client_ip(request), request_id(request)))
    except Exception:  # the refusal stands even if its event cannot be written
        log.exception("Could not audit a gate refusal")
    return True


@csrf_exempt
@require_GET
def gate_pull(request: HttpRequest) -> HttpResponse:
    """nginx's `auth_request`: 204 lets the manifest GET/HEAD through, 403 refuses it."""
    if not _from_nginx(request):
        return HttpResponse(status=404)
    started = time.perf_counter()
    uri = request.headers.get("X-Original-URI", "").split("?", 1)[0]
    match = MANIFEST_PATH.match(uri)
    if match is None or request.headers.get("X-Original-Method", "GET") not in ("GET", "HEAD"):
        return HttpResponse(status=204)  # not a manifest read: the registry judges it
    judged = Judged("pull", match["name"], match["reference"], check_pull(match["name"], match["reference"]))
    observe(judged, started)
    if judged.decision.allowed or not _refused(request, judged, "pull"):
        response = HttpResponse(status=204)
    else:
        response = HttpResponse(status=403)
        response[ERROR_HEADER] = _error_body("DENIED", judged.decision.message)
    if settings.WHARF_GATE_DECISION_STALE > 0:  # read by nginx only when its config allows it
        response["Cache-Control"] = f"stale-while-revalidate={settings.WHARF_GATE_DECISION_STALE}"
    return response


_client_lock = threading.Lock()
_forwarder: httpx.Client | None = None


def _registry() -> httpx.Client:
    global _forwarder
    with _client_lock:
        if _forwarder is None or str(_forwarder.base_url).rstrip("/") != settings.REGISTRY_URL.rstrip("/"):
            _forwarder = httpx.Client(base_url=settings.REGISTRY_URL, timeout=settings.REGISTRY_TIMEOUT)
        return _forwarder


def _json_response(status: int, code: str, message: str) -> HttpResponse:
    return HttpResponse(_error_body(code, message), status=status, content_type="application/json")


def _forward(request: HttpRequest, path: str, body: bytes) -> HttpResponse:
    headers = {
        name: request.headers[name]
        for name in ("Authorization", "Content-Type", "User-Agent")
        if name in request.headers
    }
    forwarded_host = request.headers.get("X-Forwarded-Host")
    if forwarded_host:
        headers["Host"] = forwarded_host  # the registry writes Location with the host clients use
    try:
        answer = _registry().put(path, content=body, headers=headers)
    except httpx.HTTPError as exc:
        log.warning("The gate could not forward a manifest to the registry: %s", exc)
        return _json_response(
            503, "UNAVAILABLE", "the registry behind the gate did not answer; try again later"
        )
    response = HttpResponse(answer.content, status=answer.status_code)
    for name in RELAYED_HEADERS:
        if name in answer.headers:
            response[name] = answer.headers[name]
    return response


@csrf_exempt
@require_http_methods(["PUT"])
def gate_push(request: HttpRequest, path: str) -> HttpResponse:
    """A manifest PUT handed over by nginx: refused by policy, or forwarded to the registry."""
    if not _from_nginx(request):
        return HttpResponse(status=404)
    started = time.perf_counter()
    uri = "/" + path
    match = MANIFEST_PATH.match(uri)
    if match is None:
        return _json_response(400, "NAME_INVALID", "invalid repository name or manifest reference")
    if int(request.headers.get("Content-Length") or 0) > MANIFEST_LIMIT:
        return _json_response(413, "SIZE_INVALID", f"a manifest may be at most {MANIFEST_LIMIT} bytes")
    # Read from the stream: `request.body` would refuse bodies over DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB).
    body = request.read(MANIFEST_LIMIT + 1)
    if len(body) > MANIFEST_LIMIT:
        return _json_response(413, "SIZE_INVALID", f"a manifest may be at most {MANIFEST_LIMIT} bytes")
    decision: Decision
    decision, reservation = judge_push(match["name"], match["reference"], body)
    judged = Judged("push", match["name"], match["reference"], decision)
    observe(judged, started)
    if not decision.allowed and _refused(request, judged, "push"):
        return _json_response(403, "DENIED", decision.message)
    response = _forward(request, uri, body)
    if not 200 <= response.status_code < 300:
        release(reservation)  # nothing was stored: the quota it held is free again
    return response


def reset_forwarder() -> Any:
    """Drop the pooled client (tests that move REGISTRY_URL)."""
    global _forwarder
    with _client_lock:
        if _forwarder is not None:
            _forwarder.close()
        _forwarder = None
