"""The ASGI app. The two classification routes are plain ASGI (no framework routing, no per-request model
validation, orjson): the request path costs tens of microseconds, not milliseconds, so a small model is not
starved by its HTTP layer. Everything else (health, readiness, metrics, docs, lifespan) is a Starlette app.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import math
import time
from collections.abc import AsyncIterator
from typing import Any

from ..errors import InputError, SecbertEdgeError, require
from ..manifest import Task
from ..runtime.plan import ServingPlan
from .batcher import Batcher, BatchObserver, Closed, Job, Kind, QueueFull
from .config import ServeConfig
from .metrics import Metrics
from .openapi import docs_html, openapi_schema

log = logging.getLogger("secbert_edge.serve")
orjson = require("orjson", "serve", "secbert-edge serve")

ROUTES = {"/v1/classify": Kind.TEXTS, "/v1/classify-pairs": Kind.PAIRS}
ENDPOINT = {Kind.TEXTS: "classify", Kind.PAIRS: "classify-pairs"}
FIELDS = {Kind.TEXTS: ("texts", "threshold"), Kind.PAIRS: ("prompts", "responses", "threshold")}
JSON_HEADERS = [(b"content-type", b"application/json")]
# A request that arrives while the service has handled one request at a time for this long runs on the event loop's
# thread (Batcher.run_alone) instead of crossing to a worker and back; any overlap restarts the count.
QUIET_S = 0.1


class HTTPError(Exception):
    """A request the service refuses: status, outcome label (metrics) and a message naming the fix."""

    def __init__(self, status: int, outcome: str, message: str, headers: list[tuple[bytes, bytes]] | None = None):
        super().__init__(message)
        self.status, self.outcome, self.message, self.headers = status, outcome, message, headers or []


class ServeApp:
    """``ServeApp(classifier, config)`` is an ASGI application. Run it under uvicorn (see :func:`..server.run`),
    or in-process with httpx's ASGI transport after :meth:`start` (lifespan does it under a server)."""

    def __init__(self, classifier: Any, config: ServeConfig | None = None, *, warmup: bool = True) -> None:
        starlette = require("starlette", "serve", "secbert-edge serve")
        from starlette.applications import Starlette
        from starlette.responses import HTMLResponse, JSONResponse, Response
        from starlette.routing import Route

        del starlette
        self.clf = classifier
        self.config = config or ServeConfig()
        self.metrics = Metrics()
        self.plan, self.plan_source, self.plan_reason, self.plan_overrides = serving_plan(classifier, self.config)
        self.parallel_runs = self.plan.runs
        runners = None
        if self.plan.sessions > 1:  # a session of its own per run (the plan measured it better than sharing one)
            runners = [classifier] + [classifier.replica() for _ in range(self.plan.sessions - 1)]
        solo = None
        if self.plan.solo_threads and self.plan.runs > 1:  # one request alone: a session on every core, spinning
            # during its run and, where the plan says so, stopping as it returns (ServingPlan.solo_stop_spinning)
            solo = classifier.replica(
                threads=self.plan.solo_threads, spinning=True, stop_spinning=self.plan.solo_stop_spinning
            )
        self.batcher = Batcher(
            classifier,
            max_batch_size=self.plan.max_batch_size,
            max_wait_ms=self.plan.max_wait_ms,
            max_queue_texts=self.config.max_queue_texts,
            warmup=warmup,
            parallel_runs=self.plan.runs,
            runners=runners,
            solo=solo,
            observer=BatchObserver(batch=self.metrics.batch, job=self.metrics.job, alone=self.metrics.alone.inc),
        )
        self.metrics.plan(self.plan_source, self.plan, self.plan_reason, self.plan_overrides)
        self._in_flight = 0  # classification requests being handled
        self._crowded_until = 0.0  # perf_counter time: before it, a request alone still goes through the queue
        self.task = classifier.manifest.task
        self.model = {
            "name": classifier.package_dir.name,
            "task": self.task.value,
            "variant": classifier.variant_name,
            "sha256": classifier.variant.sha256,
        }
        self._prefix = b'{"model":' + orjson.dumps(self.model) + b',"results":'
        self._auth = b"Bearer " + self.config.api_key.encode() if self.config.api_key else None
        schema = openapi_schema(self.model["name"])
        docs_page = docs_html(schema)

        async def healthz(request: Any) -> Any:
            return JSONResponse({"status": "alive"})

        async def readyz(request: Any) -> Any:
            ready = self.batcher.ready.is_set() and not self.batcher.closed
            state = "ready" if ready else ("shutting down" if self.batcher.closed else "warming up")
            return JSONResponse({"status": state, "model": self.model}, status_code=200 if ready else 503)

        async def metrics(request: Any) -> Any:
            self.metrics.queued.set(self.batcher.queued_texts)
            self.metrics.ready.set(1 if self.batcher.ready.is_set() else 0)
            body, content_type = self.metrics.render()
            return Response(body, media_type=content_type)

        async def openapi(request: Any) -> Any:
            return JSONResponse(schema)

        async def docs(request: Any) -> Any:
            return HTMLResponse(docs_page)

        self.router = Starlette(
            routes=[
                Route("/healthz", healthz),
                Route("/readyz", readyz),
                Route("/metrics", metrics),
                Route("/openapi.json", openapi),
                Route("/docs", docs),
            ],
            lifespan=self._lifespan,
        )

    # ---- lifecycle --------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the inference worker (it warms the model first; /readyz turns 200 when done)."""
        self.batcher.start()

    def close(self, timeout: float | None = None) -> None:
        """Stop taking work, finish what is queued, stop the worker."""
        self.batcher.close(timeout)

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Any) -> AsyncIterator[None]:
        self.start()
        yield
        # uvicorn has stopped accepting and waited for in-flight requests: drain what is left, off the loop
        await asyncio.get_running_loop().run_in_executor(None, self.close, self.config.shutdown_timeout_s)
        log.info("drained and stopped")

    # ---- ASGI ---------------------------------------------------------------------------------------
    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            kind = ROUTES.get(scope["path"])
            if kind is not None:
                if scope["method"] == "POST":
                    await self._classify(kind, scope, receive, send)
                else:
                    await _send(
                        send, 405, orjson.dumps({"error": f"{scope['path']} takes POST"}), [(b"allow", b"POST")]
                    )
                return
        await self.router(scope, receive, send)

    async def _classify(self, kind: Kind, scope: dict, receive: Any, send: Any) -> None:
        started = time.perf_counter()
        endpoint = ENDPOINT[kind]
        m = self.metrics
        m.in_flight.inc()
        self._in_flight += 1
        if self._in_flight > 1:
            self._crowded_until = started + QUIET_S
        n_texts, n_errors, outcome, status, waited = 0, 0, "ok", 200, 0.0
        job: Job | None = None
        try:
            try:
                job = await self._parse(kind, scope, receive)
                n_texts = len(job.texts)
                alone = n_texts and self._quiet()
                if alone:
                    # Let requests that arrived with this one start first (uvicorn creates their tasks in the same
                    # loop pass): a burst must go to the workers, not be served one by one on this thread.
                    await asyncio.sleep(0)
                    alone = self._quiet()
                if alone and self.batcher.run_alone(job):
                    if job.error is not None:
                        raise job.error
                    results = job.result or []
                elif n_texts:
                    self.batcher.submit(job)
                    try:  # wait_for, not asyncio.timeout: the package supports Python 3.10
                        results = await asyncio.wait_for(asyncio.shield(job.future), self.config.request_timeout_s)
                    except asyncio.TimeoutError as err:
                        raise HTTPError(
                            504,
                            "timeout",
                            f"results not ready within {self.config.request_timeout_s} s "
                            "(--request-timeout-s); the service is overloaded",
                        ) from err
                    waited = job.waited
                else:
                    results = []
                n_errors = sum(1 for r in results if "error" in r)
                body = self._prefix + orjson.dumps(results) + b"}"
                headers = JSON_HEADERS
            except HTTPError as err:
                status, outcome = err.status, err.outcome
                body, headers = orjson.dumps({"error": err.message}), JSON_HEADERS + err.headers
            except (QueueFull, Closed) as err:
                status, outcome = 503, "overloaded"
                body, headers = orjson.dumps({"error": str(err)}), JSON_HEADERS + [(b"retry-after", b"1")]
            except Exception as err:  # a runtime failure (batcher.InferenceFailed: its reason, logged there) or a bug
                ours = isinstance(err, SecbertEdgeError)
                if not ours:
                    log.exception("request failed")
                status, outcome = 500, "error"
                reason = str(err) if ours else f"internal error: {type(err).__name__}"
                body, headers = orjson.dumps({"error": reason}), JSON_HEADERS
            await _send(send, status, body, headers)
        finally:
            m.in_flight.dec()
            self._in_flight -= 1
            seconds = time.perf_counter() - started
            m.request(endpoint, outcome, seconds)
            client = scope.get("client")
            if log.isEnabledFor(logging.INFO):
                extra = ""
                if self.config.log_texts and job is not None:
                    extra = (
                        " texts="
                        + orjson.dumps(job.texts if job.prompts is None else list(zip(job.prompts, job.texts))).decode()
                    )
                log.info(
                    '%s "POST %s" %d texts=%d errors=%d queue_ms=%.2f ms=%.2f%s',
                    client[0] if client else "-",
                    scope["path"],
                    status,
                    n_texts,
                    n_errors,
                    waited * 1000,
                    seconds * 1000,
                    extra,
                )

    def _quiet(self) -> bool:
        """This is the only request in flight, and none overlapped another for QUIET_S."""
        return self._in_flight == 1 and time.perf_counter() >= self._crowded_until

    async def _parse(self, kind: Kind, scope: dict, receive: Any) -> Job:
        """Auth, size limits, JSON and types, by hand: each refusal says what was wrong and what to send."""
        cfg = self.config
        length = None
        auth = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
            elif name == b"authorization":
                auth = value
        if self._auth is not None and (auth is None or not hmac.compare_digest(auth, self._auth)):
            raise HTTPError(
                401,
                "unauthorized",
                "missing or wrong bearer token: send 'Authorization: Bearer <key>'",
                [(b"www-authenticate", b"Bearer")],
            )
        if length is not None and length.isdigit() and int(length) > cfg.max_body_bytes:
            raise HTTPError(
                413,
                "too_large",
                f"body of {int(length):,} bytes is over the limit of "
                f"{cfg.max_body_bytes:,} (--max-body-bytes); send fewer or shorter texts per request",
            )
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise HTTPError(400, "bad_request", "client disconnected before sending the whole body")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > cfg.max_body_bytes:
                raise HTTPError(
                    413,
                    "too_large",
                    f"body is over the limit of {cfg.max_body_bytes:,} bytes "
                    "(--max-body-bytes); send fewer or shorter texts per request",
                )
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        try:
            data = orjson.loads(chunks[0] if len(chunks) == 1 else b"".join(chunks))
        except orjson.JSONDecodeError as err:
            example = '{"texts": ["..."]}' if kind is Kind.TEXTS else '{"prompts": [...], "responses": [...]}'
            raise HTTPError(
                400, "bad_request", f"body is not valid JSON ({err}); send a JSON object such as " + example
            ) from err
        if not isinstance(data, dict):
            raise HTTPError(
                422,
                "invalid",
                f"body is a JSON {type(data).__name__}, expected an object with "
                + " and ".join(f'"{f}"' for f in FIELDS[kind][:-1]),
            )
        unknown = sorted(set(data) - set(FIELDS[kind]))
        if unknown:
            raise HTTPError(
                422,
                "invalid",
                f"unknown field(s) {', '.join(map(repr, unknown))}; {ENDPOINT[kind]} takes {', '.join(FIELDS[kind])}",
            )
        threshold = self._threshold(data.get("threshold"))
        if kind is Kind.PAIRS:
            if self.task is not Task.RESPONSE:
                raise HTTPError(
                    400,
                    "bad_request",
                    f"the model {self.model['name']!r} is a {self.task.value} "
                    "classifier; /v1/classify-pairs needs a response-judge package. Use /v1/classify",
                )
            prompts, texts = self._list(data, "prompts"), self._list(data, "responses")
            if len(prompts) != len(texts):
                raise HTTPError(
                    422, "invalid", f"got {len(prompts)} prompts but {len(texts)} responses; they must pair up"
                )
        else:
            prompts, texts = None, self._list(data, "texts")
        return Job(kind, texts, prompts, threshold, asyncio.get_running_loop().create_future())

    def _list(self, data: dict, field: str) -> list[Any]:
        if field not in data:
            raise HTTPError(422, "invalid", f'missing field "{field}": a list of strings')
        value = data[field]
        if not isinstance(value, list):
            raise HTTPError(
                422,
                "invalid",
                f'"{field}" is a JSON {_json_type(value)}, expected a list of strings (one text: ["..."])',
            )
        if len(value) > self.config.max_texts:
            raise HTTPError(
                413,
                "too_large",
                f'"{field}" has {len(value):,} items, over the limit of '
                f"{self.config.max_texts:,} per request (--max-texts); split it into several requests",
            )
        return value

    def _threshold(self, value: Any) -> str | float | None:
        if value is None or value == "default":
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise HTTPError(
                422, "invalid", f'"threshold" is a JSON {_json_type(value)}; send "default", "ks" or a number in [0, 1]'
            )
        if isinstance(value, (int, float)) and not (math.isfinite(value) and 0 <= value <= 1):
            raise HTTPError(422, "invalid", f'"threshold" {value} is outside [0, 1]')
        try:
            self.clf.threshold(value)
        except (SecbertEdgeError, InputError, ValueError, KeyError) as err:
            raise HTTPError(422, "invalid", f'"threshold" {value!r} cannot be used: {err}') from err
        return float(value) if not isinstance(value, str) else value


