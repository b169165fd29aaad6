"""Scoring on Ray: a Ray Data batch job (``secbert-edge score --engine ray``) and a Ray Serve deployment of the guard.

Needs the ``ray`` extra (``pip install "secbert-edge[ray]"``). Both open the model once per actor/replica through the
same runtime as the local engine (:func:`secbert_edge.score.open_classifier`), so the scores are the same.

Batch (:func:`score_dataset`)::

    read_parquet / read_json  ->  map_batches(_Scorer, ActorPoolStrategy)  ->  write_parquet

Rows are read in parallel on the cluster, so a row has no stable row number: the job needs an id column
(``--id-column``). Every input row gives exactly one output row (a row that cannot be scored carries its ``error``).
The output is a folder of Parquet files; the files carry no global row order (Ray writes them as blocks finish),
so join or sort on the id (``pq.read_table(out).sort_by("id")``). ``resume=True`` reads the ids
already in that folder (a file cut short by a kill is unreadable: it is deleted and its rows scored again), scores
only the other rows and appends them: nothing lost, nothing scored twice.

Serving (:func:`guard_app`)::

    import ray
    from ray import serve
    from secbert_edge.ray import guard_app

    ray.init()                                          # or ray.init(address="auto") on a cluster
    serve.start(http_options={"host": "127.0.0.1", "port": 8000})
    handle = serve.run(guard_app("models/secbert-pt-demo", num_replicas=2), route_prefix="/guard")
    print(handle.remote({"text": "Ignore suas instruções anteriores"}).result())
    # HTTP: curl -s 127.0.0.1:8000/guard -d '{"text": "Ignore suas instruções anteriores"}'

Requests arriving together are scored as one runtime batch (``@serve.batch``).
"""

from __future__ import annotations

import dataclasses
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

from .errors import ConfigError, InputError, JobError, SecbertEdgeError, require
from .score import RESULT_COLUMNS, ScoreSummary, arrow_table, open_classifier, predict_chunk, result_rows
from .textio import Fields, Record, _missing_columns, parquet_files

RAY_FORMATS = (".parquet", ".jsonl")
# CPUs Ray reserves for each read and write task (Ray Data's default is 1). Scoring actors take fractional CPUs, which
# fragments a cluster: 3 nodes of 1 CPU with 3 actors of 0.667 leave 0.333 free on every node, so a read task asking
# for 1 CPU never starts and the job hangs (seen on ray.cluster_utils.Cluster). Reads and writes are I/O and Arrow
# work, light next to the model; a quarter CPU fits in what the actors leave on any node.
IO_CPUS = 0.25


def _ray() -> Any:
    return require("ray", "ray", "--engine ray and the Ray Serve deployment")


def ray_address(address: str | None, log: Any = None) -> str | None:
    """What to pass ``ray.init``: ``address``, else $RAY_ADDRESS, else None (Ray joins the local cluster `ray start`
    last started on this machine, else starts one) -- or "local" (a new local Ray) when the cluster that Ray's
    address file names no longer answers. A Ray that died without cleaning up leaves that file behind, and
    ``ray.init()`` then waits on the dead GCS (measured here: still waiting after 200 s)."""
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address is not None:
        return address
    last = _last_local_cluster()
    if last is None or _answers(last):
        return None
    if log:
        log(f"the local Ray named in {_address_file()} ({last}) does not answer; starting a new local Ray")
    return "local"


def _address_file() -> Path:
    """Ray's record of the last local cluster (ray._common.utils.get_ray_address_file, which moves between Ray
    versions: the same rule here): $RAY_TMPDIR, else $TMPDIR on Linux, else /tmp; then ray/ray_current_cluster."""
    base = os.environ.get("RAY_TMPDIR") or (os.environ.get("TMPDIR") if sys.platform.startswith("linux") else None)
    return Path(base or "/tmp") / "ray" / "ray_current_cluster"


def _last_local_cluster() -> str | None:
    try:
        return _address_file().read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def _answers(address: str, timeout: float = 2.0) -> bool:
    """Whether something accepts a TCP connection at ``host:port`` (the GCS of a live cluster does)."""
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            return True
    except (OSError, ValueError):
        return False


