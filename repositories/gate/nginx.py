"""The nginx configuration of the gate: parameters in, config text out (pure).

nginx (Debian's `nginx-light` has `auth_request`) listens where clients pull and push:

- every `/v2/` request streams to the registry (no buffering either way: blobs of any
  size pass through as they come);
- a manifest `GET`/`HEAD` of a project with pull policies (a marker file in
  `pull_marker_dir`, kept by Wharf) first asks Wharf (`auth_request` to
  `/service/gate/pull`, the body never sent); other projects' pulls go straight through; Wharf answers 204 to let it through, or 403 with the registry error
  JSON in `X-Wharf-Gate-Error`, which nginx returns to the client as it is;
- a manifest `PUT` goes to Wharf (`/service/gate/push/...`), which judges the manifest
  and forwards it to the registry itself.

When Wharf does not answer within `timeout` (or fails), `failure` decides: `closed`
refuses (503 `UNAVAILABLE`), `open` lets the request through to the registry,
`by-project` refuses only for projects that have a marker file in `marker_dir` (Wharf
keeps one per project with policies, `services.gate.refresh_marker`), so the check needs
no reload and no call to Wharf.

`cache_seconds` > 0 keeps Wharf's answers (204 and 403 only, per method, URI and
credentials) that long in nginx, so repeated pulls of a guarded image never reach Python:
a policy change then takes up to that long to apply (plus nginx's whole-second clock: an
answer kept "1 s" is used for at most 2 s), never longer -- an expired answer is never
served again, Wharf is asked at once. Refusals repeated within that time are not counted
again. With `stale_seconds` > 0 (Wharf then sends `Cache-Control: stale-while-revalidate`
with the same number), an answer expired less than that long ago is still used while one
background request asks Wharf, so no client waits at expiry; a policy change then takes up
to `cache_seconds + stale_seconds` (+1 s) to apply.

`timing_log` (a file path) logs each manifest request nginx serves with `$request_time`
and the registry's `$upstream_response_time`: their difference is the time the gate
itself added (the benchmark reads it). Off by default: nothing is logged on the hot path.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

FAILURE_MODES = ("by-project", "closed", "open")
ERROR_HEADER = "X-Wharf-Gate-Error"
SECRET_HEADER = "X-Wharf-Gate-Secret"

UNAVAILABLE_BODY = json.dumps(
    {
        "errors": [
            {
                "code": "UNAVAILABLE",
                "message": "the policy gate in front of the registry could not reach Wharf to check this manifest; try again later",
                "detail": None,
            }
        ]
    },
    separators=(",", ":"),
)


@dataclass(frozen=True)
class GateConfig:
    listen: str  # host:port clients use
    registry: str  # host:port of the registry
    wharf: str  # host:port of Wharf (gunicorn)
    secret: str
    prefix: str  # a writable directory: pid, logs, temporary files
    marker_dir: str  # a file per project with policies: refused when Wharf is down
    pull_marker_dir: str  # a file per project with pull policies: the only ones whose pulls ask Wharf
    default_project: str = "library"
    timeout: float = 2.0
    failure: str = "by-project"
    user: str | None = None  # when nginx starts as root: the user its workers run as
    workers: str = "auto"
    cache_seconds: int = 0  # keep Wharf's answers this long (0: ask every time)
    timing_log: str | None = None  # log manifest requests' total and registry times there
    stale_seconds: int = 0  # an expired answer may serve this long more while one request refreshes it


def _quoted(value: str) -> str:
    if any(c in value for c in "'\\\n\r"):
        raise ValueError(f"cannot quote {value!r} for nginx")
    return f"'{value}'"


def _fallback(name: str, config: GateConfig, *, rewritten: bool = False) -> str:
    """A named location used when Wharf did not answer (`rewritten`: the URI was moved under
    /service/gate/push, and goes back to the client's before it reaches the registry)."""
    refuse = f"return 503 {_quoted(UNAVAILABLE_BODY)};"
    # `rewrite ... break` ends the rewrite directives, so the marker's `if` comes first.
    through = ["rewrite ^/service/gate/push(/.*)$ $1 break;"] if rewritten else []
    through.append("proxy_pass http://wharf_gate_registry;")
    if config.failure == "closed":
        lines = [refuse]
    elif config.failure == "open":
        lines = through
    else:
        lines = [f"if (-f {config.marker_dir}/$wharf_gate_project) {{ {refuse} }}", *through]
    body = "".join(f"            {line}\n" for line in ["default_type application/json;", *lines])
    return f"        location {name} {{\n{body}        }}\n"


def render_nginx_config(config: GateConfig) -> str:
    if config.failure not in FAILURE_MODES:
        raise ValueError(f"failure mode must be one of {', '.join(FAILURE_MODES)}, not {config.failure!r}")
    timeout = f"{max(int(config.timeout * 1000), 1)}ms"
    prefix = config.prefix.rstrip("/")
    user = f"user {config.user};\n" if config.user else ""
    cache_zone, cache_use = "", ""
    if config.cache_seconds > 0:
        cache_zone = (
            f"    proxy_cache_path {prefix}/decisions levels=1:2 keys_zone=wharf_gate_decisions:10m "
            "max_size=64m inactive=60s use_temp_path=off;\n"
        )
        # The key holds the credentials: whether a refusal is told depends on the client's grant.
        # Only decisions are kept (204, 403): a 5xx or a timeout is asked again the next time.
        # No `proxy_cache_use_stale updating`: it would serve an expired answer once more, however
        # long after (up to `inactive`), so a policy change would not be bounded by the kept time.
        cache_use = (
            "            proxy_buffering on;  # nginx caches only buffered answers\n"
            "            proxy_cache wharf_gate_decisions;\n"
            '            proxy_cache_key "$request_method|$request_uri|$http_authorization";\n'
            f"            proxy_cache_valid 204 403 {config.cache_seconds}s;\n"
            "            proxy_ignore_headers Cache-Control Expires Set-Cookie Vary;\n"
        )
        if config.stale_seconds > 0:
            # Bounded staleness: Wharf's `Cache-Control: stale-while-revalidate=N` lets nginx answer
            # from an answer expired less than N s ago while one background request refreshes it, so
            # no client waits for Wharf at expiry; past N s it asks Wharf as without it.
            cache_use = cache_use.replace(
                "proxy_ignore_headers Cache-Control Expires", "proxy_ignore_headers Expires"
            ) + "            proxy_cache_background_update on;\n"
    timing_format, timing_use = "", ""
    if config.timing_log:
        timing_format = (
            "    log_format wharf_gate_timing '$request_method $status $request_time "
            "\"$upstream_response_time\" $uri';\n"
        )
        timing_use = f"            access_log {_quoted(config.timing_log)} wharf_gate_timing buffer=256k flush=1s;\n"
    secret = _quoted(config.secret)
    return f"""# Written by `manage.py gate_config`; changes are lost at the next run.
{user}worker_processes {config.workers};
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}

http {{
    access_log off;
    server_tokens off;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
{timing_format}
{cache_zone}    upstream wharf_gate_registry {{ server {config.registry}; keepalive 64; }}
    upstream wharf_gate_portal {{ server {config.wharf}; keepalive 32; }}

    # The project a manifest request belongs to (single-component names: the default project).
    map $request_uri $wharf_gate_project {{
        "~^/v2/(?<gate_ns>[^/?]+)/[^?]+/manifests/[^/?]+(\\?.*)?$" $gate_ns;
        "~^/v2/[^/?]+/manifests/[^/?]+(\\?.*)?$" {config.default_project};
        default "";
    }}

    server {{
        listen {config.listen};
        client_max_body_size 0;
        chunked_transfer_encoding on;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $http_host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_request_buffering off;
        proxy_buffering off;
        proxy_read_timeout 900s;
        proxy_send_timeout 900s;

        location /v2/ {{
            proxy_pass http://wharf_gate_registry;
        }}

        location ~ ^/v2/.+/manifests/[^/]+$ {{
            client_max_body_size 5m;
            if ($request_method = PUT) {{ rewrite ^ /_wharf_gate/push$uri last; }}
            error_page 419 = @wharf_gate_pass;
            if (!-f {config.pull_marker_dir}/$wharf_gate_project) {{ return 419; }}
            auth_request /_wharf_gate/pull;
            auth_request_set $wharf_gate_error $upstream_http_{ERROR_HEADER.lower().replace("-", "_")};
            error_page 403 = @wharf_gate_denied;
            error_page 500 = @wharf_gate_down;
{timing_use}            proxy_pass http://wharf_gate_registry;
        }}

        location = /_wharf_gate/pull {{
            internal;
            proxy_pass http://wharf_gate_portal/service/gate/pull;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header Connection "";
            proxy_set_header Host {config.wharf};
            proxy_set_header X-Original-Method $request_method;
            proxy_set_header X-Original-URI $request_uri;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header {SECRET_HEADER} {secret};
            proxy_connect_timeout {timeout};
            proxy_send_timeout {timeout};
            proxy_read_timeout {timeout};
{cache_use}        }}

        location @wharf_gate_pass {{
{timing_use}            proxy_pass http://wharf_gate_registry;
        }}

        location @wharf_gate_denied {{
            default_type application/json;
            return 403 $wharf_gate_error;
        }}

{_fallback("@wharf_gate_down", config)}
        location ^~ /_wharf_gate/push/ {{
            internal;
            rewrite ^/_wharf_gate/push(/.*)$ /service/gate/push$1 break;
            proxy_pass http://wharf_gate_portal;
            proxy_request_buffering on;
            proxy_set_header Connection "";
            proxy_set_header Host {config.wharf};
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header {SECRET_HEADER} {secret};
            proxy_connect_timeout {timeout};
            proxy_read_timeout 60s;
            error_page 502 504 = @wharf_gate_push_down;
        }}

{_fallback("@wharf_gate_push_down", config, rewritten=True)}    }}
}}
"""
