"""Logging pieces named in `settings.LOGGING`."""

from __future__ import annotations

import logging


class RequestIdFilter(logging.Filter):
    """Adds the request id to records about a request (Django's `django.request`
    records carry it as `record.request`), so the traceback of a 500 can be found
    from the id the user saw on the error page or in `X-Request-ID`."""

    def filter(self, record: logging.LogRecord) -> bool:
        rid = getattr(getattr(record, "request", None), "request_id", None)
        if rid and not getattr(record, "request_id", None):
            record.request_id = rid
            record.msg = f"{record.msg} (request id {rid})"
        return True
