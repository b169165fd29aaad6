"""``secbert-edge tune``: measure serving plans on this box and write the winner where ``serve`` finds it."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import click

from ..serve.tune import TuneConfig
from . import main
from ._common import (
    FILE,
    bundle,
    config_options,
    echo_json,
    json_option,
    log,
    model_option,
    opt,
    resolve_model,
    variant_option,
)


@main.command()
@model_option()
@variant_option(help="Variant to tune [default: the package's default variant].")
@opt("--providers", "Execution providers, as for serve (comma-separated) [default: auto].")
@opt(
    "--texts",
    FILE,
    "Workload: real prompts of your traffic, one per line (.txt), or a 'text' column (.jsonl/.csv/.tsv/.parquet) "
    "[default: built-in pt-BR prompts of real lengths].",
)
@bundle("config", TuneConfig, *config_options(TuneConfig))
@opt("--out", FILE, "Write the plan here instead of where serve looks ($SECBERT_EDGE_CACHE/plans/...).")
@json_option("the plan and every measurement")
def tune(
    model_dir: Path | None,
    variant: str | None,
    providers: str | None,
    texts: Path | None,
    config: TuneConfig,
    out: Path | None,
    as_json: bool,
) -> None:
    """Measure serving plans for a package on this box; write the fastest where `serve` picks it up.

    A plan is how serve uses the cores: parallel runs (inference workers), intra-op threads per run, one session
    shared or one per run, idle threads spinning, a session on every core for a request alone (and whether its
    threads stop spinning after it), max texts per runtime call and the wait for batch-mates. Each
    candidate is served by the real `secbert-edge serve`, loaded by closed-loop clients over loopback (one text a
    request, cycling through real-length pt-BR prompts or --texts) at every --clients level; a stage keeps the plan
    nearest the stage's best at its worst level (its texts/s over the stage's best there, the lowest of those; the
    geometric mean of its texts/s breaks ties), and a plan whose p99/p50 grows past --max-tail x its one-client
    p99/p50 is not eligible. The candidates of a stage are measured in interleaved rounds, and a measurement during
    which other processes took a quarter core is taken again. The winner and the whole table go to
    $SECBERT_EDGE_CACHE/plans/, keyed by the variant file's sha256, the variant, the provider and the box (CPU model
    and cores): `serve` (and `load(...)` in Python) use it from then on and refuse it anywhere else. Run it on the
    box that serves, when it is otherwise quiet; a big model takes a few minutes.

    \b
    Example:
      secbert-edge tune --model models/secbert-pt --variant int8 --texts my-prompts.txt
      secbert-edge serve --model models/secbert-pt --variant int8     # startup line: "plan tuned: ..."
    Quicker, fewer candidates:
      secbert-edge tune --model models/secbert-pt --try-runs 1,2 --try-threads 1 --clients 8,32 --seconds 2
    """
    from ..serve.tune import tune as run_tune

    path = resolve_model(model_dir)
    result = run_tune(path, variant, texts=texts, config=config, providers=providers, out=out, progress=log("tune"))
    if as_json:
        return echo_json(
            {
                "path": str(result.path),
                "key": result.key.to_dict(),
                "plan": dataclasses.asdict(result.winner.plan),
                "measured": result.record(),
            }
        )
    record = result.record()
    click.echo(f"package   {path} — {result.key.describe()}")
    click.echo(f"workload  {result.workload.source}; tokens {result.workload.tokens}")
    click.echo(f"load avg  before {record['load_average']['before']}, after {record['load_average']['after']}")
    if record["other_cores_mean"] is not None:
        click.echo(f"other CPU {record['other_cores_mean']:.2f} cores on average (other processes, while measuring)")
    click.echo(_table(record["candidates"], config.clients, result.rule))
    vs = record["winner_vs_rule"]
    click.echo(f"winner    {result.winner.plan.describe()}" + (f" ({vs:.2f}x the rule's score)" if vs else ""))
    click.echo(f"written   {result.path}")


def _table(rows: list[dict[str, Any]], clients: tuple[int, ...], rule: Any) -> str:
    head = "| plan | stage | " + " | ".join(f"{c} clients texts/s (p99/p50)" for c in clients)
    head += " | worst level / stage best | score |"
    lines = [head, "|---|---|" + "---:|" * (len(clients) + 2)]
    for row in rows:
        from ..runtime.plan import ServingPlan

        plan = ServingPlan(**row["plan"])
        name = plan.describe() + (" [rule]" if plan == rule else "")
        cells = [f"{lv['texts_per_s']:.1f} ({lv['p99_over_p50']:.1f})" for lv in row["levels"]]
        worst = row.get("worst_ratio")
        worst_cell = "" if worst is None else f"{worst:.2f}"
        lines.append(f"| {name} | {row['stage']} | " + " | ".join(cells) + f" | {worst_cell} | {row['score']:.1f} |")
    return "\n".join(lines)
