"""Dynamic micro-batching: concurrent requests are queued and packed into one runtime call.

One worker thread owns the :class:`~secbert_edge.runtime.Classifier` (its ONNX Runtime session). It takes every
request waiting in the queue (up to ``max_batch_size`` texts, waiting at most ``max_wait_ms`` for more once it is
free), concatenates their texts into ONE ``predict`` / ``predict_pairs`` call per (kind, threshold) group, where
the runtime sorts by length, buckets and pads per bucket, then hands each request exactly its own results,
re-indexed to the request's own positions. Dynamic int8 runs one text at a time unpadded inside the runtime, so a
text's score never depends on its batch-mates: results are batch-invariant.

Results are delivered to the asyncio loop with one ``call_soon_threadsafe`` per batch, not per request.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
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


_STOP = object()


class Batcher:
    """The queue and its single inference worker. ``start()`` warms the model in the worker, then serves."""

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
        self._thread: threading.Thread | None = None
        self._closed = False
        self._carry: Job | None = None  # a job that did not fit the last batch: first in the next
        # parallel_runs > 1: a micro-batch is cut into that many contiguous slices scored by concurrent runtime
        # calls on the same session (ORT sessions are thread-safe); the worker thread scores the first slice.
        self.parallel_runs = parallel_runs
        self._pool = ThreadPoolExecutor(parallel_runs - 1, "secbert-run") if parallel_runs > 1 else None

    # ---- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="secbert-inference", daemon=True)
            self._thread.start()

    def close(self, timeout: float | None = None) -> None:
        """Stop taking work, finish everything already queued, stop the worker."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._queue.put(_STOP)
        if self._thread is not None:
            self._thread.join(timeout)
        if self._pool is not None:
            self._pool.shutdown(wait=False)

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

    # ---- worker side ----------------------------------------------------------------------------
    def _work(self) -> None:
        if self.warmup:
            try:
                self.clf.warmup()
            except Exception:  # a warm-up failure must not kill the worker: requests will show the error
                log.exception("warm-up failed")
        self.ready.set()
        stopping = False
        while not stopping:
            first = self._carry if self._carry is not None else self._queue.get()
            self._carry = None
            if first is _STOP:
                break
            jobs, stopping = self._collect(first)
            self._process(jobs)
        self.ready.clear()

    def _collect(self, first: Job) -> tuple[list[Job], bool]:
        """``first`` plus whatever is queued now, then up to ``max_wait_ms`` for more, within the batch size."""
        jobs, n = [first], len(first.texts)
        deadline = time.perf_counter() + self.max_wait_s
        while n < self.max_batch_size:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    break
                try:
                    job = self._queue.get(timeout=remaining)
                except queue.Empty:
                    break
            if job is _STOP:
                return jobs, True
            if n + len(job.texts) > self.max_batch_size:
                self._carry = job
                break
            jobs.append(job)
            n += len(job.texts)
        return jobs, False

    def _process(self, jobs: list[Job]) -> None:
        now = time.perf_counter()
        with self._lock:
            self.queued_texts -= sum(len(j.texts) for j in jobs)
        for job in jobs:
            job.waited = now - job.enqueued
        groups: dict[tuple[Kind, Any], list[Job]] = {}
        for job in jobs:
            groups.setdefault((job.kind, job.threshold), []).append(job)
        for (kind, threshold), group in groups.items():
            try:
                self._run(kind, threshold, group)
            except Exception as err:  # one failing call must not fail its batch-mates: retry each alone
                if len(group) == 1:
                    group[0].error = err
                    log.exception("inference failed")
                else:
                    for job in group:
                        try:
                            self._run(kind, threshold, [job])
                        except Exception as one:
                            job.error = one
                            log.exception("inference failed")
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

    def _run(self, kind: Kind, threshold: str | float | None, jobs: list[Job]) -> None:
        texts = [t for j in jobs for t in j.texts]
        prompts = [p for j in jobs for p in (j.prompts or [])] if kind is Kind.PAIRS else None
        started = time.perf_counter()
        k = min(self.parallel_runs, len(texts))
        if self._pool is None or k < 2:
            predictions = self._predict(prompts, texts, threshold)
        else:
            cuts = [round(i * len(texts) / k) for i in range(k + 1)]
            rest = [
                self._pool.submit(self._predict, prompts[a:b] if prompts is not None else None, texts[a:b], threshold)
                for a, b in itertools.pairwise(cuts[1:])
            ]
            predictions = self._predict(
                prompts[: cuts[1]] if prompts is not None else None, texts[: cuts[1]], threshold
            )
            for future in rest:
                predictions += future.result()
        self.observer.batch(len(texts), len(jobs), time.perf_counter() - started)
        _check_inference(predictions)
        offset = 0
        for job in jobs:
            n = len(job.texts)
            job.result = [prediction_dict(p, i) for i, p in enumerate(predictions[offset : offset + n])]
            offset += n

    def _predict(self, prompts: list[Any] | None, texts: list[Any], threshold: str | float | None) -> list[Any]:
        if prompts is not None:
            return self.clf.predict_pairs(prompts, texts, threshold=threshold)
        return self.clf.predict(texts, threshold=threshold)


def _resolve(jobs: list[Job]) -> None:
    for job in jobs:
        if job.future.done():  # timed out or the client went away
            continue
        if job.error is not None:
            job.future.set_exception(job.error)
        else:
            job.future.set_result(job.result)
