"""Content negotiation for the CSV export."""

from __future__ import annotations

import json
from typing import Any

from rest_framework.renderers import BaseRenderer


class CSVRenderer(BaseRenderer):
    """Lets a client ask for `text/csv` (or `?format=csv`). The export view streams
    its body itself, and error responses are switched back to JSON by the view, so
    this only renders whatever slips through, as JSON text."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        return b"" if data is None else json.dumps(data).encode()
