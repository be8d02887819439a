from __future__ import annotations

from typing import Any

import pytest

from tests.webhooks.receiver import receiver  # noqa: F401  (fixture used by name)


@pytest.fixture
def allow_private(settings: Any) -> None:
    """The receiver listens on loopback, which Wharf refuses by default."""
    settings.WHARF_WEBHOOKS_ALLOW_PRIVATE = True
    settings.WHARF_WEBHOOKS_TIMEOUT = 1.0


from tests.api.conftest import api  # noqa: E402, F401  (fixture)
