"""Duplicates and near-duplicates across sources and against every held-out set (issue 21).

``normalise`` folds case, accents, punctuation and spacing, so two copies of one request in different folders
(or a template with its slot filled differently) meet on one key. ``NearDuplicates`` indexes texts by word
3-gram shingles and answers, for a new text, whether an indexed text shares most of its shingles with it: Jaccard
>= ``jaccard``, or an indexed text contained in it (>= ``containment`` of the indexed text's shingles), which
catches a held-out attack (of 7+ words) sitting inside a longer training text. Short texts (under 3 words) meet
only on their normalised key. Pure Python with an inverted index: ~50k training rows against ~5k held-out texts in
seconds; a MinHash library would add a dependency for sizes this small.
"""

from __future__ import annotations

import heapq
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

_NON_WORD = re.compile(r"[^\w]+")


def normalise(text: str) -> str:
    """Lower case, no accents, words separated by one space (punctuation, markup and slot markers dropped)."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return _NON_WORD.sub(" ", text.replace("_", " ")).strip()


def shingles(text: str, n: int = 3) -> set[str]:
    words = normalise(text).split()
    if len(words) < n:
        return set()
    return {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}


class NearDuplicates:
    """An index of texts; ``match(text)`` gives the id of an indexed near-duplicate of ``text``, or None."""

    def __init__(
        self, jaccard: float = 0.5, containment: float = 0.8, min_contained: int = 5, max_postings: int = 200
    ) -> None:
        self.jaccard, self.containment, self.max_postings = jaccard, containment, max_postings
        self.min_contained = min_contained  # shingles an indexed text needs before containment counts (7+ words)
        self._keys: dict[str, str] = {}
        self._sizes: list[int] = []
        self._ids: list[str] = []
        self._postings: dict[str, list[int]] = {}

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, text: str, ident: str) -> None:
        self._keys.setdefault(normalise(text), ident)
        grams = shingles(text)
        if not grams:
            return
        i = len(self._ids)
        self._ids.append(ident)
        self._sizes.append(len(grams))
        for g in grams:
            self._postings.setdefault(g, []).append(i)

    def add_all(self, items: Iterable[tuple[str, str]]) -> NearDuplicates:
        for text, ident in items:
            self.add(text, ident)
        return self

    def match(self, text: str) -> str | None:
        key = normalise(text)
        if key in self._keys:
            return self._keys[key]
        grams = shingles(text)
        if not grams:
            return None
        hits: Counter[int] = Counter()
        for g in grams:
            posting = self._postings.get(g)
            if posting and len(posting) <= self.max_postings:  # boilerplate shingles say nothing
                hits.update(posting)
        # the 20 indexed texts sharing the most shingles, ties to the earliest indexed: Counter.most_common broke
        # ties by insertion order, which followed the set of shingles' hash order, so one transfer text of the
        # guard's build matched in some processes and not in others (15,266 or 15,267 texts)
        for i, common in heapq.nsmallest(20, hits.items(), key=lambda kv: (-kv[1], kv[0])):
            size = self._sizes[i]
            contained = size >= self.min_contained and common / size >= self.containment
            if contained or common / (len(grams) + size - common) >= self.jaccard:
                return self._ids[i]
        return None
