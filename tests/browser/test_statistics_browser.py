"""The Statistics tab in Chromium, light and dark: the three SVG charts draw at the page's
width, their colours come from the theme (a bar or line never matches the background),
and the tables fold open. Leaves screenshots in test-artifacts/."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from repositories.models import ProjectDailyStats
from tests.browser.conftest import ARTIFACTS
from tests.factories import PASSWORD, MembershipFactory, ProjectFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.filterwarnings("ignore:No directory at")]

COLOURS = """(selector) => {
  const el = document.querySelector(selector);
  const style = getComputedStyle(el);
  return {fill: style.fill, stroke: style.stroke, body: getComputedStyle(document.body).backgroundColor};
}"""


def _month_of_statistics(project) -> None:
    today = timezone.localdate()
    rows = []
    for i in range(30):
        if i in (10, 11):
            continue  # two days Wharf did not record: a gap in the lines
        rows.append(
            ProjectDailyStats(
                project=project,
                day=today - timedelta(days=i),
                artifacts=40 - i,
                logical_bytes=(400 - i * 7) * 1024**2,
                unique_bytes=(250 - i * 5) * 1024**2,
                pushes=(i * 7) % 11,
                pulls=(i * 13) % 17 + 3,
                findings={"critical": i % 3, "high": (i * 5) % 7, "medium": 6, "low": 2},
            )
        )
    ProjectDailyStats.objects.bulk_create(rows)


def test_the_charts_draw_in_light_and_dark_themes(transactional_db, live_server, page) -> None:
    project = ProjectFactory(name="acme")
    MembershipFactory(project=project, user=UserFactory(username="ada"), role="guest")
    _month_of_statistics(project)

    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "ada")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/projects/$"))
    page.click("text=acme")
    page.click("a.nav-link:has-text('Statistics')")
    page.wait_for_url(re.compile(r"/projects/acme/statistics/$"))

    ARTIFACTS.mkdir(exist_ok=True)
    for theme in ("light", "dark"):
        page.emulate_media(color_scheme=theme)
        page.evaluate(f"document.documentElement.setAttribute('data-bs-theme', '{theme}')")
        for chart in ("storage-chart", "traffic-chart", "findings-chart"):
            box = page.locator(f"#{chart} svg.chart-svg").bounding_box()
            assert box is not None and box["width"] > 400 and box["height"] > 100, (chart, box)
        line = page.evaluate(COLOURS, "#storage-chart path.chart-s0")
        bar = page.evaluate(COLOURS, "#traffic-chart rect.chart-s1")
        critical = page.evaluate(COLOURS, "#findings-chart rect.sev-fill-critical")
        assert line["stroke"] not in ("none", line["body"]) and line["fill"] == "none"
        assert bar["fill"] not in ("none", bar["body"]) and critical["fill"] not in ("none", critical["body"])
        assert page.locator("#storage-chart path.chart-s0").get_attribute("d").count("M") == 2  # the gap
        page.screenshot(path=str(ARTIFACTS / f"statistics-{theme}.png"), full_page=True)

    page.click("#traffic-chart summary")
    table = page.locator("#traffic-chart table.chart-table")
    assert table.is_visible() and table.locator("tbody tr").count() == 30
    page.click("a:has-text('7 days')")
    page.wait_for_function("document.querySelectorAll('#traffic-chart tbody tr').length === 7")
    assert page.url.endswith("?days=7")
