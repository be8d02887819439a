"""A scriptable fake registry on httpx.MockTransport, for what the real one cannot be made to do."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx

from repositories.registry.client import RegistryClient

Handler = Callable[[httpx.Request], httpx.Response]


@dataclass
class FakeRegistry:
    """Routes requests to `handler` and records every request it saw."""

    handler: Handler
    requests: list[httpx.Request] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)

    def client(self, **kwargs: object) -> RegistryClient:
        return RegistryClient(
            "http://registry.test",
            transport=httpx.MockTransport(self),
            sleep=self.sleeps.append,
            **kwargs,  # type: ignore[arg-type]
        )

    def paths(self) -> list[str]:
        return [request.url.path for request in self.requests]


def error(status: int, code: str, message: str = "boom") -> httpx.Response:
    return httpx.Response(status, json={"errors": [{"code": code, "message": message, "detail": None}]})


def chunks(total: int, counter: list[int], size: int = 65536) -> Iterator[bytes]:
    """`total` bytes of JSON-ish filler in chunks, counting how many were produced."""
    sent = 0
    while sent < total:
        piece = b" " * min(size, total - sent)
        sent += len(piece)
        counter[0] = sent
        yield piece
