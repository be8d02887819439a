"""The lists tests use the API tests' JSON client."""

from tests.api.conftest import api  # noqa: F401
