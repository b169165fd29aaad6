"""How special tokens frame a text and a text pair: BERT's ``[CLS] a [SEP]`` / ``[CLS] a [SEP] b [SEP]`` or XLM-R's
``<s> a </s>`` / ``<s> a </s></s> b </s>``, with the token type of every position.

A template is written in `tokenizers`' TemplateProcessing notation (``"<s>:0 $A:0 </s>:0"``: a special token or a
sequence, a colon, its token type), so the same two strings build the package tokenizer's post-processor at export and
frame every sequence the runtime, training and the PyTorch reference feed the model: one implementation of the pair
template. Stdlib only: the manifest (read by the torch-free runtime) carries it.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from typing import Any

from .errors import PackageError

BERT_SINGLE = "[CLS]:0 $A:0 [SEP]:0"
BERT_PAIR = "[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1"
# XLM-R's pairs carry token type 0 throughout, as transformers' XLM-R tokenizers emit them: XLM-R has one type row,
# and multilingual-e5 encodes queries and passages separately, so it only ever saw type 0. Training, export and the
# runtime all read these strings, so they agree by construction.
XLMR_SINGLE = "<s>:0 $A:0 </s>:0"
XLMR_PAIR = "<s>:0 $A:0 </s>:0 </s>:0 $B:0 </s>:0"


@dataclasses.dataclass(frozen=True)
class _Frame:
    """A parsed template: the special ids and types around and between the sequences."""

    parts: tuple[tuple[int, int] | str, ...]  # (id, type) of a special, or "A"/"B" with its type in seq_types
    seq_types: dict[str, int]

    @property
    def specials(self) -> int:
        return sum(1 for p in self.parts if not isinstance(p, str))


@dataclasses.dataclass(frozen=True)
class Template:
    """A single-text and a pair template, and the ids of the special tokens they name."""

    single: str
    pair: str
    special_tokens: Mapping[str, int]

    @classmethod
    def bert(cls, cls_id: int, sep_id: int) -> Template:
        return cls(BERT_SINGLE, BERT_PAIR, {"[CLS]": cls_id, "[SEP]": sep_id})

    @classmethod
    def xlmr(cls, bos_id: int, eos_id: int) -> Template:
        return cls(XLMR_SINGLE, XLMR_PAIR, {"<s>": bos_id, "</s>": eos_id})

    @classmethod
    def from_tokenizer(cls, settings: Mapping[str, Any], where: str = "manifest.json") -> Template:
        """The template a package's tokenizer settings record; packages written before templates were recorded
        (format 1 WordPiece packages) frame with BERT's, from their ``cls_id`` / ``sep_id``."""
        recorded = settings.get("template")
        if recorded is None:
            return cls.bert(int(settings["cls_id"]), int(settings["sep_id"]))
        try:
            template = cls(str(recorded["single"]), str(recorded["pair"]), dict(recorded["special_tokens"]))
            template.check()
        except (KeyError, TypeError, ValueError) as err:
            raise PackageError(
                f"{where}: tokenizer.template {recorded!r} is not a valid template ({err}). Re-export the package."
            ) from err
        return template

    def to_dict(self) -> dict[str, Any]:
        return {"single": self.single, "pair": self.pair, "special_tokens": dict(self.special_tokens)}

    def processor_args(self) -> dict[str, Any]:
        """Keyword arguments of ``tokenizers.processors.TemplateProcessing`` for this template."""
        return {"single": self.single, "pair": self.pair, "special_tokens": list(self.special_tokens.items())}

    # ---- parsing ----------------------------------------------------------------------------------------------------
    def check(self) -> None:
        """Raise ValueError unless both templates parse (every special known, $A once; $A then $B in the pair)."""
        _ = (self._single, self._pair)  # parsing raises

    @functools.cached_property
    def _single(self) -> _Frame:
        return self._parse(self.single, ("A",))

    @functools.cached_property
    def _pair(self) -> _Frame:
        return self._parse(self.pair, ("A", "B"))

    def _parse(self, text: str, sequences: tuple[str, ...]) -> _Frame:
        parts: list[tuple[int, int] | str] = []
        types: dict[str, int] = {}
        for item in text.split():
            name, sep, kind = item.rpartition(":")
            if not sep:
                name, kind = item, "0"
            if not kind.isdigit():
                raise ValueError(f"{item!r}: the token type after ':' must be a number")
            if name.startswith("$"):
                seq = name[1:] or "A"
                if seq in types or seq not in sequences:
                    raise ValueError(f"{text!r}: ${seq} is not expected here (sequences {', '.join(sequences)})")
                types[seq] = int(kind)
                parts.append(seq)
            elif name in self.special_tokens:
                parts.append((int(self.special_tokens[name]), int(kind)))
            else:
                raise ValueError(f"{text!r}: {name!r} is not one of the special tokens {sorted(self.special_tokens)}")
        if tuple(p for p in parts if isinstance(p, str)) != sequences:
            raise ValueError(f"{text!r} must hold {' then '.join('$' + s for s in sequences)}")
        return _Frame(tuple(parts), types)

    # ---- framing ----------------------------------------------------------------------------------------------------
    @property
    def single_specials(self) -> int:
        """Special tokens around one text (2 for BERT and XLM-R)."""
        return self._single.specials

    @property
    def pair_specials(self) -> int:
        """Special tokens in a pair (3 for BERT, 4 for XLM-R)."""
        return self._pair.specials

    @property
    def bos_id(self) -> int:
        """The id of the first special of a single text ([CLS] / <s>): warm-up and filler rows start with it."""
        return next(part[0] for part in self._single.parts if not isinstance(part, str))

    def frame(self, ids: Sequence[int]) -> tuple[list[int], list[int]]:
        """(input_ids, token_type_ids) of one text's ids framed by the single template."""
        return self._fill(self._single, {"A": ids})

    def frame_pair(self, first: Sequence[int], second: Sequence[int]) -> tuple[list[int], list[int]]:
        """(input_ids, token_type_ids) of a pair framed by the pair template."""
        return self._fill(self._pair, {"A": first, "B": second})

    @staticmethod
    def _fill(frame: _Frame, seqs: Mapping[str, Sequence[int]]) -> tuple[list[int], list[int]]:
        ids: list[int] = []
        types: list[int] = []
        for part in frame.parts:
            if isinstance(part, str):
                ids.extend(seqs[part])
                types.extend([frame.seq_types[part]] * len(seqs[part]))
            else:
                ids.append(part[0])
                types.append(part[1])
        return ids, types
