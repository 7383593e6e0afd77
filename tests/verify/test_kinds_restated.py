"""Issue 10 items 1-2: boxed answers that restate their value (an equation, a sentence, units).

Each accepted kind sits beside the near misses that must still be rejected. ``quick_verdict`` (the
sympy-free pre-check) may decline to decide, but never disagrees.
"""

from __future__ import annotations

import pytest

from justrl.verify.lenient import lenient_verify, quick_verdict


def _boxed(answer: str) -> str:
    return f"We work through the problem step by step.\n\nTherefore the result is $\\boxed{{{answer}}}$."


# (behaviour id, gold, boxed answer, correct)
EQUATION_RIGHT_SIDE = [
    ("function-value-left-side", "\\frac{3}{5}", "\\cos B = \\frac{3}{5}", True),
    ("function-value-other-right-side", "\\frac{3}{5}", "\\cos B = \\frac{4}{5}", False),
    ("composition-left-side", "11", "h(g(2)) = 11", True),
    ("composition-other-value", "11", "h(g(2)) = 12", False),
    ("sum-of-unknowns", "9", "p+q = 9", True),
    ("sum-of-unknowns-other-value", "9", "p+q = 8", False),
    ("constant-left-side-equal", "4", "\\log_3 81 = 4", True),
    ("constant-left-side-contradicts", "5", "\\log_3 81 = 5", False),
    ("arithmetic-left-side-contradicts", "5", "2+2 = 5", False),
    ("arithmetic-left-side-equal", "1140", "\\frac{20!}{17!\\,3!} = 1140", True),
    ("vector-product-matrix", "\\begin{pmatrix} 1 \\\\ -2 \\\\ 3 \\end{pmatrix}",
     "\\mathbf{u}\\times\\mathbf{v} = \\begin{pmatrix} 1 \\\\ -2 \\\\ 3 \\end{pmatrix}", True),
    ("vector-product-other-matrix", "\\begin{pmatrix} 1 \\\\ -2 \\\\ 3 \\end{pmatrix}",
     "\\mathbf{u}\\times\\mathbf{v} = \\begin{pmatrix} 1 \\\\ 2 \\\\ 3 \\end{pmatrix}", False),
    ("equation-gold-compares-equations", "x + y = 9", "p+q = 9", False),
    ("equation-gold-same-equation", "x + y = 9", "y = 9 - x", True),
    ("left-side-value-right-side-other", "9", "9 = p+q", False),
    ("option-letter-with-its-equation", "D", "(D) x^{2} -8x + 16 = 0", True),
    ("other-letter-with-an-equation", "D", "(C) x^{2} -8x + 16 = 0", False),
]

SENTENCES_AND_UNITS = [
    ("sentence-one-number", "45", "The train needs 45 more minutes.", True),
    ("sentence-one-number-wrong", "45", "The train needs 40 more minutes.", False),
    ("sentence-two-numbers", "45", "After 5 stops the train needs 45 more minutes.", False),
    ("sentence-copula-value", "12", "\\text{The smallest } k \\text{ is } 12", True),
    ("sentence-number-word", "3", "There are three roots.", True),
    ("sentence-number-word-wrong", "3", "There are four roots.", False),
    ("sentence-one-gold-shaped-value", "\\frac38", "\\text{The probability is 3 out of 8, that is } \\frac{3}{8}", True),
    ("sentence-gold-shaped-value-wrong", "\\frac38", "\\text{The probability is 3 out of 8, that is } \\frac{3}{7}", False),
    ("sentence-gold-shaped-value-not-final", "\\frac38", "\\text{With probability } \\frac{3}{8} \\text{ we get 5 of 8}", False),
    ("sentence-two-integers-for-integer-gold", "3", "\\text{She keeps 5 apples, 3 pears}", False),
    ("plain-word-unit", "320", "320 liters", True),
    ("plain-word-unit-wrong-value", "320", "230 liters", False),
    ("two-word-unit", "64", "64 square feet", True),
    ("textnormal-unit", "40", "40\\textnormal{ km}", True),
    ("textnormal-unit-wrong", "40", "4\\textnormal{ km}", False),
    ("solar-mass-unit", "2 \\times 10^{30}", "2 \\times 10^{30} M_\\odot", True),
    ("solar-mass-wrong-exponent", "2 \\times 10^{30}", "2 \\times 10^{31} M_\\odot", False),
    ("solar-luminosity-e-notation-gold", "3.8e26", "3.8 \\times 10^{26} L_\\odot", True),
    ("unit-power-belongs-to-unit", "4.5e33", "4.5 \\times 10^{33} \\text{ erg}\\,\\text{s}^{-1}", True),
    ("unit-does-not-eat-the-exponent", "4.5", "4.5 \\times 10^{33} \\text{ erg}", False),
    ("unit-after-irrational-value", "12\\pi", "12\\pi \\mathrm{~cm}^2", True),
    ("unit-after-spacing-command", "2\\sqrt3", "2\\sqrt{3}\\,\\mathrm{m}", True),
    ("unit-after-other-irrational", "3\\sqrt2", "2\\sqrt{3}\\,\\mathrm{m}", False),
    ("variable-is-not-a-unit", "5", "5x", False),
    ("text-gold-not-read-from-sentence", "\\text{Evelyn}", "The winner is Evelyn", False),
    ("set-gold-with-bare-braces", "{0,2,4,6,8}", "\\{0, 2, 4, 6, 8\\}", True),
    ("set-gold-bare-braces-other-set", "{0,2,4,6,8}", "\\{0, 2, 4, 6\\}", False),
    ("single-braced-gold-is-a-group", "{42}", "42", True),
]


@pytest.mark.parametrize(
    "gold, answer, correct",
    [c[1:] for c in EQUATION_RIGHT_SIDE + SENTENCES_AND_UNITS],
    ids=[c[0] for c in EQUATION_RIGHT_SIDE + SENTENCES_AND_UNITS],
)
def test_restated_answer(gold, answer, correct):
    response = _boxed(answer)
    verdict = lenient_verify(response, gold)
    assert verdict.correct is correct, verdict
    quick = quick_verdict(response, gold)
    assert quick is None or quick.correct is correct, quick
