"""The LLM-judge layer, with a real (fake) Backend object that returns fixed judge replies."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from justrl.evaluate.backends.base import GenerationRequest, GenerationResult
from justrl.evaluate.grading import grade_run
from justrl.evaluate.judge import Judge, JudgeItem, parse_judgement


class FixedReplyBackend:
    """Implements the Backend protocol: replies with ``replies[gold]`` for the gold named in the prompt,
    delivering results in reverse order (backends may finish in any order)."""

    name = "fixed"

    def __init__(self, replies: dict[str, str]) -> None:
        self.replies = replies
        self.requests: list[GenerationRequest] = []
        self.closed = False

    def generate(self, requests: list[GenerationRequest], on_result: Callable[[GenerationResult], None]) -> None:
        self.requests.extend(requests)
        for req in reversed(requests):
            prompt = req.messages[0]["content"]
            gold = prompt.split("<Standard Answer Begin>:\n", 1)[1].split("\n", 1)[0]
            on_result(GenerationResult(key=req.key, text=self.replies.get(gold, ""), finish_reason="stop",
                                       prompt_tokens=len(prompt.split()), completion_tokens=1))

    def describe(self) -> dict:
        return {"backend": "fixed", "model": "fake-judge"}

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize(("reply", "label"), [
    ("A", "correct"), (" A\n", "correct"), ("A: CORRECT", "correct"), ("**A**", "correct"), ("\\boxed{A}", "correct"),
    ("CORRECT", "correct"), ("B", "incorrect"), ("INCORRECT", "incorrect"), ("C", "invalid"), ("invalid", "invalid"),
    ("The answer is A", "unparsed"), ("", "unparsed"), ("42", "unparsed"),
], ids=["letter", "padded", "letter-and-word", "bold", "boxed", "word", "b", "incorrect-word", "c", "invalid-lower",
        "prose", "empty", "no-word"])
def test_parse_judgement(reply, label):
    assert parse_judgement(reply) == label


def test_requests_are_greedy_and_carry_question_gold_and_response_tail():
    backend = FixedReplyBackend({})
    judge = Judge(backend, tail_chars=10, max_tokens=8)
    (req,) = judge.requests([JudgeItem("What is 2+2?", "4", "x" * 50 + "final: IV")])
    text = req.messages[0]["content"]
    assert req.messages[0]["role"] == "user" and req.key == "judge/0"
    assert (req.sampling.temperature, req.sampling.max_tokens) == (0.0, 8)
    assert "What is 2+2?" in text and "<Standard Answer Begin>:\n4\n" in text
    assert "[...]" + ("x" + "final: IV")[-10:] in text and "x" * 11 not in text


def test_judge_returns_verdicts_in_item_order():
    backend = FixedReplyBackend({"1": "A", "2": "B", "3": "nonsense"})
    verdicts = Judge(backend).judge([JudgeItem("q", g, "r") for g in ("1", "2", "3")])
    assert [(v.label, v.correct, v.raw) for v in verdicts] == [("correct", True, "A"), ("incorrect", False, "B"),
                                                               ("unparsed", False, "nonsense")]
    assert Judge(backend).judge([]) == []
    assert Judge(backend, model="CompassVerifier-3B").describe()["backend"] == {"backend": "fixed", "model": "fake-judge"}


def test_grade_run_reports_the_judge_as_its_own_layer(tmp_path):
    rows = [
        # gold "1/2": sample 0 matches by rule; sample 1 says 0.5 (strict rejects, judge accepts)
        {"example_id": 0, "sample_index": 0, "answer": "1/2", "prompt": "half?", "response": "\\boxed{1/2}"},
        {"example_id": 0, "sample_index": 1, "answer": "1/2", "prompt": "half?", "response": "\\boxed{0.5}"},
        # gold "7": sample 0 wrong (judge says B), sample 1 has no final answer (never sent to the judge)
        {"example_id": 1, "sample_index": 0, "answer": "7", "prompt": "seven?", "response": "\\boxed{8}"},
        {"example_id": 1, "sample_index": 1, "answer": "7", "prompt": "seven?", "response": "no idea"},
    ]
    (tmp_path / "aime25.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    backend = FixedReplyBackend({"1/2": "A", "7": "B"})
    results = grade_run(tmp_path, mode="strict", judge=Judge(backend, model="fake-judge"), progress=False)
    layers = results["benchmarks"]["AIME25"]["layers"]
    assert layers["rule"] == {"avg_at_n": 25.0, "correct": 1}
    assert layers["judge_added"] == {"avg_at_n": 25.0, "correct": 1, "asked": 2, "unparsed": 0}
    assert layers["final"] == {"avg_at_n": 50.0, "correct": 2}
    assert results["benchmarks"]["AIME25"]["avg_at_n"] == 50.0
    assert len(backend.requests) == 2  # rule-correct and answerless samples are not judged
    graded = [json.loads(x) for x in (tmp_path / "graded" / "aime25.jsonl").read_text().splitlines()]
    assert [(g["rule_correct"], g["judge"], g["correct"]) for g in graded] == [
        (True, None, True), (False, "correct", True), (False, "incorrect", False), (False, None, False)]
    assert results["grading"]["judge"]["model"] == "fake-judge"
    assert "## Grading layers" in (tmp_path / "report.md").read_text()
