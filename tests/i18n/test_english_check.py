"""The crawl's check for English left on a zh-Hans page finds a template string
that was not marked for translation, and nothing else."""

from __future__ import annotations

import pytest
from django.template import engines
from django.test import RequestFactory
from django.utils import translation

from tests.i18n.catalogues import compile_catalogues
from tests.i18n.english import english_left, english_words, literals_of, template_literals

SOURCE = """{% load i18n %}<html><body><nav>Projects</nav><main>
<h1>{% translate "Projects" %}</h1>
<p>{% blocktranslate trimmed with name=name %}Robots · {{ name }}{% endblocktranslate %}</p>
<p>No robot accounts yet.</p>
<pre>docker login</pre> {{ name }}
{% comment %}Not for readers{% endcomment %}
</main></body></html>"""


def test_the_literals_are_the_text_outside_translate_tags_and_code() -> None:
    assert literals_of(SOURCE) == {"Projects", "No robot accounts yet."}


@pytest.mark.django_db
def test_an_unmarked_template_string_is_english_left_on_a_chinese_page() -> None:
    compile_catalogues()
    template = engines["django"].from_string(SOURCE)
    with translation.override("zh-hans"):
        html = template.render({"name": "Demo project data"}, RequestFactory().get("/"))
    assert "项目" in html  # the marked strings are translated
    # The nav's "Projects" is outside <main>; the data and the code sample do not count.
    assert english_left(html, literals_of(SOURCE)) == ["No robot accounts yet."]


def test_the_templates_hold_no_unmarked_text() -> None:
    """The crawl's check in one line: no template has text outside translate tags
    but for the proper nouns listed in tests/i18n/english.py."""
    assert template_literals() == set()


PYTHON_BUILT = """<html><body><nav>Sync</nav><main>
<h1>保留策略执行</h1>
<td>deleted: retained by no rule</td>
<td translate="no">release notes for the app</td>
<code>docker push the image</code>
<p>Wharf · JSON · URL</p>
</main></body></html>"""


def test_english_built_in_python_is_found_outside_data_code_and_proper_nouns() -> None:
    # The reason's words are no template literal, so only the word check sees them;
    # the data (translate="no"), the code sample and the proper nouns do not count.
    assert english_left(PYTHON_BUILT, set()) == []
    assert english_words(PYTHON_BUILT) == ["deleted", "retained", "rule"]


def test_a_chinese_page_with_only_data_and_identifiers_has_no_english_words() -> None:
    html = '<main><p>保留：没有规则匹配此仓库</p><span translate="no">the latest build</span> `latest` sha256:abc</main>'
    assert english_words(html) == []


def test_identifiers_are_not_english_words() -> None:
    html = "<main><p>例如 app-* 或 team/**；事件 artifact.pushed；robot$acme+ci</p></main>"
    assert english_words(html) == []
