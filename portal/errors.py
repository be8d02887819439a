"""Django's error handlers (`handler400/403/404/500` in `portal.urls`).

Under `/api/` they answer JSON (`portal.api.errors.error_body`): a client of the
API never gets an HTML page. Elsewhere they render the templates, the 404 and 500
pages showing the request id so a user can quote it. Django logs every 500 with its
traceback (the `django.request` logger, whose records `portal.logging` tags with
the request id).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.template import loader
from django.utils.translation import gettext as _
from django.views import defaults

from portal.api.errors import error_body, request_id

API_PREFIX = "/api/"


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        return JsonResponse(error_body(request, _("The request was malformed.")), status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        detail = str(exception) or _("You do not have permission to perform this action.")
        return JsonResponse(error_body(request, detail), status=403)
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        return JsonResponse(error_body(request, _("Not found.")), status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if is_api(request):
        body = error_body(request, _("Server error. It was logged; quote the request id when you report it."))
        return JsonResponse(body, status=500)
    # Rendered without the request context: whatever failed may be in a context processor.
    html = loader.get_template("500.html").render({"request_id": request_id(request)})
    return HttpResponseServerError(html)
