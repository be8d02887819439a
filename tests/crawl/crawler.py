"""The crawler: what one persona can reach by following links, forms and URL patterns.

Everything is a GET through Django's in-process test client. The crawler finds URLs
in three ways:

- *offered*: `<a href>`, `hx-get`, a redirect's `Location`, a URL inside an API
  answer's JSON, and each value of a page's own GET forms (every `<select>` option,
  every checkbox, a sample text for every text box), tried once per URL pattern
  by the first persona that reaches it;
- *filled*: every pattern of the URL resolver, its parameters filled from the living
  world's bindings (see `world.py`);
- *schema*: every query parameter of the OpenAPI schema's GET operations (each enum
  value, or a sample), tried once per path.

A 404 is a failure only for an offered URL: a filled URL may well name something
the persona may not see, which is the permission rule at work.
"""

from __future__ import annotations

import itertools
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

from django.test import Client
from django.urls import NoReverseMatch, Resolver404, URLPattern, URLResolver, get_resolver, resolve, reverse

from tests.crawl.world import Binding

SLOW_SECONDS = 2.0
HOST = "testserver"
# Text typed into a form's text boxes, by field name. Values are chosen to reach
# the interesting paths: an alias for `id`, glob operators for tag filters.
SAMPLE_TEXT = {
    "id": "CVE-2099-1001",
    "tag": "v1.*",
    "pattern": "v[0-9]*",
    "package": "ssl",
    "actor": "sysadmin",
    "target": "acme",
    "q": "de",
    "search": "adm",
    "repository": "acme/app",
    "from": "v1",
    "to": "v2",
}
SAMPLE_BY_TYPE = {"date": "2026-01-01", "number": "1", "integer": "1", "boolean": "true"}
SAMPLE_DEFAULT = "a"
# Parameters of the API schema that page through lists rather than filter them.
PAGING = {"page", "page_size", "before", "cursor"}


def canonical(url: str) -> str:
    """Path plus query with its parameters sorted: one key for one resource."""
    parts = urlsplit(url)
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return parts.path + (f"?{query}" if query else "")


