"""The runtime classifier: a model package + ONNX Runtime session -> one result per input, in order.

Never imports torch or transformers: an edge box installs onnxruntime, tokenizers and numpy only.
"""

from __future__ import annotations

import dataclasses
import re
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from .. import variants
from ..errors import ConfigError, InputError, PackageError, ProviderError
from ..manifest import INPUT_NAMES, Manifest, Task
from ..settings import setting
from ..textio import SURROGATE, BadItem
from . import bucketing, graphinfo, providers
from . import plan as plan_module
from .tokenization import LongInputPolicy, TextEncoder, fit_pair, fit_sequence

ort = providers.ort
DEFAULT_MAX_CHARS = 4_000_000  # ~4 MB of text; far beyond any prompt, small enough to tokenize in ~1 s


@dataclasses.dataclass(frozen=True)
class SessionConfig:
    """How an ONNX Runtime session is built: providers, threads and the GPU settings (ignored on CPU). Shared by the
    runtime (RuntimeConfig) and bench (BenchConfig) so each setting is spelled once."""

    providers: tuple[str, ...] | None = setting(
        None,
        "Execution providers in order (comma-separated: tensorrt,cuda,cpu) or 'auto' (what this onnxruntime build "
        "has, in that order).",
    )
    strict_providers: bool = setting(False, "Fail instead of falling back when a provider is missing or not used.")
    threads: int | None = setting(
        None,
        "Intra-op threads per session [default: the serving plan's (see --plan); without one, physical cores].",
        min=1,
    )
    spinning: bool | None = setting(
        None,
        "Idle ONNX Runtime pool threads spin (--spinning) or sleep (--no-spinning) [default: the serving plan's; "
        "ONNX Runtime's own default spins].",
    )
    device_id: int = setting(0, "GPU to run on (CUDA/TensorRT).", min=0)
    gpu_mem_limit_mb: int | None = setting(None, "Cap the CUDA memory arena, in MB.", flag="--gpu-mem-limit", min=64)
    cache_dir: str | None = setting(
        None,
        "TensorRT engine/timing cache folder [default: $SECBERT_EDGE_CACHE/tensorrt]; entries are keyed by the "
        "model's sha256 and the ORT/TensorRT versions.",
        flag="--trt-cache",
    )
    trt_per_bucket_profiles: bool = setting(
        False, "One TensorRT optimisation profile per bucket edge, not one for all."
    )
    io_binding: bool | None = None  # None = on for GPU sessions; True also on CPU (same results)
    # Idle intra-op threads stop spinning as soon as a run returns (ORT's session.force_spinning_stop) instead of
    # spinning on into the gap before the next run: for a session whose runs come one at a time with gaps between
    # them (serve's solo session: one client), where the spinning thread takes a core from the HTTP side.
    stop_spinning: bool = False

    def __post_init__(self) -> None:
        providers = self.providers
        if isinstance(providers, str):
            providers = (providers,)
        if providers is not None:
            providers = tuple(providers)
            if providers in ((), ("auto",)):
                providers = None
        object.__setattr__(self, "providers", providers)
        if self.cache_dir is not None:
            object.__setattr__(self, "cache_dir", str(self.cache_dir))
        if self.threads is not None and (not isinstance(self.threads, int) or self.threads < 1):
            raise ConfigError(f"threads must be an integer >= 1, got {self.threads!r}")
        if not isinstance(self.device_id, int) or self.device_id < 0:
            raise ConfigError(f"device_id must be an integer >= 0, got {self.device_id!r}")
        if self.gpu_mem_limit_mb is not None and self.gpu_mem_limit_mb < 64:
            raise ConfigError(f"gpu_mem_limit_mb must be >= 64 (MB), got {self.gpu_mem_limit_mb}")


