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

NOTATION = [
    ("reals-symbol-vs-interval", "(-\\infty,\\infty)", "\\mathbb{R}", True),
    ("interval-vs-reals-symbol", "\\mathbb{R}", "(-\\infty, \\infty)", True),
    ("reals-vs-half-line", "\\mathbb{R}", "(0,\\infty)", False),
    ("reals-minus-point", "(-\\infty,2)\\cup(2,\\infty)", "\\mathbb{R}\\setminus\\{2\\}", True),
    ("reals-minus-other-point", "(-\\infty,2)\\cup(2,\\infty)", "\\mathbb{R}\\setminus\\{3\\}", False),
    ("reals-minus-two-points", "(-\\infty,-1)\\cup(-1,1)\\cup(1,\\infty)", "\\mathbb{R}\\setminus\\{1,-1\\}", True),
    ("interval-minus-point", "(1,4)\\cup(4,9)", "(1,9)\\setminus\\{4\\}", True),
    ("interval-minus-point-keeps-ends", "(1,4)\\cup(4,9]", "(1,9)\\setminus\\{4\\}", False),
    ("negated-variable-inequality", "y < 5", "-y > -5", True),
    ("negated-variable-wrong-direction", "y < 5", "-y < -5", False),
    ("not-equal-plain", "x \\neq 7", "x != 7", True),
    ("not-equal-as-union", "(-\\infty,7)\\cup(7,\\infty)", "x \\ne 7", True),
    ("not-equal-other-value", "x \\neq 7", "x != 8", False),
    ("array-matrix-in-brackets", "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4\\end{pmatrix}",
     "\\left[\\begin{array}{cc} 1 & 2 \\\\ 3 & 4\\end{array}\\right]", True),
    ("array-matrix-other-entry", "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4\\end{pmatrix}",
     "\\left[\\begin{array}{cc} 1 & 2 \\\\ 3 & 5\\end{array}\\right]", False),
    ("pm-inside-tuples", "(1,\\pm 3), (2,\\pm 5)", "(1,3),(1,-3),(2,5),(2,-5)", True),
    ("pm-inside-tuples-reordered", "(1,\\pm 3), (2,\\pm 5)", "(2,-5),(1,3),(2,5),(1,-3)", True),
    ("pm-inside-tuples-missing-point", "(1,\\pm 3), (2,\\pm 5)", "(1,3),(1,-3),(2,5)", False),
    ("pm-inside-tuple-not-an-interval", "[1,\\pm 3]", "[1,3]", False),
    ("set-builder-gold", "{x|-2\\lex<1}", "[-2, 1)", True),
    ("set-builder-gold-other-end", "{x|-2\\lex<1}", "[-2, 1]", False),
    ("set-builder-answer", "x>3", "\\{x \\mid x > 3\\}", True),
    ("set-builder-answer-other-bound", "x>3", "\\{x \\mid x > 4\\}", False),
    ("plain-x-times-ten", "1.07e16", "1.07 x 10^16", True),
    ("plain-x-times-ten-other-exponent", "1.07e16", "1.07 x 10^15", False),
    ("ordinal-mathrm-with-unit", "12", "12^{\\mathrm{th}} \\text{ grade}", True),
    ("true-gold-yes", "True", "Yes", True),
    ("true-gold-no", "True", "No", False),
    ("false-gold-no", "False", "\\text{no}", True),
    ("numpy-gold-function", "np.arctan(3/4)", "\\arctan(3/4)", True),
    ("numpy-gold-function-other-argument", "np.arctan(3/4)", "\\arctan(4/3)", False),
    ("numpy-gold-decimal-point", "-2./5", "-\\frac{2}{5}", True),
    ("numpy-gold-sqrt", "np.sqrt(2)/2", "\\frac{\\sqrt{2}}{2}", True),
    ("numpy-style-answer-is-not-read", "\\sqrt{2}", "np.sqrt(2)", False),
    ("numpy-gold-is-not-run", "__import__('os').system('true')", "0", False),
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
    [c[1:] for c in UNICODE_AND_WORDS + NOTATION + ONE_SIGNIFICANT_DIGIT],
    ids=[c[0] for c in UNICODE_AND_WORDS + NOTATION + ONE_SIGNIFICANT_DIGIT],
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


def test_nul_byte_is_not_dropped():
    """``\\boxed{4\\x002}`` is not 42: normalisation keeps every character it does not understand."""
    from justrl.verify.lenient.normalize import normalize, strip_delimiters

    assert normalize("4\x002") != "42"
    assert strip_delimiters("\\$5 and $x$") == "\\$5 and  x "  # an escaped dollar is kept, math $ go
