"""Build the configuration file of a CNCF Distribution registry (2.8 and 3.x).

Pure functions: parameters in, YAML text out. Used by the test fixture that starts
the real registry binary and, later, by the `registry_config` management command.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml


@dataclass(frozen=True)
class NotificationEndpoint:
    """Where the registry POSTs its events; `headers` carries the shared secret."""

    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    name: str = "wharf"
    timeout: str = "2s"
    threshold: int = 3
    backoff: str = "1s"
    # e.g. ("application/octet-stream",) to stop blob events at the source
    ignored_media_types: Sequence[str] = ()


@dataclass(frozen=True)
class TokenAuth:
    """`auth.token`: the registry trusts bearer tokens signed by the key of `rootcertbundle`."""

    realm: str
    service: str
    issuer: str
    rootcertbundle: str


def registry_config(
    *,
    storage_dir: str,
    addr: str,
    http_secret: str,
    delete_enabled: bool = True,
    read_only: bool = False,
    notifications: Sequence[NotificationEndpoint] = (),
    token_auth: TokenAuth | None = None,
    log_level: str = "warn",
    access_log: bool = False,
) -> dict[str, Any]:
    """The registry configuration as a dict (see `render_registry_config` for YAML).

    `http_secret` signs upload state; it must be the same on every instance behind
    one load balancer. `read_only` is the maintenance mode to run garbage collection.
    """
    storage: dict[str, Any] = {
        "filesystem": {"rootdirectory": storage_dir},
        "delete": {"enabled": delete_enabled},
        "maintenance": {
            "uploadpurging": {"enabled": True, "age": "168h", "interval": "24h", "dryrun": False},
            "readonly": {"enabled": read_only},
        },
    }
    config: dict[str, Any] = {
        "version": 0.1,
        "log": {"level": log_level, "accesslog": {"disabled": not access_log}},
        "storage": storage,
        "http": {
            "addr": addr,
            "secret": http_secret,
            "headers": {"X-Content-Type-Options": ["nosniff"]},
        },
    }
    if notifications:
        config["notifications"] = {
            "endpoints": [
                {
                    "name": endpoint.name,
                    "url": endpoint.url,
                    # Distribution wants each header value as a list.
                    "headers": {key: [value] for key, value in endpoint.headers.items()},
                    "timeout": endpoint.timeout,
                    "threshold": endpoint.threshold,
                    "backoff": endpoint.backoff,
                    **(
                        {"ignoredmediatypes": list(endpoint.ignored_media_types)}
                        if endpoint.ignored_media_types
                        else {}
                    ),
                }
                for endpoint in notifications
            ]
        }
    if token_auth is not None:
        config["auth"] = {
            "token": {
                "realm": token_auth.realm,
                "service": token_auth.service,
                "issuer": token_auth.issuer,
                "rootcertbundle": token_auth.rootcertbundle,
            }
        }
    return config


def render_registry_config(config: Mapping[str, Any]) -> str:
    """A config from `registry_config` as YAML text, ready to write to a file."""
    return yaml.safe_dump(dict(config), sort_keys=False, default_flow_style=False)
