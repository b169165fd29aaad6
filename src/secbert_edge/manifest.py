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

from .errors import PackageError

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


class Precision(str, enum.Enum):
    FP32 = "fp32"
    INT8 = "int8"
    FP16 = "fp16"


# Variant names a package may hold (the runtime's and CLI's --precision choices). The tensorrt ones are the
# exported graph before ORT's fusions (standard ONNX ops only, which TensorRT parses), fp32 and QDQ int8.
VARIANT_NAMES = ("fp32", "int8", "int8-static", "fp16", "tensorrt", "tensorrt-int8")
TENSORRT_VARIANTS = ("tensorrt", "tensorrt-int8")

# The graph's inputs, in order: the export contract every variant follows.
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")


DEFAULT_LABELS = {
    Task.PROMPT: ("harmful", "benign"),
    Task.RESPONSE: ("unsafe", "safe"),
}


def read_json(path: str | Path, error: type[Exception] = PackageError, fix: str = "") -> Any:
    """Parse a JSON file, raising ``error`` that names the file (and ``fix``) when it is not valid JSON."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise error(f"{path} is not valid JSON ({err}).{' ' + fix if fix else ''}") from err


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


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

    # ---- (de)serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["task"] = self.task.value
        data["head"] = self.head.value
        data["variants"] = {
            name: {**dataclasses.asdict(v), "precision": v.precision.value} for name, v in self.variants.items()
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
            variants = {
                name: Variant(**{**v, "precision": Precision(v["precision"])}) for name, v in data["variants"].items()
            }
            fields = {f.name for f in dataclasses.fields(cls)}
            unknown = sorted(set(data) - fields)
            if unknown:
                raise PackageError(f"{where}: unknown fields {unknown}; was it written by a newer secbert-edge?")
            manifest = cls(**{**data, "task": Task(data["task"]), "head": HeadType(data["head"]), "variants": variants})
        except PackageError:
            raise
        except (KeyError, TypeError, ValueError) as err:
            raise PackageError(f"{where}: malformed manifest ({type(err).__name__}: {err}). Re-export the package.") from err
        if not manifest.variants:
            raise PackageError(f"{where}: lists no ONNX variants. Re-export the package.")
        return manifest

    def write(self, directory: str | Path) -> Path:
        path = Path(directory) / MANIFEST_NAME
        path.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return path

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
            elif sha256_file(path) != digest:
                problems.append(f"{name}: sha256 differs from the manifest (file changed or corrupt)")
        if problems:
            raise PackageError(
                f"model package {str(directory)!r} failed its integrity check: " + "; ".join(problems)
                + ". Re-export the package (or restore the original files)."
            )

    def variant(self, name: str | Precision) -> Variant:
        """A variant by name: fp32, int8 (dynamic), int8-static (QDQ), fp16, tensorrt, tensorrt-int8."""
        key = name.value if isinstance(name, Precision) else str(name)
        if key not in self.variants:
            how = {
                "int8-static": "`secbert-edge quantize --model DIR --precision int8 --static --calibration FILE`",
                "tensorrt": "`secbert-edge export ... --tensorrt` (it keeps the unfused graph TensorRT parses)",
                "tensorrt-int8": "`secbert-edge quantize --model DIR --precision int8 --static --tensorrt "
                                 "--calibration FILE`",
            }.get(key, f"`secbert-edge quantize --model DIR --precision {key}`")
            raise PackageError(
                f"this package has no {key} variant (it has: {', '.join(sorted(self.variants))}). "
                f"Add one with {how}, or pick one it has."
            )
        return self.variants[key]

    def threshold(self, choice: str | float | None, variant: Variant | None = None) -> float:
        """Resolve a threshold: None -> the default, 'ks' -> tau* (the KS-optimal one), or a number.

        With a variant whose tau* was re-fitted by verify, 'ks' gives that variant's own tau*.
        """
        if choice is None or choice == "default":
            return float(self.thresholds["default"])
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
            raise PackageError(f"threshold {choice!r} is not a number, 'default' or 'ks'") from err
        if not 0.0 <= value <= 1.0:
            raise PackageError(f"threshold {value} is outside [0, 1]; P(harmful) is a probability")
        return value
