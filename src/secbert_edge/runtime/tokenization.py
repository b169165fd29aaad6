"""Tokenization without padding (``tokenizers``), and the long-input policies.

Texts are encoded without special tokens and without truncation, so each result knows its full length;
the policy then fits it into ``max_length`` with [CLS] ... [SEP]:

- ``truncate`` (default; what SecBERT-PT's paper did): keep the first max_length-2 tokens.
- ``head_tail``: keep the first quarter and the last three quarters of the room (Sun et al., 2019 found
  head+tail beat head-only for long-text BERT classification): 127 + 383 tokens at max_length 512.
- ``windows``: overlapping windows of max_length-2 tokens with a half-window stride covering the whole
  text; the text's score is the maximum over its windows (one harmful passage flags the text).
"""

from __future__ import annotations

import enum
from pathlib import Path

from tokenizers import Tokenizer

from ..errors import PackageError


class LongInputPolicy(str, enum.Enum):
    TRUNCATE = "truncate"
    HEAD_TAIL = "head_tail"
    WINDOWS = "windows"


def fit_sequence(
    ids: list[int], max_length: int, policy: LongInputPolicy, cls_id: int, sep_id: int
) -> tuple[list[list[int]], bool]:
    """The model inputs for one text under ``policy``: (sequences with specials, whether tokens were dropped)."""
    room = max_length - 2
    if room < 1:
        raise ValueError(f"max_length {max_length} leaves no room for text between [CLS] and [SEP]")
    if len(ids) <= room:
        return [[cls_id, *ids, sep_id]], False
    policy = LongInputPolicy(policy)
    if policy is LongInputPolicy.TRUNCATE:
        return [[cls_id, *ids[:room], sep_id]], True
    if policy is LongInputPolicy.HEAD_TAIL:
        head = room // 4
        tail = room - head
        return [[cls_id, *ids[:head], *ids[-tail:], sep_id]], True
    stride = max(1, room // 2)
    starts = list(range(0, len(ids) - room, stride)) + [len(ids) - room]
    return [[cls_id, *ids[s:s + room], sep_id] for s in starts], False


class TextEncoder:
    """Loads a package's ``tokenizer.json`` and encodes batches of texts without padding or truncation."""

    def __init__(self, path: str | Path, expected_vocab_size: int):
        try:
            tokenizer = Tokenizer.from_file(str(path))
        except Exception as err:  # tokenizers raises plain Exception on malformed files
            raise PackageError(f"{path} is not a valid tokenizers file ({err}); re-export the package") from err
        tokenizer.no_padding()
        tokenizer.no_truncation()
        size = tokenizer.get_vocab_size()
        if size != expected_vocab_size:
            raise PackageError(
                f"{path} has {size} tokens but the model's embedding matrix has {expected_vocab_size} rows: the "
                "tokenizer does not belong to this model. Re-export the package from the backbone it was trained with."
            )
        self.tokenizer = tokenizer

    def encode(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self.tokenizer.encode_batch(texts, add_special_tokens=False)]

    def token_to_id(self, token: str) -> int | None:
        return self.tokenizer.token_to_id(token)
