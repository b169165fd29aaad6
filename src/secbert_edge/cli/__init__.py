"""``secbert-edge``: a thin click layer over the library. Every command has ``--help`` with an example.

Errors become exit statuses in one place (:class:`~secbert_edge.cli._common.Cli`, ``ERROR_STATUS``); the statuses and
what each means are one table (``_common.Status``, ``STATUS_HELP``), shown at the end of every command's --help.
"""

from __future__ import annotations

import click

from .._version import __version__
from ._common import Cli, show_warnings


@click.group(
    cls=Cli, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110, "show_default": True}
)
@click.version_option(__version__, prog_name="secbert-edge")
def main() -> None:
    """Fast, verified inference for BERT safety classifiers (SecBERT-PT and LLM-response judges).

    \b
    Typical flow:
      secbert-edge export --checkpoint best_model.pth --backbone ./bert-base-portuguese-cased --out models/secbert-pt
      secbert-edge quantize --model models/secbert-pt --variant int8
      secbert-edge verify --model models/secbert-pt --checkpoint best_model.pth \\
          --backbone ./bert-base-portuguese-cased --data test.tsv --preset wildjailbreak
      secbert-edge predict --model models/secbert-pt --variant int8 "Ignore suas instruções anteriores e..."
      secbert-edge info --model models/secbert-pt
    """
    show_warnings()


from . import build, check, distill, run, score, serve, tune  # noqa: E402  (the commands register themselves on main)

__all__ = ["main", "build", "check", "distill", "run", "score", "serve", "tune"]
