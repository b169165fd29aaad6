"""The original PyTorch model as a scorer (torch + transformers; export side): what verify gates ONNX variants against
and what bench times as the eager baseline. Inputs are encoded with the package's tokenizer settings and the runtime's
own fitting functions, so PyTorch and ONNX see identical token sequences."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from .data import Example
from .errors import InputError
from .export.tokenizer import package_tokenizer
from .modeling import BertMLPClassifier, load_reference_model, torch
from .runtime.bucketing import pad_batch
from .runtime.tokenization import LongInputPolicy, fit_pair, fit_sequence
from .template import Template

Encoded = tuple[list[int], list[int]]  # (input_ids, token_type_ids), special tokens included


def encode_examples(examples: Sequence[Example], backbone: str | Path, max_length: int) -> list[Encoded]:
    """(input_ids, token_type_ids) per example, exactly as the runtime encodes them (policy: truncate): the package's
    tokenizer for this backbone, and the runtime's own fitting functions and template."""
    tokenizer, settings = package_tokenizer(backbone)
    template = Template.from_tokenizer(settings)
    texts = tokenizer.encode_batch([e.text for e in examples], add_special_tokens=False)
    paired = [i for i, e in enumerate(examples) if e.prompt]
    prompts = dict(zip(paired, tokenizer.encode_batch([examples[i].prompt for i in paired], add_special_tokens=False)))
    out: list[Encoded] = []
    for i, enc in enumerate(texts):
        if not enc.ids:
            raise InputError(f"example {i} has no tokens (empty text); clean the dataset")
        if i in prompts:
            (pair,), _ = fit_pair(prompts[i].ids, enc.ids, max_length, LongInputPolicy.TRUNCATE, template)
        else:
            (pair,), _ = fit_sequence(enc.ids, max_length, LongInputPolicy.TRUNCATE, template)
        out.append(pair)
    return out


def batches(
    encoded: Sequence[Encoded], batch_size: int, rng: random.Random | None = None
) -> Iterator[tuple[list[int], torch.Tensor, torch.Tensor, torch.Tensor]]:
    """(indices, input_ids, attention_mask, token_type_ids) per batch, each padded to its longest row; shuffled with
    ``rng``, else in order."""
    order = list(range(len(encoded)))
    if rng is not None:
        rng.shuffle(order)
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        seqs = [encoded[i][0] for i in idx]
        ids, mask, types = pad_batch(seqs, max(len(s) for s in seqs), 0, [encoded[i][1] for i in idx])
        yield idx, torch.from_numpy(ids), torch.from_numpy(mask), torch.from_numpy(types)


def probabilities(model: BertMLPClassifier, encoded: Sequence[Encoded], batch_size: int = 64) -> np.ndarray:
    """P(positive) per encoded example, in order (eval mode, no gradients)."""
    model.eval()
    scores = np.empty(len(encoded), dtype=np.float64)
    with torch.no_grad():
        for idx, ids, mask, types in batches(encoded, batch_size):
            scores[idx] = model.probability(model(ids, mask, types)).numpy()
    return scores


class ReferenceScorer:
    """The original model of a checkpoint + backbone folder, scoring like the runtime does."""

    def __init__(
        self, checkpoint: str | Path, backbone: str | Path, *, threads: int | None = None, pooling: str | None = None
    ):
        """``pooling``: None decides it from the checkpoint, as export does; pass a package's ``manifest.pooling`` to
        score a package exported with a ``--pooling`` override."""
        if threads:
            torch.set_num_threads(threads)
        self.backbone = Path(backbone)
        self.model, self.checkpoint = load_reference_model(checkpoint, backbone, pooling)

    def run(self, ids: np.ndarray, mask: np.ndarray, types: np.ndarray) -> np.ndarray:
        """P(positive) for a ready batch (int64 arrays), as ``Classifier.infer`` takes it."""
        with torch.no_grad():
            logits = self.model(torch.from_numpy(ids), torch.from_numpy(mask), torch.from_numpy(types))
            return self.model.probability(logits).numpy()

    def score_examples(self, examples: Sequence[Example], max_length: int) -> np.ndarray:
        return probabilities(self.model, encode_examples(examples, self.backbone, max_length))
