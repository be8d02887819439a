"""Read-only maintenance during a garbage collection: a real skopeo push through the
token service is refused with a message saying why, while pulls go on.

The collector Wharf runs is wrapped by a script that tries the push while the run
holds the push freeze (the collector's first, dry-run pass), so the refusal is the
one a client meets during a real GC, not a simulated flag.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from audit.context import Actor
from audit.models import AuditAction, AuditEvent
from repositories.models import GcRun
from repositories.services import gc
from tests.conftest import World
from tests.factories import PASSWORD
from tests.support.images import build_image, write_oci_layout
from tests.support.registry import REGISTRY_BINARY, RegistryServer

pytestmark = pytest.mark.slow


def _skopeo_env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "REGISTRY_AUTH_FILE": str(tmp_path / "auth.json")}


def _push(
    layout: Path, server: RegistryServer, reference: str, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "skopeo",
            "--insecure-policy",
            "copy",
            "--dest-tls-verify=false",
            f"--dest-creds=developer:{PASSWORD}",
            f"oci:{layout}:v1",
            f"docker://{server.host}/{reference}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


def test_a_skopeo_push_during_gc_is_refused_with_a_maintenance_message_and_pulls_go_on(
    world: World, token_registry: RegistryServer, live_server: Any, settings: Any, tmp_path: Path
) -> None:
    layout = write_oci_layout(tmp_path / "layout", {"v1": build_image(labels={"test": "gc-maintenance"})})
    env = _skopeo_env(tmp_path)
    first = _push(layout, token_registry, "acme/app:v1", env)
    assert first.returncode == 0, first.stderr

    # The collector, wrapped: during its first pass (the run holds the freeze) try a push,
    # a pull-only token and a push-scoped token, then collect for real.
    out = tmp_path / "during"
    out.mkdir()
    skopeo_args = (
        f"skopeo --insecure-policy copy --dest-tls-verify=false --dest-creds=developer:{PASSWORD} "
        f"oci:{layout}:v1 docker://{token_registry.host}/acme/app:v2"
    )
    token = f"{live_server.url}/service/token?service=wharf-registry"
    wrapper = tmp_path / "registry-wrapper.sh"
    wrapper.write_text(
        "#!/bin/sh\n"
        f"if [ ! -e {out}/push.rc ]; then\n"
        f"  {skopeo_args} >{out}/push.out 2>&1; echo $? >{out}/push.rc\n"
        f'  curl -s -o /dev/null -w "%{{http_code}}" -u developer:{PASSWORD} "{token}&scope=repository:acme/app:pull" >{out}/pull.code\n'
        f'  curl -s -u developer:{PASSWORD} "{token}&scope=repository:acme/app:pull,push" >{out}/push.body\n'
        "fi\n"
        f'exec {shutil.which(REGISTRY_BINARY) or REGISTRY_BINARY} "$@"\n'
    )
    wrapper.chmod(0o755)
    settings.WHARF_REGISTRY_BINARY = str(wrapper)
    settings.WHARF_REGISTRY_CONFIG = str(token_registry.config_path)

    run = gc.claim_gc(gc.request_gc(actor=Actor.system("admin"), dry_run=True).pk)
    assert run is not None
    assert gc.execute_gc(run).status == GcRun.Status.SUCCEEDED, run.message

    assert (out / "push.rc").read_text().strip() != "0", "the push during the sweep must fail"
    said = (out / "push.out").read_text()
    assert "read-only maintenance" in said or "503" in said, said
    assert (out / "pull.code").read_text() == "200", "pull tokens are still issued"
    assert "read-only maintenance: a garbage collection is running" in (out / "push.body").read_text()
    refusals = AuditEvent.objects.filter(
        action=AuditAction.REGISTRY_TOKEN_REFUSED, details__reason="maintenance"
    )
    assert refusals.exists() and refusals.first().actor_name == "developer"

    after = _push(layout, token_registry, "acme/app:v2", env)
    assert after.returncode == 0, after.stderr  # the freeze ends with the run


def test_the_token_endpoint_answers_503_with_retry_after_while_frozen(world: World, client: Any) -> None:
    gc.cache.set(gc.PUSH_FREEZE_KEY, 1)
    try:
        auth = {
            "HTTP_AUTHORIZATION": "Basic "
            + __import__("base64").b64encode(f"developer:{PASSWORD}".encode()).decode()
        }
        answer = client.get(
            "/service/token", {"service": "wharf-registry", "scope": "repository:acme/app:pull,push"}, **auth
        )
        assert answer.status_code == 503 and answer["Retry-After"] == "60"
        [error] = answer.json()["errors"]
        assert error["code"] == "UNAVAILABLE" and "garbage collection" in error["message"]
        pull = client.get(
            "/service/token", {"service": "wharf-registry", "scope": "repository:acme/app:pull"}, **auth
        )
        assert pull.status_code == 200
        wrong = {"HTTP_AUTHORIZATION": "Basic " + __import__("base64").b64encode(b"developer:nope").decode()}
        refused = client.get("/service/token", {"scope": "repository:acme/app:pull,push"}, **wrong)
        assert refused.status_code == 401, "credentials are checked before maintenance is told"
    finally:
        gc.cache.delete(gc.PUSH_FREEZE_KEY)