def serving_plan(classifier: Any, config: ServeConfig) -> tuple[ServingPlan, str, str, list[str]]:
    """The plan the service runs: the classifier's (tuned for this package and box, else the rule; its threads and
    spinning already in its session), with what ``config`` sets explicitly on top. Returns (plan, source, reason,
    the settings given explicitly)."""
    choice = getattr(classifier, "plan_choice", None)
    base = getattr(classifier, "serving_plan", None) or ServingPlan(runs=2 if classifier.dynamic_scales else 1)
    overrides = {
        "runs": config.parallel_runs,
        "sessions": config.sessions,
        "max_batch_size": config.max_batch_size,
        "max_wait_ms": config.max_wait_ms,
        "solo_threads": config.solo_threads,
        "solo_stop_spinning": config.solo_stop_spinning,
    }
    session = getattr(getattr(classifier, "config", None), "session", None)
    given = [name for name, value in overrides.items() if value is not None]
    given += [name for name in ("threads", "spinning") if getattr(session, name, None) is not None]
    source = choice.source.value if choice is not None else "rule"
    reason = choice.reason if choice is not None else "the classifier carries no serving plan"
    return base.replace(**overrides), source, reason, sorted(given)


def _json_type(value: Any) -> str:
    return {
        dict: "object",
        list: "array",
        str: "string",
        bool: "boolean",
        int: "number",
        float: "number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


async def _send(send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": headers + [(b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def create_app(classifier: Any, config: ServeConfig | None = None, *, warmup: bool = True) -> ServeApp:
    """The service's ASGI app around a loaded classifier."""
    return ServeApp(classifier, config, warmup=warmup)
