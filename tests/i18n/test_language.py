"""Choosing the interface language: the browser's Accept-Language, the user's own
choice (account menu and `/api/v1/me/language/`), `<html lang>` and localised dates."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from audit.models import AuditAction, AuditEvent
from tests.conftest import World
from tests.i18n.catalogues import compile_catalogues

pytestmark = pytest.mark.django_db
ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}


@pytest.fixture(autouse=True, scope="module")
def _compiled() -> None:
    compile_catalogues()


def test_accept_language_chooses_chinese_for_an_anonymous_visitor(world: World) -> None:
    page = Client(headers=ZH).get("/login/")
    html = page.content.decode()
    assert '<html lang="zh-hans"' in html
    assert "登录 Wharf" in html
    assert page["Content-Language"] == "zh-hans"


def test_without_accept_language_the_pages_are_english(world: World) -> None:
    html = Client().get("/login/").content.decode()
    assert '<html lang="en' in html and "Log in to Wharf" in html


def test_the_users_own_choice_wins_over_the_browser(world: World) -> None:
    user = world.users["developer"]
    user.language = "en"
    user.save()
    client = Client(headers=ZH)
    client.force_login(user)
    html = client.get("/projects/").content.decode()
    assert '<html lang="en"' in html and ">Projects</h1>" in html


def test_the_account_menu_saves_the_language_and_audits_it(world: World) -> None:
    client = world.client("developer")
    answer = client.post("/account/language/", {"language": "zh-hans", "next": "/projects/"})
    assert answer.status_code == 302 and answer["Location"] == "/projects/"
    world.users["developer"].refresh_from_db()
    assert world.users["developer"].language == "zh-hans"
    event = AuditEvent.objects.get(action=AuditAction.USER_UPDATE, target_name="developer")
    assert event.details == {"language": {"from": "", "to": "zh-hans"}}
    html = client.get("/projects/").content.decode()
    assert '<html lang="zh-hans"' in html and ">项目</h1>" in html and "语言已保存。" in html
    # The switcher names each language in itself, whatever the page's language.
    assert ">English</button>" in html and ">简体中文</button>" in html and ">跟随浏览器</button>" in html
    # Back to the browser's language: empty.
    client.post("/account/language/", {"language": "", "next": "/projects/"})
    world.users["developer"].refresh_from_db()
    assert world.users["developer"].language == ""


def test_the_switcher_refuses_an_unknown_language_and_an_outside_next(world: World) -> None:
    client = world.client("developer")
    answer = client.post("/account/language/", {"language": "tlh", "next": "https://evil.example/"})
    assert answer.status_code == 302 and answer["Location"] == "/projects/"
    world.users["developer"].refresh_from_db()
    assert world.users["developer"].language == ""
    assert not AuditEvent.objects.filter(action=AuditAction.USER_UPDATE).exists()


def test_the_switcher_needs_a_login_and_a_post(world: World) -> None:
    assert Client().post("/account/language/", {"language": "en"}).status_code == 302
    assert world.client("developer").get("/account/language/").status_code == 405


def test_the_api_reads_and_sets_the_callers_language(world: World) -> None:
    client = world.client("guest")
    assert client.get("/api/v1/me/language/").json() == {"language": ""}
    answer = client.put("/api/v1/me/language/", {"language": "zh-hans"}, content_type="application/json")
    assert answer.status_code == 200 and answer.json() == {"language": "zh-hans"}
    bad = client.put("/api/v1/me/language/", {"language": "xx"}, content_type="application/json")
    assert bad.status_code == 400 and "language" in bad.json()
    assert Client().get("/api/v1/me/language/").status_code in (401, 403)


def test_relative_times_and_dates_follow_the_language(world: World, settings: Any) -> None:
    from django.template import Context, Template
    from django.utils import translation

    template = Template("{% load humanize %}{{ when|naturaltime }} {{ day|date:'F' }}")
    context = Context({"when": timezone.now() - timedelta(hours=3), "day": timezone.now().replace(month=3)})
    with translation.override("zh-hans"):
        text = template.render(context)
    assert "小时之前" in text and "三月" in text
