"""The E5S1 importer (models/secbert_defaults/e5s1.py) on a tiny E5S1 file this test writes itself."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

pytest.importorskip("sentencepiece")
from secbert_defaults import e5s1  # noqa: E402

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

H, LAYERS, HEADS, FF, MAXP, TVS = 32, 2, 2, 64, 24, 2
SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]
WORDS = "▁ ▁a ▁casa ▁de ▁pão ▁queijo ▁o ▁que ▁é s a e o i c d p q u j r m n t l , . ? ão ei ▁ca sa ▁A A B f x".split()
NORM = {0x09: (0x20,), 0x0A: (0x20,), 0x01: (), 0xFF21: (0x41,), 0xFB01: (0x66, 0x69), 0x00A0: (0x20,)}


def _q4_blocks(rng: np.random.Generator, count: int) -> tuple[bytes, np.ndarray]:
    """Random Q4_0 blocks and the fp32 weights they hold."""
    blocks = count // e5s1.QK
    scales = rng.uniform(0.01, 0.1, size=blocks).astype(np.float16)
    nibbles = rng.integers(0, 256, size=(blocks, 16), dtype=np.uint8)
    raw = b"".join(s.tobytes() + n.tobytes() for s, n in zip(scales, nibbles))
    low, high = (nibbles & 15).astype(np.float32) - 8, (nibbles >> 4).astype(np.float32) - 8
    weights = np.concatenate([low, high], axis=1) * scales.astype(np.float32)[:, None]
    return raw, weights.reshape(count)


def write_tiny_e5s1(path, *, seed: int = 0, magic: bytes = b"E5S1", version: int = 1) -> dict[str, np.ndarray]:
    """A tiny E5S1 file in e5_parse's layout; returns the fp32 weights each tensor holds."""
    rng = np.random.default_rng(seed)
    pieces = SPECIALS + WORDS + ["<mask>"]
    scores = np.array([0.0] * 4 + [-2.0 - 0.1 * i for i in range(len(WORDS))] + [0.0], np.float32)
    blob = b"".join(p.encode() for p in pieces)
    offsets = np.cumsum([0] + [len(p.encode()) for p in pieces]).astype("<u4")
    norm = b"".join(struct.pack("<IB", cp, len(out)) + struct.pack(f"<{len(out)}I", *out) for cp, out in NORM.items())
    vocab = len(pieces)
    shapes = {"emb.word": (vocab, H, 1), "emb.pos": (MAXP, H, 0), "emb.type": (TVS, H, 0)}
    shapes.update({"emb.ln.w": (H, 1, 0), "emb.ln.b": (H, 1, 0)})
    for layer in range(LAYERS):
        for short, (rows, cols) in {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (FF, H)}.items():
            shapes[f"l{layer}.{short}.w"] = (rows, cols, 1)
            shapes[f"l{layer}.{short}.b"] = (rows, 1, 0)
        shapes[f"l{layer}.fo.w"] = (H, FF, 1)
        shapes[f"l{layer}.fo.b"] = (H, 1, 0)
        for short in ("aln", "oln"):
            shapes[f"l{layer}.{short}.w"] = (H, 1, 0)
            shapes[f"l{layer}.{short}.b"] = (H, 1, 0)
    data, values = [], {}
    for name, (rows, cols, q4) in shapes.items():
        count = rows * cols
        if q4:
            raw, weights = _q4_blocks(rng, count)
        else:
            weights = rng.normal(0, 0.1, size=count).astype(np.float32)
            raw = weights.astype("<f4").tobytes()
        data.append((name, q4, count, raw))
        values[name] = weights
    head = magic + struct.pack("<I7ifi", version, H, LAYERS, HEADS, FF, vocab, MAXP, TVS, 1e-12, 32)
    head += struct.pack("<5iQ", vocab, 0, 2, 1, 3, len(blob)) + offsets.tobytes() + scores.tobytes() + blob
    head += struct.pack("<iI", len(NORM), len(norm)) + norm + struct.pack("<i", len(data))
    directory_size = sum(2 + len(n.encode()) + 1 + 4 + 8 + 8 for n, *_ in data)
    offset, directory, payload = len(head) + directory_size, b"", b""
    for name, q4, count, raw in data:
        directory += struct.pack("<H", len(name)) + name.encode() + struct.pack("<BIQQ", q4, count, offset, len(raw))
        payload += raw
        offset += len(raw)
    path.write_bytes(head + directory + payload)
    return values


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("e5s1")
    values = write_tiny_e5s1(root / "tiny.bin")
    return root / "tiny.bin", values


