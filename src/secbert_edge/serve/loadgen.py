"""A closed-loop HTTP load generator for `secbert-edge tune`: N clients, each on one keep-alive connection, send a
request, wait for its answer, send the next, cycling through a workload of different texts.

Why not `hey` (what benchmarks/serve_bench.py drives peers with): hey sends one fixed body, and a plan must be
measured on a real-length workload (many texts of different lengths); it is also a Go binary from apt, not a
Python dependency. Why not an HTTP client library (httpx, aiohttp): they cost a few hundred microseconds a request
in Python, as much as the service under test on a 2-core box. The request is built once per text, and an answer is
read by its Content-Length: a few tens of microseconds a request.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import Sequence
from typing import Any


@dataclasses.dataclass(frozen=True)
class LoadResult:
    """What N closed-loop clients measured: texts/s over the window, latency percentiles of the requests in it."""

    clients: int
    requests: int  # answered inside the measured window
    failed: int  # answers other than 200, or connections lost
    seconds: float
    texts_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float

    @property
    def tail(self) -> float:
        """p99 / p50."""
        return self.p99_ms / self.p50_ms if self.p50_ms > 0 else float("inf")


def request_bytes(host: str, port: int, path: str, texts: Sequence[str]) -> list[bytes]:
    """One HTTP/1.1 keep-alive POST per text, ``{"texts": [text]}``, built once."""
    out = []
    for text in texts:
        body = json.dumps({"texts": [text]}, ensure_ascii=False).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        out.append(head + body)
    return out


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The nearest-rank percentile ``q`` (0-100) of already sorted values; 0 when there are none."""
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, round(q / 100 * (len(sorted_values) - 1)))]


async def _client(
    host: str, port: int, requests: list[bytes], offset: int, window: tuple[float, float], out: dict[str, Any]
) -> None:
    start, end = window
    reader, writer = await asyncio.open_connection(host, port)
    i = offset
    try:
        while True:
            sent = time.perf_counter()
            if sent >= end:
                return
            writer.write(requests[i % len(requests)])
            i += 1
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            done = time.perf_counter()
            if start <= done <= end:  # answered inside the window (in-flight ones at its edges are not lost)
                out["latency"].append(done - sent)
                if head[9:12] != b"200":
                    out["failed"] += 1
    except (OSError, asyncio.IncompleteReadError, ValueError):
        out["failed"] += 1
    finally:
        writer.close()


async def _run(
    host: str, port: int, requests: list[bytes], clients: int, warmup_s: float, seconds: float
) -> dict[str, Any]:
    now = time.perf_counter()
    window = (now + warmup_s, now + warmup_s + seconds)
    out: dict[str, Any] = {"latency": [], "failed": 0}
    step = max(1, len(requests) // max(1, clients))
    await asyncio.gather(*(_client(host, port, requests, k * step, window, out) for k in range(clients)))
    return out


def run_load(
    host: str,
    port: int,
    texts: Sequence[str],
    clients: int,
    *,
    seconds: float = 3.0,
    warmup_s: float = 1.0,
    path: str = "/v1/classify",
) -> LoadResult:
    """``clients`` closed-loop clients for ``warmup_s`` (not counted) then ``seconds`` (measured), one text a request,
    each client starting at its own place in ``texts``. Uses uvloop when it is installed (the serve extra has it)."""
    requests = request_bytes(host, port, path, texts)
    try:
        import uvloop

        out = uvloop.run(_run(host, port, requests, clients, warmup_s, seconds))
    except ImportError:
        out = asyncio.run(_run(host, port, requests, clients, warmup_s, seconds))
    latency = sorted(out["latency"])
    return LoadResult(
        clients=clients,
        requests=len(latency),
        failed=out["failed"],
        seconds=seconds,
        texts_per_s=len(latency) / seconds,
        p50_ms=percentile(latency, 50) * 1000,
        p95_ms=percentile(latency, 95) * 1000,
        p99_ms=percentile(latency, 99) * 1000,
    )
