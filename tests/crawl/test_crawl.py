"""Crawl a living Wharf as each persona: no page errors, none is slow, no offered link is dead.

The world (`world.py`) is the real registry with `seed_demo`'s images, scanned
images with findings, a retention run with a recycle-bin entry, robots, tokens,
allowlist entries, a scanner adapter and sync runs. Each persona then follows every
link and `hx-get` from `/` and the project list, every value of every filter the
pages and the API schema offer, and every URL pattern of the resolver filled with
real ids (`crawler.py`). As a status cannot show two matchers disagreeing, the tag
filter is also asked the same globs on the page and in the API. All failures are
collected and reported together.

Run with `-s` to see the summary: URLs per persona, patterns covered, slowest pages.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import Resolver404, resolve

from accounts.registry_auth.keys import create_key_pair
from repositories.models import Repository
from tests.crawl.crawler import (
    Crawl,
    Failure,
    Route,
    fill,
    is_known,
    read_stream,
    routes,
    schema_operations,
    summary,
    tag_filter_disagreements,
    unfillable,
)
from tests.crawl.world import COMPARE, SCANNED_REPOSITORY, LivingWharf, build_world
from tests.i18n.catalogues import compile_catalogues
from tests.i18n.english import english_on_page
from tests.scanning.adapter_registry_support import fake_adapter  # noqa: F401  (fixture used by name)
from tests.scanning.test_harbor_adapter import FakeAdapter

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

# Who crawls. Later issues may add any persona of tests/conftest.py
# (`developer`, `maintainer`, `limited` exist in the world already). `teamdev` holds
# no role of their own: everything they reach comes through a team (world.py).
CRAWL_PERSONAS = ("sysadmin", "padmin", "guest", "outsider", "anonymous", "teamdev")
# The same crawl in Chinese (zh-Hans), each page checked for the templates' English
# left in its main content (tests/i18n/english.py): the system admin, who reaches
# every page, through their saved language; the anonymous visitor through the
# browser's Accept-Language.
ZH_HANS_PERSONAS = {"sysadmin": "setting", "anonymous": "accept-language"}

# Where every crawl starts, besides the filled patterns.
START = ("/", "/projects/", "/api/v1/")

# Never followed: logging out would end the persona's session.
NEVER_FOLLOW = ("/logout/",)

# Patterns the crawl does not fill, and why. Every other pattern must be filled
# from the world's bindings, so a new page is crawled without anyone adding it.
SKIP_PATTERNS = {
    "logout": "ends the persona's session (and is POST-only)",
    # The registry's own endpoints: fetched (must not 5xx) but not filled with ids.
    "registry-notifications": "POST from the registry with a shared secret",
    "registry-token": "Basic auth from a registry client; fetched bare below",
    "gate-pull": "asked by nginx with the gate's secret; fetched bare below (404 without it)",
    "gate-push": "a manifest PUT handed over by nginx with the gate's secret",
}
UNFILLED_BUT_FETCHED = ("/service/token", "/service/notifications", "/service/gate/pull")

# How many different fillings of one pattern are fetched per persona: enough for the
# private and the public projects and a few repositories, not every artifact.
FILLINGS_PER_PATTERN = 4

# Failures that are known and being fixed elsewhere: (kind, URL glob).
# Each entry says where it is fixed; remove it when that branch is merged.
# Failures the crawl sees that a branch in flight fixes: (kind, URL glob). Empty on
# main: a new entry names the branch that fixes it and goes when that lands.
KNOWN_FAILURES: set[tuple[str, str]] = set()


def persona_client(world: LivingWharf, persona: str, language: str = "") -> Client:
    """`language`: "setting" saves zh-Hans as the user's language, "accept-language"
    asks for it in the request's header; empty: English, as the crawl has always run."""
    # A view's exception becomes the 500 a user would see, collected rather than raised.
    headers = {"Accept-Language": "zh-Hans,zh;q=0.9"} if language == "accept-language" else {}
    client = Client(raise_request_exception=False, headers=headers)
    if persona != "anonymous":
        user = world.users[persona]
        if language == "setting":
            user.language = "zh-hans"
            user.save(update_fields=["language"])
        client.force_login(user)
    return client


def _route_of(url: str) -> str:
    try:
        return resolve(url.split("?", 1)[0]).view_name
    except Resolver404:
        return ""


@pytest.fixture
def living_wharf(wharf_registry: Any, fake_adapter: FakeAdapter, tmp_path: Path, settings: Any) -> LivingWharf:  # noqa: F811
    # The token service signs with a key `registry_config` would have made.
    settings.WHARF_TOKEN_KEY, settings.WHARF_TOKEN_CERT = tmp_path / "key.pem", tmp_path / "cert.pem"
    create_key_pair(settings.WHARF_TOKEN_KEY, settings.WHARF_TOKEN_CERT)
    # Static files come from the source tree (no `collectstatic` in tests).
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    return build_world(wharf_registry, tmp_path)


