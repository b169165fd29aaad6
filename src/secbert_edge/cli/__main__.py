"""``python -m secbert_edge.cli``: the same as the ``secbert-edge`` command."""

from . import main

main()
