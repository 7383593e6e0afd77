"""lenient mode never raises, always returns a documented reason, and stays fast on random LaTeX-ish input."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from justrl.verify.lenient import lenient_verify, quick_verdict
from justrl.verify.verdict import REASONS

PIECES = [
    "1", "2", "0", "9", "x", "y", "i", "e", "\\pi", "+", "-", "^", "_", "{", "}", "(", ")", "[", "]", ",", "=", "<",
    "\\le", "\\frac", "\\sqrt", "\\cdot", "\\times", "!", ".", "\\%", "^\\circ", "\\text{", "\\infty", "\\cup",
    "\\pm", "\\begin{pmatrix}", "\\end{pmatrix}", "&", "\\\\", " ", "\\left(", "\\right)", "\\overline{", "e5",
    "\\boxed{", "\\sin", "\\log", "|", "\\{", "\\}", "\\lfloor", "\\rfloor", "\\binom", "f(", "or", "and",
]
latexish = st.lists(st.sampled_from(PIECES), min_size=0, max_size=30).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answer=latexish, gold=latexish)
def test_lenient_is_total_and_bounded(answer, gold):
    start = time.perf_counter()
    verdict = lenient_verify(f"so the answer is \\boxed{{{answer}}}", gold)
    assert time.perf_counter() - start < 3.0
    assert verdict.reason in REASONS and verdict.reason != "error"
    assert verdict.correct is (verdict.reason == "match")
    quick = quick_verdict(f"so the answer is \\boxed{{{answer}}}", gold)
    assert quick is None or quick.correct == verdict.correct


@settings(max_examples=200, deadline=None)
@given(answer=latexish)
def test_every_answer_matches_itself(answer):
    response = f"\\boxed{{{answer}}}"
    verdict = lenient_verify(response, answer)
    exact = verdict.extracted == answer.strip()
    if answer.strip() and exact and verdict.reason not in ("truncated", "too_large", "unsafe", "hedged", "no_answer"):
        assert verdict.correct, verdict
