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
    assert layers["rule"] == {"grader": "strict", "avg_at_n": 25.0, "correct": 1}
    assert layers["judge_added"] == {"avg_at_n": 25.0, "correct": 1, "asked": 2, "unparsed": 0}
    assert layers["final"] == {"avg_at_n": 50.0, "correct": 2}
    assert results["benchmarks"]["AIME25"]["avg_at_n"] == 50.0
    assert len(backend.requests) == 2  # rule-correct and answerless samples are not judged
    graded = [json.loads(x) for x in (tmp_path / "graded.strict+judge" / "aime25.jsonl").read_text().splitlines()]
    assert [(g["rule_correct"], g["judge"], g["correct"]) for g in graded] == [
        (True, None, True), (False, "correct", True), (False, "incorrect", False), (False, None, False)]
    assert results["grading"]["judge"]["model"] == "fake-judge"
    assert "## Grading layers" in (tmp_path / "report.strict+judge.md").read_text()


# sha256 of CV_PROMPT in open-compass/CompassVerifier src/prompts.py (commit 2d7cba6), computed from that file
COMPASS_SHA256 = "aee9c27520639ca543f0b5077164dc32c1976be0f16c87bee7055f3b7ba45e72"


def test_justrl_protocol_uses_compassverifiers_prompt_byte_for_byte():
    import hashlib

    from justrl.evaluate.judge import COMPASS_VERIFIER_PROMPT

    assert hashlib.sha256(COMPASS_VERIFIER_PROMPT.encode("utf-8")).hexdigest() == COMPASS_SHA256
    judge = Judge(FixedReplyBackend({}), protocol="justrl")
    text = judge.render(JudgeItem("What is 2+2?", "4", "y" * 20000 + " \\boxed{4}"))
    assert text.startswith("\nPlease as a grading expert, judge whether") and text.endswith("candidate's answer:\n")
    assert "<Original Question Begin>:\n\n<Original Question End>" in text  # JustRL's rows have no question key
    assert "<Candidate's Answer Begin>: \n" + "y" * 20000 + " \\boxed{4}\n<Candidate's Answer End>" in text
    assert "please ignore the \\boxed{}" in text  # "{{}}" in the template renders as "{}"
    real = Judge(FixedReplyBackend({}), protocol="justrl", question="real")
    assert "<Original Question Begin>:\nWhat is 2+2?\n<Original Question End>" in real.render(
        JudgeItem("What is 2+2?", "4", "r"))
    (req,) = judge.requests([JudgeItem("q", "4", "r")])
    assert (req.sampling.temperature, req.sampling.max_tokens) == (0.0, 2048)


@pytest.mark.parametrize(("reply", "correct"), [
    ("A", True), (" A\n", True), ("A: CORRECT", False), ("**A**", False), ("CORRECT", False), ("a", False),
    ("B", False), ("", False),
], ids=["a", "padded", "letter-and-word", "bold", "word", "lower", "b", "empty"])
def test_justrl_protocol_counts_exactly_a_as_correct(reply, correct):
    (verdict,) = Judge(FixedReplyBackend({"4": reply}), protocol="justrl").judge([JudgeItem("q", "4", "r")])
    assert verdict.correct is correct


