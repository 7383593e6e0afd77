"""Golden values for the metrics, computed by hand from small correctness matrices."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from justrl.evaluate import metrics as M

T, F = True, False
# three problems x four samples: accuracies 0.5, 0.25, 0.0
MATRIX = [[T, T, F, F], [T, F, F, F], [F, F, F, F]]


def test_avg_at_n_is_mean_over_samples_then_problems():
    assert M.avg_at_n(MATRIX) == pytest.approx(0.25)
    # unequal sample counts: problem means 1/2 and 1/1 -> 0.75 (not 2/3, the pooled rate)
    assert M.avg_at_n([[T, F], [T]]) == pytest.approx(0.75)


def test_standard_error_and_interval():
    # sd([.5, .25, 0], ddof=1) = .25, so SE = .25 / sqrt(3)
    se = M.standard_error(MATRIX)
    assert se == pytest.approx(0.25 / math.sqrt(3))
    lo, hi = M.confidence_interval(0.25, se)
    assert (lo, hi) == pytest.approx((0.25 - 1.959964 * se, 0.25 + 1.959964 * se))
    assert M.standard_error([[T, F]]) == 0.0  # one problem: no spread to estimate


@pytest.mark.parametrize(("n", "c", "k", "expected"), [
    (4, 2, 1, 0.5), (4, 2, 2, 5 / 6), (4, 1, 2, 0.5), (4, 0, 2, 0.0), (4, 3, 2, 1.0), (4, 1, 4, 1.0),
    (10, 3, 1, 0.3), (32, 1, 16, 0.5),
], ids=["k1-is-accuracy", "two-of-four-k2", "one-of-four-k2", "none-correct", "n-c-below-k", "k-equals-n",
        "k1-ten", "one-of-32-k16"])
def test_pass_at_k_single(n, c, k, expected):
    assert M.pass_at_k_single(n, c, k) == pytest.approx(expected)


@pytest.mark.parametrize("n", [1, 5, 12, 32])
def test_pass_at_k_single_equals_the_binomial_formula(n):
    for c in range(n + 1):
        for k in range(1, n + 1):
            exact = 1 - math.comb(n - c, k) / math.comb(n, k)
            assert M.pass_at_k_single(n, c, k) == pytest.approx(exact, abs=1e-12)


def test_pass_at_k_over_problems_and_best_of_n():
    assert M.pass_at_k(MATRIX, 1) == pytest.approx(0.25)
    assert M.pass_at_k(MATRIX, 2) == pytest.approx((5 / 6 + 0.5 + 0) / 3)
    assert M.pass_at_k(MATRIX, 4) == pytest.approx(2 / 3)
    assert M.best_of_n(MATRIX) == pytest.approx(2 / 3)
    assert M.solve_counts(MATRIX) == (1, 0)
    assert M.solve_counts([[T, T], [F, F], [T, F]]) == (1, 1)


@pytest.mark.parametrize(("n", "ks"), [(1, [1]), (4, [1, 2, 4]), (6, [1, 2, 4, 6]), (32, [1, 2, 4, 8, 16, 32])],
                         ids=["one", "power-of-two", "n-appended", "justrl-32"])
def test_k_values(n, ks):
    assert M.k_values(n) == ks


@pytest.mark.parametrize(("extracted", "key"), [
    (None, None), ("\\left( 3, \\frac{\\pi}{2} \\right)", "(3,\\frac{\\pi}{2})"), ("\\dfrac{1}{2}.", "\\frac{1}{2}"),
    ("$x = 2$", "x=2"), ("  ", None),
], ids=["no-answer", "left-right-and-spaces", "dfrac-and-period", "dollars", "blank"])
def test_answer_key(extracted, key):
    assert M.answer_key(extracted) == key


@pytest.mark.parametrize(("correct", "keys", "expected"), [
    ([T, F, F], ["1", "2", "2"], False),
    ([T, F, F], ["1", "2", "3"], True),
    ([F, T, F], ["2", "1", "3"], False),
    ([T, T, F], ["\\frac12", "0.5", "7"], True),
    ([F, F, T], ["(1, 2)", "(1,2)", "x"], False),
    ([F, F, T, T], [None, None, "5", "5"], True),
    ([F, F], [None, None], False),
], ids=["wrong-answer-outvotes", "tie-goes-to-earliest-group", "tie-earliest-is-wrong",
        "correct-spellings-share-one-group", "wrong-spellings-merged-by-key", "no-answer-does-not-vote",
        "no-votes-is-incorrect"])
def test_majority_correct(correct, keys, expected):
    assert M.majority_correct(correct, keys) is expected


def test_maj_at_k_averages_disjoint_blocks():
    correct = [[T, F, T, F], [F, T, F, T]]
    keys = [["1", "2", "1", "2"], ["2", "1", "2", "1"]]
    assert M.maj_at_k(correct, keys, 1) == pytest.approx(0.5)  # maj@1 = accuracy
    assert M.maj_at_k(correct, keys, 2) == pytest.approx(0.5)  # blocks: row 1 wins both ties, row 2 loses both
    assert M.maj_at_k(correct, keys, 4) == pytest.approx(0.5)
    # three samples, k=2: one block of two (the third sample is left out)
    assert M.maj_at_k([[T, T, F]], [["1", "1", "9"]], 2) == 1.0
    with pytest.raises(ValueError):
        M.maj_at_k([[T]], [["1"]], 2)


@pytest.mark.parametrize(("responses", "expected"), [
    (["a b c d e", "a b c d"], 2 / 3),
    (["a b", "c d"], 0.0),
    ([""], 0.0),
    (["w x y z w x y z"], 4 / 5),
    (["a\tb\nc  d"], 1.0),
    (["q" * 70_000 + " a b c d a b c d"], 5 / 6),
], ids=["shared-4gram-counted-once", "no-4gram-across-responses", "empty", "repetition-within-one",
        "any-whitespace-splits", "longer-than-the-power-cache"])
def test_distinct_4grams(responses, expected):
    assert M.distinct_ngrams(responses, 4) == pytest.approx(expected)


def test_mean_distinct_ngrams_averages_problems():
    assert M.mean_distinct_ngrams([["a b c d e", "a b c d"], ["a b"]]) == pytest.approx((2 / 3 + 0) / 2)


def test_rate_and_length_stats_skip_unknown_values():
    assert M.rate([T, F, None, T]) == pytest.approx(2 / 3)
    assert M.rate([None, None]) is None
    assert M.length_stats([3, None, 1, 2, 10]) == {"mean": 4.0, "median": 2.5, "max": 10, "count": 4}
    assert M.length_stats([None]) is None


@pytest.mark.parametrize("call", [
    lambda: M.avg_at_n([]), lambda: M.avg_at_n([[]]), lambda: M.pass_at_k_single(3, 1, 4),
    lambda: M.pass_at_k_single(3, 1, 0), lambda: M.pass_at_k([[T]], 2),
], ids=["no-problems", "problem-without-samples", "k-above-n", "k-zero", "matrix-k-above-n"])
def test_invalid_inputs_raise_value_error(call):
    with pytest.raises(ValueError):
        call()


def _distinct_reference(responses: list[str], n: int) -> float:
    """The definition, literally: a set of token tuples over every response's n-grams."""
    grams = [tuple(toks[i:i + n]) for text in responses for toks in [text.split()] for i in range(len(toks) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


TOKENS = st.sampled_from(["a", "b", "c", "ab", "\\boxed{1}", "x=2", "é", "数学", "∑"])
SEPARATORS = st.sampled_from([" ", "  ", "\n", "\t", "\xa0", "\u3000", "\x1c", "\u2009"])  # all str.split() ones
RESPONSE = st.lists(st.tuples(TOKENS, SEPARATORS), max_size=14).map(lambda pairs: "".join(t + s for t, s in pairs))


@settings(max_examples=300, deadline=None)
@given(st.lists(RESPONSE, max_size=5), st.integers(min_value=1, max_value=4))
def test_distinct_ngrams_matches_the_definition(responses, n):
    assert M.distinct_ngrams(responses, n) == pytest.approx(_distinct_reference(responses, n))


@pytest.mark.parametrize(("p", "n", "low", "high"), [
    (0.0, 30, 0.0, 0.1135), (1.0, 30, 0.8865, 1.0), (0.5, 30, 0.3315, 0.6685), (0.0, 1, 0.0, 0.7935),
    (0.25, 40, 0.1419, 0.4019),
], ids=["0-of-30", "30-of-30", "half", "one-problem", "quarter"])
def test_wilson_interval_stays_honest_at_the_edges(p, n, low, high):
    from justrl.evaluate.metrics import wilson_interval

    lo, hi = wilson_interval(p, n)
    assert (lo, hi) == (pytest.approx(low, abs=1e-4), pytest.approx(high, abs=1e-4))
    assert hi - lo > 0.05  # never the degenerate point interval of mean +- 1.96 * 0


def test_combined_interval_keeps_asymmetry_and_bounds():
    from justrl.evaluate.metrics import combine_intervals

    lo, hi = combine_intervals([0.0, 0.0], [(0.0, 0.1), (0.0, 0.1)])
    assert lo == 0.0 and hi == pytest.approx(0.1 * 2 ** 0.5 / 2)
    with pytest.raises(ValueError):
        combine_intervals([], [])
