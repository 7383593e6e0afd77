"""lenient mode, kind by kind: what a careful human grader accepts and rejects."""

from __future__ import annotations

import pytest

from justrl.verify.lenient import lenient_verify, quick_verdict

# (behaviour id, gold, boxed answer, correct)
KINDS = [
    ("integer-equal", "42", "42", True),
    ("integer-differs", "42", "41", False),
    ("integer-leading-zero", "42", "042", True),
    ("integer-as-decimal", "42", "42.0", True),
    ("integer-plus-sign", "+2", "2", True),
    ("gold-wrapped-in-box", "\\boxed{204}", "204", True),
    ("fraction-unreduced", "\\frac{1}{2}", "\\frac{2}{4}", True),
    ("fraction-as-exact-decimal", "\\frac{1}{2}", "0.5", True),
    ("fraction-slash", "\\frac12", "1/2", True),
    ("fraction-dfrac", "\\frac 34", "\\dfrac{3}{4}", True),
    ("fraction-sign-in-numerator", "-\\frac{35}{9}", "\\frac{-35}{9}", True),
    ("fraction-sign-lost", "-\\frac{35}{9}", "\\frac{35}{9}", False),
    ("exact-gold-rejects-rounded-decimal", "\\frac{1}{3}", "0.333", False),
    ("exact-gold-rejects-long-decimal", "\\frac{1}{3}", "0.3333333333", False),
    ("mixed-number", "1\\frac{4}{5}", "\\frac{9}{5}", True),
    ("mixed-number-not-product", "1\\frac{4}{5}", "\\frac{4}{5}", False),
    ("decimal-gold-accepts-exact-value", "0.33", "\\frac{1}{3}", True),
    ("decimal-gold-accepts-more-digits", "0.33", "0.333", True),
    ("decimal-gold-rejects-fewer-digits", "0.33", "0.3", False),
    ("decimal-gold-rejects-next-digit", "0.33", "0.34", False),
    ("decimal-gold-trailing-zero", "56.0", "56", True),
    ("decimal-gold-no-blanket-tolerance", "9.94", "9.9", False),
    ("tiny-powers-differ", "\\frac{1}{2^{99}}", "\\frac{1}{2^{98}}", False),
    ("tiny-power-negative-exponent", "\\frac{1}{2^{99}}", "2^{-99}", True),
    ("tiny-irrational-differ", "\\frac{\\sqrt{2}}{2^{121}}", "\\frac{\\sqrt{2}}{2^{120}}", False),
    ("big-power-equal-literal", "2^{99}", "633825300114114700748351602688", True),
    ("big-power-off-by-one", "2^{99}", "633825300114114700748351602689", False),
    ("radical-simplified", "3\\sqrt{13}", "\\sqrt{117}", True),
    ("radical-rationalised", "\\frac{\\sqrt{3}}{3}", "\\frac{1}{\\sqrt{3}}", True),
    ("radical-wrong", "\\frac{\\sqrt{3}}{3}", "\\frac{\\sqrt{3}}{2}", False),
    ("radical-decimal-rejected", "\\sqrt{2}", "1.414", False),
    ("cube-root", "\\frac{8}{\\sqrt[3]{7}}", "\\frac{8\\sqrt[3]{49}}{7}", True),
    ("pi-commuted", "20\\pi", "\\pi \\cdot 20", True),
    ("pi-decimal-rejected", "20\\pi", "62.83", False),
    ("pi-combined-fraction", "1-\\frac{2}{\\pi}", "\\frac{\\pi-2}{\\pi}", True),
    ("polynomial-reordered", "x^3+3x-6", "3x+x^3-6", True),
    ("polynomial-sign-wrong", "x^3+3x-6", "x^3+3x+6", False),
    ("factored-vs-expanded", "x^5 - x^4 + x^3 - x^2 + x - 1", "(x-1)(x^4+x^2+1)", True),
    ("factors-swapped", "(a+5)(b+2)", "(b+2)(a+5)", True),
    ("factors-wrong", "(a+5)(b+2)", "(a+2)(b+5)", False),
    ("trig-identity", "\\cot x", "\\frac{\\cos x}{\\sin x}", True),
    ("exponential", "e^{t} / 3", "\\frac{e^t}{3}", True),
    ("symbol-case-matters", "3R^2", "3r^2", False),
    ("assignment-value", "x=5", "5", True),
    ("assignment-same-name", "x=5", "x = 5", True),
    ("assignment-other-name", "x=5", "y=5", False),
    ("line-rhs", "y = 2x + 3", "2x+3", True),
    ("line-rearranged", "y = 2x + 3", "y - 2x = 3", True),
    ("plane-scaled", "5x - 7y + 11z + 4 = 0", "-10x+14y-22z-8=0", True),
    ("plane-wrong-constant", "5x - 7y + 11z + 4 = 0", "5x - 7y + 11z - 4 = 0", False),
    ("function-assignment", "$f(x)=2 x$", "f(x) = x+x", True),
    ("solution-set-reordered", "1,-2", "-2, 1", True),
    ("solution-set-missing-one", "1,-2", "1", False),
    ("solution-set-extra-one", "1,-2", "1,-2,3", False),
    ("solution-set-braces", "3, 5, 7", "\\{7, 5, 3\\}", True),
    ("solution-set-with-and", "1,2", "1 \\text{ and } 2", True),
    ("solution-set-assignments", "1,2", "x=1, x=2", True),
    ("multiset-duplicates", "1,2", "1,1", False),
    ("tuple-order-matters", "(6,31,-1)", "(31,6,-1)", False),
    ("tuple-equal", "(6,31,-1)", "(6, 31, -1)", True),
    ("tuple-left-right", "\\left( 3, \\frac{\\pi}{2} \\right)", "(3, \\pi/2)", True),
    ("list-of-tuples-unordered", "(1,2),(3,4)", "(3,4),(1,2)", True),
    ("list-of-tuples-inner-order", "(1,2),(3,4)", "(2,1),(3,4)", False),
    ("interval-equal", "(3,4]", "\\left(3,4\\right]", True),
    ("interval-closed-end-differs", "(3,4]", "[3,4]", False),
    ("interval-open-end-differs", "(3,4]", "(3,4)", False),
    ("interval-infinity", "(2,\\infty)", "(2, \\infty)", True),
    ("interval-union-reordered", "(0,9) \\cup (9,36)", "(9,36) \\cup (0,9)", True),
    ("interval-union-merged-wrongly", "(0,9) \\cup (9,36)", "(0,36)", False),
    ("interval-membership", "x \\in [-2,7]", "[-2, 7]", True),
    ("interval-as-inequality", "x \\in [-2,7]", "-2 \\le x \\le 7", True),
    ("inequality-flipped", "x > 3", "3 < x", True),
    ("inequality-strictness", "x > 3", "x \\ge 3", False),
    ("inequality-geqslant", "$k \\geqslant 2$", "k \\ge 2", True),
    ("inequality-other-variable", "$k \\geqslant 2$", "n \\geq 2", False),
    ("inequality-chained", "1 < x < 5", "5 > x > 1", True),
    ("inequality-as-interval", "x > 3", "(3, \\infty)", True),
    ("vector-bmatrix", "\\begin{pmatrix} -2 \\\\ -14 \\\\ -7 \\end{pmatrix}", "\\begin{bmatrix} -2 \\\\ -14 \\\\ -7 \\end{bmatrix}", True),
    ("vector-as-tuple", "\\begin{pmatrix} -2 \\\\ -14 \\\\ -7 \\end{pmatrix}", "(-2, -14, -7)", True),
    ("vector-transposed", "\\begin{pmatrix} -2 \\\\ -14 \\\\ -7 \\end{pmatrix}", "\\begin{pmatrix} -2 & -14 & -7 \\end{pmatrix}", False),
    ("vector-entry-values", "\\begin{pmatrix} -1/3 \\\\ 2/3 \\end{pmatrix}", "\\begin{pmatrix} -\\frac{1}{3} \\\\ \\frac{2}{3} \\end{pmatrix}", True),
    ("matrix-shape-differs", "\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}", "\\begin{pmatrix} -1 & 0 & 0 & -1 \\end{pmatrix}", False),
    ("matrix-entry-differs", "\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}", "\\begin{pmatrix} 1 & 0 \\\\ 0 & 1 \\end{pmatrix}", False),
    ("pm-expanded", "1 \\pm \\sqrt{19}", "1-\\sqrt{19}, 1+\\sqrt{19}", True),
    ("pm-half-only", "1 \\pm \\sqrt{19}", "1+\\sqrt{19}", False),
    ("pm-inside-fraction", "\\frac{-1+\\sqrt{17}}{2}, \\frac{-1-\\sqrt{17}}{2}", "\\frac{-1\\pm\\sqrt{17}}{2}", True),
    ("mp-sign", "3 \\pm 2 \\sqrt{2}", "3 \\mp 2\\sqrt{2}", True),
    ("pm-in-set", "\\{1\\pm\\sqrt{5},-2\\}", "-2, 1+\\sqrt{5}, 1-\\sqrt{5}", True),
    ("percent-sign-dropped", "50\\%", "50", True),
    ("percent-not-fraction-of-one", "50\\%", "0.5", False),
    ("percent-plain-gold", "62.5%", "\\frac{125}{2}\\%", True),
    ("degrees-stripped", "30^\\circ", "30", True),
    ("degrees-braced", "30^\\circ", "30^{\\circ}", True),
    ("degrees-word", "30^\\circ", "30 \\text{ degrees}", True),
    ("degrees-not-radians", "30^\\circ", "\\frac{\\pi}{6}", False),
    ("units-mbox-squared", "864 \\mbox{ inches}^2", "864", True),
    ("units-text", "5.4 \\text{ cents}", "5.4", True),
    ("units-bare-word", "5", "5 cm", True),
    ("dollars", "\\$18.90", "18.9", True),
    ("scientific-latex-vs-e", "4.5e33", "4.5 \\times 10^{33}", True),
    ("scientific-cdot", "4.5e33", "4.5 \\cdot 10^{33}", True),
    ("scientific-rounding-within-precision", "4.5e33", "4.49 \\times 10^{33}", True),
    ("scientific-exponent-differs", "4.5e33", "4.5 \\times 10^{32}", False),
    ("scientific-negative-exponent", "1e-5", "10^{-5}", True),
    ("scientific-as-decimal", "6.5e-2", "0.065", True),
    ("thousands-comma", "10,\\!080", "10,080", True),
    ("thousands-braced-comma", "10,\\!080", "10{,}080", True),
    ("thousands-thin-space", "10,\\!080", "10\\,080", True),
    ("thousands-plain", "58,500", "58500", True),
    ("short-list-not-thousands", "12", "1,2", False),
    ("digits-with-space-not-a-number", "42", "4 2", False),
    ("base-subscript", "52_8", "52_{8}", True),
    ("base-subscript-dropped", "52_8", "52", True),
    ("base-decimal-value-rejected", "52_8", "42", False),
    ("base-wrong-base", "52_8", "52_{10}", False),
    ("complex-spacing", "3+4i", "3 + 4 i", True),
    ("complex-reordered", "3+4i", "4i+3", True),
    ("complex-conjugate", "3+4i", "3-4i", False),
    ("complex-i-before-root", "-2+2 \\sqrt{3} i", "-2+2i\\sqrt{3}", True),
    ("repeating-decimal", "\\frac{1}{3}", "0.\\overline{3}", True),
    ("repeating-decimal-mixed", "\\frac{1}{6}", "0.1\\overline{6}", True),
    ("repeating-decimal-wrong", "\\frac{1}{6}", "0.\\overline{16}", False),
    ("text-case-insensitive", "\\text{Evelyn}", "evelyn", True),
    ("text-different", "\\text{Evelyn}", "\\text{Navin}", False),
    ("text-bold", "\\text{Monday}", "\\textbf{Monday}", True),
    ("choice-parenthesised", "\\text{(C)}", "(C)", True),
    ("choice-bare-letter", "\\text{(C)}", "C", True),
    ("choice-bold", "\\text{(C)}", "\\textbf{(C)}", True),
    ("choice-wrong", "\\text{(C)}", "(B)", False),
    ("physics-symbolic", "\\sqrt{4 \\pi G \\rho_{0} r_{0}^{2}}", "2 r_0 \\sqrt{\\pi G \\rho_0}", True),
    ("physics-symbolic-wrong", "\\sqrt{4 \\pi G \\rho_{0} r_{0}^{2}}", "\\sqrt{2\\pi G\\rho_{0} r_{0}^{2}}", False),
    ("function-of-time", "\\frac{t}{4} \\sin (2 t)", "\\frac{t}{4}\\sin(2t)", True),
    ("cancellation-trap", "\\sqrt{2}\\cdot 10^{60}+1-\\sqrt{2}\\cdot 10^{60}", "\\sqrt{2}\\cdot 10^{60}+2-\\sqrt{2}\\cdot 10^{60}", False),
    ("cancellation-equal", "1", "\\sqrt{2}\\cdot 10^{60}+1-\\sqrt{2}\\cdot 10^{60}", True),
    ("exact-zero-identity", "0", "\\cos(\\pi/2)", True),
    ("nonzero-is-not-zero", "0", "\\sin(1)", False),
    ("approximation-after-exact", "\\frac{1}{3}", "\\frac{1}{3} \\approx 0.333", True),
    ("units-in-text-after-number", "4.5e33", "4.5 \\times 10^{33} \\text{ erg/s}", True),
    ("choice-list-as-text", "\\text{(C)}", "\\text{(C) and (D)}", False),
    ("answer-with-extra-variable", "42", "42 + x", False),
    ("answer-is-variable", "42", "x", False),
    ("answer-infinity", "42", "\\infty", False),
]


