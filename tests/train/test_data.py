"""Training data: veRL-schema parquet, DAPO's instruction wrapper, the suffix, prompt-length filtering."""

from __future__ import annotations

import pytest

from justrl.train.config import BOXED_SUFFIX, TrainError
from justrl.train.data import (
    DAPO_PREFIX,
    DAPO_SUFFIX,
    TrainRecord,
    build_messages,
    deduplicate,
    load_train_records,
    strip_dapo_instruction,
    tokenize_prompts,
)


def _parquet(path, rows):
    pd = pytest.importorskip("pandas")
    pd.DataFrame(rows).to_parquet(path)
    return path


def _row(content, gold, i=0):
    return {"data_source": "math_dapo", "prompt": [{"role": "user", "content": content}], "ability": "MATH",
            "reward_model": {"ground_truth": gold, "style": "rule"}, "extra_info": {"index": str(i)}}


def test_prompt_format_justrl_keeps_the_raw_content_like_justrls_boxed_suffix_prompt(tmp_path):
    """JustRL's use_boxed_suffix_prompt: the stored content, wrapper included, then the boxed suffix."""
    wrapped = DAPO_PREFIX + "What is 2+3?" + DAPO_SUFFIX
    path = _parquet(tmp_path / "t.parquet", [_row(wrapped, "5"), _row("Plain question?", " 42 ", 1)])
    records = load_train_records(str(path), offline=True)
    assert [(r.question, r.gold) for r in records] == [(wrapped, "5"), ("Plain question?", "42")]
    assert records[0].meta == {"data_source": "math_dapo", "index": "0"}
    assert build_messages(records[0].question, BOXED_SUFFIX)[0]["content"] == (
        wrapped + "\n\nPlease reason step by step, and put your final answer within \\boxed{}.")


def test_prompt_format_problem_strips_the_dapo_wrapper(tmp_path):
    path = _parquet(tmp_path / "t.parquet", [_row(DAPO_PREFIX + "What is 2+3?" + DAPO_SUFFIX, "5"),
                                             _row("Plain question?", " 42 ", 1)])
    records = load_train_records(str(path), offline=True, prompt_format="problem")
    assert [(r.question, r.gold) for r in records] == [("What is 2+3?", "5"), ("Plain question?", "42")]


def test_unknown_prompt_format_is_a_train_error(tmp_path):
    path = _parquet(tmp_path / "t.parquet", [_row("q", "1")])
    with pytest.raises(TrainError, match="prompt_format must be one of justrl, problem"):
        load_train_records(str(path), prompt_format="raw")


def test_rows_keep_the_files_order_and_repeats_unless_deduplicated(tmp_path):
    """The faithful order: DAPO-Math-17k's published file repeats problems and JustRL read it as-is."""
    rows = [_row("A", "1", 0), _row("B", "2", 1), _row("A", "1", 2)]
    records = load_train_records(str(_parquet(tmp_path / "t.parquet", rows)), offline=True)
    assert [r.question for r in records] == ["A", "B", "A"]
    assert [r.question for r in deduplicate(records)] == ["A", "B"]


@pytest.mark.parametrize("text, expected", [
    (DAPO_PREFIX + "Q" + DAPO_SUFFIX, "Q"), ("Q", "Q"), (DAPO_PREFIX + "Q", "Q"),
], ids=["wrapped", "bare", "prefix-only"])
def test_strip_dapo_instruction(text, expected):
    assert strip_dapo_instruction(text) == expected


def test_build_messages_appends_the_recipe_suffix():
    assert build_messages("Q", BOXED_SUFFIX) == [{"role": "user", "content": "Q" + BOXED_SUFFIX}]


@pytest.mark.parametrize("rows, message", [
    ([{"prompt": [{"role": "user", "content": "q"}]}], "veRL's schema"),
    ([_row("q", "")], "empty"),
    ([{"prompt": [{"role": "system", "content": "q"}], "reward_model": {"ground_truth": "1"}}], "veRL's schema"),
], ids=["no-reward-model", "empty-gold", "no-user-message"])
def test_bad_rows_are_named(tmp_path, rows, message):
    path = _parquet(tmp_path / "t.parquet", rows)
    with pytest.raises(TrainError, match=message):
        load_train_records(str(path))


@pytest.mark.parametrize("source, message", [
    ("missing.parquet", "not found"), ("org/some-dataset", "offline"),
], ids=["missing-file", "hub-while-offline"])
def test_source_errors(source, message):
    with pytest.raises(TrainError, match=message):
        load_train_records(source, offline=True)


def test_toy_source_and_dedup():
    records = load_train_records("toy:addition")
    assert len(records) == 9 and records[5].question == "What is 1 + 2?" and records[5].gold == "3"
    assert deduplicate(records + records[:3]) == records
    with pytest.raises(TrainError, match="unknown toy task"):
        load_train_records("toy:chess")


class _CharTokenizer:
    chat_template = None

    def __call__(self, text, add_special_tokens=False):
        return {"input_ids": [ord(c) for c in text]}


def test_long_prompts_are_filtered_and_counted():
    records = [TrainRecord("x" * n, "1") for n in (1, 10, 3)]
    prompts, dropped = tokenize_prompts(records, _CharTokenizer(), suffix="!", use_chat_template=True,
                                        max_prompt_tokens=4)
    assert dropped == 1 and [p.index for p in prompts] == [0, 2] and prompts[1].ids == [ord("x")] * 3 + [ord("!")]
