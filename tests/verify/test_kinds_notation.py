"""Issue 10 items 4-6: Unicode mathematics, ordinals, number words, notation, and decimal golds with
one significant digit. Each accepted form sits beside the near misses that must still be rejected."""

from __future__ import annotations

import pytest

from justrl.verify.lenient import lenient_verify, quick_verdict
from justrl.verify.lenient.numbers import decimal_tolerance


def _boxed(answer: str) -> str:
    return f"Working it out.\n\nThe answer is $\\boxed{{{answer}}}$."


# (behaviour id, gold, boxed answer, correct)
UNICODE_AND_WORDS = [
    ("unicode-pi", "2\\pi", "2π", True),
    ("unicode-pi-wrong-factor", "2\\pi", "3π", False),
    ("unicode-root", "5\\sqrt{3}", "√75", True),
    ("unicode-root-wrong", "5\\sqrt{3}", "√74", False),
    ("unicode-root-parenthesised", "\\sqrt{x+1}", "√(x+1)", True),
    ("unicode-degree", "45", "45°", True),
    ("unicode-square", "x^2+1", "x²+1", True),
    ("unicode-cube-is-not-square", "x^2+1", "x³+1", False),
    ("unicode-times", "12", "3×4", True),
    ("unicode-minus", "-5", "−5", True),
    ("unicode-minus-not-dropped", "5", "−5", False),
    ("unicode-le", "x \\le 3", "x ≤ 3", True),
    ("unicode-ge-is-not-le", "x \\le 3", "x ≥ 3", False),
    ("unicode-middle-dot", "6", "2·3", True),
    ("unicode-half", "\\frac12", "½", True),
    ("unicode-mixed-half", "\\frac{3}{2}", "1½", True),
    ("unicode-quarter-is-not-half", "\\frac12", "¼", False),
    ("ordinal-text-superscript", "9", "9^{\\text{th}}", True),
    ("ordinal-plain", "9", "9th", True),
    ("ordinal-other-number", "9", "8th", False),
    ("number-word", "7", "seven", True),
    ("number-word-wrong", "7", "six", False),
    ("number-word-hyphenated", "21", "twenty-one", True),
    ("number-word-hundreds", "305", "three hundred five", True),
    ("number-words-not-a-number", "73", "seven three", False),
    ("percent-word", "35", "35 percent", True),
    ("percent-word-other-value", "35", "36 percent", False),
]

ONE_SIGNIFICANT_DIGIT = [
    ("exact-vs-one-digit-gold", "0.1", "\\frac{1}{7}", False),
    ("exact-equal-one-digit-gold", "0.1", "\\frac{1}{10}", True),
    ("decimal-equal-one-digit-gold", "0.1", "0.10", True),
    ("decimal-within-next-digit", "0.1", "0.104", True),
    ("decimal-beyond-next-digit", "0.1", "0.12", False),
    ("e-notation-one-digit-gold-close", "3e8", "2.998 \\times 10^{8}", True),
    ("e-notation-one-digit-gold-far", "3e8", "3.2 \\times 10^{8}", False),
    ("two-digit-gold-keeps-half-unit", "0.33", "\\frac{1}{3}", True),
]


@pytest.mark.parametrize(
    "gold, answer, correct",
    [c[1:] for c in UNICODE_AND_WORDS + ONE_SIGNIFICANT_DIGIT],
    ids=[c[0] for c in UNICODE_AND_WORDS + ONE_SIGNIFICANT_DIGIT],
)
def test_notation(gold, answer, correct):
    response = _boxed(answer)
    verdict = lenient_verify(response, gold)
    assert verdict.correct is correct, verdict
    quick = quick_verdict(response, gold)
    assert quick is None or quick.correct is correct, quick


@pytest.mark.parametrize(
    "gold, tolerance",
    [("0.1", "0.005"), ("0.5", "0.005"), ("3e8", "5e6"), ("0.10", "0.005"), ("0.33", "0.005"), ("1.6", "0.05"),
     ("0.05", "0.0005"), ("42", None)],
)
def test_tolerance_from_gold_precision(gold, tolerance):
    """Half a unit of the last digit; a single significant digit gets half a unit of the next one."""
    from fractions import Fraction

    got = decimal_tolerance(gold)
    assert got == (Fraction(tolerance) if tolerance is not None else None)
