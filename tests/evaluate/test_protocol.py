"""The justrl protocol preset and its overrides (DESIGN.md §4)."""

from __future__ import annotations

import pytest

from justrl.benchmarks import BENCHMARKS
from justrl.evaluate.protocol import JUSTRL_SUFFIX, PRESETS, Protocol, ProtocolError, get_preset, parse_n


def test_justrl_preset_is_the_papers_protocol():
    p = get_preset("justrl")
    assert (p.temperature, p.top_p, p.max_tokens, p.seed, p.limit) == (0.7, 0.9, 31744, 0, None)
    assert JUSTRL_SUFFIX == " Please reason step by step, and put your final answer within \\boxed{}."
    assert p.messages("What is 1+1?") == [
        {"role": "user", "content": "What is 1+1? Please reason step by step, and put your final answer within \\boxed{}."}]
    assert set(PRESETS) == {"justrl"}


@pytest.mark.parametrize("name, n", [("AIME24", 32), ("AIME25", 32), ("AMC23", 32), ("MATH-500", 4), ("Minerva", 4),
                                     ("Olympiad-Bench", 4), ("HMMT25", 32), ("BRUMO25", 32), ("CMIMC25", 32)])
def test_default_samples_per_benchmark(name, n):
    assert Protocol().samples(BENCHMARKS[name]) == n


@pytest.mark.parametrize("text, expected", [
    (None, (None, {})),
    ("8", (8, {})),
    ("AIME24=64,AMC23=16", (None, {"AIME24": 64, "AMC23": 16})),
    ("aime24 = 64", (None, {"AIME24": 64})),
    ("olympiadbench=2", (None, {"Olympiad-Bench": 2})),
    ("8,MATH-500=1", (8, {"MATH-500": 1})),
], ids=["absent", "global", "per-benchmark", "case-and-spaces", "punctuation-insensitive-name", "mixed"])
def test_parse_n(text, expected):
    assert parse_n(text) == expected


@pytest.mark.parametrize("text", ["eight", "AIME24=x", "AIME24:64", "8,9", "FOO=3", "=3"],
                         ids=["word", "non-integer", "wrong-separator", "two-globals", "unknown-benchmark", "no-name"])
def test_parse_n_rejects_malformed(text):
    with pytest.raises(ProtocolError, match="--n"):
        parse_n(text)


@pytest.mark.parametrize("overrides, name, n", [
    ({"n": 8}, "AIME24", 8),
    ({"n": 8}, "MATH-500", 8),
    ({"n_per_benchmark": {"AIME24": 64}}, "AIME24", 64),
    ({"n_per_benchmark": {"AIME24": 64}}, "AMC23", 32),
    ({"n": 2, "n_per_benchmark": {"AIME24": 64}}, "AIME24", 64),
    ({"n": 2, "n_per_benchmark": {"AIME24": 64}}, "MATH-500", 2),
], ids=["global-overrides-32", "global-overrides-4", "per-benchmark", "others-keep-default",
        "per-benchmark-beats-global", "global-for-the-rest"])
def test_sample_count_resolution(overrides, name, n):
    assert Protocol().with_overrides(**overrides).samples(BENCHMARKS[name]) == n


def test_overrides_ignore_none_and_keep_the_rest():
    p = Protocol().with_overrides(temperature=0.6, top_p=None, max_tokens=1024, limit=3, seed=7)
    assert (p.temperature, p.top_p, p.max_tokens, p.limit, p.seed) == (0.6, 0.9, 1024, 3, 7)


@pytest.mark.parametrize("overrides", [{"temperature": -1.0}, {"top_p": 0.0}, {"top_p": 1.5}, {"max_tokens": 0},
                                       {"limit": 0}, {"n": 0}, {"n_per_benchmark": {"AIME24": 0}}],
                         ids=["negative-temperature", "zero-top-p", "top-p-above-1", "zero-max-tokens", "zero-limit",
                              "zero-n", "zero-per-benchmark-n"])
def test_invalid_settings_are_refused(overrides):
    with pytest.raises(ProtocolError):
        Protocol().with_overrides(**overrides)


def test_unknown_preset():
    with pytest.raises(ProtocolError, match="unknown preset"):
        get_preset("polaris")
