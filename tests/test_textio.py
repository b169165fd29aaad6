"""Every row in is the row out: property tests over generated Unicode for every input format and loader.

Records split on \\n only, so U+2028/U+2029/U+0085/\\x0b/\\x0c/\\x1c-\\x1e (which ``str.splitlines`` would split on and
JSON strings may hold raw) stay inside their row; every output line carries its row's id and the score of its own
text.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from secbert_edge.cli import main
from secbert_edge.cli._common import ErrorBudget
from secbert_edge.data import load_examples
from secbert_edge.errors import InputError
from secbert_edge.textio import BadItem, Fields, read_records

SPLITLINES_BREAKS = "\u2028\u2029\u0085\x0b\x0c\x1c\x1d\x1e"
# Text with plenty of the characters str.splitlines() splits on, plus anything else printable or not (no surrogates,
# which are not text; files are UTF-8).
ANY_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from(SPLITLINES_BREAKS + "\r\t \"',;{}[]\\"), st.characters(blacklist_categories=("Cs",))
    ),
    min_size=1,
    max_size=40,
)
# A .txt line: no \n, no trailing \r (it ends the line), not blank (blank lines are skipped), no leading BOM.
LINE = ANY_TEXT.map(lambda t: t.replace("\n", " ")).filter(
    lambda t: t.strip() and not t.endswith("\r") and not t.startswith("\ufeff")
)
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _write(path: Path, texts: list[str], ids: list[str]) -> list[str]:
    """Write ``texts`` in the format of ``path``'s suffix; return the extra CLI arguments that read it."""
    suffix = path.suffix
    if suffix == ".txt":
        path.write_bytes("".join(t + "\n" for t in texts).encode("utf-8"))
        return []
    if suffix == ".jsonl":
        path.write_text(
            "".join(json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n" for i, t in zip(ids, texts)),
            encoding="utf-8",
        )
    elif suffix in (".csv", ".tsv"):
        buf = io.StringIO(newline="")
        writer = csv.writer(buf, delimiter="\t" if suffix == ".tsv" else ",")
        writer.writerow(["id", "text"])
        writer.writerows(zip(ids, texts))
        path.write_bytes(buf.getvalue().encode("utf-8"))
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table({"id": ids, "text": texts}), path, row_group_size=3)
    return ["--id-column", "id"]


@pytest.mark.parametrize("suffix", [".txt", ".jsonl", ".csv", ".tsv", ".parquet"])
def test_n_rows_in_n_results_out_each_with_its_id_and_own_score(suffix, classifier, tiny_package, tmp_path_factory):
    runner = CliRunner()

    @SETTINGS
    @given(texts=st.lists(LINE if suffix == ".txt" else ANY_TEXT, min_size=1, max_size=8))
    def check(texts: list[str]) -> None:
        path = tmp_path_factory.mktemp("rows") / f"in{suffix}"
        ids = [f"row-{k}" for k in range(len(texts))]
        args = _write(path, texts, ids)
        result = runner.invoke(main, ["predict", "--model", str(tiny_package), "--file", str(path), "--json", *args])
        rows = [json.loads(line) for line in result.stdout.split("\n") if line]
        assert len(rows) == len(texts)
        errors = sum("error" in r for r in rows)  # 0: OK; some: PARTIAL; every one: TOO_MANY_ERRORS
        assert result.exit_code == ErrorBudget().status(errors, len(rows)), result.output
        expected_ids = list(range(1, len(texts) + 1)) if suffix == ".txt" else ids
        assert [r["id"] for r in rows] == expected_ids
        for row, text in zip(rows, texts):
            (alone,) = classifier.predict([text])
            assert row.get("score") == alone.score and row.get("error") == alone.error, (text, row)

    check()


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".tsv", ".parquet"])
def test_train_and_verify_loader_keeps_every_row(suffix, tmp_path_factory):
    @SETTINGS
    @given(texts=st.lists(ANY_TEXT, min_size=1, max_size=10), labels=st.lists(st.sampled_from([0, 1]), min_size=10))
    def check(texts: list[str], labels: list[int]) -> None:
        path = tmp_path_factory.mktemp("data") / f"d{suffix}"
        labels = labels[: len(texts)]
        if suffix == ".jsonl":
            path.write_text(
                "".join(json.dumps({"text": t, "label": y}, ensure_ascii=False) + "\n" for t, y in zip(texts, labels)),
                encoding="utf-8",
            )
        elif suffix == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.table({"text": texts, "label": labels}), path)
        else:
            buf = io.StringIO(newline="")
            writer = csv.writer(buf, delimiter="\t" if suffix == ".tsv" else ",")
            writer.writerow(["text", "label"])
            writer.writerows(zip(texts, labels))
            path.write_bytes(buf.getvalue().encode("utf-8"))
        examples = load_examples(path)
        assert [e.text for e in examples] == texts and [e.label for e in examples] == labels

    check()


def test_split_only_on_newline_and_count_blank_lines(tmp_path):
    path = tmp_path / "x.txt"
    path.write_bytes(b"\xef\xbb\xbfa\xe2\x80\xa8b\r\n\n  \nc\x0cd\n\xff bad\nlast")
    records, stats = read_records(path)
    assert [(r.id, r.text) for r in records] == [(1, "a\u2028b"), (4, "c\x0cd"), (5, "\udcff bad"), (6, "last")]
    assert stats.blank_lines == 2 and stats.records == 4


def test_rows_that_cannot_be_read_cost_only_themselves(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text('id,text\n1,ok\n2,"a,b",extra\n3,fine\n', encoding="utf-8")
    records, stats = read_records(path, Fields(id="id"))
    assert [r.id for r in records] == ["1", 2, "3"] and isinstance(records[1].text, BadItem)
    assert "has 3 fields, the header has 2" in records[1].text.reason and stats.bad_rows == 1
    dup = tmp_path / "dup.jsonl"
    dup.write_text('{"id": 1, "text": "a"}\n{"id": 1, "text": "b"}\n', encoding="utf-8")
    records, stats = read_records(dup, Fields(id="id"))
    assert [r.text for r in records] == ["a", "b"] and stats.duplicate_ids == 1


def test_whole_file_problems_name_the_option(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("prompt,answer\noi,tchau\n", encoding="utf-8")
    with pytest.raises(InputError, match="no 'text' column for the text \\(choose it with --text-column\\)"):
        read_records(path)
    with pytest.raises(InputError, match="--response-column"):
        read_records(path, Fields(prompt="prompt", response="response"))
    txt = tmp_path / "x.txt"
    txt.write_text("oi\n", encoding="utf-8")
    with pytest.raises(InputError, match="no columns"):
        read_records(txt, Fields(id="id"))
