"""Every benchmark gold verifies as correct against itself, bare and boxed in a typical response."""

from __future__ import annotations

import pandas as pd

from justrl.verify.lenient import lenient_verify
from justrl.verify.strict import unwrap_gold


def _golds(benchmarks_dir):
    for path in sorted(benchmarks_dir.glob("*/test.parquet")):
        frame = pd.read_parquet(path)
        if "reward_model" in frame.columns:
            golds = [row["ground_truth"] for row in frame["reward_model"]]
        else:
            golds = list(frame["answer"])
        for gold in golds:
            yield path.parent.name, str(gold)


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
