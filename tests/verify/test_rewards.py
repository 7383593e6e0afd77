"""Reward adapters, called exactly as veRL (custom_reward_function, loaded by file path) and TRL
(GRPOTrainer reward functions) call them."""

from __future__ import annotations

import importlib.util
import sys
from fractions import Fraction
from functools import partial
from pathlib import Path

import pytest

import justrl.verify.verl_reward as verl_reward_module
from justrl.verify.trl_reward import RewardInputError, lenient_reward, strict_reward

# -- veRL --------------------------------------------------------------------------------------------


def load_like_verl(function_name: str, reward_kwargs: dict | None = None):
    """veRL's loader: import the file by path as ``custom_module``, wrap the function with reward_kwargs."""
    path = Path(verl_reward_module.__file__)
    spec = importlib.util.spec_from_file_location("custom_module", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["custom_module"] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules["custom_module"]
    raw = getattr(module, function_name)

    def call_with_kwargs(fn, extra, *args, **kwargs):
        return fn(*args, **kwargs, **extra)

    return partial(call_with_kwargs, raw, reward_kwargs or {})


VERL_CASES = [
    ("compute_score", "... The answer is \\boxed{42}", "42", {"score": 1.0, "acc": True, "pred": "42"}),
    ("compute_score", "... The answer is \\boxed{ 42}", "42", {"score": -1.0, "acc": False, "pred": " 42"}),
    ("compute_score", "... The answer is 42", "42", {"score": -1.0, "acc": False, "pred": None}),
    ("compute_score", "\\boxed{42}" + " filler" * 20, "42", {"score": -1.0, "acc": False, "pred": None}),
    ("compute_score", "so \\boxed{\\frac{1}{2}}", "\\frac{1}{2}", {"score": 1.0, "acc": True, "pred": "\\frac{1}{2}"}),
    ("compute_score", "so \\boxed{0.5}", "\\frac{1}{2}", {"score": -1.0, "acc": False, "pred": "0.5"}),
    ("compute_score_lenient", "so \\boxed{0.5}", "\\frac{1}{2}", {"score": 1.0, "acc": True, "pred": "0.5"}),
    ("compute_score_lenient", "so \\boxed{ 42}", "42", {"score": 1.0, "acc": True, "pred": "42"}),
    ("compute_score_lenient", "so \\boxed{41}", "42", {"score": -1.0, "acc": False, "pred": "41"}),
]


@pytest.mark.parametrize("name,response,gold,expected", VERL_CASES,
                         ids=["strict-match", "strict-space-differs", "strict-unboxed", "strict-box-too-early",
                              "strict-latex-match", "strict-decimal-vs-fraction", "lenient-decimal-vs-fraction",
                              "lenient-space-ignored", "lenient-mismatch"])
def test_verl_reward_loaded_by_path_returns_dapo_keys(name, response, gold, expected):
    fn = load_like_verl(name)
    result = fn(data_source="math_dapo", solution_str=response, ground_truth=gold,
                extra_info={"index": 0, "split": "train"})
    assert result == expected
    assert type(result["acc"]) is bool and type(result["score"]) is float


def test_verl_reward_accepts_reward_kwargs_and_non_string_gold():
    fn = load_like_verl("compute_score", {"some_option": 1})
    assert fn(data_source="x", solution_str="\\boxed{7}", ground_truth=7, extra_info=None)["acc"] is True
    assert fn(data_source="x", solution_str="\\boxed{7}", ground_truth="7")["score"] == 1.0


@pytest.mark.parametrize("name", ["compute_score", "compute_score_lenient"])
@pytest.mark.parametrize("gold", [7, 7.0, Fraction(7)], ids=["int", "float", "fraction"])
def test_verl_numeric_golds_are_compared_as_the_api_compares_them(name, gold):
    fn = load_like_verl(name)
    assert fn(data_source="x", solution_str="\\boxed{7}", ground_truth=gold)["acc"] is True
    assert fn(data_source="x", solution_str="\\boxed{7.0}", ground_truth=gold)["acc"] is (name != "compute_score")
    assert fn(data_source="x", solution_str="\\boxed{True}", ground_truth=True)["acc"] is True, "bool: str(value)"


# -- TRL ---------------------------------------------------------------------------------------------


class FakeTrainerState:
    global_step = 3


def call_like_trl(reward_func, prompts, completions, **columns):
    """As trl 1.16 GRPOTrainer._calculate_rewards does: every column but prompt/completion as a per-completion list,
    plus trainer_state, log_extra, log_metric, and completion_ids."""
    kwargs = {key: list(values) for key, values in columns.items()}
    kwargs["trainer_state"] = FakeTrainerState()
    kwargs["log_extra"] = lambda column, values: None
    kwargs["log_metric"] = lambda name, value: None
    ids = [[1, 2, 3] for _ in completions]
    return reward_func(prompts=prompts, completions=completions, completion_ids=ids, **kwargs)


PLAIN = ["... so \\boxed{12}", "... so \\boxed{ 12}", "no answer", "... so \\boxed{\\dfrac{6}{3}}"]
CHAT = [[{"role": "assistant", "content": text}] for text in PLAIN]


@pytest.mark.parametrize("completions", [PLAIN, CHAT], ids=["standard", "conversational"])
@pytest.mark.parametrize("column", ["ground_truth", "answer"])
def test_trl_strict_reward_reads_the_gold_column(completions, column):
    prompts = ["Q"] * 4 if completions is PLAIN else [[{"role": "user", "content": "Q"}]] * 4
    golds = ["12", "12", "12", "\\dfrac{6}{3}"]
    assert call_like_trl(strict_reward, prompts, completions, **{column: golds}) == [1.0, -1.0, -1.0, 1.0]


def test_trl_lenient_reward_accepts_equivalent_forms():
    rewards = call_like_trl(lenient_reward, ["Q"] * 4, PLAIN, answer=["12", "12", "12", "2"])
    assert rewards == [1.0, 1.0, -1.0, 1.0]


@pytest.mark.parametrize("columns,expected", [
    ({"solution": ["We compute ... so the total is $\\boxed{12}$."] * 4}, [1.0, -1.0, -1.0, -1.0]),
    ({"reward_model": [{"ground_truth": "12", "style": "rule"}] * 4}, [1.0, -1.0, -1.0, -1.0]),
    ({"answer": ["12", None, "12", "12"]}, [1.0, None, -1.0, -1.0]),
    ({"ground_truth": ["12"] * 4, "answer": ["99"] * 4}, [1.0, -1.0, -1.0, -1.0]),
], ids=["solution-last-box", "verl-reward-model", "missing-gold-row-is-none", "ground-truth-wins"])
def test_trl_gold_sources(columns, expected):
    assert call_like_trl(strict_reward, ["Q"] * 4, PLAIN, **columns) == expected


def test_trl_numeric_gold_columns_are_canonical():
    assert call_like_trl(strict_reward, ["Q"] * 2, ["\\boxed{12}", "\\boxed{0.5}"], answer=[12.0, 0.5]) == [1.0, 1.0]


def test_trl_reads_the_last_assistant_message_of_a_tool_conversation():
    completion = [{"role": "assistant", "content": "let me call a tool"},
                  {"role": "tool", "content": "\\boxed{99}"},
                  {"role": "assistant", "content": [{"type": "text", "text": "so \\boxed{12}"}]}]
    assert call_like_trl(strict_reward, ["Q"], [completion], answer=["12"]) == [1.0]


def test_trl_without_a_gold_column_names_the_columns_it_needs():
    with pytest.raises(RewardInputError, match="ground_truth, answer, solution, reward_model"):
        call_like_trl(strict_reward, ["Q"], ["\\boxed{1}"], level=["easy"])

