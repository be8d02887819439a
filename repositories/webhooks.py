"""The endpoint the registry sends its notifications to: POST /service/notifications.

Authenticated by the shared secret that `registry_config` writes into the
registry's config (`Authorization: Bearer <WHARF_NOTIFY_SECRET>`); anything else
gets 401. Answers 200 once the events are stored, so the registry's retry queue
drains; a body that is not a notification gets 400 (retrying cannot fix it).
"""

from __future__ import annotations

import hmac
import json

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .services.events import NOTIFICATION_CONTENT_TYPES, BadNotification, handle_notification
from .tasks import enqueue_details, enqueue_signature_checks

MAX_BODY_BYTES = 8 << 20


def _authorized(request: HttpRequest) -> bool:
    expected = f"Bearer {settings.WHARF_NOTIFY_SECRET}"
    given = request.headers.get("Authorization", "")
    return hmac.compare_digest(given.encode(), expected.encode())


@csrf_exempt
@require_POST
def notifications(request: HttpRequest) -> JsonResponse:
    if not _authorized(request):
        return JsonResponse({"detail": _("Missing or wrong notification secret.")}, status=401)
    content_type = request.content_type or ""
    if content_type not in NOTIFICATION_CONTENT_TYPES:
        return JsonResponse(
            {"detail": _("Unsupported content type %(content_type)r.") % {"content_type": content_type}},
            status=415,
        )
    if int(request.headers.get("Content-Length") or 0) > MAX_BODY_BYTES:
        return JsonResponse({"detail": _("Notification too large.")}, status=413)
    try:
        body = json.loads(request.body)
        outcome = handle_notification(body)
    except (ValueError, BadNotification) as exc:
        return JsonResponse({"detail": _("Not a registry notification: %(exc)s") % {"exc": exc}}, status=400)
    enqueue_details(outcome.details_wanted)
    enqueue_signature_checks(outcome.signatures_wanted)
    return JsonResponse(
        {"handled": outcome.handled, "duplicates": outcome.duplicates, "ignored": outcome.ignored}
    )