def test_reads_header_tokenizer_and_exact_dequantized_weights(tiny):
    path, values = tiny
    e5 = e5s1.read_e5s1(path)
    assert (e5.hidden, e5.layers, e5.heads, e5.intermediate, e5.max_positions, e5.type_vocab) == (
        H, LAYERS, HEADS, FF, MAXP, TVS,
    )  # fmt: skip
    assert e5.pieces[:4] == SPECIALS and e5.norm == NORM and (e5.bos, e5.pad, e5.eos, e5.unk) == (0, 1, 2, 3)
    weights = e5s1.state_dict(e5)
    # each E5S1 tensor lands, exactly, under its transformers name (the 4-bit ones dequantized)
    assert np.array_equal(weights["embeddings.word_embeddings.weight"].ravel(), values["emb.word"])
    assert np.array_equal(weights["encoder.layer.1.intermediate.dense.weight"].ravel(), values["l1.fi.w"])
    assert np.array_equal(weights["encoder.layer.1.output.dense.weight"].ravel(), values["l1.fo.w"])
    assert weights["encoder.layer.1.output.dense.weight"].shape == (H, FF)
    assert np.array_equal(weights["encoder.layer.0.attention.output.LayerNorm.bias"], values["l0.aln.b"])


@pytest.mark.parametrize(
    "corrupt, message",
    [
        (lambda b: b"GGUF" + b[4:], "not an E5S1 file"),
        (lambda b: b[:4] + struct.pack("<I", 7) + b[8:], "version 7 is not supported"),
        (lambda b: b[:300], "truncated while reading"),
    ],
)
def test_refuses_a_wrong_or_damaged_file_saying_what_is_wrong(tiny, tmp_path, corrupt, message):
    bad = tmp_path / "bad.bin"
    bad.write_bytes(corrupt(tiny[0].read_bytes()))
    with pytest.raises(e5s1.E5FileError, match=message):
        e5s1.read_e5s1(bad)


def test_dequantize_q4_0_layout():
    # one block: d = 0.5, byte j holds (j & 15) in its low nibble and 15 - (j & 15) in its high one
    nibbles = bytes((j & 15) | ((15 - (j & 15)) << 4) for j in range(16))
    out = e5s1.dequantize_q4_0(np.float16(0.5).tobytes() + nibbles, 32)
    assert out[:16].tolist() == [(j - 8) * 0.5 for j in range(16)]
    assert out[16:].tolist() == [(7 - j) * 0.5 for j in range(16)]
    with pytest.raises(e5s1.E5FileError, match="whole number"):
        e5s1.dequantize_q4_0(b"", 31)


def test_import_writes_a_backbone_folder_transformers_loads_strictly(tiny, tmp_path):
    path, values = tiny
    out = tmp_path / "backbone"
    texts = ["a casa de pão", "o que é queijo?", "ＡB ﬁx\tcasa", "casa\x01 de"]
    report = e5s1.import_e5s1(path, out, check_texts=texts, log=lambda _: None)
    assert {p.name for p in out.iterdir()} >= {
        "config.json", "model.safetensors", "tokenizer.json", "sentencepiece.bpe.model", "tokenizer_config.json",
        "IMPORT.json",
    }  # fmt: skip
    assert report["engine_token_check"] == {"texts": len(texts), "mismatches": []}
    assert json.loads((out / "IMPORT.json").read_text())["source_sha256"] == report["source_sha256"]
    model, info = transformers.BertModel.from_pretrained(str(out), add_pooling_layer=False, output_loading_info=True)
    assert not any(info[k] for k in ("missing_keys", "unexpected_keys", "mismatched_keys"))
    word = model.embeddings.word_embeddings.weight.detach().numpy().ravel()
    assert np.array_equal(word, values["emb.word"])
    assert model.config.pad_token_id == 1 and model.config.hidden_act == "gelu"


def test_tokenizer_follows_the_engine_and_sentencepiece(tiny, tmp_path):
    import sentencepiece as spm
    from tokenizers import Tokenizer

    e5 = e5s1.read_e5s1(tiny[0])
    out = tmp_path / "backbone"
    e5s1.import_e5s1(tiny[0], out, log=lambda _: None)
    fast = Tokenizer.from_file(str(out / "tokenizer.json"))
    ref = spm.SentencePieceProcessor(model_file=str(out / "sentencepiece.bpe.model"))
    for text in ["a casa de pão", "  o   queijo", "Ａ\tcasa", "ﬁx, casa."]:
        ids = fast.encode(text, add_special_tokens=False).ids
        assert ids == ref.encode(text) == e5s1.engine_ids(e5, text), text
    # a trailing space: the engine and the fast tokenizer (like transformers' XLM-R one) keep it as a "▁" piece,
    # SentencePiece strips it
    ids = fast.encode("o queijo ", add_special_tokens=False).ids
    assert ids == e5s1.engine_ids(e5, "o queijo ") == ref.encode("o queijo") + [4]
    # the documented difference: the engine gives one <unk> per unknown code point, both libraries merge a run
    assert e5s1.engine_ids(e5, "casa ZZ").count(3) == 2
    assert fast.encode("casa ZZ", add_special_tokens=False).ids.count(3) == 1 == ref.encode("casa ZZ").count(3)
    # pairs follow XLM-R's template
    pair = fast.encode("casa", "pão").ids
    assert pair[0] == 0 and pair.count(2) == 3 and pair[-1] == 2
