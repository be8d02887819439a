"""Metrics tests: the token service's key fixtures, the webhook receiver, the API client."""

from __future__ import annotations

from tests.token_service.conftest import _isolated_throttle, _token_settings, key_files  # noqa: F401  (fixtures)
from tests.webhooks.receiver import receiver  # noqa: F401  (fixture)
