"""Loaders for the real text sources the default models learn from or are validated on.

Nothing here is committed to the repository: each source is read from where it lies — ``$SECBERT_EDGE_DATA``,
else ``../shared/data`` next to the checkout (see that folder's ``SOURCES.md``: each source verbatim with its
licence, commit and sha256), or, for two Debian packages, from where apt installs them. ``SOURCES`` records, per
source, its licence and its role. ``train`` sources may be learned from: permissive ones (CC0, CC BY, MIT, BSD;
CC BY-SA with attribution in the model card) and two copyleft Debian packages, fortunes-br (GPL-2+) and the Foca
Linux guide (GFDL 1.1), which bring the long real pt-BR prose that the others (tweets, questions, one-liners)
lack; the model cards record them. ``heldout`` sources (GPL) are used only to measure false positives on real
text the model never saw: two from the shared folder, and the Debian Reference where apt installed it.

A toxic tweet is an insult, not an attack on an LLM: the guard's policy labels it benign unless it asks the
model for something harmful, so every pt-BR tweet/message/question source here is benign text.
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import json
import os
import re
from collections.abc import Callable
from pathlib import Path

from secbert_edge.errors import InputError

DATA_ENV = "SECBERT_EDGE_DATA"


@dataclasses.dataclass(frozen=True)
class Source:
    name: str
    folder: str
    licence: str
    role: str  # "train" (may be learned from) or "heldout" (validation only)
    what: str
    upstream: str
    debian: str = ""  # a Debian package that installs the text (read from its install path, not the data folder)
    path: str = ""  # where that package puts it


SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source(
            "told-br",
            "told-br",
            "CC BY-SA 4.0",
            "train",
            "pt-BR tweets (toxicity-annotated)",
            "github JAugusto97/ToLD-Br (Leite et al., AACL-IJCNLP 2020)",
        ),
        Source(
            "tupy",
            "tupy",
            "MIT",
            "train",
            "pt-BR tweets, 2023 (hate-speech label)",
            "github Silly-Machine/TuPy-Dataset",
        ),
        Source(
            "dantestocks",
            "dantestocks",
            "CC BY 4.0",
            "train",
            "pt-BR stock-market tweets",
            "github UniversalDependencies/UD_Portuguese-DANTEStocks (Di Felippo et al., 2024)",
        ),
        Source(
            "pira",
            "pira",
            "CC0 1.0",
            "train",
            "crowd-written pt-BR questions (ocean, coast, climate)",
            "github C4AI/Pira",
        ),
        Source(
            "chatterbot",
            "chatterbot-corpus-pt",
            "BSD-3-Clause",
            "train",
            "pt chit-chat dialogues",
            "github gunthercox/chatterbot-corpus",
        ),
        Source(
            "xstest",
            "xstest",
            "CC BY 4.0",
            "train",
            "English safe look-alikes + unsafe contrasts",
            "github paul-rottger/exaggerated-safety (Röttger et al., NAACL 2024)",
        ),
        Source(
            "gptfuzz",
            "gptfuzz",
            "MIT",
            "train",
            "English jailbreak templates + harmful questions",
            "github sherdencooper/GPTFuzz",
        ),
        Source(
            "pyrit",
            "pyrit-jailbreak-templates",
            "MIT",
            "train",
            "English jailbreak templates ({{ prompt }} slot)",
            "PyPI pyrit 1.1.0 (Microsoft)",
        ),
        Source(
            "fortunes-br",
            "",
            "GPL-2+",
            "train",
            "pt-BR fortune cookies: jokes, anecdotes, quotations",
            "Debian package fortunes-br (20220821)",
            debian="fortunes-br",
            path="/usr/share/games/fortunes",
        ),
        Source(
            "focalinux",
            "",
            "GFDL-1.1",
            "train",
            "Foca Linux: a pt-BR GNU/Linux guide (long technical prose)",
            "Debian package focalinux-text (guiafoca.org, Gleydson Mazioli da Silva)",
            debian="focalinux-text",
            path="/usr/share/doc/focalinux/text",
        ),
        Source(
            "debian-reference",
            "",
            "GPL-2+",
            "heldout",
            "Debian Reference paragraphs: formal technical prose (pt, partly pt-PT and English)",
            "Debian package debian-reference-pt-br (Osamu Aoki et al.)",
            debian="debian-reference-pt-br",
            path="/usr/share/debian-reference",
        ),
        Source(
            "cosibot-br",
            "cosibot-br",
            "GPL-3.0",
            "heldout",
            "pt-BR COVID-19 chatbot utterances, real typos",
            "github cosibot/cosibot-international",
        ),
        Source(
            "fakewhatsapp-br",
            "fakewhatsapp-br",
            "GPL-3.0",
            "heldout",
            "pt-BR WhatsApp public-group messages",
            "github cabrau/FakeWhatsApp.Br (Cabral et al., ICEIS 2021)",
        ),
    )
}


def data_root() -> Path:
    """``$SECBERT_EDGE_DATA``, else ``shared/data`` beside the checkout (the folder above the repository)."""
    override = os.environ.get(DATA_ENV)
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[3] / "shared" / "data"


def _folder(source: Source, root: Path | None) -> Path:
    return Path(source.path) if source.debian else (root or data_root()) / source.folder


def source_dir(name: str, root: Path | None = None) -> Path:
    source = SOURCES[name]
    folder = _folder(source, root)
    if source.debian and not folder.is_dir():
        raise InputError(
            f"real-text source {name!r} not found at {folder}; install the Debian package that holds it: "
            f"apt-get install {source.debian} ({source.licence})"
        )
    if not folder.is_dir():
        raise InputError(
            f"real-text source {name!r} not found at {folder}; put the shared data folder (shared/data, see its "
            f"SOURCES.md: {source.upstream}, {source.licence}) beside the checkout or set {DATA_ENV}=<folder>"
        )
    return folder


def available(names: list[str] | None = None, root: Path | None = None) -> bool:
    return all(_folder(SOURCES[n], root).is_dir() for n in (names or list(SOURCES)))


def _clean(text: str) -> str:
    return re.sub(r"[ \t]+", " ", text.replace("\r", "")).strip()


def _jsonl(path: Path, field: str = "text") -> list[dict]:
    rows = []
    for line in path.read_text(encoding="utf-8").split("\n"):
        if line.strip():
            rows.append(json.loads(line))
    return [r for r in rows if _clean(str(r.get(field, "")))]


def _csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _dedupe(texts: list[str], min_chars: int = 3) -> list[str]:
    seen, out = set(), []
    for t in map(_clean, texts):
        if len(t) >= min_chars and t not in seen:
            seen.add(t)
            out.append(t)
    return out


def told_br(root: Path | None = None) -> list[str]:
    return _dedupe([r["text"] for r in _csv(source_dir("told-br", root) / "ToLD-BR.csv")])


def tupy(root: Path | None = None) -> list[str]:
    return _dedupe([r["text"] for r in _csv(source_dir("tupy", root) / "tupy_binary_vote.csv")])


def dantestocks(root: Path | None = None) -> list[str]:
    return _dedupe([r["text"] for r in _jsonl(source_dir("dantestocks", root) / "dantestocks_texts.jsonl")])


def pira(root: Path | None = None) -> list[str]:
    rows = _jsonl(source_dir("pira", root) / "pira_c_total_questions_pt.jsonl")
    texts = [r["text"] for r in rows]
    texts += [r["question_pt_paraphase"] for r in rows if len(r.get("question_pt_paraphase") or "") > 3]
    return _dedupe(texts)


def chatterbot(root: Path | None = None) -> list[str]:
    """Every utterance of the Portuguese ChatterBot dialogues (a tiny YAML subset: ``- - turn`` / ``  - turn``)."""
    texts = []
    for path in sorted(source_dir("chatterbot", root).glob("*.yml")):
        for line in path.read_text(encoding="utf-8").split("\n"):
            m = re.match(r"^(?:- - |  - )(.+)$", line)
            if m:
                texts.append(m.group(1).strip().strip("'\""))
    return _dedupe(texts)


def chatterbot_dialogues(root: Path | None = None) -> list[tuple[str, str]]:
    """(turn, next turn) pairs of the Portuguese ChatterBot dialogues: real safe replies for the judge."""
    pairs = []
    for path in sorted(source_dir("chatterbot", root).glob("*.yml")):
        turns: list[str] = []
        for line in path.read_text(encoding="utf-8").split("\n") + ["- - "]:
            if line.startswith("- - "):
                pairs += [(_clean(a), _clean(b)) for a, b in zip(turns, turns[1:]) if a and b]
                turns = [line[4:].strip().strip("'\"")]
            elif line.startswith("  - "):
                turns.append(line[4:].strip().strip("'\""))
    return pairs


def xstest(root: Path | None = None) -> list[tuple[str, int]]:
    """(English prompt, 1 = unsafe)."""
    rows = _csv(source_dir("xstest", root) / "xstest_prompts.csv")
    return [(_clean(r["prompt"]), int(r["label"] == "unsafe")) for r in rows]


def gptfuzz_questions(root: Path | None = None) -> list[str]:
    return _dedupe([r["text"] for r in _csv(source_dir("gptfuzz", root) / "question_list.csv")])


def jailbreak_templates(root: Path | None = None, max_chars: int = 1200) -> list[str]:
    """English jailbreak templates (GPTFuzz + PyRIT) with one ``{payload}`` slot, at most ``max_chars`` long."""
    out = []
    for r in _csv(source_dir("gptfuzz", root) / "GPTFuzzer.csv"):
        if "[INSERT PROMPT HERE]" in r["text"]:
            out.append(r["text"].replace("{", "{{").replace("}", "}}").replace("[INSERT PROMPT HERE]", "{payload}"))
    for r in _jsonl(source_dir("pyrit", root) / "pyrit_jailbreak_templates.jsonl"):
        if "Benign" in r.get("name", ""):
            continue
        text = r["text"].replace("{% raw %}", "").replace("{% endraw %}", "")
        text = re.sub(r"\{\{\s*prompt\s*\}\}", "\0", text)
        if text.count("\0") != 1:
            continue
        out.append(text.replace("{", "{{").replace("}", "}}").replace("\0", "{payload}"))
    return [t.strip() for t in out if len(t) <= max_chars]


def _paragraphs(text: str, min_chars: int = 40, max_chars: int = 1500) -> list[str]:
    """Blank-line separated paragraphs with their line wrapping undone; drops code, tables and the like (text
    where fewer than 60% of the characters are letters)."""
    out = []
    for block in re.split(r"\n[ \t]*\n", text.replace("\r", "")):
        para = re.sub(r"\s+", " ", block).strip()
        if min_chars <= len(para) <= max_chars and sum(c.isalpha() for c in para) >= 0.6 * len(para):
            out.append(para)
    return out


def fortunes_br(root: Path | None = None) -> list[str]:
    """Every fortune of fortunes-br's ``brasil`` file (records end at a ``%`` line), indentation removed."""
    text = (source_dir("fortunes-br", root) / "brasil").read_text(encoding="utf-8")
    return _dedupe([re.sub(r"\n[ \t]+", "\n", f) for f in re.split(r"\n%\n", text)], min_chars=20)


