"""lenient mode refuses explosive and code-like answers quickly, and never evaluates model text."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from justrl.verify.lenient import lenient_verify, quick_verdict

TOO_LARGE = [
    ("power-tower-of-tens", "\\boxed{10^{10^{10}}}"),
    ("power-tower-of-twos", "\\boxed{2^{2^{2^{2^{2}}}}}"),
    ("symbolic-tower", "\\boxed{e^{e^{e^{e^{10}}}}}"),
    ("tower-in-symbol-exponent", "\\boxed{x^{2^{100}}}"),
    ("huge-exponent", "\\boxed{10^{1000000}}"),
    ("huge-e-notation", "\\boxed{1e999999}"),
    ("huge-factorial", "\\boxed{99999!}"),
    ("huge-binomial", "\\boxed{\\binom{100000}{50000}}"),
    ("deep-braces", "\\boxed{" + "{" * 5000 + "1" + "}" * 5000 + "}"),
    ("long-literal", "\\boxed{" + "7" * 9000 + "}"),
    ("long-answer", "\\boxed{" + "x+" * 6000 + "1}"),
    ("sum-with-huge-bound", "\\boxed{\\sum_{i=1}^{10^{9}} i}"),
]


@pytest.mark.parametrize("response", [t[1] for t in TOO_LARGE], ids=[t[0] for t in TOO_LARGE])
def test_explosive_answers_are_refused_quickly(response):
    start = time.perf_counter()
    verdict = lenient_verify(response, "1")
    assert time.perf_counter() - start < 1.0
    assert verdict.correct is False and verdict.reason == "too_large"
    quick = quick_verdict(response, "1")
    assert quick is not None and quick.reason == "too_large"


def test_megabyte_response_is_fast():
    response = "word " * 250_000 + "\\boxed{5}"
    start = time.perf_counter()
    assert lenient_verify(response, "5").correct
    assert time.perf_counter() - start < 1.0


UNSAFE = [
    ("dunder-import", "__import__('os').system('touch {path}')"),
    ("eval-call", "eval(\"open('{path}','w')\")"),
    ("exec-call", "exec(\"open('{path}','w')\")"),
    ("lambda", "(lambda: open('{path}', 'w'))()"),
    ("os-call", "os.system('touch {path}')"),
    ("open-call", "open('{path}', 'w').write('x')"),
]


@pytest.mark.parametrize("payload", [u[1] for u in UNSAFE], ids=[u[0] for u in UNSAFE])
def test_code_answers_are_never_executed(payload, tmp_path):
    target = tmp_path / "pwned"
    answer = payload.format(path=target)
    for response, gold in ((f"\\boxed{{{answer}}}", "0"), ("\\boxed{0}", answer), (f"Answer: {answer}", "1")):
        verdict = lenient_verify(response, gold)
        assert verdict.correct is False or gold == answer
        quick_verdict(response, gold)
    assert not target.exists()


def test_code_answer_reason_is_unsafe():
    verdict = lenient_verify("\\boxed{__import__('os').getcwd()}", "1")
    assert (verdict.correct, verdict.reason) == (False, "unsafe")


def test_latex_commands_named_like_code_are_not_unsafe():
    assert lenient_verify("\\boxed{\\frac{2\\pi c}{\\lambda}}", "\\frac{2 \\pi c}{\\lambda}").correct


def test_quick_verdict_does_not_import_sympy():
    code = (
        "import sys\n"
        "from justrl.verify.lenient import quick_verdict\n"
        "cases = [('\\\\boxed{\\\\frac{2}{4}}', '\\\\frac12'), ('\\\\boxed{3\\\\sqrt{13}}', '\\\\sqrt{117}'),\n"
        "         ('\\\\boxed{(1,2)}', '(1,2]'), ('\\\\boxed{x}', '\\\\text{(C)}'), ('\\\\boxed{10^{10^{10}}}', '1')]\n"
        "for response, gold in cases:\n"
        "    quick_verdict(response, gold)\n"
        "bad = [m for m in ('sympy', 'latex2sympy2_extended', 'antlr4') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 0, result.stderr