@pytest.mark.parametrize("gold, answer, correct", [k[1:] for k in KINDS], ids=[k[0] for k in KINDS])
def test_lenient_kind(gold, answer, correct):
    response = f"Reasoning goes here.\n\nThus the answer is $\\boxed{{{answer}}}$."
    verdict = lenient_verify(response, gold)
    assert verdict.correct is correct, verdict
    assert verdict.mode == "lenient"
    assert verdict.reason == "match" if correct else verdict.reason != "match"
    quick = quick_verdict(response, gold)
    assert quick is None or quick.correct is correct


REASONS = [
    ("no-answer", "I am not sure how to finish this problem", "42", "no_answer"),
    ("truncated", "so the answer is \\boxed{4", "42", "truncated"),
    ("hedged", "\\boxed{2} or \\boxed{3}", "2", "hedged"),
    ("empty-gold", "\\boxed{2}", "  ", "bad_gold"),
    ("mismatch", "\\boxed{3}", "2", "mismatch"),
    ("unparseable", "\\boxed{@@}", "2", "unparseable"),
    ("match", "\\boxed{2}", "2", "match"),
]


@pytest.mark.parametrize("response, gold, reason", [r[1:] for r in REASONS], ids=[r[0] for r in REASONS])
def test_lenient_reason_codes(response, gold, reason):
    verdict = lenient_verify(response, gold)
    assert verdict.reason == reason
    assert verdict.correct is (reason == "match")


def test_extracted_answer_is_reported():
    assert lenient_verify("so \\boxed{\\frac{2}{4}}.", "\\frac12").extracted == "\\frac{2}{4}"


def test_never_raises_on_odd_input():
    assert lenient_verify(None, "1").correct is False  # type: ignore[arg-type]
    assert lenient_verify("\\boxed{1}", None).reason == "bad_gold"  # type: ignore[arg-type]