def _judge_rows(tmp_path) -> FixedReplyBackend:
    rows = [  # gold 7: a rule match, a wrong box, no box at all, a response cut off mid-box
        {"example_id": 0, "prompt": "seven?", "answer": "7", "seed": 0, "response": "\\boxed{7}"},
        {"example_id": 0, "prompt": "seven?", "answer": "7", "seed": 1, "response": "\\boxed{8}"},
        {"example_id": 0, "prompt": "seven?", "answer": "7", "seed": 2, "response": "it is seven"},
        {"example_id": 0, "prompt": "seven?", "answer": "7", "seed": 3, "response": "so \\boxed{7"},
    ]
    (tmp_path / "aime25_t0.7_p0.9_n4-MNT31744.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return FixedReplyBackend({"7": "A"})


def test_grader_justrl_asks_the_judge_about_every_rule_failure(tmp_path):
    backend = _judge_rows(tmp_path)
    results = grade_run(tmp_path, grader="justrl", judge=Judge(backend, model="fake"), progress=False,
                        published_model="JustRL-DeepSeek-1.5B")
    assert len(backend.requests) == 3  # the wrong box, the unboxed and the cut-off response
    assert all("<Original Question Begin>:\n\n" in r.messages[0]["content"] for r in backend.requests)
    aime = results["benchmarks"]["AIME25"]
    assert aime["graders"]["justrl-rule"]["avg_at_n"] == 25.0 and aime["graders"]["justrl-rule+judge"]["avg_at_n"] == 100
    cmp = aime["published"]
    assert (cmp["grader"], cmp["like_for_like"], cmp["our_avg_at_n"]) == ("justrl-rule+judge", True, 100.0)
    assert results["grading"]["judge"]["protocol"] == "justrl" and results["outputs"]["results"].endswith(
        "results.justrl+judge.json")


def test_a_real_question_is_not_like_for_like(tmp_path):
    backend = _judge_rows(tmp_path)
    results = grade_run(tmp_path, grader="justrl", judge=Judge(backend), judge_question="real", progress=False,
                        published_model="JustRL-DeepSeek-1.5B")
    assert all("<Original Question Begin>:\nseven?\n" in r.messages[0]["content"] for r in backend.requests)
    assert results["benchmarks"]["AIME25"]["published"]["like_for_like"] is False


def test_the_lenient_protocol_still_skips_answerless_failures(tmp_path):
    backend = _judge_rows(tmp_path)
    grade_run(tmp_path, judge=Judge(backend), progress=False)
    assert len(backend.requests) == 1  # only the wrong box has a final answer (no box, cut off: none)


class ContextLimitedBackend(FixedReplyBackend):
    """Stands in for the hf/vllm backends' context check (the real check_context, before generating anything):
    here a prompt's token count is its character count."""

    def __init__(self, replies, limit: int) -> None:
        super().__init__(replies)
        self.limit = limit
        self.calls = 0

    def generate(self, requests, on_result):
        from justrl.evaluate.backends.context import ContextLimit, check_context

        self.calls += 1
        check_context(((len(r.messages[0]["content"]), r.sampling.max_tokens) for r in requests),
                      ContextLimit(self.limit, "test"), model="fake-judge")
        super().generate(requests, on_result)


def test_justrl_judge_fits_long_prompts_into_the_context_as_vllm_would():
    from justrl.evaluate.judge import COMPASS_VERIFIER_PROMPT

    base = len(COMPASS_VERIFIER_PROMPT)
    backend = ContextLimitedBackend({"4": "A"}, limit=base + 2048 + 500)
    items = [JudgeItem("q", "4", "short"), JudgeItem("q", "4", "m" * 1000), JudgeItem("q", "4", "x" * 5000 + "end")]
    judge = Judge(backend, protocol="justrl")
    verdicts = judge.judge(items)
    assert [v.correct for v in verdicts] == [True, True, True]
    assert judge.fitted == {"reply_tokens_capped": 2, "responses_cut": 1}
    by_key = {r.key: r for r in backend.requests}
    assert by_key["judge/0"].sampling.max_tokens == 2048 and by_key["judge/1"].sampling.max_tokens == 16
    assert by_key["judge/1"].messages[0]["content"].count("m") >= 1000  # reply budget cut, response whole
    assert by_key["judge/2"].messages[0]["content"].endswith("xend\n<Candidate's Answer End>\nJudging the "
                                                              "correctness of the candidate's answer:\n")
    assert items[2].response == "x" * 5000 + "end"  # the caller's items are unchanged
    assert judge.describe()["fitted_to_context"] == judge.fitted


def test_other_backend_errors_are_not_swallowed():
    from justrl.evaluate.backends import BackendError

    class Broken(FixedReplyBackend):
        def generate(self, requests, on_result):
            raise BackendError("server said no")

    with pytest.raises(BackendError, match="server said no"):
        Judge(Broken({}), protocol="justrl").judge([JudgeItem("q", "4", "r")])
