"""quick_verdict: a bounded pre-check that only answers when it is sure, and then agrees with lenient."""

from __future__ import annotations

import pytest

from justrl.verify.lenient import lenient_verify, quick_verdict

DECIDED = [
    ("string-equal", "\\boxed{\\frac{1}{2}}", "\\frac{1}{2}", "match"),
    ("rational-equal", "\\boxed{0.5}", "\\frac{1}{2}", "match"),
    ("rational-differs", "\\boxed{0.333}", "\\frac{1}{3}", "mismatch"),
    ("list-of-rationals", "\\boxed{2, 1}", "1,2", "match"),
    ("interval-brackets", "\\boxed{[1,2]}", "(1,2]", "mismatch"),
    ("numeric-radical", "\\boxed{\\sqrt{117}}", "3\\sqrt{13}", "match"),
    ("numeric-differs", "\\boxed{\\sqrt{118}}", "3\\sqrt{13}", "mismatch"),
    ("letters", "\\boxed{B}", "\\text{(B)}", "match"),
    ("text", "\\boxed{\\text{east}}", "\\text{East}", "match"),
    ("no-answer", "no idea how to finish this", "1", "no_answer"),
    ("truncated", "\\boxed{1", "1", "truncated"),
    ("hedged", "\\boxed{1} or \\boxed{2}", "1", "hedged"),
    ("too-large", "\\boxed{10^{10^{10}}}", "1", "too_large"),
    ("unsafe", "\\boxed{__import__('os')}", "1", "unsafe"),
]


@pytest.mark.parametrize("response, gold, reason", [d[1:] for d in DECIDED], ids=[d[0] for d in DECIDED])
def test_quick_decides(response, gold, reason):
    verdict = quick_verdict(response, gold)
    assert verdict is not None and verdict.reason == reason
    assert verdict.correct is (reason == "match")
    assert lenient_verify(response, gold) == verdict


UNDECIDED = [
    ("needs-latex-grammar", "\\boxed{\\operatorname{arcsinh}(1)}", "\\ln(1+\\sqrt{2})"),
    ("function-on-one-side", "\\boxed{f(x)}", "x f"),
]


@pytest.mark.parametrize("response, gold", [u[1:] for u in UNDECIDED], ids=[u[0] for u in UNDECIDED])
def test_quick_leaves_hard_cases_to_lenient(response, gold):
    assert quick_verdict(response, gold) is None
    assert lenient_verify(response, gold).reason in ("match", "mismatch", "unparseable")
