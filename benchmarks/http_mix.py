"""A minimal closed-loop HTTP/1.1 load generator for request mixes wrk cannot send.

wrk 4.1 hangs on HEAD: its parser waits for the body a HEAD response's
`Content-Length` announces but never sends. This sends a mix (GET and HEAD) over
`--connections` keep-alive connections, each with one request in flight, split over
`--processes` processes like wrk's threads, on raw sockets with asyncio: no HTTP
library, a few tens of microseconds of CPU per request, against the registry's
milliseconds. `sync_bench.py` runs it on a GET-only mix beside wrk to show the two
agree, then on the HEAD mix.

    python benchmarks/http_mix.py URL MIX.json --seconds 5 --connections 16

MIX.json: a list of [method, path, headers]. Prints JSON: requests, seconds,
requests_per_second, non_2xx.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import random
import sys
import time
from collections.abc import Sequence
from urllib.parse import urlsplit


async def _connection(
    host: str, port: int, requests: list[tuple[bytes, bool]], deadline: float
) -> tuple[int, int]:
    reader, writer = await asyncio.open_connection(host, port)
    done = errors = 0
    index = random.randrange(len(requests))
    while time.perf_counter() < deadline:
        raw, is_head = requests[index]
        index = (index + 1) % len(requests)
        writer.write(raw)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        chunked = False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if not is_head:
            if chunked:
                while True:
                    size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                    await reader.readexactly(size + 2)
                    if size == 0:
                        break
            elif length:
                await reader.readexactly(length)
        done += 1
        errors += not 200 <= status < 400
    writer.close()
    return done, errors


def _encode(host: str, mix: Sequence[Sequence[object]]) -> list[tuple[bytes, bool]]:
    encoded = []
    for method, path, headers in mix:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "User-Agent: http_mix"]
        lines += [f"{name}: {value}" for name, value in dict(headers).items()]  # type: ignore[call-overload]
        encoded.append((("\r\n".join(lines) + "\r\n\r\n").encode(), method == "HEAD"))
    return encoded


def _worker(
    url: str, mix_path: str, connections: int, deadline_in: float, out: multiprocessing.Queue
) -> None:  # type: ignore[type-arg]
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    with open(mix_path) as handle:
        requests = _encode(parts.netloc, json.load(handle))

    async def run() -> tuple[int, int]:
        deadline = time.perf_counter() + deadline_in
        results = await asyncio.gather(
            *(_connection(host, port, requests, deadline) for _ in range(connections))
        )
        return sum(r[0] for r in results), sum(r[1] for r in results)

    out.put(asyncio.run(run()))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("mix")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args(argv)
    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    shares = [
        args.connections // args.processes + (i < args.connections % args.processes)
        for i in range(args.processes)
    ]
    started = time.perf_counter()
    workers = [
        multiprocessing.Process(target=_worker, args=(args.url, args.mix, share, args.seconds, queue))
        for share in shares
        if share
    ]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=args.seconds + 60) for _ in workers]
    for worker in workers:
        worker.join()
    seconds = time.perf_counter() - started
    requests = sum(r[0] for r in results)
    print(
        json.dumps(
            {
                "requests": requests,
                "seconds": seconds,
                "requests_per_second": requests / args.seconds,
                "non_2xx": sum(r[1] for r in results),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
