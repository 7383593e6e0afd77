"""The hand-labelled corpus (cases/corpus.jsonl): lenient gets every case right, quick never disagrees."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from justrl.verify.lenient import lenient_verify, quick_verdict

CORPUS = Path(__file__).with_name("cases") / "corpus.jsonl"


def _rows() -> list[dict]:
    return [json.loads(line) for line in CORPUS.read_text().splitlines() if line.strip()]


def test_corpus_is_broad():
    rows = _rows()
    kinds = Counter(row["kind"] for row in rows)
    assert len(rows) >= 300
    assert len(kinds) >= 25
    assert sum(not row["correct"] for row in rows) >= 150  # plenty of traps


@pytest.mark.parametrize("kind", sorted({row["kind"] for row in _rows()}))
def test_lenient_on_corpus(kind):
    wrong = []
    for row in _rows():
        if row["kind"] != kind:
            continue
        verdict = lenient_verify(row["response"], row["gold"])
        quick = quick_verdict(row["response"], row["gold"])
        if verdict.correct != row["correct"] or (quick is not None and quick.correct != row["correct"]):
            wrong.append((row["gold"], verdict.extracted, row["correct"], verdict.reason))
    assert not wrong, wrong
