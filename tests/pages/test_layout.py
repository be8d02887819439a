"""The shared layout in base.html: navigation by role, user menu, htmx wiring."""

from __future__ import annotations

import re

import pytest

from tests.support.assets import mentions_a_cdn, off_site_assets


@pytest.mark.parametrize(
    ("persona", "admin_links"), [("sysadmin", True), ("padmin", False), ("outsider", False)]
)
def test_admin_links_are_shown_to_system_admins_only(world, persona, admin_links):
    body = world.client(persona).get("/projects/").content.decode()

    assert ('href="/audit/"' in body) == admin_links
    assert ('href="/users/"' in body) == admin_links
    assert 'href="/api/docs/"' in body and 'href="/account/tokens/"' in body


def test_logout_is_a_post_form(world):
    body = world.client("developer").get("/projects/").content.decode()

    assert re.search(
        r'<form method="post" action="/logout/">\s*<input type="hidden" name="csrfmiddlewaretoken"', body
    )


def test_body_sends_the_csrf_token_with_every_htmx_request(world):
    response = world.client("developer").get("/projects/")

    token = response.context["csrf_token"]
    assert f'hx-headers=\'{{"X-CSRFToken": "{token}"}}\'' in response.content.decode()


def test_layout_loads_vendored_assets_and_has_one_modal_shell(world):
    body = world.client("developer").get("/projects/").content.decode()

    assert "/static/vendor/bootstrap-5.3.9/css/bootstrap.min.css" in body
    assert "/static/vendor/bootstrap-icons-1.13.2/bootstrap-icons.min.css" in body
    assert "/static/django_htmx/htmx-2.min.js" in body
    assert "/static/js/wharf.js" in body
    assert off_site_assets(body) == [] and not mentions_a_cdn(body)
    assert body.count('id="modal"') == 1


def test_flash_messages_are_shown_once(world):
    client = world.client("developer")

    first = client.post("/projects/new/", {"name": "flashy"}, follow=True).content.decode()
    second = client.get("/projects/flashy/").content.decode()

    assert "Project flashy created" in first
    assert "Project flashy created" not in second
