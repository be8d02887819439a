"""The API tests' JSON clients, for the label tests that call the API too."""

from tests.api.conftest import _fast_passwords, api  # noqa: F401  (fixtures, used by name)
