"""Drive `skopeo`, a real registry client, against the test registry (plain HTTP)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.support.registry import RegistryServer


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    # --insecure-policy: tests must not depend on the machine's /etc/containers/policy.json.
    return subprocess.run(
        ["skopeo", "--insecure-policy", *args], capture_output=True, text=True, timeout=60, check=False
    )


def copy_from_layout(layout: Path, tag: str, server: RegistryServer, reference: str) -> None:
    """``skopeo copy --all oci:LAYOUT:TAG docker://HOST/REFERENCE`` (digests preserved)."""
    result = _run(
        "copy",
        "--all",
        "--dest-tls-verify=false",
        f"oci:{layout}:{tag}",
        f"docker://{server.host}/{reference}",
    )
    if result.returncode != 0:
        raise AssertionError(f"skopeo copy failed: {result.stderr}")


def inspect(server: RegistryServer, reference: str) -> dict[str, Any] | None:
    """``skopeo inspect`` of HOST/REFERENCE, or None when the image cannot be found."""
    result = _run("inspect", "--tls-verify=false", f"docker://{server.host}/{reference}")
    if result.returncode != 0:
        if "manifest unknown" in result.stderr or "not found" in result.stderr:
            return None
        raise AssertionError(f"skopeo inspect failed: {result.stderr}")
    value: dict[str, Any] = json.loads(result.stdout)
    return value


def pull_to_dir(server: RegistryServer, reference: str, directory: Path) -> None:
    """``skopeo copy`` HOST/REFERENCE into a `dir:` destination: every blob is fetched."""
    result = _run("copy", "--src-tls-verify=false", f"docker://{server.host}/{reference}", f"dir:{directory}")
    if result.returncode != 0:
        raise AssertionError(f"skopeo pull failed: {result.stderr}")
