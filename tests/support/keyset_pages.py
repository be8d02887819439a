"""Walking keyset (cursor) lists the way a browser or a client does: page after page by
the `next` / `previous` cursors (`portal.keyset`)."""

from __future__ import annotations

from typing import Any


def page_rows(client: Any, url: str, params: dict[str, Any] | None = None, *, limit: int = 1000) -> list[Any]:
    """Every row of a page view's list, following its Next cursor from the first page."""
    params = dict(params or {})
    rows: list[Any] = []
    for _ in range(limit):
        response = client.get(url, params)
        assert response.status_code == 200, (url, params, response.status_code)
        page = response.context["page"]
        rows.extend(page.rows)
        if page.next is None:
            return rows
        params["cursor"] = page.next
    raise AssertionError(f"{url}: more than {limit} pages")


def nth_page(client: Any, url: str, params: dict[str, Any] | None, n: int) -> Any:
    """The response of page `n` (from 1) of a page view's list, reached by its Next cursors."""
    params = dict(params or {})
    response = client.get(url, params)
    for _ in range(n - 1):
        params["cursor"] = response.context["page"].next
        assert params["cursor"], f"{url}: fewer than {n} pages"
        response = client.get(url, params)
    return response


def api_rows(
    client: Any, url: str, params: dict[str, Any] | None = None, *, limit: int = 1000
) -> list[dict[str, Any]]:
    """Every result of an API list, following `next` from the first page."""
    body = client.get(url, params or {}).json()
    results = list(body["results"])
    for _ in range(limit):
        if not body["next"]:
            return results
        body = client.get(body["next"]).json()
        results.extend(body["results"])
    raise AssertionError(f"{url}: more than {limit} pages")
