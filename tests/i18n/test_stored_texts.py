"""Texts Wharf writes and a person reads later (retention reasons, run items, the
advisor's warnings) come out in the reader's language: what is stored is a code and its
parameters, put in words when read. The English text a run item also keeps (for the
audit and for rows written before codes were stored) stays English whatever language
started the run."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.utils import translation
from django.utils.translation import gettext_noop

from portal.stored_text import Stored, shown, shown_html, stored
from repositories.models import RetentionRunItem
from repositories.retention import Rule, TagSelector, Template
from repositories.retention.advisor import PullWarning
from repositories.retention.reasons import reason_text
from repositories.services import retention, retention_runs
from tests.factories import ProjectFactory
from tests.i18n.test_python_strings import _compiled_catalogues  # noqa: F401 (autouse fixture)
from tests.retention_runs.helpers import ACTOR, immutable, rows, rule

pytestmark = pytest.mark.django_db


def test_a_rule_in_words_follows_the_active_language() -> None:
    described = Rule(Template.LATEST_PUSHED_N, 5, tags=TagSelector(("release-*",), ("*-rc",), untagged=True))

    with translation.override("zh-hans"):
        zh = described.describe()
    assert zh == "最近推送的 5 个，匹配 `release-*` 或无标签，`*-rc` 除外"
    assert described.describe() == "5 most recently pushed matching `release-*` or untagged, except `*-rc`"


def test_a_reason_from_its_code_and_parameters_follows_the_active_language() -> None:
    params = {"rule": 2, "rule_params": Rule(Template.ALWAYS).params(), "tags": ["v1", "v2"], "estimated": True}

    with translation.override("zh-hans"):
        zh = reason_text("retained", params)
    assert zh.startswith("由规则 2 保留：始终，匹配 `**`（标签 `v1`, `v2`）；推送时间未知")
    assert reason_text("retained", params).startswith("kept by rule 2: always matching `**` (tags `v1`, `v2`); push time unknown")


def test_the_advisors_warning_follows_the_active_language() -> None:
    now = datetime(2026, 1, 10, tzinfo=UTC)
    warning = PullWarning("app", "sha256:" + "a" * 64, ("v1",), datetime(2026, 1, 7, tzinfo=UTC), deployed=True)

    with translation.override("zh-hans"):
        assert warning.describe(now) == "app（v1）3 天前仍被拉取过（在该仓库最近一次推送之后），却将被删除：它可能正在使用中"
    assert warning.describe(now) == (
        "app (v1) would be deleted but was pulled 3 days ago, after the repository's last push: it may be deployed"
    )


def test_run_items_store_the_code_and_say_it_in_the_readers_language() -> None:
    project = ProjectFactory(name="acme")
    retention.save_policy(project, ACTOR, enabled=True, schedule="", allow_empty_repository=False,
                          rules=[rule(n=1, tags=["nothing-*"])])
    retention.save_immutable_rules(project, ACTOR, rules=[immutable(tags=["v1"])], revert_protected_overwrites=False)
    rows(project, "app", {"v1": 5, "v2": 4})
    with translation.override("zh-hans"):  # started by a Chinese reader: the stored text stays English
        run = retention_runs.run_now(project, ACTOR, dry_run=True)

    items: dict[str, Any] = {i.tags[0]: i for i in RetentionRunItem.objects.filter(run=run)}
    assert (items["v1"].reason_code, items["v1"].reason_params) == ("protected", {"rule": 1, "tags": ["v1"]})
    assert items["v1"].reason == "protected: immutable rule 1 (tag `v1`)"
    assert items["v2"].reason == "deleted: retained by no rule"
    with translation.override("zh-hans"):
        assert items["v1"].reason_text == "受保护：不可变规则 1（标签 `v1`）"
        assert items["v2"].reason_text == "删除：没有规则保留它"
    assert items["v1"].reason_text == "protected: immutable rule 1 (tag `v1`)"


def test_an_item_written_before_reason_codes_shows_its_stored_text() -> None:
    item = RetentionRunItem(reason="deleted: retained by no rule")
    with translation.override("zh-hans"):
        assert item.reason_text == "deleted: retained by no rule"


def test_a_stored_message_keeps_a_remote_text_verbatim_inside_a_translated_sentence() -> None:
    remote = Stored("HTTP 503: storage went away")
    message = stored(gettext_noop("Could not delete the remote tag: %(detail)s"), detail=remote.text)
    nested = stored(gettext_noop("%(failed)s of %(total)s failed; first: %(item)s: %(reason)s"),
                    failed=1, total=2, item="acme/app:v1", reason=remote)

    assert message.text == "Could not delete the remote tag: HTTP 503: storage went away"
    assert nested.text == "1 of 2 failed; first: acme/app:v1: HTTP 503: storage went away"
    with translation.override("zh-hans"):
        assert shown(message.text, message.data) == "无法删除远程标签：HTTP 503: storage went away"
        assert str(shown_html(message.text, message.data)) == (
            '无法删除远程标签：<span translate="no">HTTP 503: storage went away</span>'
        )
        assert shown(nested.text, nested.data) == "2 个中有 1 个失败；第一个：acme/app:v1：HTTP 503: storage went away"
    assert str(shown_html("an old row's English", {})) == '<span translate="no">an old row&#x27;s English</span>'


def test_an_items_error_is_saved_with_its_message_and_shown_in_the_readers_language() -> None:
    """The pipelined run saves outcomes in one UPDATE from a VALUES list: the error's
    message data must survive it (a JSON column typed by a literal on PostgreSQL), and
    the run page shows it in the reader's language, the tag names verbatim."""
    from repositories.templatetags.stored_text import in_language

    project = ProjectFactory(name="acme")
    retention.save_policy(project, ACTOR, enabled=True, schedule="", allow_empty_repository=False,
                          rules=[rule(n=1, tags=["nothing-*"])])
    rows(project, "app", {"v1": 5, "v2": 4})
    run = retention_runs.run_now(project, ACTOR, dry_run=True)
    moved, kept = RetentionRunItem.objects.filter(run=run).order_by("id")[:2]
    retention_runs._finished(
        moved, RetentionRunItem.Outcome.SKIPPED_MOVED, retention_runs._moved([stored(gettext_noop("`%(tag)s` (gone)"), tag="v1")])
    )
    retention_runs._finished(kept, RetentionRunItem.Outcome.FAILED, "HTTP 500 from the registry")
    retention_runs._save_outcomes([moved, kept])

    moved.refresh_from_db()
    kept.refresh_from_db()
    assert moved.error == "tag(s) moved since the evaluation: `v1` (gone)"
    assert kept.error == "HTTP 500 from the registry"
    assert kept.error_i18n == {}
    with translation.override("zh-hans"):
        assert str(in_language(moved, "error")) == '评估后标签已移动：`<span translate="no">v1</span>`（已不存在）'
        assert str(in_language(kept, "error")) == '<span translate="no">HTTP 500 from the registry</span>'
    assert str(in_language(moved, "error")) == 'tag(s) moved since the evaluation: `<span translate="no">v1</span>` (gone)'
