from __future__ import annotations

import httpx
import pytest

from repositories.registry.errors import (
    RegistryUnavailable,
    error_from_response,
    error_from_transport,
    is_transient_status,
)


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_overload_and_server_errors_are_transient(status: int) -> None:
    assert is_transient_status(status)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 413])
def test_client_errors_are_permanent(status: int) -> None:
    assert not is_transient_status(status)


def test_error_carries_registry_code_and_message() -> None:
    response = httpx.Response(
        404, json={"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown", "detail": {}}]}
    )
    error = error_from_response(response, "manifest team/app:v1")
    assert (error.transient, error.status, error.code) == (False, 404, "MANIFEST_UNKNOWN")
    assert error.message == "manifest team/app:v1: manifest unknown"
    assert "MANIFEST_UNKNOWN" in str(error)


def test_server_error_without_json_body_is_registry_unavailable() -> None:
    error = error_from_response(httpx.Response(502, content=b"<html>bad gateway</html>"), "catalog")
    assert isinstance(error, RegistryUnavailable)
    assert (error.transient, error.status, error.code) == (True, 502, None)


def test_connection_refused_is_transient_without_status() -> None:
    error = error_from_transport(httpx.ConnectError("refused"), "ping")
    assert (error.transient, error.status) == (True, None)
    assert "unreachable" in error.message
