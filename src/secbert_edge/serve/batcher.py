"""Dynamic micro-batching: concurrent requests are queued and packed into one runtime call.

``parallel_runs`` worker threads (the serving plan's runs; like Triton's model instances) take from ONE queue. A
worker that is free takes every request waiting (up to ``max_batch_size`` texts, waiting at most ``max_wait_ms``
for more), concatenates their texts into ONE ``predict`` / ``predict_pairs`` call per (kind, threshold) group on its
runner (the shared :class:`~secbert_edge.runtime.Classifier`, or a session of its own), where the runtime sorts by
length, buckets and pads per bucket, then hands each request exactly its own results, re-indexed to the request's
own positions. Workers never wait for one another: a worker that finishes takes the next micro-batch while the
others are still running theirs. Dynamic int8 runs one text at a time unpadded inside the runtime, so a text's
score never depends on its batch-mates: results are batch-invariant.

Results are delivered to the asyncio loop with one ``call_soon_threadsafe`` per batch, not per request.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import enum
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from ..errors import SecbertEdgeError

log = logging.getLogger("secbert_edge.serve")


class Kind(str, enum.Enum):
    TEXTS = "texts"  # predict(texts)
    PAIRS = "pairs"  # predict_pairs(prompts, responses)


class QueueFull(SecbertEdgeError, RuntimeError):
    """The queue holds more texts than ``max_queue_texts``: the caller should retry later (503)."""


class Closed(SecbertEdgeError, RuntimeError):
    """The batcher is draining or stopped and takes no new work (503)."""


class InferenceFailed(SecbertEdgeError, RuntimeError):
    """ONNX Runtime failed on a request's texts: a fault of the service, not of the request (500, with the reason).
    Raised for a whole micro-batch, it is retried request by request, so only the request that fails alone fails."""


def _check_inference(predictions: list[Any]) -> None:
    """The runtime reports a batch ONNX Runtime failed on as per-text errors; the service raises it instead."""
    failed = next((p.error for p in predictions if getattr(p, "inference_failed", False)), None)
    if failed is not None:
        raise InferenceFailed(failed)


@dataclasses.dataclass(eq=False)
class Job:
    """One request's work: its texts (and prompts for pairs), its threshold, and where its results go."""

    kind: Kind
    texts: list[Any]
    prompts: list[Any] | None
    threshold: str | float | None
    future: asyncio.Future
    enqueued: float = 0.0
    waited: float = 0.0  # seconds in the queue, set by the worker
    result: list[dict[str, Any]] | None = None
    error: BaseException | None = None


@dataclasses.dataclass
class BatchObserver:
    """Callbacks the worker reports to (the app wires them to Prometheus metrics)."""

    batch: Callable[[int, int, float], None] = lambda texts, requests, seconds: None  # per runtime call
    job: Callable[[Job], None] = lambda job: None  # per request, when its results are ready
    alone: Callable[[], None] = lambda: None  # per request run on the event loop's thread (run_alone)


def prediction_dict(p: Any, index: int) -> dict[str, Any]:
    """A runtime Prediction as the API's result object, with the request's own index."""
    if p.error is not None:
        return {"index": index, "error": p.error}
    return {
        "index": index,
        "score": p.score,
        "label": p.label,
        "threshold": p.threshold,
        "n_tokens": p.n_tokens,
        "truncated": p.truncated,
    }


# A request of at most this many texts may run on the event loop's thread when it is the only work (run_alone): it
# blocks the loop for a few ms at most. Larger ones, alone or not, go to a worker.
ALONE_MAX_TEXTS = 4
_STOP = object()
_WAKE = object()  # put on the queue after a job was put back, so a blocked worker looks again


