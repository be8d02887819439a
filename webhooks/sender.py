"""One HTTP attempt at a delivery, bounded so a dead or slow receiver costs little:
the target is checked again (its name may now resolve elsewhere), redirects are not
followed, the whole attempt has a deadline, and at most
`WHARF_WEBHOOKS_MAX_RESPONSE_BYTES` of the answer are read (the rest is dropped)."""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

import httpx
from django.conf import settings
from django.utils.translation import gettext_noop

from portal.stored_text import Stored, stored

from .targets import TargetRefused, check_target

SIGNATURE_HEADER = "X-Wharf-Signature-256"
USER_AGENT = "Wharf-Webhooks/1.0"
EXCERPT_CHARS = 2000


@dataclass(frozen=True)
class AttemptResult:
    status_code: int | None
    elapsed_ms: int
    excerpt: str
    error: Stored  # why it failed before an answer; empty text when it did not

    @property
    def ok(self) -> bool:
        # A 2xx means the receiver took it, even if its answer was then cut off.
        return self.status_code is not None and 200 <= self.status_code < 300


def signature(secret: str, body: bytes) -> str:
    """The signature header's value: `sha256=` and the hex HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post(url: str, body: bytes, headers: dict[str, str]) -> AttemptResult:
    """POST `body` to `url` once; never raises for network or receiver trouble."""
    timeout = float(settings.WHARF_WEBHOOKS_TIMEOUT)
    cap = int(settings.WHARF_WEBHOOKS_MAX_RESPONSE_BYTES)
    started = time.monotonic()
    deadline = started + timeout

    def result(code: int | None, excerpt: bytes = b"", error: Stored | None = None) -> AttemptResult:
        text = excerpt[:EXCERPT_CHARS].decode("utf-8", "replace")
        return AttemptResult(code, int((time.monotonic() - started) * 1000), text, error or Stored(""))

    try:
        check_target(url)
    except TargetRefused as exc:
        return result(None, error=stored(gettext_noop("Target refused: %(detail)s"), detail=str(exc)))
    try:
        with (
            httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False, trust_env=False) as client,
            client.stream("POST", url, content=body, headers={"User-Agent": USER_AGENT, **headers}) as response,
        ):
            kept = bytearray()
            for chunk in response.iter_raw():
                kept += chunk[: max(0, cap - len(kept))]
                if len(kept) >= cap:
                    break  # enough to show; the connection is closed unread
                if time.monotonic() > deadline:
                    late = stored(gettext_noop("Answer not finished after %(seconds)s s."), seconds=f"{timeout:g}")
                    return result(response.status_code, bytes(kept), late)
            return result(response.status_code, bytes(kept))
    except httpx.TimeoutException:
        return result(None, error=stored(gettext_noop("No answer within %(seconds)s s."), seconds=f"{timeout:g}"))
    except httpx.HTTPError as exc:
        return result(None, error=Stored(f"{type(exc).__name__}: {exc}"[:500]))
