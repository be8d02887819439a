"""Robot pages and API: the token service's key and throttle fixtures apply here too,
so tests can ask `/service/token` with a robot's credentials; `api` gives JSON clients."""

from __future__ import annotations

from tests.api.conftest import api  # noqa: F401  (fixture)
from tests.token_service.conftest import (  # noqa: F401  (fixtures)
    _isolated_throttle,
    _token_settings,
    key_files,
    token_registry,
)
