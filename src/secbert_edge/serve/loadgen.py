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

from .othercpu import OtherCPU


@dataclasses.dataclass(frozen=True)
class LoadResult:
    """What N closed-loop clients measured: texts/s over the window, latency percentiles of the requests in it."""

    clients: int
    requests: int  # answered inside the measured window
    failed: int  # answers other than 200, or connections lost
    seconds: float  # the measured window
    texts_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    other_cores: float | None = None  # CPU other processes took meanwhile, in cores (see othercpu.OtherCPU)

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


class _Window:
    """When measuring starts (every client has had an answer, and ``warmup_s`` has passed) and ends (``seconds``
    later, once at least ``min_answers`` are in, or at ``max_seconds`` at the latest): a slow plan at many clients
    is measured over enough answers, not over the few that fit a fixed window."""

    def __init__(self, clients: int, warmup_s: float, seconds: float, min_answers: int, max_seconds: float) -> None:
        self.t0 = time.perf_counter()
        self.clients, self.warmup_s, self.seconds = clients, warmup_s, seconds
        self.min_answers, self.max_seconds = min_answers, max_seconds
        self.answered: set[int] = set()  # clients with an answer (warm)
        self.start: float | None = None
        self.end: float | None = None
        self.latency: list[float] = []
        self.failed = 0

    def record(self, client: int, sent: float, done: float, ok: bool) -> None:
        if self.start is None:
            self.answered.add(client)
            if len(self.answered) == self.clients and done - self.t0 >= self.warmup_s:
                self.start = done
            return
        if self.end is None or done <= self.end:
            self.latency.append(done - sent)
            self.failed += not ok

    def closed(self, now: float) -> bool:
        if self.end is None and self.start is not None:
            elapsed = now - self.start
            if (elapsed >= self.seconds and len(self.latency) >= self.min_answers) or elapsed >= self.max_seconds:
                self.end = now
        return self.end is not None


async def _client(host: str, port: int, requests: list[bytes], k: int, offset: int, window: _Window) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    i = offset
    try:
        while not window.closed(time.perf_counter()):
            sent = time.perf_counter()
            writer.write(requests[i % len(requests)])
            i += 1
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            window.record(k, sent, time.perf_counter(), head[9:12] == b"200")
    except (OSError, asyncio.IncompleteReadError, ValueError):
        window.failed += 1
        window.answered.add(k)  # a lost client must not hold the window shut
    finally:
        writer.close()


async def _run(requests: list[bytes], host: str, port: int, window: _Window) -> None:
    step = max(1, len(requests) // window.clients)
    await asyncio.gather(*(_client(host, port, requests, k, k * step, window) for k in range(window.clients)))


def run_load(
    host: str,
    port: int,
    texts: Sequence[str],
    clients: int,
    *,
    seconds: float = 3.0,
    warmup_s: float = 1.0,
    min_answers: int | None = None,
    max_seconds: float | None = None,
    path: str = "/v1/classify",
    server_pid: int | None = None,
) -> LoadResult:
    """``clients`` closed-loop clients, one text a request, each starting at its own place in ``texts``: warmed
    (``warmup_s``, and an answer for every client), then measured for ``seconds`` and at least ``min_answers``
    answers (default 3 per client; at most ``max_seconds``, default 10 x seconds). Uses uvloop when it is installed
    (the serve extra has it). With ``server_pid``, also what the rest of the box took meanwhile (other_cores)."""
    requests = request_bytes(host, port, path, texts)
    window = _Window(clients, warmup_s, seconds, min_answers or 3 * clients, max_seconds or 10 * seconds)
    with OtherCPU(*([server_pid] if server_pid else [])) as other:
        try:
            import uvloop

            uvloop.run(_run(requests, host, port, window))
        except ImportError:
            asyncio.run(_run(requests, host, port, window))
    latency = sorted(window.latency)
    span = (window.end or time.perf_counter()) - (window.start or window.t0)
    return LoadResult(
        clients=clients,
        requests=len(latency),
        failed=window.failed,
        seconds=span,
        texts_per_s=len(latency) / span if span > 0 else 0.0,
        p50_ms=percentile(latency, 50) * 1000,
        p95_ms=percentile(latency, 95) * 1000,
        p99_ms=percentile(latency, 99) * 1000,
        other_cores=other.cores if server_pid else None,
    )
