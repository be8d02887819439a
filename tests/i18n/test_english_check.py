"""The crawl's check for English left on a zh-Hans page finds a template string
that was not marked for translation, and nothing else."""

from __future__ import annotations

import pytest
from django.template import engines
from django.test import RequestFactory
from django.utils import translation

from tests.i18n.catalogues import compile_catalogues
from tests.i18n.english import english_left, literals_of, template_literals

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
