"""Content negotiation that answers an unknown `?format=` with a 400 naming it."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer


class ContentNegotiation(DefaultContentNegotiation):
    def filter_renderers(self, renderers: list[BaseRenderer], format: Any) -> list[BaseRenderer]:
        """DRF answers a format no renderer has with a 404, as if the URL were wrong;
        the URL is right and the parameter is not."""
        matching = [renderer for renderer in renderers if renderer.format == format]
        if not matching:
            formats = ", ".join(str(renderer.format) for renderer in renderers)
            raise ValidationError(
                {self.settings.URL_FORMAT_OVERRIDE: [_("Use one of: %(formats)s.") % {"formats": formats}]}
            )
        return matching
