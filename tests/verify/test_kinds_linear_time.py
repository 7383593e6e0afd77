"""Caller-side lenient code (extraction, normalisation, structure, units, sentences) is linear in its input.

Each family is timed at two sizes, the second four times the first: the larger must finish in well
under a second and within a small multiple of four times the smaller (a quadratic scan grows 16x, an
exponential regex far more). The families are the ones issue 10 found (unit regexes backtracking on
``\\text{mmm...}``, ``Answer: 5`` followed by blanks, ``\\boxed%`` repeated) and their relatives.
"""

from __future__ import annotations

import time

import pytest

from justrl.verify.extract import extract_final_answer
from justrl.verify.lenient import quick_verdict
from justrl.verify.lenient.normalize import normalize
from justrl.verify.lenient.structure import parse_structure
from justrl.verify.lenient.units import strip_trailing_units


def _quick(text: str) -> None:
    quick_verdict(text, "5")


def _quick_box(text: str) -> None:
    quick_verdict("\\boxed{" + text + "}", "5")


def _norm_struct(text: str) -> None:
    parse_structure(normalize(text))


def form_violation_q(question: str) -> None:
    from justrl.verify.lenient.question import form_violation

    form_violation(question, "\\sqrt{75}", "5\\sqrt{3}")


def _form(text: str) -> None:
    from justrl.verify.lenient.question import form_violation

    form_violation("Simplify and express as a common fraction; factor completely. " + text, text, "5")


# (family id, function, builder of the input of size n, small n)
FAMILIES = [
    ("text-unit-letters", _quick_box, lambda n: "5\\text{" + "m" * n + "}x", 12),
    ("text-unit-letters-normalize", normalize, lambda n: "5\\text{" + "m" * n + "}x", 12),
    ("text-groups-repeated", _quick_box, lambda n: "5" + "\\text{ cm}" * n + "x", 8),
    ("text-groups-words", _quick_box, lambda n: "5" + "\\text{ab cd}" * n + "x", 8),
    ("units-strip-groups", strip_trailing_units, lambda n: "5" + "\\text{ m}^2\\cdot" * n + "x", 50),
    ("units-strip-words", strip_trailing_units, lambda n: "5" + " km" * n + " 7x", 50),
    ("answer-then-blanks", _quick, lambda n: "Answer: 5" + " " * n + "x", 2_500),
    ("answer-then-blanks-dot", _quick, lambda n: "Answer: 5" + " " * n + ".", 2_500),
    ("answer-words", _quick, lambda n: "The answer is " + "5 so " * n, 1_000),
    ("boxed-percent", extract_final_answer, lambda n: "\\boxed%" * n, 12_500),
    ("boxed-spaces", extract_final_answer, lambda n: ("\\boxed" + " " * 5 + "%") * n, 12_500),
    ("bold-runs", _quick, lambda n: "So it is " + "**1** " * n, 1_000),
    ("stars", _quick, lambda n: "*" * n, 10_000),
    ("dollars", _quick, lambda n: "$" * n + "5", 10_000),
    ("final-line-words", _quick, lambda n: "work\n\nThus the value is " + "a " * n + "5.", 1_000),
    ("final-line-numbers", _quick, lambda n: "work\n\nSo " + "1 and " * n + "5.", 1_000),
    ("open-fracs", _norm_struct, lambda n: "\\frac{" * n, 500),
    ("thousands", _norm_struct, lambda n: "1" + "\\,000" * n, 500),
    ("equals-chain", _norm_struct, lambda n: "x = " * n + "5", 500),
    ("relations", _norm_struct, lambda n: "3 < " * n + "x", 500),
    ("pm-runs", _norm_struct, lambda n: "1 \\pm " * n, 500),
    ("parens", _norm_struct, lambda n: "(" * n + "5" + ")" * n, 500),
    ("sentence-in-box", _quick_box, lambda n: "The train needs " + "many more " * n + "minutes", 250),
    ("number-words", _quick_box, lambda n: "twenty-" * n + "one", 250),
    ("unicode", _quick_box, lambda n: "√" * n + "2π²", 500),
    ("setminus", _norm_struct, lambda n: "\\mathbb{R}" + "\\setminus\\{2\\}" * n, 200),
    ("answer-tags", _quick, lambda n: "<answer>" * n + " 5 </answer>", 2_000),
    ("answer-tag-sentence", _quick, lambda n: "<answer> So " + "a = 1 and " * n + "x = 5. </answer>", 200),
    ("set-builder", _norm_struct, lambda n: "\\{x \\mid " + "-2 \\le " * n + "x\\}", 50),
    ("x-times-ten", _norm_struct, lambda n: "1 x 10^1 " * n, 200),
    ("answer-parenthesis", _quick, lambda n: "the answer (" * n + "arabic) is 5", 1_000),
    ("equals-chain-in-box", _quick_box, lambda n: "\\sqrt{2} = " * n + "5", 100),
    ("unicode-open-roots", normalize, lambda n: "√(" * n + "2", 500),
    ("form-open-fractions", _form, lambda n: "\\frac{" * n + "\\sqrt{2}", 250),
    ("form-question-blanks", lambda q: form_violation_q(q), lambda n: "Simplify." + " " * n + "x", 2_500),
    ("form-radicals", _form, lambda n: "\\sqrt{75}" * n, 100),
    ("form-fractions", _form, lambda n: "\\frac{2}{\\sqrt{2}}" * n, 100),
]


def _elapsed(fn, arg) -> float:
    start = time.perf_counter()
    fn(arg)
    return time.perf_counter() - start


@pytest.mark.parametrize("fn, build, n", [f[1:] for f in FAMILIES], ids=[f[0] for f in FAMILIES])
def test_caller_side_code_is_linear(fn, build, n):
    _elapsed(fn, build(n))  # warm caches and imports
    small = min(_elapsed(fn, build(n)) for _ in range(3))
    big = min(_elapsed(fn, build(4 * n)) for _ in range(3))  # the fastest of three: robust to a busy machine
    assert big < 0.5, f"{big:.3f}s at size {4 * n}"
    assert big < 12 * small + 0.05, f"{small:.4f}s -> {big:.4f}s: grows faster than linear"