def test_every_persona_crawls_wharf_without_errors_slow_pages_or_dead_links(
    living_wharf: LivingWharf, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    world = living_wharf
    all_routes = [r for r in routes() if r.name not in SKIP_PATTERNS]
    problems = [
        f"{r.shape} ({r.name or 'unnamed'}): no value for {', '.join(missing)}"
        for r in all_routes
        if (missing := unfillable(r, world.bindings, world.free)) or not r.name
    ]
    assert not problems, "URL patterns the crawl cannot fill (add their ids to world.bindings):\n" + "\n".join(problems)

    schema_client = persona_client(world, "sysadmin")
    operations = schema_operations(schema_client.get("/api/schema/", {"format": "json"}).json())
    filled = {r: fill(r, world.bindings, world.free, FILLINGS_PER_PATTERN) for r in all_routes}
    compare = f"{SCANNED_REPOSITORY.split('/', 1)[1]}/-/compare/?from={COMPARE[0]}&to={COMPARE[1]}"

    # 4xx answers are the permission rule at work; 5xx tracebacks still show.
    caplog.set_level(logging.ERROR, logger="django.request")
    crawls: list[Crawl] = []
    variations: set[tuple[str, str, str]] = set()
    compile_catalogues()
    runs = [(persona, "") for persona in CRAWL_PERSONAS] + list(ZH_HANS_PERSONAS.items())
    for persona, language in runs:
        client = persona_client(world, persona, language)
        label = f"{persona}/zh" if language else persona
        check = english_on_page if language else None
        crawl = Crawl(label, client, operations, NEVER_FOLLOW, variations=variations, page_check=check)
        for url in START:
            crawl.offer(url, referrer="(start)")
        crawl.run()  # what the navigation offers comes first, so 404s there are judged as offered
        for url in (
            f"/projects/acme/repositories/{compare}",
            f"/api/v1/repositories/{SCANNED_REPOSITORY}/-/compare/?from={COMPARE[0]}&to={COMPARE[1]}",
        ):
            crawl.offer(url, referrer="(scan comparison)", offered=False)
        for route, urls in filled.items():
            for url in urls:
                crawl.offer(url, referrer=f"(pattern {route.name})", offered=False)
        for url in UNFILLED_BUT_FETCHED:
            crawl.offer(url, referrer="(registry service)", offered=False)
        crawl.run()
        crawls.append(crawl)
        if language == "setting":  # the later checks read the pages in English
            world.users[persona].language = ""
            world.users[persona].save(update_fields=["language"])

    failures: list[Failure] = [f for crawl in crawls for f in crawl.failures]
    failures += _asset_failures(crawls, persona_client(world, "anonymous"))
    failures += tag_filter_disagreements(
        persona_client(world, "sysadmin"), "sysadmin", Repository.objects.values_list("project__name", "name")
    )
    covered = {_route_of(url) for crawl in crawls for url, _ in crawl.fetched}
    uncovered = [r for r in all_routes if r.name not in covered]
    known = [f for f in failures if is_known(f, KNOWN_FAILURES)]
    unknown = [f for f in failures if not is_known(f, KNOWN_FAILURES)]
    with capsys.disabled():
        report = summary(crawls, len(all_routes), len(all_routes) - len(uncovered), _database())
        print("\n" + report)
        print(f"  known failures seen: {len(known)}")
        for line in sorted({f"[{f.kind}] {f.url} -> {f.status}" for f in known})[:20]:
            print(f"    {line}")
    # The team persona really crawled the private project as a Developer (not as the
    # outsider they would be without the team): its page answered, its deletion did not.
    by_persona = {crawl.persona: crawl for crawl in crawls}
    reached = [by_persona[p].fetched.get(("/projects/acme/", False)) for p in ("teamdev", "outsider")]
    assert [f.status if f else None for f in reached] == [200, 404], reached
    assert persona_client(world, "teamdev").get("/projects/acme/delete/").status_code == 403
    assert not uncovered, "URL patterns no crawl fetched:\n" + "\n".join(_route_text(r) for r in uncovered)
    assert not unknown, f"{len(unknown)} crawl failures:\n" + "\n".join(str(f) for f in unknown)


def _asset_failures(crawls: list[Crawl], client: Client) -> list[Failure]:
    """Static files are fetched once each, whoever's page named them."""
    assets: dict[str, tuple[str, str]] = {}
    for crawl in crawls:
        for url, referrer in crawl.assets.items():
            assets.setdefault(url, (crawl.persona, referrer))
    failures = []
    for url, (persona, referrer) in sorted(assets.items()):
        response = client.get(url)
        if response.status_code != 200 or read_stream(response):
            failures.append(Failure("dead-link", persona, url, response.status_code, referrer))
    return failures


def _route_text(route: Route) -> str:
    return f"{route.shape} ({route.name})"


def _database() -> str:
    from django.db import connection

    return connection.vendor
