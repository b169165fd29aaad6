"""tokenizer.json reproduces transformers' BertTokenizer token for token (cased, accents kept)."""

from __future__ import annotations

import json
import unicodedata

import pytest

from conftest import SHARED_VOCAB
from secbert_edge.errors import PackageError
from secbert_edge.export.tokenizer import (
    PARITY_CORPUS,
    build_tokenizer,
    check_tokenizer_parity,
    reference_tokenizer,
    tokenizer_mismatches,
)

EXTRA = [
    "É PROIBIDO! é proibido. Ê, Ô, Ç — maiúsculas acentuadas ficam como estão.",
    "a" * 150 + " palavra com mais de 100 caracteres vira [UNK]; tokens especiais no texto: [SEP] [CLS][MASK] [PAD]",
    "emoji no meio😀da palavra e 🙂 sozinho; números 3,14159 e 1e-10; hashtags #segurança @usuário",
    "\u00a0espaço não separável\u2003em-space\u3000ideographic space",
]


def test_tiny_vocab_matches_python_bert_tokenizer(tiny_backbone):
    fast, settings = build_tokenizer(tiny_backbone)
    assert settings["do_lower_case"] is False
    assert tokenizer_mismatches(fast, reference_tokenizer(tiny_backbone), PARITY_CORPUS + tuple(EXTRA)) == []


def test_real_bertimbau_vocab_matches(tmp_path):
    if not SHARED_VOCAB.is_file():
        pytest.skip(f"real BERTimbau vocabulary not present at {SHARED_VOCAB}")
    (tmp_path / "vocab.txt").write_bytes(SHARED_VOCAB.read_bytes())
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": False}))
    fast, settings = build_tokenizer(tmp_path)
    assert settings["vocab_size"] == 29794
    reference = reference_tokenizer(tmp_path)
    corpus = PARITY_CORPUS + tuple(EXTRA)
    assert tokenizer_mismatches(fast, reference, corpus) == []
    # Cased and accent-preserving: these must be different ids, as in BERTimbau.
    assert fast.encode("Ação").ids != fast.encode("ação").ids != fast.encode("acao").ids
    # transformers' AutoTokenizer-style loading of the same local folder agrees as well, except on decomposed (NFD)
    # accents: the Python BertTokenizer NFC-composes the text and so do we; transformers 5's fast one does not.
    import transformers

    loaded = transformers.BertTokenizer.from_pretrained(str(tmp_path), local_files_only=True)
    composed = [t for t in corpus if unicodedata.is_normalized("NFC", t)]
    assert [loaded.encode(t) for t in composed] == [fast.encode(t).ids for t in composed]
    nfd = "cafe\u0301 e a\u0300 noite"
    assert fast.encode(nfd).ids == reference.encode(nfd) == fast.encode(unicodedata.normalize("NFC", nfd)).ids


def test_parity_check_fails_on_a_different_tokenizer(tiny_backbone, tmp_path):
    lowered = tmp_path / "lower"
    lowered.mkdir()
    (lowered / "vocab.txt").write_bytes((tiny_backbone / "vocab.txt").read_bytes())
    (lowered / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": True}))
    fast_lower, _ = build_tokenizer(lowered)
    with pytest.raises(PackageError, match="differs from transformers' BertTokenizer"):
        check_tokenizer_parity(fast_lower, tiny_backbone)


def test_missing_tokenizer_files(tmp_path):
    with pytest.raises(PackageError, match="neither vocab.txt nor tokenizer.json"):
        build_tokenizer(tmp_path)
    (tmp_path / "vocab.txt").write_text("a\nb\nc\n")
    with pytest.raises(PackageError, match="lacks BERT's special tokens"):
        build_tokenizer(tmp_path)
