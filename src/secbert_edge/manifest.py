"""The model package contract: ``manifest.json`` and the files it lists.

A model package is one directory holding the ONNX variants, ``tokenizer.json`` and ``manifest.json``.
This module is the only place that knows the manifest's layout. It imports nothing heavy: the export side
writes manifests with it and the torch-free runtime reads them with it.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
from pathlib import Path
from typing import Any

from .errors import ConfigError, PackageError
from .paths import cache_root, write_text_atomic
from .template import Template
from .variants import Precision, VariantName, spec

FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
TOKENIZER_NAME = "tokenizer.json"


class Task(str, enum.Enum):
    """What the classifier reads: a user prompt, or an LLM response (optionally with its prompt)."""

    PROMPT = "prompt"
    RESPONSE = "response"


class HeadType(str, enum.Enum):
    """How P(positive) comes out of the head: one logit + sigmoid, or two logits + softmax[:, 1]."""

    SIGMOID = "sigmoid"
    SOFTMAX = "softmax"


class Pooling(str, enum.Enum):
    """How the encoder's output becomes the head's input (computed in the graph).

    ``cls``: BERT's pooler, tanh(W h[CLS] + b) (SecBERT-PT); ``mean``: the mean of the last hidden states over the
    attention mask, special tokens included (multilingual-e5's pooling).
    """

    CLS = "cls"
    MEAN = "mean"


# The graph's inputs, in order: the export contract every variant follows.
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")


DEFAULT_LABELS = {Task.PROMPT: ("harmful", "benign"), Task.RESPONSE: ("unsafe", "safe")}


def read_json(path: str | Path, error: type[Exception] = PackageError, fix: str = "") -> Any:
    """Parse a JSON file, raising ``error`` that names the file (and ``fix``) when it is not valid JSON."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise error(f"{path} is not valid JSON ({err}).{' ' + fix if fix else ''}") from err


def _probability(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0.0 <= float(value) <= 1.0


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def verified_sha256(path: str | Path) -> str:
    """sha256 of a file, remembered between processes so a cold start does not re-hash hundreds of MB.

    The digest is cached under ``<cache>/digests`` keyed by the file's absolute path, device, inode, size, mtime and
    ctime (ctime changes on every write and cannot be set back by a user), so a file changed in place or replaced is
    hashed again. A cache that cannot be read or written is ignored.
    """
    path = Path(path).resolve()
    st = path.stat()
    key = {
        "path": str(path),
        "dev": st.st_dev,
        "ino": st.st_ino,
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "ctime_ns": st.st_ctime_ns,
    }
    entry = cache_root() / "digests" / (hashlib.sha256(str(path).encode()).hexdigest()[:32] + ".json")
    try:
        cached = json.loads(entry.read_text(encoding="utf-8"))
        if {k: cached.get(k) for k in key} == key and isinstance(cached.get("sha256"), str):
            return cached["sha256"]
    except (OSError, ValueError):
        pass
    digest = sha256_file(path)
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(entry, json.dumps({**key, "sha256": digest}))
    except OSError:
        pass
    return digest


@dataclasses.dataclass(frozen=True)
class Variant:
    """One ONNX file of the package and what was measured about it before it was written."""

    precision: Precision
    file: str
    sha256: str
    opset: int
    parity: dict[str, Any]  # max_abs_diff, mean_abs_diff vs PyTorch, and the shapes it was checked on
    options: dict[str, Any] = dataclasses.field(default_factory=dict)  # e.g. fused, quantization recipe
    # Thresholds re-fitted for this variant by `verify` (same FPR as the reference at tau*), when known.
    thresholds: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Manifest:
    task: Task
    head: HeadType
    num_labels: int
    max_length: int
    vocab_size: int
    positive_label: str
    negative_label: str
    thresholds: dict[str, float | None]  # {"default": 0.5, "ks_optimal": 0.72 | None}
    variants: dict[str, Variant]
    tokenizer: dict[str, Any]  # {"file", "sha256", "do_lower_case", "cls_id", "sep_id", "pad_id", ...}
    source: dict[str, Any]  # checkpoint sha256 / name, backbone name, exporter versions
    package_version: str
    format_version: int = FORMAT_VERSION
    created: str = ""
    # The variant `load()` runs when none is named: picked by measured speed and verified parity (see the model card);
    # None = fp32.
    default_variant: str | None = None
    # Read by format-1 packages written before it existed as "cls" (they are all SecBERT-PT-style pooler models).
    pooling: Pooling = Pooling.CLS
    # Variants built and checked when the package was made whose files it does not ship (e.g. fp32, dropped by
    # `quantize --drop-fp32` once int8 passed its check): what was measured stays on record; nothing loads them.
    not_shipped: dict[str, Variant] = dataclasses.field(default_factory=dict)

    # ---- (de)serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["task"] = self.task.value
        data["head"] = self.head.value
        data["pooling"] = self.pooling.value
        for field in ("variants", "not_shipped"):
            data[field] = {
                name: {**dataclasses.asdict(v), "precision": v.precision.value}
                for name, v in getattr(self, field).items()
            }
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = MANIFEST_NAME) -> Manifest:
        if not isinstance(data, dict):
            raise PackageError(f"{where}: expected a JSON object, found {type(data).__name__}")
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise PackageError(
                f"{where}: format_version {version!r} is not supported by this secbert-edge "
                f"(it reads format {FORMAT_VERSION}). Re-export the package with this version, "
                "or install the secbert-edge version that wrote it."
            )
        try:
            variants, not_shipped = (
                {name: Variant(**{**v, "precision": Precision(v["precision"])}) for name, v in entries.items()}
                for entries in (data["variants"], data.get("not_shipped", {}))
            )
            fields = {f.name for f in dataclasses.fields(cls)}
            unknown = sorted(set(data) - fields)
            if unknown:
                raise PackageError(f"{where}: unknown fields {unknown}; was it written by a newer secbert-edge?")
            task, head = data.get("task"), data.get("head")
            if task not in {t.value for t in Task}:
                raise PackageError(
                    f"{where}: task {task!r} is unknown; a package classifies "
                    f"{' or '.join(repr(t.value) for t in Task)}. Re-export with --task."
                )
            if head not in {h.value for h in HeadType}:
                raise PackageError(
                    f"{where}: head {head!r} is unknown (expected sigmoid or softmax). Re-export the package."
                )
            pooling = data.get("pooling", Pooling.CLS.value)
            if pooling not in {p.value for p in Pooling}:
                raise PackageError(
                    f"{where}: pooling {pooling!r} is unknown (expected cls or mean); was it written by a newer "
                    "secbert-edge?"
                )
            manifest = cls(
                **{
                    **data,
                    "task": Task(task),
                    "head": HeadType(head),
                    "pooling": Pooling(pooling),
                    "variants": variants,
                    "not_shipped": not_shipped,
                }
            )
        except PackageError:
            raise
        except (KeyError, TypeError, ValueError) as err:
            raise PackageError(
                f"{where}: malformed manifest ({type(err).__name__}: {err}). Re-export the package."
            ) from err
        if not manifest.variants:
            raise PackageError(f"{where}: lists no ONNX variants. Re-export the package.")
        manifest.check(where)
        return manifest

    @property
    def template(self) -> Template:
        """How special tokens frame a text and a pair for this package's model (see :mod:`secbert_edge.template`)."""
        return Template.from_tokenizer(self.tokenizer)

    @property
    def tokenizer_vocab_size(self) -> int:
        """Tokens of the package's tokenizer: the embedding's rows, or fewer when the embedding is padded past the
        vocabulary (XLM-R-vocabulary checkpoints often are)."""
        return int(self.tokenizer.get("vocab_size", self.vocab_size))

    def check(self, where: str = MANIFEST_NAME) -> None:
        """The contract's rules that types alone do not enforce; every violation is reported at once."""
        problems = []
        pos, neg = self.positive_label, self.negative_label
        if not isinstance(pos, str) or not pos.strip() or not isinstance(neg, str) or not neg.strip():
            problems.append(
                f"positive_label {pos!r} / negative_label {neg!r}: both must be non-empty text "
                f"(defaults for a {self.task.value} package: {' / '.join(DEFAULT_LABELS[self.task])})"
            )
        elif pos == neg:
            problems.append(
                f"positive_label and negative_label are both {pos!r}: a flagged text would be "
                f"indistinguishable from a passed one; set them to {' / '.join(DEFAULT_LABELS[self.task])}"
            )
        tau = self.thresholds.get("default") if isinstance(self.thresholds, dict) else None
        if not _probability(tau):
            problems.append(f"thresholds.default {tau!r} must be a number in [0, 1] (usually 0.5)")
        star = self.thresholds.get("ks_optimal") if isinstance(self.thresholds, dict) else None
        if star is not None and not _probability(star):
            problems.append(f"thresholds.ks_optimal {star!r} must be a number in [0, 1] or null")
        for name, variant in self.variants.items():
            refit = variant.thresholds.get("ks_optimal")
            if refit is not None and not _probability(refit):
                problems.append(
                    f"variants.{name}.thresholds.ks_optimal {refit!r} must be a number in [0, 1]; "
                    "re-run `secbert-edge verify` to re-fit it"
                )
            if not isinstance(variant.file, str) or not variant.file or "/" in variant.file or "\\" in variant.file:
                problems.append(f"variants.{name}.file {variant.file!r} must be a file name inside the package")
        if not isinstance(self.max_length, int) or self.max_length < 3:
            problems.append(f"max_length {self.max_length!r} must be an integer >= 3 ([CLS] text [SEP])")
        if not isinstance(self.vocab_size, int) or self.vocab_size < 5:
            problems.append(f"vocab_size {self.vocab_size!r} must be the tokenizer's vocabulary size")
        if self.default_variant is not None and self.default_variant not in self.variants:
            problems.append(
                f"default_variant {self.default_variant!r} is not one of the package's variants "
                f"({', '.join(sorted(self.variants))})"
            )
        if self.default_variant is None and VariantName.FP32.value not in self.variants:
            problems.append(
                "default_variant is not set and the package ships no fp32 variant: name the variant to run by default "
                f"(one of {', '.join(sorted(self.variants))})"
            )
        both = sorted(set(self.variants) & set(self.not_shipped))
        if both:
            problems.append(f"variants {both} are listed both as shipped and as not_shipped")
        try:
            template = self.template
        except PackageError as err:
            problems.append(str(err))
        else:
            if isinstance(self.max_length, int) and self.max_length <= template.single_specials:
                problems.append(
                    f"max_length {self.max_length} leaves no room for text next to the {template.single_specials} "
                    "special tokens around it"
                )
        tok_vocab = self.tokenizer.get("vocab_size", self.vocab_size)
        if not (isinstance(tok_vocab, int) and isinstance(self.vocab_size, int) and 5 <= tok_vocab <= self.vocab_size):
            problems.append(
                f"tokenizer.vocab_size {tok_vocab!r} must be a token count no larger than vocab_size {self.vocab_size} "
                "(the embedding's rows)"
            )
        if self.num_labels not in (1, 2) or (self.num_labels == 1) != (self.head is HeadType.SIGMOID):
            problems.append(
                f"num_labels {self.num_labels!r} does not fit head {self.head.value!r} (sigmoid: 1, softmax: 2)"
            )
        if problems:
            raise PackageError(
                f"{where} breaks the package contract: "
                + "; ".join(problems)
                + ". Fix these fields or re-export the package."
            )

    def check_files_present(self, directory: str | Path) -> None:
        """Every file the manifest lists exists (a cheap stat; :meth:`verify_files` also checks the digests)."""
        directory = Path(directory)
        missing = [f"{name} ({v.file})" for name, v in self.variants.items() if not (directory / v.file).is_file()]
        if not (directory / self.tokenizer["file"]).is_file():
            missing.append(f"tokenizer ({self.tokenizer['file']})")
        if missing:
            raise PackageError(
                f"model package {str(directory)!r} lacks files its manifest lists: {', '.join(missing)}. "
                "Restore them, re-export the package, or remove those variants from manifest.json."
            )

    def write(self, directory: str | Path) -> Path:
        return write_text_atomic(
            Path(directory) / MANIFEST_NAME, json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"
        )

    @classmethod
    def read(cls, directory: str | Path) -> Manifest:
        directory = Path(directory)
        path = directory / MANIFEST_NAME
        if not directory.is_dir():
            raise PackageError(
                f"model package {str(directory)!r} is not a directory. Pass the folder written by "
                "`secbert-edge export` (it holds manifest.json, tokenizer.json and model.onnx)."
            )
        if not path.is_file():
            raise PackageError(
                f"{path} is missing: {str(directory)!r} is not a secbert-edge model package. "
                "Create one with `secbert-edge export --checkpoint ... --backbone ... --out DIR`."
            )
        return cls.from_dict(read_json(path, fix="Re-export the package."), where=str(path))

    # ---- integrity ----------------------------------------------------------------------------
    def verify_files(self, directory: str | Path, variants: list[str] | None = None) -> None:
        """Check the tokenizer and the variants' files (all, or those named) exist and have the recorded sha256;
        report all problems at once."""
        directory = Path(directory)
        expected = {self.tokenizer["file"]: self.tokenizer["sha256"]}
        chosen = self.variants if variants is None else {n: self.variant(n) for n in variants}
        expected.update({v.file: v.sha256 for v in chosen.values()})
        problems = []
        for name, digest in expected.items():
            path = directory / name
            if not path.is_file():
                problems.append(f"{name}: missing")
            elif verified_sha256(path) != digest:
                problems.append(f"{name}: sha256 differs from the manifest (file changed or corrupt)")
        if problems:
            raise PackageError(
                f"model package {str(directory)!r} failed its integrity check: "
                + "; ".join(problems)
                + ". Re-export the package (or restore the original files)."
            )

    def variant(self, name: str | enum.Enum | None = None) -> Variant:
        """A variant by name (see :mod:`secbert_edge.variants`); None = the package's default variant."""
        key = self.default_name if name is None else str(name.value if isinstance(name, enum.Enum) else name)
        if key in self.not_shipped:
            dp = self.not_shipped[key].parity.get("max_abs_diff")
            measured = f" (it was checked when the package was made: max |dP| {dp:.2e})" if dp is not None else ""
            raise PackageError(
                f"this package does not ship its {key} variant{measured}: it was left out to keep the package small "
                f"(quantize --drop-fp32). Run one it ships ({', '.join(sorted(self.variants))}), or re-export the "
                f"checkpoint to get {key} back."
            )
        if key not in self.variants:
            hint = spec(key).hint  # an unknown name raises ConfigError listing the known ones
            raise PackageError(
                f"this package has no {key} variant (it has: {', '.join(sorted(self.variants))}). "
                f"Add one with {hint}, or pick one it has."
            )
        return self.variants[key]

    @property
    def default_name(self) -> str:
        """The variant run when none is named: ``default_variant`` if the package records one, else fp32."""
        return self.default_variant or VariantName.FP32.value

    def threshold(self, choice: str | float | None, variant: Variant | None = None) -> float:
        """Resolve a threshold: None -> the default, 'ks' -> tau* (the KS-optimal one), or a number.

        With a variant whose tau* was re-fitted by verify, 'ks' gives that variant's own tau*.
        """
        if choice is None or choice == "default":
            return float(self.thresholds["default"])  # type: ignore[arg-type]  # checked on load
        if choice in ("ks", "ks_optimal"):
            refit = variant.thresholds.get("ks_optimal") if variant is not None else None
            tau = refit if refit is not None else self.thresholds.get("ks_optimal")
            if tau is None:
                raise PackageError(
                    "this package records no KS-optimal threshold (tau*). Pass a number with --threshold, "
                    "or re-export with --ks-threshold VALUE."
                )
            return float(tau)
        try:
            value = float(choice)
        except (TypeError, ValueError) as err:
            raise ConfigError(f"threshold {choice!r} is not a number in [0, 1], 'default' or 'ks'") from err
        if not 0.0 <= value <= 1.0:
            raise ConfigError(f"threshold {value} is outside [0, 1]; P(harmful) is a probability")
        return value
