"""Tokenization without padding (``tokenizers``), and the long-input policies.

Texts are encoded without special tokens and without truncation, so each result knows its full length;
the policy then fits it into ``max_length`` with the package's special tokens ([CLS] ... [SEP], or <s> ... </s>;
see :mod:`secbert_edge.template`):

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
from ..template import Template


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


Framed = tuple[list[int], list[int]]  # (input_ids, token_type_ids) of one model input, specials included


def fit_sequence(
    ids: list[int], max_length: int, policy: LongInputPolicy, template: Template
) -> tuple[list[Framed], bool]:
    """The model inputs for one text under ``policy``, framed by the package's template ([CLS] a [SEP] or <s> a </s>):
    ([(input_ids, token_type_ids), ...], whether tokens were dropped). The room is max_length minus the specials."""
    pieces, cut = fit_tokens(ids, max_length - template.single_specials, policy)
    return [template.frame(piece) for piece in pieces], cut


def fit_pair(
    prompt_ids: list[int], response_ids: list[int], max_length: int, policy: LongInputPolicy, template: Template
) -> tuple[list[Framed], bool]:
    """A (prompt, response) pair framed by the package's pair template ([CLS] p [SEP] r [SEP] with types 0/1, or
    <s> p </s></s> r </s>), keeping as much of the *response* as possible.

    The response gets the whole room (max_length minus the pair's specials) under ``policy``; the prompt gets what is
    left, and keeps its *last* tokens (the part next to the response, where a jailbreak's actual request usually sits).
    Returns ([(input_ids, token_type_ids), ...], whether any token of either text was dropped).
    """
    room = max_length - template.pair_specials
    pieces, cut = fit_tokens(response_ids, room, policy)
    out = []
    for piece in pieces:
        keep = room - len(piece)
        prompt = prompt_ids[len(prompt_ids) - keep :] if keep > 0 else []
        cut = cut or len(prompt) < len(prompt_ids)
        out.append(template.frame_pair(prompt, piece))
    return out, cut


SEQUENTIAL_MAX = 8  # up to this many texts are encoded one by one on the calling thread (TextEncoder.encode)


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
                f"{path} has {size} tokens but the package was exported with a tokenizer of {expected_vocab_size}: the "
                "tokenizer does not belong to this model. Re-export the package from the backbone it was trained with."
            )
        self.tokenizer = tokenizer

    def encode(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text. A few texts are encoded on the calling thread: ``encode_batch`` hands even one
        text to the tokenizers library's own thread pool and waits for it, which under load (every core busy with
        inference) cost a serving worker ~9% of its time (py-spy, `serve` at 8 clients); encoded here, serve
        answered 1.04-1.07x as many one-text requests at 8 clients (the 2-core box, interleaved rounds). Longer
        lists keep the parallel batch call (idle: 0.6x the per-text time at 64 texts)."""
        if len(texts) <= SEQUENTIAL_MAX:
            return [self.tokenizer.encode(text, add_special_tokens=False).ids for text in texts]
        return [e.ids for e in self.tokenizer.encode_batch(texts, add_special_tokens=False)]

    def token_to_id(self, token: str) -> int | None:
        return self.tokenizer.token_to_id(token)