def focalinux(root: Path | None = None) -> list[str]:
    """The paragraphs of the three Foca Linux guides (latin-1 text, gzip-compressed, as Debian installs them)."""
    folder = source_dir("focalinux", root)
    texts = []
    for path in sorted(folder.glob("*/index.txt.gz")):
        texts += _paragraphs(gzip.decompress(path.read_bytes()).decode("latin-1"))
    return _dedupe(texts)


_PORTUGUESE = re.compile(r"\b(não|são|também|você|para|uma|ficheiro|arquivo|sistema|que)\b")


def debian_reference(root: Path | None = None) -> list[str]:
    """The Portuguese paragraphs of the Debian Reference (its translation leaves some in English: a paragraph needs
    three common Portuguese words). Held out: formal prose, a genre no training source has in this shape."""
    path = source_dir("debian-reference", root) / "debian-reference.pt-br.txt.gz"
    paragraphs = _paragraphs(gzip.decompress(path.read_bytes()).decode("utf-8"), min_chars=80)
    return _dedupe([p for p in paragraphs if len(_PORTUGUESE.findall(p)) >= 3])


def cosibot(root: Path | None = None) -> list[tuple[str, str]]:
    """(utterance, intent). Held out: GPL-3.0."""
    rows = _jsonl(source_dir("cosibot-br", root) / "cosibot_br_nlu.jsonl")
    seen, out = set(), []
    for r in rows:
        t = _clean(r["text"])
        if len(t) >= 3 and t not in seen and not t.startswith("/"):
            seen.add(t)
            out.append((t, r["intent"]))
    return out


def fakewhatsapp(root: Path | None = None) -> list[str]:
    """Held out: GPL-3.0."""
    return _dedupe([r["text"] for r in _jsonl(source_dir("fakewhatsapp-br", root) / "fakewhatsapp_br_2018_test.jsonl")])


BENIGN_TRAIN_LOADERS: dict[str, Callable[[Path | None], list[str]]] = {
    "told-br": told_br,
    "tupy": tupy,
    "dantestocks": dantestocks,
    "pira": pira,
    "chatterbot": chatterbot,
    "fortunes-br": fortunes_br,
    "focalinux": focalinux,
}


def benign_train_texts(root: Path | None = None, names: list[str] | None = None) -> dict[str, list[str]]:
    """The pt-BR training sources (all of them, or ``names``), all benign under the guard's policy, by name."""
    return {name: load(root) for name, load in BENIGN_TRAIN_LOADERS.items() if names is None or name in names}
