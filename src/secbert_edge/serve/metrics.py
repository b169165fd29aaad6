"""Prometheus metrics of the service, in a registry of its own (one per app)."""

from __future__ import annotations

from typing import Any

from ..errors import require

OUTCOMES = ("ok", "bad_request", "unauthorized", "too_large", "invalid", "overloaded", "timeout", "error")
ENDPOINTS = ("classify", "classify-pairs")
SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
SECONDS_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """requests and texts by outcome, batch sizes, queue wait, inference seconds, request seconds, in-flight."""

    def __init__(self) -> None:
        prom = require("prometheus_client", "serve", "secbert-edge serve metrics")
        self.prom = prom
        self.registry = prom.CollectorRegistry(auto_describe=True)
        r = self.registry
        requests = prom.Counter(
            "secbert_requests", "Classification requests by endpoint and outcome", ["endpoint", "outcome"], registry=r
        )
        self.requests = {(e, o): requests.labels(e, o) for e in ENDPOINTS for o in OUTCOMES}
        texts = prom.Counter(
            "secbert_texts", "Texts classified, by outcome (ok, or a per-item error)", ["outcome"], registry=r
        )
        self.texts_ok, self.texts_error = texts.labels("ok"), texts.labels("error")
        self.batch_texts = prom.Histogram(
            "secbert_batch_texts", "Texts per runtime call (one micro-batch)", buckets=SIZE_BUCKETS, registry=r
        )
        self.batch_requests = prom.Histogram(
            "secbert_batch_requests", "Requests packed into one runtime call", buckets=SIZE_BUCKETS, registry=r
        )
        self.queue_wait = prom.Histogram(
            "secbert_queue_wait_seconds", "Seconds a request waited for the worker", buckets=SECONDS_BUCKETS, registry=r
        )
        self.inference = prom.Histogram(
            "secbert_inference_seconds",
            "Seconds per runtime call (one micro-batch)",
            buckets=SECONDS_BUCKETS,
            registry=r,
        )
        self.request_seconds = prom.Histogram(
            "secbert_request_seconds", "Seconds per classification request", buckets=SECONDS_BUCKETS, registry=r
        )
        self.alone = prom.Counter(
            "secbert_alone_requests",
            "Requests run on the event loop's thread because they were the only work (no queue, no worker hand-off)",
            registry=r,
        )
        self.in_flight = prom.Gauge("secbert_requests_in_flight", "Classification requests being handled", registry=r)
        self.queued = prom.Gauge("secbert_queue_texts", "Texts waiting for the inference worker", registry=r)
        self.ready = prom.Gauge("secbert_ready", "1 when the model is loaded and warmed", registry=r)
        self.plan_info = prom.Info(
            "secbert_plan",
            "The serving plan: source (tuned: measured by `secbert-edge tune` on this box; rule: none matched), its "
            "settings, the ones given explicitly, and why",
            registry=r,
        )

    def plan(self, source: str, plan: Any, reason: str, overrides: list[str]) -> None:
        self.plan_info.info(
            {
                "source": source,
                "runs": str(plan.runs),
                "threads": str(plan.threads),
                "sessions": str(plan.sessions),
                "max_batch_size": str(plan.max_batch_size),
                "max_wait_ms": f"{plan.max_wait_ms:g}",
                "spinning": str(plan.spinning).lower(),
                "solo_threads": str(getattr(plan, "solo_threads", 0)),
                "solo_stop_spinning": str(getattr(plan, "solo_stop_spinning", True)).lower(),
                "overrides": ",".join(overrides),
                "reason": reason,
            }
        )

    def request(self, endpoint: str, outcome: str, seconds: float) -> None:
        self.requests[(endpoint, outcome)].inc()
        self.request_seconds.observe(seconds)

    def batch(self, texts: int, requests: int, seconds: float) -> None:
        self.batch_texts.observe(texts)
        self.batch_requests.observe(requests)
        self.inference.observe(seconds)

    def job(self, job: Any) -> None:
        self.queue_wait.observe(job.waited)
        if job.result is not None:
            errors = sum(1 for r in job.result if "error" in r)
            if errors:
                self.texts_error.inc(errors)
            if len(job.result) - errors:
                self.texts_ok.inc(len(job.result) - errors)

    def render(self) -> tuple[bytes, str]:
        return self.prom.generate_latest(self.registry), self.prom.CONTENT_TYPE_LATEST
