"""The reference PyTorch model and checkpoint loading (export side: needs torch and transformers).

``BertMLPClassifier`` is SecBERT-PT's architecture: a pooled vector -> Linear(hidden, 128) -> ReLU -> Linear(128, k).
The pooled vector is BERT's pooler output, tanh(W h[CLS] + b) (``pooling="cls"``, SecBERT-PT), or the mean of the
last hidden states over the attention mask, <s>/</s> included (``pooling="mean"``, multilingual-e5's pooling). k=1
means one logit and a sigmoid; k=2 means two logits and softmax[:, 1] (class 1 = harmful/unsafe). Both the head type
and the pooling are decided from the checkpoint's tensors (:func:`decide_pooling`: pooler tensors -> cls, none ->
mean), with an explicit override.

Published checkpoints do not document their key names, so ``load_checkpoint`` finds the backbone by its
``embeddings.word_embeddings.weight`` tensor and the two head Linears by their shapes, whatever prefix
(``bert.``, ``model.``, ``module.``, ``_orig_mod.``, ``backbone.`` ...) the training script used.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import CheckpointError, require
from .manifest import HeadType, Pooling, read_json, sha256_file

torch = require("torch", "export", "Loading a PyTorch checkpoint")
transformers = require("transformers", "export", "Building the reference BERT model")
nn = torch.nn

BACKBONE_ANCHOR = "embeddings.word_embeddings.weight"
BACKBONE_ROOTS = ("embeddings.", "encoder.", "pooler.")
# Buffers some transformers versions saved and others do not; never part of the learned weights.
IGNORED_BUFFERS = ("embeddings.position_ids", "embeddings.token_type_ids")
POOLER_KEYS = ("pooler.dense.weight", "pooler.dense.bias")
WRAPPER_KEYS = ("state_dict", "model_state_dict", "model", "module", "net", "weights", "params")


class BertMLPClassifier(nn.Module):
    """BERT encoder, cls or mean pooling, then the two-layer MLP head of SecBERT-PT."""

    def __init__(self, config, head_hidden: int = 128, num_labels: int = 1, pooling: Pooling | str = Pooling.CLS):
        super().__init__()
        if num_labels not in (1, 2):
            raise CheckpointError(f"num_labels must be 1 (sigmoid) or 2 (softmax), got {num_labels}")
        config = _eager_attention(config)
        self.config = config
        self.num_labels = num_labels
        self.pooling = Pooling(pooling)
        # Mean pooling has no pooler: BertModel without it, so its state_dict (and a checkpoint) holds none.
        self.bert = transformers.BertModel(config, add_pooling_layer=self.pooling is Pooling.CLS)
        self.classifier = nn.Sequential(
            nn.Linear(config.hidden_size, head_hidden), nn.ReLU(), nn.Linear(head_hidden, num_labels)
        )

    @property
    def head_type(self) -> HeadType:
        return HeadType.SIGMOID if self.num_labels == 1 else HeadType.SOFTMAX

    def pool(self, out, attention_mask):
        """The head's input from BertModel's output: the pooler's, or the mask-weighted mean of the last hidden states
        (padding never counts, so a text's vector does not depend on how far its batch was padded)."""
        if self.pooling is Pooling.CLS:
            return out.pooler_output
        weights = attention_mask.unsqueeze(-1).to(out.last_hidden_state.dtype)
        return (out.last_hidden_state * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1.0)

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        out = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
        return self.classifier(self.pool(out, attention_mask))

    def probability(self, logits):
        """P(class 1 = harmful / unsafe) from the logits, exactly as the ONNX graph computes it."""
        if self.num_labels == 1:
            return torch.sigmoid(logits[:, 0])
        return torch.softmax(logits, dim=-1)[:, 1]


def _eager_attention(config):
    # The eager attention path exports to the MatMul/Softmax pattern ONNX Runtime's transformer optimizer
    # fuses; SDPA exports to a different graph. Both compute the same function.
    config = transformers.BertConfig.from_dict(config.to_dict())
    config._attn_implementation = "eager"
    return config


def load_backbone_config(backbone: str | Path):
    """The BertConfig of a local backbone folder (BERTimbau or a tiny test model): reads config.json only."""
    path = Path(backbone)
    config_file = path / "config.json" if path.is_dir() else path
    if not config_file.is_file():
        raise CheckpointError(
            f"backbone {str(backbone)!r} has no config.json. Pass the local folder of the backbone "
            "(e.g. a copy of neuralmind/bert-base-portuguese-cased with config.json and vocab.txt)."
        )
    data = read_json(config_file, CheckpointError)
    model_type = data.get("model_type", "bert")
    if model_type != "bert":
        raise CheckpointError(f"{config_file}: model_type is {model_type!r}; secbert-edge exports BERT models only")
    return transformers.BertConfig.from_dict(data)


@dataclasses.dataclass
class Checkpoint:
    """A checkpoint split into its BERT backbone tensors (prefix removed) and its two head Linears."""

    backbone: dict[str, Any]
    head: dict[str, Any]  # classifier.0.weight/bias, classifier.2.weight/bias (canonical names)
    num_labels: int
    head_hidden: int
    prefix: str
    sha256: str
    path: str
    source_keys: dict[str, str]  # canonical head name -> key in the file

    @property
    def head_type(self) -> HeadType:
        return HeadType.SIGMOID if self.num_labels == 1 else HeadType.SOFTMAX

    @property
    def pooler_tensors(self) -> tuple[str, ...]:
        """The pooler tensors the checkpoint holds (both for a cls-pooled model, none for a mean-pooled one)."""
        return tuple(k for k in POOLER_KEYS if k in self.backbone)


def decide_pooling(found: Sequence[str], requested: Pooling | str | None, where: str) -> Pooling:
    """The pooling of a model whose weights hold the pooler tensors ``found``: cls with both pooler tensors, mean
    with none; ``requested`` overrides that where the weights allow it (mean over a checkpoint that carries an unused
    pooler). Raises CheckpointError when the weights cannot say (one pooler tensor without the other) or contradict
    the request (cls without a trained pooler)."""
    if 0 < len(found) < len(POOLER_KEYS):
        raise CheckpointError(
            f"{where}: cannot decide the pooling: it holds {list(found)} but not "
            f"{sorted(set(POOLER_KEYS) - set(found))}; a cls-pooled (SecBERT-PT) model needs both pooler tensors, a "
            "mean-pooled one (e5) neither. Fix the checkpoint."
        )
    evidence = Pooling.CLS if found else Pooling.MEAN
    if requested is None:
        return evidence
    requested = Pooling(requested)
    if requested is Pooling.CLS and not found:
        raise CheckpointError(
            f"{where}: --pooling cls needs BERT's trained pooler (pooler.dense.weight/bias), which this checkpoint "
            "does not hold: it is a mean-pooled model (e5-style). Use --pooling mean, or leave --pooling out."
        )
    return requested


def _read_state_dict(path: Path) -> Mapping[str, Any]:
    if not path.is_file():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist")
    if path.suffix == ".safetensors":
        st = require("safetensors.torch", "export", "Reading a .safetensors checkpoint")
        try:
            return st.load_file(str(path), device="cpu")
        except Exception as err:  # safetensors raises its own SafetensorError
            raise CheckpointError(f"{path} is not a readable .safetensors file: {err}") from err
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as err:
        raise CheckpointError(
            f"{path} could not be loaded with torch.load(weights_only=True): {type(err).__name__}: "
            f"{str(err).split(chr(10))[0]}. secbert-edge never unpickles arbitrary objects: "
            "save the weights with torch.save(model.state_dict(), path) or as .safetensors."
        ) from err
    return _unwrap(obj, path)


def _is_tensor_dict(obj) -> bool:
    return isinstance(obj, Mapping) and bool(obj) and all(torch.is_tensor(v) for v in obj.values())


def _unwrap(obj, path: Path) -> Mapping[str, Any]:
    if _is_tensor_dict(obj):
        return obj
    if isinstance(obj, Mapping):
        for key in WRAPPER_KEYS:
            if _is_tensor_dict(obj.get(key)):
                return obj[key]
        # Training scripts sometimes store optimizer state etc. beside the weights: drop non-tensors.
        tensors = {k: v for k, v in obj.items() if torch.is_tensor(v)}
        if any(k.endswith(BACKBONE_ANCHOR) for k in tensors):
            return tensors
        raise CheckpointError(
            f"{path}: found a dict with keys {sorted(map(str, obj))[:12]} but no state_dict of tensors "
            f"(looked at the top level and under {list(WRAPPER_KEYS)})."
        )
    raise CheckpointError(f"{path}: expected a state_dict (a dict of tensors), found {type(obj).__name__}")


def _find_prefix(keys) -> str:
    anchors = [k for k in keys if k.endswith(BACKBONE_ANCHOR)]
    if len(anchors) != 1:
        found = "none" if not anchors else ", ".join(anchors)
        raise CheckpointError(
            f"expected exactly one BERT backbone (a tensor named '*{BACKBONE_ANCHOR}'), found {found}. "
            "Is this a SecBERT-style BERT + MLP checkpoint?"
        )
    return anchors[0][: -len(BACKBONE_ANCHOR)]


def _split_head(rest: dict[str, Any], hidden: int, path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """Find Linear(hidden, m) and Linear(m, k in {1, 2}) among the non-backbone tensors, by shape."""
    weights = {k[: -len(".weight")]: v for k, v in rest.items() if k.endswith(".weight") and v.dim() == 2}
    pairs = [
        (a, b)
        for a, wa in weights.items()
        for b, wb in weights.items()
        if a != b and wa.shape[1] == hidden and wb.shape[1] == wa.shape[0] and wb.shape[0] in (1, 2)
    ]
    listing = ", ".join(f"{k} {tuple(v.shape)}" for k, v in rest.items()) or "no tensors"
    if len(pairs) != 1:
        what = "no" if not pairs else f"{len(pairs)} ambiguous"
        raise CheckpointError(
            f"{path}: found {what} head Linear pairs (Linear({hidden}, m) followed by Linear(m, 1|2)) outside "
            f"the backbone; non-backbone tensors: {listing}"
        )
    first, second = pairs[0]
    canonical = {"classifier.0": first, "classifier.2": second}
    head, source, missing = {}, {}, []
    for name, stem in canonical.items():
        for part in ("weight", "bias"):
            key = f"{stem}.{part}"
            if key in rest:
                head[f"{name}.{part}"] = rest[key]
                source[f"{name}.{part}"] = key
            else:
                missing.append(key)
    unexpected = sorted(set(rest) - set(source.values()))
    if missing or unexpected:
        raise CheckpointError(
            f"{path}: head does not match Linear -> ReLU -> Linear: missing {missing or 'nothing'}, "
            f"unexpected {unexpected or 'nothing'} (non-backbone tensors: {listing})"
        )
    return head, source


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read ``best_model.pth`` (or .safetensors) and split it into backbone and head, whatever the prefix."""
    path = Path(path)
    state = dict(_read_state_dict(path))
    prefix = _find_prefix(state)
    backbone, rest = {}, {}
    for key, value in state.items():
        inner = key[len(prefix) :] if key.startswith(prefix) else None
        if inner is not None and inner.startswith(BACKBONE_ROOTS):
            if inner not in IGNORED_BUFFERS:
                backbone[inner] = value.float() if value.is_floating_point() else value
        else:
            rest[key] = value.float() if value.is_floating_point() else value
    hidden = backbone[BACKBONE_ANCHOR].shape[1]
    head, source = _split_head(rest, hidden, path)
    return Checkpoint(
        backbone=backbone,
        head=head,
        num_labels=int(head["classifier.2.weight"].shape[0]),
        head_hidden=int(head["classifier.0.weight"].shape[0]),
        prefix=prefix,
        sha256=sha256_file(path),
        path=str(path),
        source_keys=source,
    )


def _describe_mismatch(expected: Mapping[str, Any], found: Mapping[str, Any]) -> list[str]:
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    shaped = sorted(
        f"{k}: checkpoint {tuple(found[k].shape)} vs model {tuple(expected[k].shape)}"
        for k in set(expected) & set(found)
        if tuple(found[k].shape) != tuple(expected[k].shape)
    )
    problems = []
    for label, items in (("missing", missing), ("unexpected", unexpected), ("wrongly shaped", shaped)):
        if items:
            problems.append(f"{label} ({len(items)}): " + "; ".join(items))
    return problems


def build_classifier(config, checkpoint: Checkpoint, pooling: Pooling | str | None = None) -> BertMLPClassifier:
    """Instantiate the reference model for ``config`` and load the checkpoint into it, strictly. The pooling is the
    checkpoint's (see :func:`decide_pooling`); ``pooling`` overrides it where the weights allow."""
    chosen = decide_pooling(checkpoint.pooler_tensors, pooling, checkpoint.path)
    model = BertMLPClassifier(
        config, head_hidden=checkpoint.head_hidden, num_labels=checkpoint.num_labels, pooling=chosen
    )
    weights = checkpoint.backbone
    if chosen is Pooling.MEAN:  # an unused pooler left in a mean-pooled checkpoint (--pooling mean) is not loaded
        weights = {k: v for k, v in weights.items() if k not in POOLER_KEYS}
    expected = model.bert.state_dict()
    problems = _describe_mismatch(expected, weights)
    if problems:
        raise CheckpointError(
            f"{checkpoint.path}: backbone tensors (prefix {checkpoint.prefix!r}) do not fit the backbone config "
            f"(layers={config.num_hidden_layers}, hidden={config.hidden_size}, vocab={config.vocab_size}): "
            + " | ".join(problems)
            + ". Check that --backbone is the model this checkpoint was fine-tuned from."
        )
    model.bert.load_state_dict(weights, strict=True)
    model.classifier.load_state_dict({k.split(".", 1)[1]: v for k, v in checkpoint.head.items()}, strict=True)
    return model.eval()


def load_reference_model(
    checkpoint: str | Path, backbone: str | Path, pooling: Pooling | str | None = None
) -> tuple[BertMLPClassifier, Checkpoint]:
    """The original PyTorch model: the backbone folder's config + the fine-tuned checkpoint's weights, pooled as the
    checkpoint says (or as ``pooling`` overrides, see :func:`decide_pooling`)."""
    ckpt = load_checkpoint(checkpoint)
    return build_classifier(load_backbone_config(backbone), ckpt, pooling), ckpt
