"""Single sign-on once in Chromium: Wharf's login page, the real OpenID Provider's login
form (django-oauth-toolkit, its own process), and back to Wharf signed in, through the
redirects a browser follows (authorization code flow with PKCE)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from accounts.directory.config import OIDC_BACKEND, oidc_settings
from accounts.models import Team, User, UserSource
from tests.support.oidc import CLIENT_ID, CLIENT_SECRET, OidcProvider

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:No directory at"),
]

PETE = {
    "email": "pete@wharf.test",
    "password": "pete-pw-1234",
    "given": "Pete",
    "family": "Perez",
    "groups": ["developers"],
}


@pytest.fixture
def sso(live_server: Any, tmp_path: Path, settings: Any) -> Iterator[OidcProvider]:
    """A provider whose client may come back to the live server, and Wharf configured for it."""
    provider = OidcProvider(tmp_path, {"pete": PETE}, f"{live_server.url}/login/sso/callback/").start()
    try:
        configured = oidc_settings(
            {
                "WHARF_OIDC_DISCOVERY_URL": provider.discovery,
                "WHARF_OIDC_CLIENT_ID": CLIENT_ID,
                "WHARF_OIDC_CLIENT_SECRET": CLIENT_SECRET,
                "WHARF_OIDC_MIRROR_GROUPS": "developers",
            }
        )
        assert configured["WHARF_OIDC_PROBLEMS"] == []
        for key, value in configured.items():
            setattr(settings, key, value)
        settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, OIDC_BACKEND]
        yield provider
    finally:
        provider.stop()


def test_single_sign_on_in_chromium_lands_signed_in_on_the_projects_page(
    transactional_db: Any, live_server: Any, sso: OidcProvider, page: Any
) -> None:
    page.goto(f"{live_server.url}/login/")
    page.click("#login-sso")
    page.wait_for_url(re.compile(re.escape(sso.url)))  # the provider's own login form
    page.fill("#id_username", "pete")
    page.fill("#id_password", str(PETE["password"]))
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(live_server.url) + r"/projects/$"))

    assert page.locator("h1").inner_text() == "Projects"
    assert page.locator("#user-menu").inner_text().strip() == "pete"
    pete = User.objects.get(username="pete")
    assert (pete.source, pete.email, pete.first_name) == (UserSource.OIDC, "pete@wharf.test", "Pete")
    assert list(Team.objects.filter(memberships__user=pete).values_list("name", flat=True)) == ["developers"]
