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


def fit_tokens(ids: list[int], room: int, policy: LongInputPolicy) -> tuple[list[list[int]], bool]:
    """Cut ``ids`` into pieces of at most ``room`` tokens under ``policy``: (pieces, whether tokens were dropped)."""
    if room < 1:
        raise ValueError(f"no room for text (room {room}); raise the max length")
    if len(ids) <= room:
        return [list(ids)], False
    policy = LongInputPolicy(policy)
    if policy is LongInputPolicy.TRUNCATE:
        return [list(ids[:room])], True
    if policy is LongInputPolicy.HEAD_TAIL:
        head = room // 4
        return [[*ids[:head], *ids[len(ids) - (room - head) :]]], True
    stride = max(1, room // 2)
    starts = list(range(0, len(ids) - room, stride)) + [len(ids) - room]
    return [list(ids[s : s + room]) for s in starts], False


def fit_sequence(
    ids: list[int], max_length: int, policy: LongInputPolicy, cls_id: int, sep_id: int
) -> tuple[list[list[int]], bool]:
    """The model inputs for one text under ``policy``: (sequences with specials, whether tokens were dropped)."""
    pieces, cut = fit_tokens(ids, max_length - 2, policy)
    return [[cls_id, *piece, sep_id] for piece in pieces], cut


def fit_pair(
    prompt_ids: list[int], response_ids: list[int], max_length: int, policy: LongInputPolicy, cls_id: int, sep_id: int
) -> tuple[list[tuple[list[int], list[int]]], bool]:
    """[CLS] prompt [SEP] response [SEP] with token types 0/1, keeping as much of the *response* as possible.

    The response gets the whole room (max_length - 3) under ``policy``; the prompt gets what is left, and keeps
    its *last* tokens (the part next to the response, where a jailbreak's actual request usually sits).
    Returns ([(input_ids, token_type_ids), ...], whether any token of either text was dropped).
    """
    room = max_length - 3
    pieces, cut = fit_tokens(response_ids, room, policy)
    out = []
    for piece in pieces:
        keep = room - len(piece)
        prompt = prompt_ids[len(prompt_ids) - keep :] if keep > 0 else []
        cut = cut or len(prompt) < len(prompt_ids)
        ids = [cls_id, *prompt, sep_id, *piece, sep_id]
        out.append((ids, [0] * (len(prompt) + 2) + [1] * (len(piece) + 1)))
    return out, cut


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
