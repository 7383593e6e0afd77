"""Every benchmark gold verifies as correct against itself, bare and boxed in a typical response."""

from __future__ import annotations

import pandas as pd

from justrl.verify.lenient import lenient_verify
from justrl.verify.strict import unwrap_gold


def _golds(benchmarks_dir, with_questions: bool = False):
    for path in sorted(benchmarks_dir.glob("*/test.parquet")):
        frame = pd.read_parquet(path)
        if "reward_model" in frame.columns:
            golds = [row["ground_truth"] for row in frame["reward_model"]]
            questions = [str(prompt[-1]["content"]) for prompt in frame["prompt"]]
        else:
            golds = list(frame["answer"])
            questions = [str(q) for q in frame["problem"]]
        for gold, question in zip(golds, questions, strict=True):
            yield (path.parent.name, str(gold), question) if with_questions else (path.parent.name, str(gold))


def test_every_gold_matches_itself(benchmarks_dir):
    failures = []
    count = 0
    for name, gold in _golds(benchmarks_dir):
        count += 1
        responses = (gold, f"Let me reason step by step.\n\nSo the answer is \\boxed{{{unwrap_gold(gold)}}}.")
        for response in responses:
            verdict = lenient_verify(response, gold)
            if not verdict.correct:
                failures.append((name, gold, response[-60:], verdict.reason))
    assert count > 1500
    assert not failures, failures[:20]


def test_every_gold_meets_its_own_question(benchmarks_dir):
    """With ``question=``, a gold boxed in a response still matches: the form checks never refuse
    the form the benchmark itself gives as the answer ("simplify", "common fraction", "compute"...)."""
    failures = []
    count = 0
    for name, gold, question in _golds(benchmarks_dir, with_questions=True):
        count += 1
        response = f"Let me reason step by step.\n\nSo the answer is \\boxed{{{unwrap_gold(gold)}}}."
        verdict = lenient_verify(response, gold, question=question)
        if not verdict.correct:
            failures.append((name, gold, question[:80], verdict.reason))
    assert count > 1500
    assert not failures, failures[:20]
