"""What `make run` prints and decides before it starts anything: the banner, the first admin,
whether the virtualenv needs installing. (The real `make run` is tests/system/test_make_run.py.)"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import pytest
from django.test import Client

from accounts.services.users import ensure_first_admin
from audit.context import Actor
from portal.requirements_met import missing
from portal.welcome import Welcome, render, shared_environment
from repositories.management.commands.serve import probe_url
from tests.factories import PASSWORD, UserFactory


def _welcome(**overrides: object) -> Welcome:
    values: dict[str, object] = {
        "url": "http://127.0.0.1:8100",
        "registry_host": "127.0.0.1:5100",
        "admin_username": "admin",
        "admin_created": True,
        "generated_password": "s3cret-generated-pw",
        "environment": {"WHARF_PORT": "8100", "WHARF_REGISTRY_PORT": "5100"},
    }
    values.update(overrides)
    return Welcome(**values)  # type: ignore[arg-type]


def test_banner_is_one_box_with_the_url_login_push_and_seed_commands() -> None:
    text = render(_welcome(), up=True)
    lines = text.strip().splitlines()
    assert lines[0] == lines[-1] and set(lines[0]) == {"+", "-"}
    assert all(line.startswith("|") and line.endswith("|") and len(line) == len(lines[0]) for line in lines[1:-1])
    assert "Wharf is up: http://127.0.0.1:8100" in text
    assert "Log in:    admin / s3cret-generated-pw" in text
    assert "skopeo login --tls-verify=false 127.0.0.1:5100" in text
    assert "WHARF_PORT=8100 WHARF_REGISTRY_PORT=5100 .venv/bin/python manage.py seed_demo" in text


def test_banner_for_an_existing_admin_shows_no_password_but_how_to_reset_it() -> None:
    text = render(_welcome(admin_created=False, generated_password=None, environment={}), up=False)
    assert "Wharf is starting" in text
    assert " / " not in text.split("Log in:")[1].splitlines()[0]
    assert "an existing admin" in text
    assert ".venv/bin/python manage.py changepassword admin" in text


def test_banner_names_the_variable_when_the_password_was_given() -> None:
    text = render(_welcome(generated_password=None), up=True)
    assert "admin / the password in WHARF_ADMIN_PASSWORD" in text


def test_banner_passes_on_site_knobs_but_never_connection_urls() -> None:
    environ = {"WHARF_PORT": "8100", "DATABASE_URL": "postgres://u:pw@db/x", "WHARF_VAR_DIR": "/srv/my var"}
    assert shared_environment(environ) == {"WHARF_VAR_DIR": "/srv/my var", "WHARF_PORT": "8100"}
    assert "WHARF_VAR_DIR='/srv/my var'" in _welcome(environment=shared_environment(environ)).command("seed_demo")


def test_first_admin_is_created_once_with_a_generated_password(db: None) -> None:
    first = ensure_first_admin(actor=Actor.system("test"), username="admin")
    again = ensure_first_admin(actor=Actor.system("test"), username="other")
    assert first.created and first.generated_password
    assert Client().login(username="admin", password=first.generated_password)
    assert (again.created, again.username, again.generated_password) == (False, "admin", None)


def test_first_admin_with_a_given_password_returns_no_password(db: None) -> None:
    made = ensure_first_admin(actor=Actor.system("test"), username="root", password=PASSWORD)
    assert (made.created, made.username, made.generated_password) == (True, "root", None)


def test_an_inactive_admin_does_not_count_as_the_first_admin(db: None) -> None:
    UserFactory(username="gone", is_superuser=True, is_active=False)
    assert ensure_first_admin(actor=Actor.system("test"), username="admin").created


@pytest.mark.parametrize(
    ("bind", "url"),
    [
        ("127.0.0.1:8000", "http://127.0.0.1:8000/"),
        ("0.0.0.0:8100", "http://127.0.0.1:8100/"),
        ("[::]:8100", "http://127.0.0.1:8100/"),
        ("unix:/run/wharf.sock", None),
    ],
)
def test_serve_asks_the_web_server_on_loopback_for_wildcard_binds(bind: str, url: str | None) -> None:
    assert probe_url(bind) == url


def test_requirements_met_follows_includes_and_names_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "base.txt").write_text(f"# pinned\nDjango=={version('Django')}\n")
    (tmp_path / "dev.txt").write_text(
        "-r base.txt\nhttpx==0.0.1  # wrong version\nno-such-package-wharf==1.0\n"
        'windows-only==1.0; sys_platform == "win32"\n'
    )
    assert missing(tmp_path / "base.txt") == []
    assert missing(tmp_path / "dev.txt") == [
        f"httpx==0.0.1 (installed: {version('httpx')})",
        "no-such-package-wharf==1.0",
    ]
