"""The registry config writer, checked by parsing its YAML and by running the real binary on it."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from repositories.registry.auth import parse_www_authenticate
from repositories.registry.config import (
    NotificationEndpoint,
    TokenAuth,
    registry_config,
    render_registry_config,
)
from tests.support.images import build_image, push
from tests.support.registry import RegistryFactory


def test_config_yaml_has_storage_deletes_notifications_and_token_auth() -> None:
    text = render_registry_config(
        registry_config(
            storage_dir="/var/lib/wharf/registry",
            addr="127.0.0.1:5000",
            http_secret="s3",
            notifications=[
                NotificationEndpoint(
                    url="http://127.0.0.1:8000/registry/events",
                    headers={"X-Wharf-Secret": "shh"},
                    ignored_media_types=("application/octet-stream",),
                )
            ],
            token_auth=TokenAuth(
                realm="http://127.0.0.1:8000/v2/token",
                service="wharf-registry",
                issuer="wharf",
                rootcertbundle="/etc/wharf/token.pem",
            ),
        )
    )
    config = yaml.safe_load(text)
    assert config["storage"]["filesystem"]["rootdirectory"] == "/var/lib/wharf/registry"
    assert config["storage"]["delete"]["enabled"] is True
    assert config["http"]["addr"] == "127.0.0.1:5000"
    [endpoint] = config["notifications"]["endpoints"]
    assert endpoint["headers"] == {"X-Wharf-Secret": ["shh"]}
    assert endpoint["ignoredmediatypes"] == ["application/octet-stream"]
    assert config["auth"]["token"]["rootcertbundle"] == "/etc/wharf/token.pem"


def test_config_without_optional_parts_has_no_notifications_or_auth() -> None:
    config = registry_config(storage_dir="/s", addr=":5000", http_secret="x", delete_enabled=False)
    assert "notifications" not in config and "auth" not in config
    assert config["storage"]["delete"]["enabled"] is False


class _Events:
    """A tiny HTTP endpoint that records what the registry POSTs to it."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], dict[str, Any]]] = []
        events = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                events.received.append((dict(self.headers), json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/events"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def events() -> Iterator[_Events]:
    endpoint = _Events()
    endpoint.thread.start()
    yield endpoint
    endpoint.server.shutdown()
    endpoint.server.server_close()


@pytest.mark.slow
def test_registry_posts_push_events_with_the_shared_secret_header(
    registry_factory: RegistryFactory, events: _Events
) -> None:
    server = registry_factory(
        notifications=[
            NotificationEndpoint(
                url=events.url,
                headers={"X-Wharf-Secret": "shh"},
                backoff="100ms",
                ignored_media_types=("application/octet-stream",),
            )
        ]
    )
    image = build_image()
    push(server.client(), "team/app", image, "v1")

    deadline = time.monotonic() + 10
    pushes: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not pushes:
        pushes = [e for _, body in events.received for e in body["events"] if e["action"] == "push"]
        time.sleep(0.05)
    assert pushes, "no push event arrived"
    headers = events.received[0][0]
    assert headers["X-Wharf-Secret"] == "shh"
    assert headers["Content-Type"].startswith("application/vnd.docker.distribution.events.v")
    assert {(e["target"]["repository"], e["target"].get("tag"), e["target"]["digest"]) for e in pushes} == {
        ("team/app", "v1", image.digest)
    }


@pytest.mark.slow
def test_registry_with_token_auth_config_challenges_with_our_realm(
    registry_factory: RegistryFactory, tmp_path: Path
) -> None:
    cert = tmp_path / "token.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(tmp_path / "token.key"), "-out", str(cert), "-days", "1", "-subj", "/CN=wharf-test"],
        check=True, capture_output=True,
    )  # fmt: skip
    server = registry_factory(
        token_auth=TokenAuth(
            realm="http://127.0.0.1:9/token", service="wharf-test", issuer="wharf", rootcertbundle=str(cert)
        )
    )
    response = httpx.get(f"{server.url}/v2/team/app/tags/list")
    assert response.status_code == 401
    [challenge] = parse_www_authenticate(response.headers["WWW-Authenticate"])
    assert (challenge.scheme, challenge.realm, challenge.service) == (
        "bearer",
        "http://127.0.0.1:9/token",
        "wharf-test",
    )
    assert challenge.scopes == ["repository:team/app:pull"]
