"""What "served without a CDN" means in a page, checked without tripping on random tokens."""

from __future__ import annotations

import re

# A script, stylesheet, image or frame loaded from another host (absolute or scheme-relative).
_ASSET = re.compile(r"""<(?:script|link|img|source|iframe)\b[^>]*?\b(?:src|href)\s*=\s*["']([^"']+)["']""", re.I)
_OFF_SITE = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:)?//", re.I)
# CSRF tokens (64 random letters and digits) and digests: any run this long is no host name.
_LONG_TOKEN = re.compile(r"[A-Za-z0-9]{32,}")


def off_site_assets(html: str) -> list[str]:
    """The page's scripts, stylesheets, images and frames that come from another host."""
    return [url for url in _ASSET.findall(html) if _OFF_SITE.match(url)]


def mentions_a_cdn(html: str) -> bool:
    """Whether "cdn" appears anywhere outside random tokens (a CSRF token is 64 random
    letters and digits, so "cdn" turns up in about one page in a thousand)."""
    return "cdn" in _LONG_TOKEN.sub("", html).lower()