@dataclasses.dataclass(frozen=True)
class RuntimeConfig:
    """How a package is run. Validated as a whole when built."""

    variant: str | None = None  # see secbert_edge.variants; None = the package's default variant
    session: SessionConfig = SessionConfig()
    long_inputs: LongInputPolicy = setting(
        LongInputPolicy.TRUNCATE,
        "Inputs over the max length: 'truncate' scores the first tokens (the rest unread; `truncated` says so), "
        "'head_tail' the first quarter and last three quarters of the room, 'windows' every overlapping window and "
        "reports the highest (nothing unread, but more windows, more false flags on long benign text: README, "
        "'Behaviour worth knowing').",
    )
    max_batch_size: int = setting(32, "Max texts per model call.", flag="--batch-size", min=1)
    plan: str | None = setting(
        plan_module.AUTO,
        "Serving plan (threads, concurrent runs): 'auto' = the plan `secbert-edge tune` measured for this package, "
        "variant, provider and box, else the rule; 'rule' = the rule; or a plan file (refused, with the rule used, "
        "when it was tuned for another package, variant, provider or box).",
    )
    runs: int | None = setting(
        None, "Concurrent session runs when a list is scored [default: the serving plan's].", flag="--runs", min=1
    )
    token_budget: int = 16384  # rows x padded length per batch
    bucket_edges: tuple[int, ...] | None = None  # None = geometric 16, 32, ... up to the max length
    max_chars: int = DEFAULT_MAX_CHARS
    # Pad every batch to its bucket edge and a power-of-two row count, so only a fixed set of shapes reaches the
    # session (what TensorRT profiles and the CUDA arena want). None = on for GPU sessions, off on CPU.
    fixed_shapes: bool | None = None

    def __post_init__(self) -> None:
        if self.variant is not None:
            object.__setattr__(self, "variant", variants.spec(self.variant).name.value)
        try:
            object.__setattr__(self, "long_inputs", LongInputPolicy(self.long_inputs))
        except ValueError as err:
            choices = ", ".join(p.value for p in LongInputPolicy)
            raise ConfigError(f"long_inputs {self.long_inputs!r} is not one of {choices}") from err
        for name in ("max_batch_size", "token_budget", "max_chars"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ConfigError(f"{name} must be an integer >= 1, got {getattr(self, name)!r}")
        if self.runs is not None and (not isinstance(self.runs, int) or self.runs < 1):
            raise ConfigError(f"runs must be an integer >= 1, got {self.runs!r}")
        if self.plan is not None:
            object.__setattr__(self, "plan", str(self.plan))
        if self.bucket_edges is not None:
            edges = tuple(int(e) for e in self.bucket_edges)
            if not edges or list(edges) != sorted(set(edges)) or edges[0] < 1:
                raise ConfigError(
                    f"bucket_edges must be strictly increasing positive integers, got {self.bucket_edges}"
                )
            object.__setattr__(self, "bucket_edges", edges)

    @classmethod
    def build(cls, base: RuntimeConfig | None = None, **overrides: Any) -> RuntimeConfig:
        """``base`` (default: the defaults) with ``overrides`` applied: RuntimeConfig fields, or SessionConfig fields
        given flat (``providers=``, ``threads=``, ...). ``precision=`` is the deprecated spelling of ``variant=``."""
        base = base or cls()
        if "precision" in overrides:
            warnings.warn("precision= is deprecated; use variant=", DeprecationWarning, stacklevel=3)
            overrides.setdefault("variant", overrides.pop("precision"))
            overrides.pop("precision", None)
        own = {f.name for f in dataclasses.fields(cls)}
        session_fields = {f.name for f in dataclasses.fields(SessionConfig)}
        unknown = sorted(set(overrides) - own - session_fields)
        if unknown:
            raise ConfigError(
                f"unknown runtime option(s) {unknown}; accepted: {', '.join(sorted(own | session_fields))}"
            )
        session = {k: overrides.pop(k) for k in list(overrides) if k in session_fields}
        if session:
            overrides["session"] = dataclasses.replace(overrides.get("session", base.session), **session)
        return dataclasses.replace(base, **overrides)


INFERENCE_FAILED = "inference failed"  # how the error of an input whose batch failed inside ONNX Runtime begins


@dataclasses.dataclass(frozen=True)
class Prediction:
    """The result for one input. ``error`` is set (and the rest None) when that input could not be scored."""

    index: int
    score: float | None = None
    label: str | None = None
    threshold: float | None = None
    n_tokens: int | None = None  # tokens of the whole input, special tokens included, before any cut
    truncated: bool | None = None  # True when the long-input policy dropped tokens
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def inference_failed(self) -> bool:
        """The error came from ONNX Runtime running this input's batch, not from the input itself (a fault on the
        scoring side: a service answers it with 5xx, not as the input's own error)."""
        return self.error is not None and self.error.startswith(INFERENCE_FAILED)

    def to_dict(self) -> dict[str, Any]:
        if self.error is not None:
            return {"index": self.index, "error": self.error}
        return {k: v for k, v in dataclasses.asdict(self).items() if k != "error"}


LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # half a UTF-16 pair: Python allows it in a str, tokenizers does not


def check_text(item: object, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """Return ``item`` if it can be classified, else raise InputError saying what is wrong and what to do."""
    if isinstance(item, BadItem):
        raise InputError(item.reason)
    if item is None:
        raise InputError("input is None; expected a str")
    if isinstance(item, (bytes, bytearray)):
        raise InputError("input is bytes; decode it to str first (e.g. data.decode('utf-8'))")
    if not isinstance(item, str):
        raise InputError(f"input is {type(item).__name__}; expected a str")
    if len(item) > max_chars:
        raise InputError(f"input has {len(item):,} characters, over the limit of {max_chars:,} (max_chars); split it")
    lone = LONE_SURROGATE.search(item)  # one scan of a clean text; the escaped bytes are a range of surrogates
    if lone:
        bad = SURROGATE.search(item, lone.start())  # none before the first surrogate: the first bad byte, if any
        if bad:
            byte = ord(bad.group()) - 0xDC00
            raise InputError(
                f"input contains bytes that are not valid UTF-8 (0x{byte:02x} at character {bad.start()}); "
                "re-encode the source as UTF-8"
            )
        raise InputError(
            f"input contains a lone UTF-16 surrogate (U+{ord(lone.group()):04X} at character {lone.start()}), which is "
            "not a character and cannot be tokenized; fix the string where it was built (a UTF-16 pair split in two?)"
        )
    if not item.strip():
        raise InputError("input is empty or whitespace only; nothing to classify")
    return item


def select_variant(
    manifest: Manifest, name: str | None, chain: list[str], *, strict: bool = False
) -> tuple[str, bool, bool]:
    """The variant a session runs for a requested variant and provider chain: (name, TensorRT fp16 flag, int8 flag).

    TensorRT parses standard ONNX ops only, not ONNX Runtime's fused ones, and applies fp16/int8 itself: a
    TensorRT-first chain runs the asked variant's TensorRT counterpart (see ``variants.SPECS``). Dynamic int8 has CPU
    kernels only, so on CUDA its nodes would run on the CPU: warned (raised if strict).
    """
    asked = variants.spec(manifest.default_name if name is None else name)
    first = chain[0] if chain else providers.PROVIDERS["cpu"]
    if first == providers.TENSORRT:
        run = variants.spec(asked.on_tensorrt)
        manifest.variant(run.name.value)  # raises if missing, saying how to add it
        return run.name.value, asked.trt_fp16, run.precision is variants.Precision.INT8
    if first == providers.CUDA and asked.recipe is variants.Recipe.DYNAMIC_INT8:
        message = (
            "the int8 (dynamic) variant has CPU kernels only: on CUDA its quantized nodes run on the CPU. "
            "Use --variant fp16 or fp32 on CUDA, or int8 through TensorRT (tensorrt-int8)"
        )
        if strict:
            raise ProviderError(message)
        warnings.warn(message, providers.ProviderFallbackWarning, stacklevel=3)
    manifest.variant(asked.name.value)
    return asked.name.value, False, False


class Classifier:
    """A loaded model package. Build it with :func:`load`."""

    def __init__(self, package_dir: str | Path, config: RuntimeConfig | None = None):
        self.package_dir = Path(package_dir)
        self.config = config or RuntimeConfig()
        self.manifest = Manifest.read(self.package_dir)
        self.requested_providers = providers.resolve_providers(
            self.config.session.providers, strict=self.config.session.strict_providers
        )
        self.variant_name, trt_fp16, trt_int8 = select_variant(
            self.manifest, self.config.variant, self.requested_providers, strict=self.config.session.strict_providers
        )
        self.variant = self.manifest.variant(self.variant_name)
        # The contract: every listed file present; the digests of what this session uses (info and verify check every
        # file's); the manifest's lengths and vocabulary against the graph itself.
        self.manifest.verify_files(self.package_dir, [self.variant_name])
        self.manifest.check_files_present(self.package_dir)
        self._check_graph()
        self.device = providers.session_device(self.requested_providers)
        on_gpu = self.device == "cuda"
        # Dynamic int8 with per-batch scales ("dynamic") computes them over the whole padded batch, so a text's score
        # would depend on its batch-mates: such variants run one text at a time, unpadded. Per-text scales
        # ("per-text", export/pertext.py) are exact in batches and batch like fp32.
        self.dynamic_scales = self.variant.options.get("activation_scales") == "dynamic"
        self.plan_choice = self._choose_plan()
        self._helpers: tuple[ThreadPoolExecutor, int] | None = None  # the threads of concurrent runs, and how many
        self._helpers_lock = threading.Lock()
        self.io_binding = on_gpu if self.config.session.io_binding is None else bool(self.config.session.io_binding)
        self.fixed_shapes = on_gpu if self.config.fixed_shapes is None else bool(self.config.fixed_shapes)
        self.max_batch_size = 1 if self.dynamic_scales else self.config.max_batch_size
        tok = self.manifest.tokenizer
        self.encoder = TextEncoder(self.package_dir / tok["file"], self.manifest.tokenizer_vocab_size)
        # The special tokens and the pair template come from the manifest ([CLS] a [SEP] b [SEP] with types 0/1 for
        # BERT's WordPiece, <s> a </s></s> b </s> for an XLM-R vocabulary), and so does the padding id.
        self.template = self.manifest.template
        self.cls_id, self.pad_id = self.template.bos_id, int(tok["pad_id"])
        self.edges = self.config.bucket_edges or bucketing.bucket_edges(self.manifest.max_length)
        if self.edges[-1] < self.manifest.max_length:
            raise ConfigError(
                f"the largest bucket edge {self.edges[-1]} is below the max length {self.manifest.max_length}"
            )
        # On a GPU, batches are padded to bucket edges and power-of-two row counts: a fixed set of shapes.
        self.batch_sizes = providers.gpu_batch_sizes(self.max_batch_size)
        self.provider_options = providers.provider_options(
            self.requested_providers,
            cuda=providers.cuda_options(self.config.session.device_id, self.config.session.gpu_mem_limit_mb),
            tensorrt=providers.tensorrt_options(
                model_sha256=self.variant.sha256,
                edges=self.edges,
                batch_sizes=self.batch_sizes,
                input_names=INPUT_NAMES,
                device_id=self.config.session.device_id,
                fp16=trt_fp16,
                int8=trt_int8,
                cache_dir=self.config.session.cache_dir,
                per_bucket_profiles=self.config.session.trt_per_bucket_profiles,
            )
            if providers.TENSORRT in self.requested_providers
            else None,
        )
        started = time.perf_counter()
        self.session = self._session()
        self.timings = {"session_s": time.perf_counter() - started}
        self.providers = providers.check_session_providers(
            self.session, self.requested_providers, strict=self.config.session.strict_providers
        )
        # Recorded for bench and info: the provider asked for first, when the session does not run on it.
        self.fallback = providers.fallback_from(self.config.session.providers, self.providers)
        self._inputs = {i.name: i.type for i in self.session.get_inputs()}
        if not {"input_ids", "attention_mask"} <= set(self._inputs) or "probability" not in {
            o.name for o in self.session.get_outputs()
        }:
            raise PackageError(
                f"{self.variant.file} does not look like a secbert-edge export (inputs {sorted(self._inputs)}, "
                "expected input_ids/attention_mask and a 'probability' output); re-export the package"
            )

    def plan_key(self) -> plan_module.PlanKey:
        """What a serving plan for this runtime must have been tuned for: this variant file, provider and box."""
        return plan_module.PlanKey(
            self.variant.sha256,
            self.variant_name,
            providers.short_name(self.requested_providers[0]),
            plan_module.Box.here(),
        )

    def _choose_plan(self) -> plan_module.PlanChoice:
        """The tuned plan for this key (or the file asked for) if it matches, else the rule; the settings given
        explicitly (threads, spinning, runs) win over either. Sets ``serving_plan``, what this runtime runs."""
        session = self.config.session
        fallback = plan_module.rule(
            dynamic_scales=self.dynamic_scales,
            device=self.device,
            cores=providers.physical_cores(),
            threads=session.threads,
        )
        hint = f"secbert-edge tune --model {self.package_dir} --variant {self.variant_name}"
        choice = plan_module.choose(self.plan_key(), self.config.plan, fallback, tune_hint=hint)
        self.serving_plan = choice.plan.replace(
            threads=session.threads, spinning=session.spinning, runs=self.config.runs
        )
        return choice

    def replica(
        self, *, threads: int | None = None, spinning: bool | None = None, stop_spinning: bool | None = None
    ) -> Classifier:
        """The same package and settings in a session of its own (a serving plan with one session per run), with
        ``threads`` / ``spinning`` / ``stop_spinning`` given: that session's (a plan's solo session)."""
        config = self.config
        if threads is not None or spinning is not None or stop_spinning is not None:
            session = dataclasses.replace(
                config.session,
                threads=threads if threads is not None else config.session.threads,
                spinning=spinning if spinning is not None else config.session.spinning,
                stop_spinning=stop_spinning if stop_spinning is not None else config.session.stop_spinning,
            )
            config = dataclasses.replace(config, session=session)
        return Classifier(self.package_dir, config)

    def _check_graph(self) -> None:
        path = self.package_dir / self.variant.file
        try:
            rows = graphinfo.embedding_rows(path)
        except (OSError, ValueError) as err:
            raise PackageError(f"{path} is not a readable ONNX model ({err}); re-export the package") from err
        m = self.manifest
        if rows.positions is not None and m.max_length > rows.positions:
            raise PackageError(
                f"manifest max_length {m.max_length} exceeds the {rows.positions} position embeddings of {path.name}: "
                f"longer inputs would fail inside ONNX Runtime. Set max_length <= {rows.positions} in manifest.json "
                "or re-export the package."
            )
        if rows.vocab is not None and rows.vocab != m.vocab_size:
            raise PackageError(
                f"{path.name} embeds {rows.vocab} tokens but the manifest's vocab_size (and the tokenizer checked "
                f"against it) is {m.vocab_size}: the tokenizer does not belong to this graph. Re-export the package "
                "from the backbone it was trained with."
            )

    def _session(self):
        path = self.package_dir / self.variant.file
        try:
            return ort.InferenceSession(
                str(path),
                providers.session_options(
                    self.serving_plan.threads,
                    self.serving_plan.spinning,
                    stop_spinning=self.config.session.stop_spinning,
                ),
                providers=self.provider_options,
                disabled_optimizers=providers.disabled_optimizers(self.requested_providers),
            )
        except ProviderError:
            raise
        except Exception as err:  # onnxruntime raises its own exception types (InvalidProtobuf, Fail, ...)
            raise PackageError(f"ONNX Runtime could not load {path}: {err}. Re-export the package.") from err

    # ---- thresholds ---------------------------------------------------------------------------
    def threshold(self, choice: str | float | None = None) -> float:
        """None/'default', 'ks' (tau*, re-fitted for this variant by verify when it has been), or a number."""
        return self.manifest.threshold(choice, self.variant)

    # ---- inference ----------------------------------------------------------------------------
    def _run(
        self, sequences: list[list[int]], type_ids: list[list[int]], runs: int = 1
    ) -> tuple[np.ndarray, dict[int, str]]:
        """P(positive) for each sequence (already with specials), bucketed and batched, in input order, and the
        errors of sequences whose batch failed inside ONNX Runtime (a failure costs only that batch). The batches run
        in up to ``runs`` concurrent session calls (ORT sessions are thread-safe; a batch's result does not depend on
        which thread ran it)."""
        scores = np.full(len(sequences), np.nan, dtype=np.float64)
        errors: dict[int, str] = {}

        def run_batch(batch: bucketing.Batch) -> None:
            rows = [sequences[i] for i in batch.indices]
            types = [type_ids[i] for i in batch.indices]
            if self.fixed_shapes:  # filler rows up to an allowed row count; their scores are dropped
                filler = bucketing.pad_rows(len(rows), self.batch_sizes) - len(rows)
                empty, empty_types = self.template.frame([])
                rows += [empty] * filler
                types += [empty_types] * filler
            ids, mask, tt = bucketing.pad_batch(rows, batch.pad_to, self.pad_id, types)
            try:
                prob = self.infer({"input_ids": ids, "attention_mask": mask, "token_type_ids": tt})
            except Exception as err:  # onnxruntime raises its own types (Fail, RuntimeException, ...)
                message = (
                    f"inference failed for its batch ({len(batch.indices)} x {batch.pad_to} tokens): "
                    + (" ".join(str(err).split())[:300])
                )
                errors.update((i, message) for i in batch.indices)
                return
            scores[list(batch.indices)] = prob[: len(batch.indices)]

        self._each(self.plan([len(s) for s in sequences], runs), run_batch, runs)
        return scores, errors

    def _each(self, batches: list[bucketing.Batch], run_batch: Callable[[bucketing.Batch], None], runs: int) -> None:
        """``run_batch`` on every batch: on this thread alone, or with ``runs - 1`` helper threads taking the next
        batch as each finishes (no barrier: a long batch holds up only its own thread)."""
        runs = min(runs, len(batches))
        if runs <= 1:
            for batch in batches:
                run_batch(batch)
            return
        pending, lock = iter(batches), threading.Lock()

        def drain() -> None:
            while True:
                with lock:
                    batch = next(pending, None)
                if batch is None:
                    return
                run_batch(batch)

        helpers = [self._pool(runs - 1).submit(drain) for _ in range(runs - 1)]
        try:
            drain()
        finally:
            for helper in helpers:
                helper.result()

    def _pool(self, size: int) -> ThreadPoolExecutor:
        """The helper threads of concurrent runs, made on first use and grown when a call asks for more."""
        with self._helpers_lock:
            if self._helpers is None or self._helpers[1] < size:
                if self._helpers is not None:
                    self._helpers[0].shutdown(wait=False)
                self._helpers = (ThreadPoolExecutor(size, thread_name_prefix="secbert-run"), size)
            return self._helpers[0]

    def plan(self, lengths: Sequence[int], runs: int = 1) -> list[bucketing.Batch]:
        """The batches this runtime runs sequences of these lengths (with specials) in: length-sorted buckets, cut to
        the token budget, padded to their longest member (on a GPU, to their bucket edge). With ``runs`` concurrent
        runs and fewer batches than runs, the batches are cut smaller so that every run has one: a tuned plan of two
        1-thread runs left a 24-text list of a batchable variant (one batch) on one thread, 0.87x the one run on both
        cores it replaced (BERTimbau-base int8 per-text, serve_bench runs h and i)."""
        batches = bucketing.plan_batches(
            lengths,
            self.edges,
            max_batch_size=self.max_batch_size,
            token_budget=self.config.token_budget,
            pad_to_edge=self.fixed_shapes,
        )
        if len(batches) < min(runs, len(lengths)):
            batches = bucketing.plan_batches(
                lengths,
                self.edges,
                max_batch_size=max(1, -(-len(lengths) // runs)),
                token_budget=self.config.token_budget,
                pad_to_edge=self.fixed_shapes,
            )
        return batches

    def infer(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        """One session call on a ready batch (input_ids, attention_mask, token_type_ids as int64 arrays) ->
        P(positive) per row. With IO binding, inputs are bound on the session's device and only the
        probability vector is copied back (logits are never fetched)."""
        length = arrays["input_ids"].shape[-1]
        if length > self.manifest.max_length:
            raise InputError(
                f"a batch of {length} tokens is longer than this package's max length {self.manifest.max_length} "
                "(its position table); fit inputs with the long-input policy (predict does) or cut them"
            )
        feeds = {
            name: arrays[name].astype(np.int32) if kind == "tensor(int32)" else arrays[name]
            for name, kind in self._inputs.items()
        }
        if not self.io_binding:
            return self.session.run(["probability"], feeds)[0]
        binding = self.session.io_binding()
        device_id = self.config.session.device_id if self.device == "cuda" else 0
        for name, array in feeds.items():
            binding.bind_ortvalue_input(name, ort.OrtValue.ortvalue_from_numpy(array, self.device, device_id))
        binding.bind_output("probability", "cpu")
        self.session.run_with_iobinding(binding)
        return binding.copy_outputs_to_cpu()[0]

    def shapes(self) -> list[tuple[int, int]]:
        """Every (rows, length) this runtime can send on a GPU (padded to bucket edges and allowed row counts)."""
        out = []
        for edge in self.edges:
            most = max(1, min(self.max_batch_size, self.config.token_budget // edge))
            out += [
                (rows, edge) for rows in sorted({bucketing.pad_rows(n, self.batch_sizes) for n in range(1, most + 1)})
            ]
        return out

    def warmup(self, shapes: Sequence[tuple[int, int]] | None = None) -> dict[str, float]:
        """Run every shape once so no request pays for a first-shape cost (a TensorRT engine build, CUDA
        kernel selection, arena growth). Default: :meth:`shapes` on a GPU; one row per bucket edge on CPU.
        Returns and records the seconds taken (``timings['warmup_s']``)."""
        if shapes is None:
            shapes = self.shapes() if self.fixed_shapes else [(1, edge) for edge in self.edges]
        started = time.perf_counter()
        for rows, length in shapes:
            seq = [self.cls_id] * length
            ids, mask, tt = bucketing.pad_batch([seq] * rows, length, self.pad_id)
            self.infer({"input_ids": ids, "attention_mask": mask, "token_type_ids": tt})
        self.timings["warmup_s"] = time.perf_counter() - started
        self.timings["warmup_shapes"] = len(shapes)
        return dict(self.timings)

    def predict(
        self, texts: Iterable[object], *, threshold: str | float | None = None, runs: int | None = None
    ) -> list[Prediction]:
        """One Prediction per input, in input order. A bad input gets an ``error`` and costs no other input.

        For a response-judge package, each text is scored as a response alone (see :meth:`predict_pairs`).
        ``runs``: concurrent session runs for this call [default: the serving plan's]; results do not depend on it.
        """
        items: list[object] = [texts] if isinstance(texts, str) else list(texts)
        return self._predict([None] * len(items), items, threshold, runs)

    def predict_pairs(
        self,
        prompts: Iterable[object],
        responses: Iterable[object],
        *,
        threshold: str | float | None = None,
        runs: int | None = None,
    ) -> list[Prediction]:
        """Score LLM responses with their prompts as BERT sentence pairs (response-judge packages).

        A prompt that is None or blank scores its response alone. ``runs`` as in :meth:`predict`.
        """
        if self.manifest.task is not Task.RESPONSE:
            raise InputError(
                f"{self.package_dir} is a {self.manifest.task.value} classifier; (prompt, response) pairs need a "
                "response-judge package (exported with --task response); score prompts as single texts"
            )
        prompt_list, response_list = list(prompts), list(responses)
        if len(prompt_list) != len(response_list):
            raise InputError(f"got {len(prompt_list)} prompts but {len(response_list)} responses; they must pair up")
        return self._predict(prompt_list, response_list, threshold, runs)

    def _predict(
        self, prompts: list[object], texts: list[object], threshold: str | float | None, runs: int | None = None
    ) -> list[Prediction]:
        """Checked, encoded, fitted to the long-input policy, scored in bucketed batches; texts and prompts that
        reach the encoder are str (check_text passed)."""
        tau = self.threshold(threshold)
        results: list[Prediction | None] = [None] * len(texts)
        valid: list[int] = []
        for i, (prompt, item) in enumerate(zip(prompts, texts)):
            try:
                check_text(item, self.config.max_chars)
                if prompt is not None and not (isinstance(prompt, str) and not prompt.strip()):
                    check_text(prompt, self.config.max_chars)
                else:
                    prompts[i] = None
                valid.append(i)
            except InputError as err:
                results[i] = Prediction(index=i, error=str(err))
        text_ids = self._encode([str(texts[i]) for i in valid])
        paired = [i for i in valid if prompts[i] is not None]
        prompt_ids = dict(zip(paired, self._encode([str(prompts[i]) for i in paired])))
        sequences: list[list[int]] = []
        types: list[list[int]] = []
        owners: list[int] = []
        meta: dict[int, tuple[int, bool]] = {}
        for i, encoded in zip(valid, text_ids):
            p_encoded = prompt_ids.get(i, [])
            if isinstance(encoded, Exception) or isinstance(p_encoded, Exception):
                failed = encoded if isinstance(encoded, Exception) else p_encoded
                results[i] = Prediction(index=i, error=f"tokenization failed: {failed}")
                continue
            ids, p_ids = encoded, p_encoded
            if not ids:
                results[i] = Prediction(
                    index=i, error="input has no tokens after normalisation (only control or zero-width characters)"
                )
                continue
            max_length, policy = self.manifest.max_length, self.config.long_inputs
            if prompts[i] is None:
                framed, cut = fit_sequence(ids, max_length, policy, self.template)
                meta[i] = (len(ids) + self.template.single_specials, cut)
            else:
                framed, cut = fit_pair(p_ids, ids, max_length, policy, self.template)
                meta[i] = (len(p_ids) + len(ids) + self.template.pair_specials, cut)
            sequences.extend(f[0] for f in framed)
            types.extend(f[1] for f in framed)
            owners.extend([i] * len(framed))
        if sequences:
            seg_scores, seg_errors = self._run(sequences, types, runs or self.serving_plan.runs)
            best: dict[int, float] = {}
            batch_failed: dict[int, str] = {}
            for k, (owner, s) in enumerate(zip(owners, seg_scores)):
                if k in seg_errors:
                    batch_failed.setdefault(owner, seg_errors[k])
                else:
                    best[owner] = max(best.get(owner, -1.0), float(s))  # windows: max over a text's windows
            for i, message in batch_failed.items():
                results[i] = Prediction(index=i, error=message)
            for i, score in best.items():
                if i in batch_failed:
                    continue
                n_tokens, cut = meta[i]
                label = self.manifest.positive_label if score >= tau else self.manifest.negative_label
                results[i] = Prediction(i, score, label, tau, n_tokens, cut)
        return results  # type: ignore[return-value]

    def _encode(self, texts: list[str]) -> list[list[int] | Exception]:
        try:
            return list(self.encoder.encode(texts))
        except Exception:  # one text broke the batch call: encode one by one so only that text fails
            out: list[list[int] | Exception] = []
            for text in texts:
                try:
                    out.extend(self.encoder.encode([text]))
                except Exception as err:
                    out.append(err)
            return out

    def score(self, texts: Sequence[str], *, threshold: str | float | None = None) -> np.ndarray:
        """P(positive) for each text as an array; raises InputError naming every bad input."""
        results = self.predict(texts, threshold=threshold)
        bad = [f"#{r.index}: {r.error}" for r in results if not r.ok]
        if bad:
            raise InputError(f"{len(bad)} of {len(results)} inputs could not be scored: " + "; ".join(bad))
        return np.array([r.score for r in results], dtype=np.float64)

    def describe(self) -> dict[str, Any]:
        return {
            "package": str(self.package_dir),
            "asked_variant": self.config.variant or self.manifest.default_name,
            "variant": self.variant_name,
            "file": self.variant.file,
            "requested_providers": self.requested_providers,
            "fallback_from": self.fallback,
            "providers": self.providers,
            "device": self.device,
            "io_binding": self.io_binding,
            "timings": dict(self.timings),
            "threads": self.session.get_session_options().intra_op_num_threads,
            "long_inputs": self.config.long_inputs.value,
            "bucket_edges": list(self.edges),
            "max_batch_size": self.max_batch_size,
            "plan": {
                "source": self.plan_choice.source.value,
                "reason": self.plan_choice.reason,
                **dataclasses.asdict(self.serving_plan),
            },
        }


def load(package_dir: str | Path, config: RuntimeConfig | None = None, **overrides: Any) -> Classifier:
    """Open a model package: checks the manifest against its files and graph, the sha256 of what it runs, then builds
    the ONNX Runtime session.

    ``config`` is a :class:`RuntimeConfig`; ``overrides`` replace its fields, flat (``variant="int8"``,
    ``providers=("cpu",)``, ``threads=2``, ``long_inputs="windows"``, ...; see RuntimeConfig and SessionConfig).
    """
    return Classifier(package_dir, RuntimeConfig.build(config, **overrides))