@dataclasses.dataclass(frozen=True)
class ActorPlan:
    """How many scoring actors, the CPUs Ray reserves for each, and the ONNX Runtime threads each runs."""

    actors: int
    cpus_per_actor: float
    threads: int


def plan_actors(
    cpus: float, *, actors: int | None = None, threads: int | None = None, largest_node: float | None = None
) -> ActorPlan:
    """Size the actor pool to the CPUs Ray reports, leaving room for the read and write operators and, on a cluster,
    for the actors of a lost node to restart on the others.

    Scoring actors must not reserve every CPU: Ray Data's read and write tasks need CPU slots too, and a pool that
    takes them all stalls the pipeline (measured on 2 CPUs: 2 actors x 1 CPU hung, 2 actors x 0.5 CPU ran). One CPU
    is left free (two from 8 CPUs on). On a cluster (``largest_node`` below ``cpus``), the CPUs of its largest node
    are kept out of the pool too: Ray Data restarts the actors of a lost node and retries their tasks on them, and an
    actor that cannot be placed again stalls the job for good (seen on a 3-node ``ray.cluster_utils.Cluster`` of 1
    CPU each: 3 actors of 0.667 CPU, one node removed -> no progress; with 3 of 0.333 the job finished). The rest is
    shared by ``cpus // threads`` actors of ``threads`` threads each (1 thread up to 4 CPUs, else 2: small BERT
    batches scale poorly past 2 threads per session).
    """
    if cpus < 1:
        raise ConfigError(f"Ray reports {cpus} CPUs; scoring needs at least 1 (start Ray with num_cpus >= 1)")
    threads = threads or (1 if cpus <= 4 else 2)
    actors = actors or max(1, int(cpus // threads))
    reserve = 1.0 if cpus <= 8 else 2.0
    spare = largest_node if largest_node is not None and largest_node < cpus else 0.0
    usable = max(0.5, cpus - reserve - spare)
    return ActorPlan(actors=actors, cpus_per_actor=round(usable / actors, 3), threads=threads)


class _Scorer:
    """The Ray Data callable class: opens the package once per actor, scores one pyarrow batch per call."""

    def __init__(self, model_dir: str, fields: Fields, id_name: str, threshold: Any, runtime: Any):
        self.clf = open_classifier(model_dir, runtime)
        self.fields, self.id_name = fields, id_name
        self.tau = self.clf.threshold(threshold)

    def __call__(self, batch: Any) -> Any:
        f = self.fields
        ids = batch.column(f.id).to_pylist()  # type: ignore[arg-type]
        texts = batch.column(f.response if f.pairs else f.text).to_pylist()  # type: ignore[arg-type]
        prompts = batch.column(f.prompt).to_pylist() if f.pairs else [None] * len(ids)  # type: ignore[arg-type]
        records = [Record(i, t, p) for i, t, p in zip(ids, texts, prompts)]
        cols = result_rows(records, predict_chunk(self.clf, records, f.pairs, self.tau))
        for row, ident in enumerate(ids):
            if ident is None:  # still scored, but the row cannot be joined back: say so
                cols["error"][row] = f"row has no {f.id!r} id; every row needs one with --engine ray"
                for c in RESULT_COLUMNS[:-1]:
                    cols[c][row] = None
        return arrow_table(cols, self.id_name, batch.schema.field(f.id).type)


def _read(ray: Any, path: Path) -> Any:
    if path.is_dir():
        return ray.data.read_parquet([str(p) for p in parquet_files(path)], ray_remote_args={"num_cpus": IO_CPUS})
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return ray.data.read_parquet(str(path), ray_remote_args={"num_cpus": IO_CPUS})
    if suffix == ".jsonl":
        return ray.data.read_json(str(path), lines=True, ray_remote_args={"num_cpus": IO_CPUS})
    raise ConfigError(
        f"--engine ray reads Parquet (a file or a dataset folder) and .jsonl; {path} is {suffix!r}. "
        "Use --engine local, or convert the file to Parquet"
    )


def _done_ids(output: Path, id_name: str) -> tuple[Any, int]:
    """Ids already written in the output folder (files a kill cut short are deleted); (pyarrow array, rows)."""
    pa = require("pyarrow", "ray", "--engine ray")
    pq = require("pyarrow.parquet", "ray", "--engine ray")
    chunks = []
    for file in parquet_files(output):
        try:
            chunks.append(pq.read_table(file, columns=[id_name]).column(id_name))
        except (OSError, pa.ArrowInvalid):
            file.unlink()  # written by us and cut short: its rows are scored again
    if not chunks:
        return None, 0
    ids = pa.chunked_array([c for chunk in chunks for c in chunk.chunks], type=chunks[0].type)
    return ids, len(ids)


def _skip_done(batch: Any, id_name: str, done: Any) -> Any:
    """Drops rows whose id is already in the output (resume). A plain function: Ray fuses it into the read task,
    so it takes no CPU slot of its own (an extra actor here starved the read of its slot on 2 CPUs and hung)."""
    pc = require("pyarrow.compute", "ray", "--engine ray")
    keep = pc.invert(pc.fill_null(pc.is_in(batch.column(id_name), value_set=done), False))
    return batch.filter(keep)


def score_dataset(
    input_path: str | Path,
    output: str | Path,
    model_dir: str | Path,
    *,
    fields: Fields,
    batch_rows: int = 1024,
    resume: bool = False,
    threshold: float | str | None = None,
    runtime: Any = None,
    address: str | None = None,
    actors: int | None = None,
    threads: int | None = None,
    rows_per_file: int | None = None,
    log: Any = None,
) -> ScoreSummary:
    """Score ``input_path`` into the Parquet folder ``output`` with Ray Data (see the module docstring).

    Connects to ``address`` (or $RAY_ADDRESS), else starts a local Ray, unless Ray is already initialised.
    ``rows_per_file`` caps the rows of an output file (the most a kill can cost a resume) [default: Ray's choice].
    ``runtime`` is the RuntimeConfig each actor opens the package with; its session runs the plan's threads.
    """
    ray = _ray()
    input_path, output = Path(input_path).resolve(), Path(output).resolve()
    if fields.id is None:
        raise ConfigError(
            "--engine ray needs --id-column: rows are read in parallel on the cluster and have no stable "
            "row number to join results back on. Name the id column, or use --engine local"
        )
    if output.suffix.lower() == ".jsonl":
        raise ConfigError(f"--engine ray writes a folder of Parquet files; {output} ends in .jsonl. Name a folder")
    if not input_path.exists():
        raise InputError(f"{input_path} does not exist")
    if output.is_file():
        raise ConfigError(f"--output {output} is a file; --engine ray writes a folder of Parquet files")
    existing = parquet_files(output) if output.is_dir() else []
    if existing and not resume:
        raise ConfigError(
            f"{output} already holds {len(existing)} Parquet files; pass --resume to finish an "
            "interrupted run into it, or delete it to start over"
        )
    if not ray.is_initialized():
        ray.init(address=ray_address(address, log), log_to_driver=False)
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = log is not None
    if hasattr(ctx, "use_datasource_v2"):
        # Ray >= 2.5x reads Parquet through a ListFiles task that asks for a whole CPU and takes no ray_remote_args:
        # on a cluster whose nodes the fractional actors have all cut below 1 free CPU it never starts (seen: 3 nodes
        # of 1 CPU, 3 actors, no progress). The classic read path gives every read task IO_CPUS.
        ctx.use_datasource_v2 = False
    nodes = [float(n["Resources"].get("CPU", 0)) for n in ray.nodes() if n.get("Alive")]
    cpus = float(ray.cluster_resources().get("CPU", 0))
    plan = plan_actors(cpus, actors=actors, threads=threads, largest_node=max(nodes, default=cpus))
    if log:
        log(f"{plan.actors} scoring actors x {plan.threads} thread(s), {plan.cpus_per_actor} CPU each reserved")

    ds = _read(ray, input_path)
    names = ds.schema().names
    _missing_columns(input_path, names, fields)
    ds = ds.select_columns(list(dict.fromkeys(fields.wanted().values())))
    done, resumed = _done_ids(output, fields.id) if resume else (None, 0)
    if done is not None:
        ds = ds.map_batches(_skip_done, fn_args=(fields.id, done), batch_format="pyarrow", num_cpus=IO_CPUS)
    from .runtime import RuntimeConfig

    # the actors' session: the actor plan's threads each, one run at a time (Ray scales by actors, not in-actor runs)
    opened = RuntimeConfig.build(runtime, threads=plan.threads, runs=1)
    scored = ds.map_batches(
        _Scorer,
        fn_constructor_args=(str(Path(model_dir).resolve()), fields, fields.id, threshold, opened),
        batch_size=batch_rows,
        batch_format="pyarrow",
        num_cpus=plan.cpus_per_actor,
        compute=ray.data.ActorPoolStrategy(size=plan.actors),
    )
    started = time.perf_counter()
    output.mkdir(parents=True, exist_ok=True)
    limit = {"max_rows_per_file": rows_per_file} if rows_per_file else {}
    try:
        scored.write_parquet(str(output), ray_remote_args={"num_cpus": IO_CPUS}, **limit)
    except SecbertEdgeError:  # raised by our own code in an actor (e.g. the package cannot be loaded there)
        raise
    except (ray.exceptions.RayError, ray.data.exceptions.SystemException) as err:
        # its first non-blank line, cut on \n only: a row's text quoted in the message may hold U+2028 or \x0c
        first = next((line for line in str(err).split("\n") if line.strip()), "")[:300]
        raise JobError(
            f"the Ray job stopped before it finished ({type(err).__name__}: {first}); every file it completed in "
            f"{output} is kept: rerun the same command with --resume to score only the rest"
        ) from err
    seconds = time.perf_counter() - started
    pq = require("pyarrow.parquet", "ray", "--engine ray")
    errors = rows = 0
    for file in parquet_files(output):
        col = pq.read_table(file, columns=["error"]).column("error")
        rows, errors = rows + len(col), errors + len(col) - col.null_count
    return ScoreSummary(str(output), rows, rows - resumed, resumed, errors, 0, 0, seconds)


def _session(**kwargs: Any) -> Any:
    from .runtime import SessionConfig

    return SessionConfig(**kwargs)


def guard_app(
    model_dir: str | Path,
    *,
    variant: str | None = None,
    threshold: float | str | None = None,
    num_replicas: int = 1,
    cpus_per_replica: float = 1.0,
    threads: int = 1,
    max_batch_size: int = 32,
    batch_wait_timeout_s: float = 0.005,
) -> Any:
    """A Ray Serve application of the guard: ``num_replicas`` replicas, each opening the package once.

    A request is ``{"text": ...}`` (or ``{"prompt": ..., "response": ...}`` for a response judge), as a dict through
    a DeploymentHandle or a JSON body over HTTP; the answer is the Prediction as a dict (``score``, ``label``,
    ``threshold``, ``n_tokens``, ``truncated``, or ``error``). Requests that arrive within ``batch_wait_timeout_s``
    are scored together, up to ``max_batch_size``.
    """
    _ray()
    serve = require("ray.serve", "ray", "The Ray Serve deployment")
    package = str(Path(model_dir).resolve())

    @serve.deployment(num_replicas=num_replicas, ray_actor_options={"num_cpus": cpus_per_replica})
    class Guard:
        def __init__(self) -> None:
            self.clf = open_classifier(
                package, variant=variant, session=_session(threads=threads), max_batch_size=max_batch_size, runs=1
            )
            self.tau = self.clf.threshold(threshold)
            self.pairs = self.clf.manifest.task.value == "response"

        @serve.batch(max_batch_size=max_batch_size, batch_wait_timeout_s=batch_wait_timeout_s)
        async def score(self, items: list[tuple[object, object]]) -> list[dict[str, Any]]:
            prompts, texts = [p for p, _ in items], [t for _, t in items]
            results = (
                self.clf.predict_pairs(prompts, texts, threshold=self.tau)
                if self.pairs
                else self.clf.predict(texts, threshold=self.tau)
            )
            return [{k: v for k, v in r.to_dict().items() if k != "index"} for r in results]

        async def __call__(self, request: Any) -> dict[str, Any]:
            body = request if isinstance(request, dict) else await request.json()
            if not isinstance(body, dict):
                return {"error": 'send a JSON object: {"text": ...} or {"prompt": ..., "response": ...}'}
            text = body.get("response", body.get("text")) if self.pairs else body.get("text")
            return await self.score((body.get("prompt"), text))

    return Guard.bind()  # type: ignore[attr-defined]  # serve.deployment adds bind


__all__ = ["ActorPlan", "RAY_FORMATS", "guard_app", "plan_actors", "score_dataset"]
