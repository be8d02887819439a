"""Text built in Python (form errors, service and API messages, flash messages, choices
labels, the pure engines' messages, Slack text) comes out in Chinese for a zh-Hans
reader and stays English by default.

The apps' catalogues (`<app>/locale/zh_Hans/LC_MESSAGES/django.po`) are compiled here
when their `.mo` is missing or older (with polib, so the tests need no `msgfmt`), and
checked for placeholders: a translation naming a placeholder its msgid lacks would
raise `KeyError` in the middle of a request.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polib
import pytest
from django.conf import settings as django_settings
from django.utils import translation
from django.utils.translation import trans_real

from accounts.forms import TokenCreateForm
from accounts.permissions import Role
from audit.models import AuditAction
from repositories.globs import PatternKind, validate_pattern
from repositories.models import Project
from repositories.retention.policy import Template, validate_count
from tests.conftest import World
from webhooks.payloads import EventData, render

APPS = ["accounts", "audit", "replication", "repositories", "webhooks"]
ROOT = Path(django_settings.BASE_DIR)
PLACEHOLDER = re.compile(r"%\(\w+\)[sdr]|\{\w+\}")


def catalogue(app: str) -> Path:
    return ROOT / app / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def _compile_if_stale(po_path: Path) -> bool:
    mo_path = po_path.with_suffix(".mo")
    if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
        return False
    # Written aside and renamed, so two test runs at once never read half a file.
    fd, tmp = tempfile.mkstemp(dir=po_path.parent, suffix=".mo")
    os.close(fd)
    polib.pofile(str(po_path)).save_as_mofile(tmp)
    os.replace(tmp, mo_path)
    return True


@pytest.fixture(autouse=True, scope="module")
def _compiled_catalogues() -> Iterator[None]:
    if any([_compile_if_stale(catalogue(app)) for app in APPS]):
        # Django keeps loaded catalogues per process; forget them so the new files count.
        trans_real._translations = {}
        trans_real._default = None
    yield


@pytest.fixture
def zh_middleware(settings: Any) -> None:
    """Accept-Language chooses the language (the language settings may not be on this branch)."""
    settings.LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
    if "django.middleware.locale.LocaleMiddleware" not in settings.MIDDLEWARE:
        middleware = list(settings.MIDDLEWARE)
        middleware.insert(
            middleware.index("django.middleware.common.CommonMiddleware"),
            "django.middleware.locale.LocaleMiddleware",
        )
        settings.MIDDLEWARE = middleware


# --- the catalogues ----------------------------------------------------------------------


@pytest.mark.parametrize("app", APPS)
def test_catalogue_translations_use_exactly_the_msgids_placeholders(app: str) -> None:
    wrong = []
    for entry in polib.pofile(str(catalogue(app))):
        expected = set(PLACEHOLDER.findall(entry.msgid)) | set(PLACEHOLDER.findall(entry.msgid_plural or ""))
        for text in [entry.msgstr, *entry.msgstr_plural.values()]:
            if text and set(PLACEHOLDER.findall(text)) != expected:
                wrong.append((entry.msgid, text))
    assert wrong == []


@pytest.mark.parametrize("app", APPS)
def test_catalogue_has_one_plural_form_and_no_fuzzy_header(app: str) -> None:
    po = polib.pofile(str(catalogue(app)))

    assert po.metadata["Plural-Forms"] == "nplurals=1; plural=0;"
    assert not po.metadata_is_fuzzy  # a fuzzy header is left out of the .mo, plural forms with it


# --- forms, choices and the pure engines ------------------------------------------------


def test_form_error_is_chinese_under_zh_hans_and_english_by_default() -> None:
    with translation.override("zh-hans"):
        zh = [str(message) for message in TokenCreateForm(data={"name": "ci"}).errors["scopes"]]
    en = [str(message) for message in TokenCreateForm(data={"name": "ci"}).errors["scopes"]]

    assert zh == ["请至少选择一个范围。"]
    assert en == ["Choose at least one scope."]


def test_choices_labels_follow_the_active_language() -> None:
    with translation.override("zh-hans"):
        assert str(Role.PROJECT_ADMIN.label) == "项目管理员"
        assert str(AuditAction.ARTIFACT_DELETE.label) == "制品已删除"
    assert str(Role.PROJECT_ADMIN.label) == "Project Admin"


def test_pure_engines_messages_are_translated_without_importing_django() -> None:
    with translation.override("zh-hans"):
        assert validate_pattern(" v1", PatternKind.TAG) == "请去掉模式两端的空格。"
        assert validate_count(Template.LATEST_PUSHED_N, 20_000) == "最多输入 10,000 个制品。"
    assert validate_pattern(" v1", PatternKind.TAG) == "Remove the spaces around the pattern."
    assert validate_count(Template.LATEST_PUSHED_N, 20_000) == "Enter at most 10,000 artifacts."


def test_pure_modules_import_nothing_from_django() -> None:
    for module in ["globs.py", "retention/policy.py", "retention/reasons.py", "retention/decisions.py",
                   "retention/advisor.py", "signatures/keys.py", "text.py"]:
        source = (ROOT / "repositories" / module).read_text()
        assert not re.search(r"^\s*(from|import) django", source, re.M), module


# --- requests: forms, API errors, flash messages -----------------------------------------


def test_page_form_error_follows_accept_language(world: World, zh_middleware: None) -> None:
    client = world.client("developer")

    zh = client.post("/projects/new/", {"name": "acme"}, HTTP_ACCEPT_LANGUAGE="zh-Hans")
    en = client.post("/projects/new/", {"name": "acme"}, HTTP_ACCEPT_LANGUAGE="en")

    assert zh.context["form"].errors["name"] == ["同名项目已存在。"]
    assert en.context["form"].errors["name"] == ["A project with this name already exists."]


def test_api_400_field_error_is_chinese_for_a_zh_hans_client(world: World, zh_middleware: None) -> None:
    client = world.client("developer")

    zh = client.post(
        "/api/v1/projects/", {"name": "acme"}, content_type="application/json", HTTP_ACCEPT_LANGUAGE="zh-Hans"
    )
    en = client.post("/api/v1/projects/", {"name": "acme"}, content_type="application/json")

    assert zh.status_code == en.status_code == 400
    assert zh.json()["name"] == ["同名项目已存在。"]
    assert en.json()["name"] == ["A project with this name already exists."]


def test_api_error_detail_is_chinese_for_a_zh_hans_client(world: World, zh_middleware: None) -> None:
    client = world.client("outsider")

    zh = client.get("/api/v1/projects/acme/", HTTP_ACCEPT_LANGUAGE="zh-Hans")
    en = client.get("/api/v1/projects/acme/")

    assert zh.status_code == en.status_code == 404
    assert zh.json()["detail"] == "项目不存在。"
    assert en.json()["detail"] == "No such project."


def test_api_403_detail_names_the_project_in_the_chinese_sentence(world: World, zh_middleware: None) -> None:
    response = world.client("guest").patch(
        "/api/v1/projects/acme/",
        {"description": "x"},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="zh-Hans",
    )

    assert response.status_code == 403
    assert response.json()["detail"] == "你在 acme 中的角色不允许此操作。"


def test_flash_message_is_chinese_under_zh_hans(world: World, zh_middleware: None) -> None:
    client = world.client("developer")

    response = client.post("/projects/new/", {"name": "fresh"}, HTTP_ACCEPT_LANGUAGE="zh-Hans", follow=True)

    assert Project.objects.filter(name="fresh").exists()
    assert [m.message for m in response.context["messages"]] == ["项目 fresh 已创建。你是它的项目管理员。"]


def test_flash_message_stays_english_by_default(world: World, zh_middleware: None) -> None:
    response = world.client("developer").post("/projects/new/", {"name": "fresh"}, follow=True)

    assert [m.message for m in response.context["messages"]] == [
        "Project fresh created. You are its Project Admin."
    ]


def test_plural_flash_message_uses_the_single_chinese_form(world: World, zh_middleware: None) -> None:
    with translation.override("zh-hans"):
        text = translation.ngettext(
            "Deleted %(count)s tag from %(repository)s: %(names)s.",
            "Deleted %(count)s tags from %(repository)s: %(names)s.",
            3,
        ) % {"count": 3, "repository": "acme/app", "names": "a, b, c"}

    assert text == "已从 acme/app 删除 3 个标签：a, b, c。"


# --- text sent to people outside a request ------------------------------------------------


def _slack_text(event: str = "artifact.pushed") -> str:
    data = EventData(
        event=event,
        event_id="e1",
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
        operator="alice",
        project="acme",
        repository="acme/app",
        tag="1.0",
    )
    return str(render(data, "slack", site_url="http://wharf.test", registry_host="reg.test")["text"])


def test_slack_text_is_in_the_sites_language_not_the_requests(settings: Any) -> None:
    with translation.override("zh-hans"):
        assert _slack_text() == "*Artifact pushed*: `acme/app:1.0` by alice"
    settings.LANGUAGE_CODE = "zh-hans"

    assert _slack_text() == "*制品已推送*：`acme/app:1.0`，操作者 alice"


def test_other_webhook_formats_stay_machine_readable(settings: Any) -> None:
    settings.LANGUAGE_CODE = "zh-hans"
    data = EventData(
        event="artifact.pushed",
        event_id="e1",
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
        operator="alice",
        project="acme",
        repository="acme/app",
        tag="1.0",
    )

    body = json.dumps(render(data, "harbor", site_url="http://wharf.test", registry_host="reg.test"))

    assert not re.search(r"[\u4e00-\u9fff]", body)
