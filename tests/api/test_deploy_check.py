"""Production settings pass Django's deployment checklist."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from django.conf import settings


def test_production_settings_pass_check_deploy_without_warnings(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "WHARF_HTTPS": "true",
        "SECRET_KEY": secrets.token_hex(32),
        "ALLOWED_HOSTS": "wharf.example.com",
        "CSRF_TRUSTED_ORIGINS": "https://wharf.example.com",
        "DEBUG": "false",
        "WHARF_VAR_DIR": str(tmp_path),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    # The browser tests' conftest allows async-unsafe ORM calls in this process; a
    # production check must not inherit that (it would report async.E001).
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    python = Path(settings.BASE_DIR) / ".venv" / "bin" / "python"

    result = subprocess.run(
        [
            str(python if python.exists() else sys.executable),
            "manage.py",
            "check",
            "--deploy",
            "--fail-level",
            "WARNING",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
