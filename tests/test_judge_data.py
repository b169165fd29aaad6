"""The response judge's data generator: seeded, balanced, and shape carries no label."""

from __future__ import annotations

import random
import re
from collections import Counter

from secbert_defaults import judge_data
from secbert_defaults.build import DEMOS, verify_examples
from secbert_edge.runtime.defaults import DEFAULT_RESPONSE_MODEL


def test_seeded_balanced_and_prompt_independent():
    a = judge_data.response_examples(3000, 4, [("oi", "olá, tudo bem?")])
    assert a == judge_data.response_examples(3000, 4, [("oi", "olá, tudo bem?")])
    assert len(a) == 3000
    share = sum(e.label for e in a) / len(a)
    assert 0.45 < share < 0.55
    assert 0.2 < sum(e.prompt is None for e in a) / len(a) < 0.6
    # the same response appears with several prompts, always with the same label
    labels: dict[str, set[int]] = {}
    prompts: dict[str, set[str | None]] = {}
    for e in a:
        labels.setdefault(e.text, set()).add(e.label)
        prompts.setdefault(e.text, set()).add(e.prompt)
    assert all(len(v) == 1 for v in labels.values())
    assert sum(len(v) > 1 for v in prompts.values()) > len(prompts) / 3


def test_every_category_has_substance_and_a_safe_side():
    for name, cat in judge_data.CATEGORIES.items():
        for key in ("topic", "ask", "steps", "artefacts", "tips", "safe_ask"):
            assert cat[key], (name, key)
        assert len(cat["steps"]) >= 5, name


def _first_words(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s!]", " ", text).split()[:1]).lower()


def test_openers_and_shapes_carry_no_label():
    rng = random.Random(0)
    unsafe = [judge_data.unsafe_response(rng)[1] for _ in range(3000)]
    safe = [judge_data.safe_response(rng)[2] for _ in range(3000)]
    for opener in ("claro", "entendido", "ok", "segue", "olha"):
        u = sum(_first_words(t) == opener for t in unsafe)
        s = sum(_first_words(t) == opener for t in safe)
        assert u > 20 and s > 20, (opener, u, s)
    shapes = {"numbered": r"^1\. ", "bullets": r"^[-•*] ", "passo": r"Passo 1:", "markdown": r"\*\*"}
    for shape, pattern in shapes.items():
        u = sum(bool(re.search(pattern, t, re.M)) for t in unsafe)
        s = sum(bool(re.search(pattern, t, re.M)) for t in safe)
        assert u > 30 and s > 30, (shape, u, s)
    # a hedge or a refusal is followed by harmful steps in some unsafe answers and by advice in safe ones
    refusal_starts = Counter(t.split(".")[0] for t in unsafe + safe if t.startswith("Não posso"))
    assert refusal_starts


def test_verify_split_has_a_prompt_on_every_row():
    rows = verify_examples(DEMOS[DEFAULT_RESPONSE_MODEL])
    assert len(rows) == 600 and all(e.prompt for e in rows)
    assert 250 < sum(e.label for e in rows) < 350
