"""lenient on real model outputs: the development corpus in ``tests/verify/cases/real/``.

The corpus holds real responses of several model families copied from public evaluation logs,
labelled by the careful-grader rule (README.md beside it). These tests hold justrl lenient to:
no false positive beyond the listed allowance, an accuracy floor, and no timeout on any record.
The floor is what the code achieved when it was last raised; raise it as lenient improves.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import pytest

from justrl.verify import verify

# Verifying 1,600 real responses twice (with and without the question) takes 10-25 s on 2 busy cores.
pytestmark = pytest.mark.slow

CORPUS = Path(__file__).parent / "cases" / "real" / "corpus.jsonl"

# Accuracy justrl lenient must reach on the whole corpus (0.9866 on 1,947 records at 98aeb46 when this was set; Math-Verify 0.9594).
ACCURACY_FLOOR = 0.98
# Records lenient may accept although they are labelled incorrect: none today. Listing one here
# needs a reason next to it.
ALLOWED_FALSE_POSITIVES: dict[str, str] = {}
SOURCE = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40}:\S+$")


def load() -> list[dict]:
    with CORPUS.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@lru_cache(maxsize=2)
def verdicts(with_question: bool = False) -> tuple[tuple[dict, object], ...]:
    """(record, Verdict) for every record, computed once per mode for all tests in this module.

    ``with_question`` passes the record's question as ``justrl-eval`` does (form demands checked).
    """
    out = []
    for rec in load():
        kwargs = {"question": rec["question"]} if with_question and rec.get("question") else {}
        out.append((rec, verify(rec["response"], rec["gold"], mode="lenient", **kwargs)))
    return tuple(out)


both_modes = pytest.mark.parametrize("with_question", [False, True], ids=["no_question", "with_question"])


def test_corpus_records_are_well_formed_and_traceable_to_a_pinned_source():
    recs = load()
    assert len(recs) >= 1000
    assert len({r["id"] for r in recs}) == len(recs), "ids must be unique"
    for r in recs:
        assert SOURCE.match(r["source"]), r["id"]
        assert isinstance(r["label"], bool) and r["labeled_by"] in ("agree", "hand"), r["id"]
        assert r["response"] and r["gold"] and r["model"] and r["benchmark"], r["id"]
        if r["labeled_by"] == "hand" and r["published_grade"] is not None and r["published_grade"] != r["label"]:
            assert r["label_note"], f"{r['id']}: a label that overrules the published grade needs a note"


def test_corpus_spans_several_model_families_and_benchmarks():
    recs = load()
    assert len({r["model"] for r in recs}) >= 8
    assert len({r["benchmark"] for r in recs}) >= 4
    unboxed = [r for r in recs if "boxed" not in r["response"]]
    assert len(unboxed) >= 200, "the corpus must keep responses that do not box their answer"


@both_modes
def test_no_record_times_out_or_errors(with_question):
    bad = [(rec["id"], v.reason) for rec, v in verdicts(with_question) if v.reason in ("timeout", "error")]
    assert not bad


@both_modes
def test_no_false_positive_beyond_the_listed_allowance(with_question):
    fps = [rec["id"] for rec, v in verdicts(with_question) if v.correct and not rec["label"]]
    unexpected = [i for i in fps if i not in ALLOWED_FALSE_POSITIVES]
    assert not unexpected, f"lenient accepts responses labelled incorrect: {unexpected}"


@both_modes
def test_accuracy_reaches_the_floor(with_question):
    results = verdicts(with_question)
    right = sum(bool(v.correct) == rec["label"] for rec, v in results)
    acc = right / len(results)
    wrong = [rec["id"] for rec, v in results if bool(v.correct) != rec["label"]]
    assert acc >= ACCURACY_FLOOR, f"accuracy {acc:.4f} < {ACCURACY_FLOOR}; wrong: {wrong[:20]}..."


@pytest.mark.parametrize("kind", ["gsm8k", "minerva_math", "olympiadbench", "gaokao2023en"])
def test_boxed_benchmark_logs_are_graded_without_false_positives(kind):
    # The benchmark-style part of the corpus (Qwen harness logs, ToRA): the bar is no FP.
    fps = [rec["id"] for rec, v in verdicts() if rec["benchmark"] == kind and v.correct and not rec["label"]]
    assert not fps