class Batcher:
    """The queue and its inference workers. ``start()`` warms the model(s) in the workers, then serves."""

    def __init__(
        self,
        classifier: Any,
        *,
        max_batch_size: int = 64,
        max_wait_ms: float = 0.0,
        max_queue_texts: int = 8192,
        observer: BatchObserver | None = None,
        warmup: bool = True,
        parallel_runs: int = 1,
        runners: list[Any] | None = None,
        solo: Any | None = None,
    ) -> None:
        self.clf = classifier
        self.max_batch_size = max_batch_size
        self.max_wait_s = max_wait_ms / 1000.0
        self.max_queue_texts = max_queue_texts
        self.observer = observer or BatchObserver()
        self.warmup = warmup
        self.ready = threading.Event()
        self.queued_texts = 0
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._front: collections.deque[Job] = collections.deque()  # put back by a worker: taken first
        self._threads: list[threading.Thread] = []
        self._closed = False
        # One runner per worker: the classifier itself (ORT sessions are thread-safe, so workers may share it), or
        # one with a session of its own each (``runners``, the plan's sessions = runs).
        self.runners = list(runners) if runners else [classifier] * parallel_runs
        self.parallel_runs = len(self.runners)
        # A runner on every core for a batch that is the only work in the service (nothing queued, no other worker
        # busy): the serving plan's solo_threads. Dynamic int8 splits one text poorly across threads only when
        # other texts could use those cores; alone, 2 threads ran a 39-token prompt 1.7x as fast as 1.
        self.solo = solo
        # Whether a bigger runtime call costs less per text: not for per-batch dynamic int8, which the runtime runs
        # one text at a time (a batch of it is only a queue), so its worker always takes a fair share.
        self._batches_pay = not getattr(classifier, "dynamic_scales", False)
        self._busy = 0  # workers running a batch
        self._warming = self.parallel_runs  # workers still warming up; ready when none is

    # ---- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        if not self._threads:
            self._threads = [
                threading.Thread(target=self._work, args=(k,), name=f"secbert-inference-{k}", daemon=True)
                for k in range(self.parallel_runs)
            ]
            for thread in self._threads:
                thread.start()

    def close(self, timeout: float | None = None) -> None:
        """Stop taking work, finish everything already queued, stop the workers."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for _ in range(max(1, len(self._threads))):
            self._queue.put(_STOP)  # one each: a worker stops at the first it takes, after the work queued before it
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))

    @property
    def closed(self) -> bool:
        return self._closed

    # ---- producer side (event loop) ---------------------------------------------------------------
    def submit(self, job: Job) -> None:
        n = len(job.texts)
        with self._lock:
            if self._closed:
                raise Closed("the service is shutting down and takes no new requests; retry on another instance")
            if self.queued_texts and self.queued_texts + n > self.max_queue_texts:
                raise QueueFull(
                    f"{self.queued_texts} texts are already queued (limit {self.max_queue_texts}, "
                    "--max-queue-texts); retry shortly"
                )
            self.queued_texts += n
        job.enqueued = time.perf_counter()
        self._queue.put(job)

    def run_alone(self, job: Job) -> bool:
        """Run ``job`` on the calling thread (the event loop's) on the plan's solo runner, when it is the only work in
        the service: nothing queued, no worker busy, at most ALONE_MAX_TEXTS texts. True when it ran (its result or
        error is set, the observer told); False: submit it. The caller decides the service is quiet (ServeApp: no
        other request for QUIET_S). A lone request that crosses to a worker and back pays two thread hand-offs: on the
        default guard at one client, 400 -> 467 texts/s (AMD EPYC, 2 cores, 5 interleaved rounds)."""
        if self.solo is None or len(job.texts) > ALONE_MAX_TEXTS:
            return False
        with self._lock:
            if self._closed or self._busy or self.queued_texts or self._front or not self.ready.is_set():
                return False
            self._busy += 1
        try:
            job.enqueued = time.perf_counter()
            self._infer(self.solo, [job], job.enqueued)
        finally:
            with self._lock:
                self._busy -= 1
        self.observer.job(job)
        self.observer.alone()
        return True

    # ---- worker side ----------------------------------------------------------------------------
    def _work(self, k: int) -> None:
        runner = self.runners[k]
        warm = [runner] if self.runners.index(runner) == k else []  # each distinct runner once
        if k == 0 and self.solo is not None:
            warm.append(self.solo)
        for one in warm if self.warmup else []:
            try:
                one.warmup()
            except Exception:  # a warm-up failure must not kill the worker: requests will show the error
                log.exception("warm-up failed")
        with self._lock:
            self._warming -= 1
            if not self._warming:
                self.ready.set()
        stopping = False
        while not stopping:
            first = self._take(None)
            if first is _STOP:
                break
            jobs, stopping = self._collect(first)
            self._process(runner, jobs)
        self.ready.clear()

    def _take(self, deadline: float | None) -> Any:
        """The next job: one a worker put back (oldest first), else the queue's, waiting until ``deadline`` (None:
        for ever; raises queue.Empty when it passes)."""
        while True:
            with self._lock:
                if self._front:
                    return self._front.popleft()
            timeout = None if deadline is None else max(0.0, deadline - time.perf_counter())
            item = self._queue.get(timeout=timeout) if timeout != 0.0 else self._queue.get_nowait()
            if item is not _WAKE:
                return item

    def _put_back(self, job: Job) -> None:
        """A job that did not fit a micro-batch goes first in the next one, whichever worker takes it."""
        with self._lock:
            self._front.appendleft(job)
        self._queue.put(_WAKE)  # a worker blocked on the queue looks again

    def _collect(self, first: Job) -> tuple[list[Job], bool]:
        """``first`` plus whatever is queued now, then up to ``max_wait_ms`` for more, within the batch size and,
        with several workers, this worker's fair share of what is waiting (one worker taking every waiting request
        and running them text by text while another idles gave p99 up to 13x p50 at 32 clients); and whether a stop
        was taken. The fair share is waived when every other worker is busy and bigger calls cost less per text (a
        batchable variant): then nobody could share the work, and a share computed from the one or two requests
        queued at that instant cut BERTimbau-base per-text batches to 1-2 texts at 8 clients (a 1-thread run does 65
        texts/s one at a time, 85 four at a time): 135.4 -> 145.6 texts/s there, level at 1 and 32 clients."""
        jobs, n = [first], len(first.texts)
        limit = self.max_batch_size
        if self.parallel_runs > 1:
            with self._lock:
                others_idle = self._busy < self.parallel_runs - 1
            if others_idle or not self._batches_pay:
                limit = min(limit, max(1, -(-self.queued_texts // self.parallel_runs)))
        deadline = time.perf_counter() + self.max_wait_s
        while n < limit:
            try:
                job = self._take(deadline)
            except queue.Empty:
                break
            if job is _STOP:
                return jobs, True
            if n + len(job.texts) > limit:
                self._put_back(job)
                break
            jobs.append(job)
            n += len(job.texts)
        return jobs, False

    def _process(self, runner: Any, jobs: list[Job]) -> None:
        now = time.perf_counter()
        with self._lock:
            self.queued_texts -= sum(len(j.texts) for j in jobs)
            self._busy += 1
            if self.solo is not None and self._busy == 1 and not self.queued_texts and not self._front:
                runner = self.solo
        try:
            self._infer(runner, jobs, now)
        finally:
            with self._lock:
                self._busy -= 1  # before the answers go out: the next request must find this worker idle
        for job in jobs:
            self.observer.job(job)
        loops: dict[asyncio.AbstractEventLoop, list[Job]] = {}
        for job in jobs:
            loops.setdefault(job.future.get_loop(), []).append(job)
        for loop, done in loops.items():
            try:
                loop.call_soon_threadsafe(_resolve, done)
            except RuntimeError:  # the loop is closed: nobody is waiting any more
                pass

    def _infer(self, runner: Any, jobs: list[Job], now: float) -> None:
        for job in jobs:
            job.waited = now - job.enqueued
        groups: dict[tuple[Kind, Any], list[Job]] = {}
        for job in jobs:
            groups.setdefault((job.kind, job.threshold), []).append(job)
        for (kind, threshold), group in groups.items():
            try:
                self._run(runner, kind, threshold, group)
            except Exception as err:  # one failing call must not fail its batch-mates: retry each alone
                if len(group) == 1:
                    group[0].error = err
                    log.exception("inference failed")
                else:
                    for job in group:
                        try:
                            self._run(runner, kind, threshold, [job])
                        except Exception as one:
                            job.error = one
                            log.exception("inference failed")

    def _run(self, runner: Any, kind: Kind, threshold: str | float | None, jobs: list[Job]) -> None:
        texts = [t for j in jobs for t in j.texts]
        prompts = [p for j in jobs for p in (j.prompts or [])] if kind is Kind.PAIRS else None
        started = time.perf_counter()
        # runs=1: the concurrency is the workers'; a call of its own must not fan out over more threads
        if prompts is not None:
            predictions = runner.predict_pairs(prompts, texts, threshold=threshold, runs=1)
        else:
            predictions = runner.predict(texts, threshold=threshold, runs=1)
        self.observer.batch(len(texts), len(jobs), time.perf_counter() - started)
        _check_inference(predictions)
        offset = 0
        for job in jobs:
            n = len(job.texts)
            job.result = [prediction_dict(p, i) for i, p in enumerate(predictions[offset : offset + n])]
            offset += n


def _resolve(jobs: list[Job]) -> None:
    for job in jobs:
        if job.future.done():  # timed out or the client went away
            continue
        if job.error is not None:
            job.future.set_exception(job.error)
        else:
            job.future.set_result(job.result)