def same_origin(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("", "http", "https") and parts.netloc in ("", HOST) and not url.startswith("#")


@dataclass
class Form:
    """A GET form as the page offers it: its action and its fields' choices."""

    action: str
    base: list[tuple[str, str]] = field(default_factory=list)
    choices: list[tuple[str, str]] = field(default_factory=list)  # (field, value) to try one at a time


class PageParser(HTMLParser):
    """Links (`href`, `hx-get`), static assets and GET forms of one HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, bool]] = []  # (url, is htmx)
        self.assets: list[str] = []
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: str | None = None
        self._selected: str | None = None
        self._first_option: str | None = None

    def handle_starttag(self, tag: str, attrs_list: list[tuple[str, str | None]]) -> None:
        attrs = {k: v or "" for k, v in attrs_list}
        if tag == "a" and "href" in attrs:
            self.links.append((attrs["href"], False))
        if "hx-get" in attrs and tag != "form":
            self.links.append((attrs["hx-get"], True))
        if tag in ("script", "img") and attrs.get("src"):
            self.assets.append(attrs["src"])
        if tag == "link" and attrs.get("href"):
            self.assets.append(attrs["href"])
        if tag == "form":
            self._start_form(attrs)
        elif self._form is not None:
            self._form_field(tag, attrs)

    def _start_form(self, attrs: dict[str, str]) -> None:
        method = (attrs.get("method") or "get").lower()
        if method == "get" and "hx-post" not in attrs:
            self._form = Form(action=attrs.get("hx-get") or attrs.get("action") or "")

    def _form_field(self, tag: str, attrs: dict[str, str]) -> None:
        assert self._form is not None
        name = attrs.get("name")
        if tag == "select" and name:
            self._select, self._selected, self._first_option = name, None, None
        elif tag == "option" and self._select:
            value = attrs.get("value", "")
            if self._first_option is None:
                self._first_option = value
            if "selected" in attrs:
                self._selected = value
            self._form.choices.append((self._select, value))
        elif tag == "input" and name:
            kind = attrs.get("type", "text").lower()
            value = attrs.get("value", "")
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    self._form.base.append((name, value or "on"))
                self._form.choices.append((name, value or "on"))
            elif kind in ("submit", "button", "file", "password"):
                return
            elif kind == "hidden":
                self._form.base.append((name, value))
            else:
                self._form.base.append((name, value))
                sample = SAMPLE_TEXT.get(name) or SAMPLE_BY_TYPE.get(kind, SAMPLE_DEFAULT)
                self._form.choices.append((name, sample))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select and self._form is not None:
            chosen = self._selected if self._selected is not None else self._first_option
            if chosen is not None:
                self._form.base.append((self._select, chosen))
            self._select = None
        elif tag == "form" and self._form is not None:
            self.forms.append(self._form)
            self._form = None


def json_links(data: Any) -> Iterator[str]:
    """Same-origin URLs inside an API answer (pagination links, `url` fields)."""
    if isinstance(data, dict):
        for value in data.values():
            yield from json_links(value)
    elif isinstance(data, list):
        for value in data:
            yield from json_links(value)
    elif isinstance(data, str) and (data.startswith(f"http://{HOST}/") or data.startswith("/api/")):
        yield data


def read_stream(response: Any) -> str:
    """Read a streaming answer (CSV exports, static files) to its end; returns the error, if any.

    Read through the test client's wrapper rather than closed: closing a response
    fires `request_finished`, which would close the test's database connection."""
    if not getattr(response, "streaming", False):
        return ""
    try:
        b"".join(response.streaming_content)
    except Exception as exc:  # an export that fails halfway is a server error the user sees
        return repr(exc)
    return ""


# --- the URL resolver -------------------------------------------------------------------

_GROUP = re.compile(r"\(\?P<(\w+)>|<(?:\w+:)?(\w+)>")
_PK_SEGMENT = re.compile(r"([\w-]+)/(?:\^)?(?:\(\?P<pk>|<(?:\w+:)?pk>)")


@dataclass(frozen=True)
class Route:
    """One URL pattern: its reversible name, its parameters and its shape."""

    name: str  # namespaced, for reverse()
    shape: str  # the joined pattern text, for messages
    params: tuple[str, ...]  # `pk` as `pk@<segment>`
    get_allowed: bool


def routes() -> list[Route]:
    """Every pattern of the root resolver, recursively, with its parameters."""
    found: list[Route] = []

    def walk(patterns: Iterable[URLPattern | URLResolver], prefix: str, namespace: str) -> None:
        for pattern in patterns:
            text = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                ns = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                walk(pattern.url_patterns, text, ns)
                continue
            names = [a or b for a, b in _GROUP.findall(text)]
            segment = _PK_SEGMENT.search(text)
            params = tuple(f"pk@{segment.group(1)}" if n == "pk" and segment else n for n in names)
            actions = getattr(pattern.callback, "actions", None)
            found.append(
                Route(
                    name=f"{namespace}{pattern.name}" if pattern.name else "",
                    shape=text,
                    params=params,
                    get_allowed=actions is None or "get" in actions,
                )
            )

    walk(get_resolver().url_patterns, "/", "")
    return found


def fill(route: Route, bindings: list[Binding], free: dict[str, list[str]], limit: int) -> list[str]:
    """Up to `limit` URLs of `route` from the bindings that cover its parameters.

    Projections are taken round-robin over projects, so a pattern is tried in the
    private and the public projects alike before a second value of either."""
    if not route.params:
        return [reverse(route.name)]
    bound = [p for p in route.params if p not in free]
    by_project: dict[str, list[dict[str, str]]] = {}
    seen: set[tuple[tuple[str, str], ...]] = set()
    for binding in bindings:
        if not all(p in binding for p in bound):
            continue
        projection = tuple((p, binding[p]) for p in bound)
        if projection in seen:
            continue
        seen.add(projection)
        by_project.setdefault(binding.get("name", ""), []).append(dict(projection))
    ordered = [b for group in itertools.zip_longest(*by_project.values()) for b in group if b is not None]
    urls: list[str] = []
    free_values = [free[p] for p in route.params if p in free]
    free_names = [p for p in route.params if p in free]
    for projection in ordered:
        for combo in itertools.product(*free_values):
            kwargs = {k.split("@")[0]: v for k, v in projection.items()} | dict(zip(free_names, combo, strict=True))
            try:
                urls.append(reverse(route.name, kwargs=kwargs))
            except NoReverseMatch:
                continue
        if len(urls) >= limit:
            break
    return urls[:limit]


def unfillable(route: Route, bindings: list[Binding], free: dict[str, list[str]]) -> list[str]:
    """The parameters of `route` that no binding holds."""
    known = set(free).union(*bindings)
    return [p for p in route.params if p not in known]


# --- the API schema ---------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """A GET operation of the schema: its path as a regex, and values to try per query parameter."""

    template: str
    regex: re.Pattern[str]
    values: tuple[tuple[str, tuple[str, ...]], ...]


def _placeholder(match: re.Match[str]) -> str:
    # Repository names hold slashes; every other path parameter is one segment.
    return "[^?]+?" if match.group(1) == "repository_name" else "[^/?]+"


def schema_operations(schema: dict[str, Any]) -> list[Operation]:
    operations = []
    for template, methods in schema.get("paths", {}).items():
        get = methods.get("get")
        if not get:
            continue
        regex = re.compile("^" + re.sub(r"\\\{(\w+)\\\}", _placeholder, re.escape(template)) + "$")
        values = []
        for parameter in get.get("parameters", []):
            if parameter.get("in") != "query" or parameter["name"] in PAGING:
                continue
            schema_ = parameter.get("schema", {})
            enum = schema_.get("enum") or schema_.get("items", {}).get("enum")
            kind = schema_.get("type") or "string"
            if enum:
                tried = tuple(str(v) for v in enum)
            elif kind == "boolean" or parameter["name"] in ("restored", "allowlisted"):
                tried = ("true", "false")
            else:
                tried = (SAMPLE_TEXT.get(parameter["name"]) or SAMPLE_BY_TYPE.get(kind, SAMPLE_DEFAULT),)
            values.append((parameter["name"], tried))
        operations.append(Operation(template, regex, tuple(values)))
    # The most specific template first: `.../scans/{id}/findings/` before `.../{repository_name}/`.
    return sorted(operations, key=lambda op: -len(re.sub(r"\{\w+\}", "", op.template)))


# --- one persona's crawl ----------------------------------------------------------------


@dataclass
class Fetched:
    url: str
    htmx: bool
    status: int
    seconds: float
    referrer: str
    offered: bool


@dataclass
class Failure:
    kind: str  # "5xx", "slow", "dead-link", "api-error-not-json", "english"
    persona: str
    url: str
    status: int
    referrer: str
    detail: str = ""

    def __str__(self) -> str:
        return f"[{self.kind}] {self.persona}: GET {self.url} -> {self.status} (from {self.referrer}) {self.detail}".rstrip()


def is_known(failure: Failure, known: Iterable[tuple[str, str]]) -> bool:
    return any(kind == failure.kind and fnmatchcase(failure.url, glob) for kind, glob in known)


@dataclass
class Crawl:
    """One persona's crawl; `run` fetches until nothing new is offered."""

    persona: str
    client: Client
    operations: list[Operation]
    never_follow: tuple[str, ...]
    fetched: dict[tuple[str, bool], Fetched] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    assets: dict[str, str] = field(default_factory=dict)  # asset url -> first page offering it
    _queue: deque[tuple[str, bool, str, bool]] = field(default_factory=deque)
    # Filter values tried, shared by all personas' crawls: each value of each filter
    # is tried once per URL pattern (by whoever reaches it first), which keeps the
    # long lists (fifty audit actions) from multiplying by personas and projects.
    variations: set[tuple[str, str, str]] = field(default_factory=set)
    # A check of each HTML page's text (the zh-Hans crawl: English left on the page);
    # what it returns is one failure of kind "english".
    page_check: Callable[[str], list[str]] | None = None

    def offer(self, url: str, *, referrer: str, htmx: bool = False, offered: bool = True) -> None:
        if not same_origin(url):
            return
        url = canonical(urljoin(f"http://{HOST}{urlsplit(referrer).path}", url))
        if url.startswith("/static/"):
            self.assets.setdefault(url, referrer)
            return
        if any(url.startswith(prefix) for prefix in self.never_follow):
            return
        key = (url, htmx)
        if key in self.fetched:
            # An offered link to a URL first reached by filling is judged as offered.
            seen = self.fetched[key]
            if offered and not seen.offered:
                seen.offered, seen.referrer = True, referrer
                self._judge(seen)
            return
        self._queue.append((url, htmx, referrer, offered))

    def run(self) -> None:
        while self._queue:
            url, htmx, referrer, offered = self._queue.popleft()
            if (url, htmx) in self.fetched:
                continue
            self._fetch(url, htmx, referrer, offered)

    def _fetch(self, url: str, htmx: bool, referrer: str, offered: bool) -> None:
        headers = {"HX-Request": "true"} if htmx else {}
        started = time.perf_counter()
        response = self.client.get(url, headers=headers)
        broken = read_stream(response)
        seconds = time.perf_counter() - started
        if seconds > SLOW_SECONDS and response.status_code < 500:
            seconds = min(seconds, self._time_again(url, headers))
        fetched = Fetched(url, htmx, response.status_code, seconds, referrer, offered)
        self.fetched[(url, htmx)] = fetched
        self._judge(fetched, response)
        if broken:
            self.failures.append(Failure("5xx", self.persona, url, fetched.status, referrer, f"stream broke: {broken}"))
        if response.status_code in (301, 302, 303, 307, 308):
            self.offer(response["Location"], referrer=url)
        if response.status_code != 200:
            return
        content_type = response.get("Content-Type", "")
        if content_type.startswith("text/html"):
            html = response.content.decode()
            if self.page_check is not None and (found := self.page_check(html)):
                label = url + (" [htmx]" if htmx else "")
                self.failures.append(Failure("english", self.persona, label, 200, referrer, "; ".join(found)[:300]))
            self._read_page(url, html)
        elif content_type.startswith("application/json") and url.startswith("/api/"):
            for link in json_links(response.json()):
                self.offer(link, referrer=url)
            self._try_schema_values(url)

    def _time_again(self, url: str, headers: dict[str, str], tries: int = 2) -> float:
        """The best of `tries` more fetches of a page that was over the limit: a page is
        slow when it is slow every time, not when another process took the CPU once
        (the machine has 2 cores and CI runs beside other work). GETs only, so
        fetching again changes nothing."""
        best = float("inf")
        for _ in range(tries):
            started = time.perf_counter()
            read_stream(self.client.get(url, headers=headers))
            best = min(best, time.perf_counter() - started)
        return best

    def _judge(self, fetched: Fetched, response: Any = None) -> None:
        def fail(kind: str, detail: str = "") -> None:
            label = fetched.url + (" [htmx]" if fetched.htmx else "")
            self.failures.append(Failure(kind, self.persona, label, fetched.status, fetched.referrer, detail))

        if response is not None:
            if fetched.status >= 500:
                fail("5xx")
            if fetched.seconds > SLOW_SECONDS:
                fail("slow", f"{fetched.seconds:.2f}s")
            content_type = response.get("Content-Type", "")
            if fetched.url.startswith("/api/") and fetched.status >= 400 and "json" not in content_type:
                fail("api-error-not-json", content_type)
        if fetched.offered and fetched.status == 404:
            fail("dead-link")

    def _read_page(self, url: str, html: str) -> None:
        parser = PageParser()
        parser.feed(html)
        for link, htmx in parser.links:
            self.offer(link, referrer=url, htmx=htmx)
        for asset in parser.assets:
            if same_origin(asset):
                self.assets.setdefault(canonical(urljoin(f"http://{HOST}{url}", asset)), url)
        for form in parser.forms:
            action = canonical(urljoin(f"http://{HOST}{urlsplit(url).path}", form.action or url))
            for name, value in form.choices:
                if not self._first_try(action, name, value):
                    continue
                query = [(k, v) for k, v in form.base if k != name] + [(name, value)]
                self.offer(f"{urlsplit(action).path}?{urlencode(query)}", referrer=url)

    def _first_try(self, url: str, name: str, value: str) -> bool:
        """Each value of each filter once per URL pattern, not once per project or repository."""
        try:
            route = resolve(urlsplit(url).path).route
        except Resolver404:
            route = urlsplit(url).path
        key = (route, name, value)
        if key in self.variations:
            return False
        self.variations.add(key)
        return True

    def _try_schema_values(self, url: str) -> None:
        path = urlsplit(url).path
        if urlsplit(url).query:
            return
        for operation in self.operations:
            if not operation.regex.match(path):
                continue
            for name, values in operation.values:
                for value in values:
                    if self._first_try(path, name, value):
                        self.offer(f"{path}?{urlencode({name: value})}", referrer=url)
            return


def summary(crawls: list[Crawl], routes_total: int, routes_covered: int, label: str) -> str:
    lines = [f"crawl summary ({label})"]
    everything: dict[str, Fetched] = {}
    for crawl in crawls:
        urls = {url for url, _ in crawl.fetched}
        # 403/404 from filled URLs are the permission rule at work: counted, not failed.
        hidden = sum(1 for f in crawl.fetched.values() if f.status == 404 and not f.offered)
        refused = sum(1 for f in crawl.fetched.values() if f.status in (401, 403))
        lines.append(
            f"  {crawl.persona:<12} {len(urls):5d} distinct URLs ({len(crawl.fetched)} requests;"
            f" {hidden} filled URLs 404, {refused} answers 401/403)"
        )
        for fetched in crawl.fetched.values():
            everything[f"{crawl.persona} {fetched.url}{' [htmx]' if fetched.htmx else ''}"] = fetched
    distinct = {url for crawl in crawls for url, _ in crawl.fetched}
    total = sum(f.seconds for f in everything.values())
    lines.append(f"  total        {len(distinct):5d} distinct URLs, {len(everything)} requests, {total:.1f}s server time")
    lines.append(f"  URL patterns covered: {routes_covered}/{routes_total}")
    lines.append("  slowest:")
    for key, fetched in sorted(everything.items(), key=lambda item: -item[1].seconds)[:10]:
        lines.append(f"    {fetched.seconds * 1000:7.0f} ms  {fetched.status}  {key}")
    return "\n".join(lines)



# --- one filter, two front doors ----------------------------------------------------------

TAG_GLOBS = ("v1", "v1.*", "v[0-9]*", "latest", "?atest", "V1")
_TAG_COUNT = re.compile(r'id="tag-count">\s*([\d,]+) tag')


def tag_filter_disagreements(client: Client, persona: str, repositories: Iterable[tuple[str, str]]) -> list[Failure]:
    """The page's tag filter and the API's `pattern` must find the same number of tags.

    A status code cannot show two matchers disagreeing, so each glob is asked of both
    (`repositories` holds (project, full repository name) pairs the persona may see)."""
    failures = []
    for project, full_name in repositories:
        short = full_name.removeprefix(project + "/")
        for glob in TAG_GLOBS:
            page_url = f"/projects/{project}/repositories/{short}/?{urlencode({'tag': glob})}"
            api_url = f"/api/v1/repositories/{full_name}/-/tags/?{urlencode({'pattern': glob})}"
            page, api = client.get(page_url), client.get(api_url)
            found = _TAG_COUNT.search(page.content.decode()) if page.status_code == 200 else None
            on_page = int(found.group(1).replace(",", "")) if found else None
            in_api = api.json().get("count") if api.status_code == 200 else None
            if on_page != in_api:
                detail = f"page finds {on_page} tags (status {page.status_code}), API {in_api} ({api.status_code})"
                failures.append(Failure("filters-disagree", persona, page_url, page.status_code, api_url, detail))
    return failures
