"""Form demands of the question (issue 10 item 7): ``form_violation`` beside its near misses.

Each row: a question, an answer already equal to the gold in value, the gold, and the expected code
(None: no explicit demand, or the answer meets it).
"""

from __future__ import annotations

import pytest

from justrl.verify.lenient.compare import Undecided
from justrl.verify.lenient.question import form_violation

SIMPLIFY = "Simplify $\\sqrt{75}$."
RATIONAL = "Rationalize the denominator of $\\frac{2}{\\sqrt{2}}$."
RADICAL_FORM = "Find the length of the diagonal. Express your answer in simplest radical form."
FACTOR_COMPLETELY = "Factor completely: $16-4y^2$."
FACTOR = "Factor $x^2-4$."
COMMON = "What is the probability? Express your answer as a common fraction."
LOWEST = "Write the ratio as a fraction in lowest terms."
COMPUTE = "Compute $\\dbinom{20}{3}$."

# (behaviour id, question, answer, gold, expected code)
CASES = [
    ("simplify-unsimplified-radical", SIMPLIFY, "\\sqrt{75}", "5\\sqrt{3}", "radical_not_simplified"),
    ("simplify-met", SIMPLIFY, "5\\sqrt{3}", "5\\sqrt{3}", None),
    ("no-demand-radical-is-fine", "What is $\\sqrt{75}$ to the nearest tenth?", "\\sqrt{75}", "5\\sqrt{3}", None),
    ("simplest-radical-form-square-factor", RADICAL_FORM, "\\sqrt{8}", "2\\sqrt{2}", "radical_not_simplified"),
    ("simplest-radical-form-cube-root", "Simplify $\\sqrt[3]{54}$.", "\\sqrt[3]{54}", "3\\sqrt[3]{2}",
     "radical_not_simplified"),
    ("cube-root-square-factor-is-simplified", "Simplify $\\sqrt[3]{12}$.", "\\sqrt[3]{12}", "\\sqrt[3]{12}", None),
    ("rationalize-radical-in-denominator", RATIONAL, "\\frac{2}{\\sqrt{2}}", "\\sqrt{2}", "radical_in_denominator"),
    ("rationalize-slash-form", RATIONAL, "2/\\sqrt{2}", "\\sqrt{2}", "radical_in_denominator"),
    ("rationalize-met", RATIONAL, "\\sqrt{2}", "\\sqrt{2}", None),
    ("radical-form-radical-in-denominator", RADICAL_FORM, "\\frac{3}{\\sqrt{3}}", "\\sqrt{3}",
     "radical_in_denominator"),
    ("no-demand-denominator-radical-fine", "Find $\\frac{2}{\\sqrt{2}}$.", "\\frac{2}{\\sqrt{2}}", "\\sqrt{2}", None),
    ("factor-completely-common-factor-left", FACTOR_COMPLETELY, "(4-2y)(4+2y)", "4(2-y)(2+y)", "not_factored"),
    ("factor-completely-met", FACTOR_COMPLETELY, "4(2-y)(2+y)", "4(2-y)(2+y)", None),
    ("factor-completely-sign-out", FACTOR_COMPLETELY, "-4(y-2)(y+2)", "4(2-y)(2+y)", None),
    ("factor-expanded-answer", FACTOR, "x^2-4", "(x-2)(x+2)", "not_factored"),
    ("factor-perfect-square-expanded", "Factor $x^2+2x+1$.", "x^2+2x+1", "(x+1)^2", "not_factored"),
    ("factor-met-with-monomial", "Factor $x^3-x$.", "x(x-1)(x+1)", "x(x-1)(x+1)", None),
    ("factor-power-written", "Factor $x^2+2x+1$.", "(x+1)^2", "(x+1)^2", None),
    ("factor-partial-product", "Factor $x^3-x$ completely.", "x(x^2-1)", "x(x-1)(x+1)", "not_factored"),
    ("factor-monomial-coefficient-fine", "Factor $2x^2+2x$ completely.", "2x(x+1)", "2x(x+1)", None),
    ("no-factor-demand", "Expand and simplify nothing; what is $x^2-4$ as given?", "x^2-4", "(x-2)(x+2)", None),
    ("common-fraction-decimal", COMMON, "0.5", "\\frac{1}{2}", "decimal_not_fraction"),
    ("common-fraction-not-reduced", COMMON, "\\frac{2}{4}", "\\frac{1}{2}", "fraction_not_reduced"),
    ("common-fraction-mixed-number", COMMON, "1\\frac{1}{2}", "\\frac{3}{2}", "mixed_number"),
    ("common-fraction-met", COMMON, "\\frac{1}{2}", "\\frac{1}{2}", None),
    ("common-fraction-repeating-decimal", COMMON, "0.\\overline{3}", "\\frac{1}{3}", "decimal_not_fraction"),
    ("lowest-terms-not-reduced", LOWEST, "6/8", "3/4", "fraction_not_reduced"),
    ("lowest-terms-met", LOWEST, "3/4", "3/4", None),
    ("no-fraction-demand-decimal-fine", "What is the probability?", "0.5", "\\frac{1}{2}", None),
    ("compute-unevaluated-factorials", COMPUTE, "\\frac{20!}{17!\\,3!}", "1140", "not_evaluated"),
    ("compute-unevaluated-binomial", COMPUTE, "\\binom{20}{3}", "1140", "not_evaluated"),
    ("compute-unevaluated-power", "Compute $2^{10}$.", "2^{10}", "1024", "not_evaluated"),
    ("compute-met", COMPUTE, "1140", "1140", None),
    ("compute-met-with-name", COMPUTE, "N = 1140", "1140", None),
    ("compute-met-with-separator", COMPUTE, "1,140", "1140", None),
    ("compute-gold-not-a-plain-number", "Compute $\\sin 60^\\circ$.", "\\frac{\\sqrt{3}}{2}", "\\frac{\\sqrt{3}}{2}", None),
    ("no-compute-demand", "How many committees are there?", "\\frac{20!}{17!\\,3!}", "1140", None),
    ("chain-value-is-judged", COMMON, "3/24 = 1/8", "\\frac{1}{8}", None),
    ("chain-value-not-reduced", COMMON, "x = 3/24", "\\frac{1}{8}", "fraction_not_reduced"),
    ("gold-fails-the-demand-too", SIMPLIFY, "\\sqrt{75}", "\\sqrt{75}", None),
    ("no-question", "", "\\sqrt{75}", "5\\sqrt{3}", None),
]


@pytest.mark.parametrize("question, answer, gold, code", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_form_violation(question, answer, gold, code):
    assert form_violation(question, answer, gold) == code


def test_quick_path_defers_factoring_to_sympy():
    """Without sympy the factoring demand cannot be checked: the sympy-free path must not decide."""
    with pytest.raises(Undecided):
        form_violation(FACTOR, "x^2-4", "(x-2)(x+2)", symbolic=False)
    assert form_violation(SIMPLIFY, "\\sqrt{75}", "5\\sqrt{3}", symbolic=False) == "radical_not_simplified"
