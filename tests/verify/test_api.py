"""The public API: verify / verify_many / iter_verify semantics, validation, timeouts, and safety."""

from __future__ import annotations

import itertools
import os
import time
from decimal import Decimal
from fractions import Fraction

import pytest

from justrl.verify import api, verify, verify_many
from justrl.verify.api import iter_verify
from justrl.verify.pool import WorkerPool
from justrl.verify.verdict import REASONS, Verdict

SYMBOLIC = ("so \\boxed{\\operatorname{arcsinh}(1)}", "\\ln(1+\\sqrt{2})")  # needs sympy: runs in a worker


# -- semantics -------------------------------------------------------------------------------------

@pytest.mark.parametrize("response,gold,mode,correct,reason", [
    ("... so \\boxed{42}", "42", "lenient", True, "match"),
    ("... so \\boxed{42}", "42", "strict", True, "match"),
    ("... so \\boxed{ 42}", "42", "strict", False, "mismatch"),
    ("... so \\boxed{ 42}", "42", "lenient", True, "match"),
    ("... so \\boxed{\\frac{2}{4}}", "\\frac12", "lenient", True, "match"),
    ("... so \\boxed{\\frac{2}{4}}", "\\frac12", "strict", False, "mismatch"),
    ("no final answer here", "42", "strict", False, "no_answer"),
    ("the answer is \\boxed{4", "4", "strict", False, "truncated"),
    (*SYMBOLIC, "lenient", True, "match"),
    ("so \\boxed{\\operatorname{arcsinh}(1)}", "\\ln(1+\\sqrt{3})", "lenient", False, "mismatch"),
], ids=["lenient-integer", "strict-integer", "strict-space-is-wrong", "lenient-space-is-fine",
        "lenient-unreduced-fraction", "strict-unreduced-fraction", "strict-no-box", "strict-unclosed-box",
        "lenient-symbolic-in-worker", "lenient-symbolic-mismatch"])
def test_verify_modes(response, gold, mode, correct, reason):
    verdict = verify(response, gold, mode)
    assert (verdict.correct, verdict.reason, verdict.mode) == (correct, reason, mode)
    assert verdict.score == (1.0 if correct else -1.0)


def test_default_mode_is_lenient():
    assert verify("\\boxed{0.5}", "\\frac{1}{2}").mode == "lenient"


@pytest.mark.parametrize("call,error,message", [
    (lambda: verify("x", "1", "exact"), ValueError, "valid modes: strict, lenient"),
    (lambda: verify(None, "1"), TypeError, "response must be a str"),
    (lambda: verify("x", True), TypeError, "gold must be a str or a number, got bool"),
    (lambda: verify("x", None), TypeError, "gold must be a str or a number"),
    (lambda: verify("x", float("nan")), ValueError, "finite"),
    (lambda: verify("x", 10**5000), ValueError, "too large to write out"),
    (lambda: verify("x", "1", question=7), TypeError, "question must be a str"),
    (lambda: verify(b"\\boxed{1}", "1", "strict"), TypeError, "response must be a str"),
    (lambda: verify("x", "1", timeout=0), ValueError, "timeout"),
    (lambda: verify("x", "1", timeout=float("inf")), ValueError, "finite"),
    (lambda: verify("x", "1", timeout=float("nan")), ValueError, "timeout"),
    (lambda: verify_many([("x", "1")], mode="fuzzy"), ValueError, "valid modes"),
    (lambda: verify_many([("x", "1"), ("y", [2])]), TypeError, "gold of pair 1"),
    (lambda: verify_many([("x", "1"), ("y",)]), TypeError, "pair 1 must be"),
    (lambda: verify_many([("x", "1", 3)]), TypeError, "question of pair 0"),
    (lambda: verify_many([("x", "1")], workers=0), ValueError, "workers"),
], ids=["unknown-mode", "none-response", "bool-gold", "none-gold", "nan-gold", "huge-int-gold", "int-question",
        "bytes-response", "zero-timeout", "infinite-timeout", "nan-timeout", "verify-many-unknown-mode",
        "verify-many-names-bad-index", "verify-many-one-tuple", "verify-many-bad-question",
        "zero-workers"])
def test_invalid_arguments_raise(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("mode", ["strict", "lenient"])
def test_verify_many_preserves_order_and_matches_verify(mode):
    pairs = [(f"\\boxed{{{i}}}", str(i if i % 3 else i + 1)) for i in range(50)]
    pairs[7] = SYMBOLIC  # one check in a worker, in the middle
    expected = [verify(r, g, mode) for r, g in pairs]
    assert verify_many(pairs, mode=mode, workers=2) == expected


def test_verify_many_of_nothing_is_empty():
    assert verify_many([]) == []


@pytest.mark.parametrize("mode", ["strict", "lenient"])
def test_iter_verify_streams_without_reading_all_input(mode):
    endless = ((f"\\boxed{{{i}}}", str(i)) for i in itertools.count())
    first = list(itertools.islice(iter_verify(endless, mode), 5))
    assert [v.extracted for v in first] == ["0", "1", "2", "3", "4"]


def test_verify_many_reports_progress():
    seen = []
    verify_many([("\\boxed{1}", "1")] * 130, progress=seen.append)
    assert seen == [64, 128, 130]


def test_concurrent_callers_share_the_pool_safely():
    from concurrent.futures import ThreadPoolExecutor

    pairs = [SYMBOLIC, ("so \\boxed{\\operatorname{arcsinh}(1)}", "\\ln(1+\\sqrt{3})")] * 4
    with ThreadPoolExecutor(2) as threads:
        got = list(threads.map(lambda pair: verify(*pair).correct, pairs))
    assert got == [True, False] * 4


@pytest.mark.parametrize("mode", ["STRICT", "Lenient", " strict "])
def test_modes_are_case_insensitive(mode):
    verdict = verify("so \\boxed{42}", "42", mode)
    assert verdict.correct and verdict.mode == mode.strip().lower()
    assert [v.mode for v in verify_many([("\\boxed{1}", "1")], mode=mode)] == [mode.strip().lower()]


@pytest.mark.parametrize("gold,text", [
    (42, "42"), (-7, "-7"), (2.0, "2"), (0.1, "0.1"), (1e-05, "1e-05"), (Fraction(3, 4), "\\frac{3}{4}"),
    (Fraction(-1, 2), "-\\frac{1}{2}"), (Fraction(6, 3), "2"), (Decimal("2.50"), "2.50"),
], ids=["int", "negative-int", "integral-float", "float", "small-float", "fraction", "negative-fraction",
        "integral-fraction", "decimal-keeps-precision"])
def test_numeric_golds_become_canonical_strings(gold, text):
    assert api.canonical_gold(gold) == text


@pytest.mark.parametrize("mode", ["strict", "lenient"])
@pytest.mark.parametrize("gold", [42, 42.0, Fraction(42)], ids=["int", "float", "fraction"])
def test_numeric_golds_are_accepted_everywhere(mode, gold):
    assert verify("so \\boxed{42}", gold, mode).correct
    assert not verify("so \\boxed{41}", gold, mode).correct
    assert [v.correct for v in verify_many([("\\boxed{42}", gold), ("\\boxed{4}", gold)], mode=mode)] == [True, False]


def test_lenient_fraction_gold_matches_equal_values():
    assert verify("so \\boxed{0.75}", Fraction(3, 4)).correct
    assert verify("so \\boxed{\\frac{6}{8}}", Fraction(3, 4)).correct


# -- question= --------------------------------------------------------------------------------------

def _fake_form_module(monkeypatch, calls):
    """Stand in for justrl.verify.lenient.question (written separately): 'simplify' demands that
    the answer is not written as \\sqrt{75}."""
    import sys
    import types

    module = types.ModuleType("justrl.verify.lenient.question")

    def form_violation(question: str, answer: str, gold: str) -> str | None:
        calls.append((question, answer, gold))
        return "not_simplified" if "simplify" in question.lower() and "75" in answer else None

    module.form_violation = form_violation
    monkeypatch.setitem(sys.modules, "justrl.verify.lenient.question", module)


def test_without_a_question_the_form_check_is_never_consulted(monkeypatch):
    calls: list = []
    _fake_form_module(monkeypatch, calls)
    assert verify("so \\boxed{\\sqrt{75}}", "5\\sqrt{3}").correct
    assert verify_many([("so \\boxed{\\sqrt{75}}", "5\\sqrt{3}")])[0].correct
    assert calls == []


def test_a_match_that_breaks_the_questions_form_demand_has_reason_form(monkeypatch):
    calls: list = []
    _fake_form_module(monkeypatch, calls)
    question = "Simplify $\\sqrt{75}$."
    verdict = verify("so \\boxed{\\sqrt{75}}", "5\\sqrt{3}", question=question)
    assert verdict == Verdict(False, "\\sqrt{75}", "form", "lenient")
    assert calls == [(question, "\\sqrt{75}", "5\\sqrt{3}")]
    assert verify("so \\boxed{5\\sqrt{3}}", "5\\sqrt{3}", question=question).correct
    assert "form" in REASONS


def test_mismatches_are_not_sent_to_the_form_check(monkeypatch):
    calls: list = []
    _fake_form_module(monkeypatch, calls)
    assert verify("so \\boxed{7}", "5", question="Simplify 75").reason == "mismatch"
    assert calls == []


def test_strict_ignores_the_question(monkeypatch):
    calls: list = []
    _fake_form_module(monkeypatch, calls)
    assert verify("\\boxed{\\sqrt{75}}", "\\sqrt{75}", "strict", question="Simplify 75").correct
    assert calls == []


def test_verify_many_takes_questions_per_pair_or_as_a_default(monkeypatch):
    calls: list = []
    _fake_form_module(monkeypatch, calls)
    pairs = [("\\boxed{\\sqrt{75}}", "5\\sqrt{3}", "Simplify it"),
             ("\\boxed{\\sqrt{75}}", "5\\sqrt{3}", None),
             ("\\boxed{\\sqrt{75}}", "5\\sqrt{3}")]
    assert [v.reason for v in verify_many(pairs)] == ["form", "match", "match"]
    assert [v.reason for v in verify_many(pairs, question="Simplify!")] == ["form", "match", "form"]
    assert [v.reason for v in iter_verify(pairs[:1])] == ["form"]


def test_questions_reach_the_worker_process(scripted_pool):
    verdict = verify("fine \\boxed{7}", "7", question="What is 7?")
    assert verdict == Verdict(True, "question:What is 7?", "match", "lenient")
    assert verify("fine \\boxed{7}", "7").extracted == "7", "no question: the worker gets two arguments"
    verdicts = verify_many([("a \\boxed{1}", "1", "q?"), ("b \\boxed{2}", "2")], workers=1)
    assert [v.extracted for v in verdicts] == ["question:q?", "2"]


def test_the_form_check_is_skipped_when_the_question_module_is_absent(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "justrl.verify.lenient.question", None)  # import raises ImportError
    assert verify("so \\boxed{\\sqrt{75}}", "5\\sqrt{3}", question="Simplify").correct


# -- timeouts and dead workers through the API ---------------------------------------------------

def scripted_checker(response: str, gold: str, question: str | None = None) -> Verdict:
    """A stand-in for lenient_verify: 'sleep' hangs, 'die' kills the worker, else a match (a
    question, when one arrives, is echoed in ``extracted``)."""
    if "sleep" in response:
        time.sleep(60)
    if "die" in response:
        os._exit(9)
    return Verdict(True, gold if question is None else f"question:{question}", "match", "lenient")


@pytest.fixture
def scripted_pool(monkeypatch):
    pool = WorkerPool(f"{__name__}:scripted_checker")
    monkeypatch.setattr(api._LENIENT_POOL, "current", pool)
    monkeypatch.setattr(api, "_quick", lambda *args: None)  # send every call to the worker
    yield pool
    pool.close()


def test_a_hung_check_gives_a_timeout_verdict_with_the_answer(scripted_pool):
    start = time.monotonic()
    verdict = verify("let me sleep ... \\boxed{7}", "7", timeout=0.5)
    assert time.monotonic() - start < 3
    assert verdict == Verdict(False, "7", "timeout", "lenient")
    assert verify("fine \\boxed{7}", "7").correct, "the pool recovered"


def test_a_crashed_worker_gives_an_error_verdict(scripted_pool):
    assert verify("die \\boxed{7}", "7") == Verdict(False, "7", "error", "lenient")
    assert verify("fine \\boxed{7}", "7").correct


def test_verify_many_survives_hangs_and_crashes_in_order(scripted_pool):
    responses = [f"r{i} \\boxed{{{i}}}" for i in range(30)]
    responses[4] = "sleep \\boxed{4}"
    responses[11] = "die \\boxed{11}"
    start = time.monotonic()
    verdicts = verify_many([(r, str(i)) for i, r in enumerate(responses)], workers=2, timeout=0.5)
    assert time.monotonic() - start < 10
    assert [v.reason for v in verdicts] == ["timeout" if i == 4 else "error" if i == 11 else "match"
                                            for i in range(30)]
    assert [v.extracted for v in verdicts] == [str(i) for i in range(30)]


# -- safety ---------------------------------------------------------------------------------------

PLANTS = [
    "__import__('os').system('touch {path}')",
    "open('{path}', 'w')",
    "__import__('pathlib').Path('{path}').write_text('x')",
    "exec(\"open('{path}','w')\")",
    "eval(\"__import__('os').system('touch {path}')\")",
    "\\text{{__import__('os').system('touch {path}')}}",
    "Symbol('x').__class__.__init__.__globals__['os'].system('touch {path}')",
]


@pytest.mark.parametrize("mode", ["strict", "lenient"])
@pytest.mark.parametrize("where", ["in-box", "as-gold", "both"])
@pytest.mark.parametrize("plant", PLANTS, ids=["os-system", "open-write", "pathlib", "exec", "eval",
                                                "in-text", "globals-walk"])
def test_code_in_answers_is_never_executed(tmp_path, monkeypatch, mode, where, plant):
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "pwned"
    code = plant.format(path=target)
    response = f"Reasoning... \\boxed{{{code}}}" if where != "as-gold" else "Reasoning... \\boxed{7}"
    gold = code if where != "in-box" else "7"
    verdict = verify(response, gold, mode)
    verify_many([(response, gold)] * 3, mode=mode)
    assert verdict.reason in REASONS
    assert not target.exists() and not (tmp_path / "X").exists()
    assert list(tmp_path.iterdir()) == []


EXPLOSIVE = [
    ("power-tower", "\\boxed{2^{2^{2^{2^{2^{2^{2}}}}}}}"),
    ("ten-tower", "\\boxed{10^{10^{10}}}"),
    ("factorial", "\\boxed{100000!}"),
    ("nested-braces", "\\boxed{" + "{" * 5000 + "1" + "}" * 5000 + "}"),
    ("megabyte-answer", "\\boxed{" + "9" * 1_000_000 + "}"),
    ("megabyte-expression", "\\boxed{" + "x+" * 500_000 + "1}"),
]


@pytest.mark.parametrize("mode", ["strict", "lenient"])
@pytest.mark.parametrize("response", [e[1] for e in EXPLOSIVE], ids=[e[0] for e in EXPLOSIVE])
def test_explosive_answers_are_refused_quickly(mode, response):
    start = time.monotonic()
    verdict = verify("Working... " + response, "3", mode)
    assert time.monotonic() - start < 2.0
    assert not verdict.correct
    if mode == "lenient":
        assert verdict.reason in ("too_large", "timeout")


@pytest.mark.parametrize("mode", ["strict", "lenient"])
def test_a_megabyte_of_prose_is_handled_quickly(mode):
    response = "word " * 200_000 + "so the answer is \\boxed{3}"
    start = time.monotonic()
    verdict = verify(response, "3", mode)
    assert time.monotonic() - start < 2.0
    assert verdict.reason in ("match", "too_large")


@pytest.mark.parametrize("gold", ["10^{10^{10}}", "100000!", "{" * 5000 + "1" + "}" * 5000],
                         ids=["tower-gold", "factorial-gold", "nested-gold"])
def test_explosive_golds_are_refused_quickly(gold):
    start = time.monotonic()
    verdict = verify("\\boxed{3}", gold)
    assert time.monotonic() - start < 2.0 and not verdict.correct


FORK_SCRIPT = """
import os
from justrl.verify import api, verify
S = ("so \\\\boxed{\\\\operatorname{arcsinh}(1)}", "\\\\ln(1+\\\\sqrt{2})")
assert verify(*S).correct
parent = {w.proc.pid for w in api._LENIENT_POOL.current._idle}
pid = os.fork()
if pid == 0:
    ok = verify(*S).correct and not ({w.proc.pid for w in api._LENIENT_POOL.current._idle} & parent)
    os._exit(0 if ok else 1)
_, status = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(status) == 0, "the forked child verified with workers of its own"
assert verify(*S).correct and {w.proc.pid for w in api._LENIENT_POOL.current._idle} == parent
print("ok")
"""


def test_a_forked_process_starts_its_own_workers():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", FORK_SCRIPT], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


# -- question= with the real form check (justrl.verify.lenient.question) -----------------------------

FORM_CASES = [
    ("unsimplified-radical", "so \\boxed{\\sqrt{75}}", "5\\sqrt{3}", "Simplify $\\sqrt{75}$.", "form"),
    ("simplified-radical", "so \\boxed{5\\sqrt{3}}", "5\\sqrt{3}", "Simplify $\\sqrt{75}$.", "match"),
    ("not-factored-completely-needs-sympy", "so \\boxed{(4-2y)(4+2y)}", "4(2-y)(2+y)",
     "Factor completely: $16-4y^2$.", "form"),
    ("factored-completely", "so \\boxed{4(2-y)(2+y)}", "4(2-y)(2+y)", "Factor completely: $16-4y^2$.", "match"),
]


@pytest.mark.parametrize("response,gold,question,reason", [c[1:] for c in FORM_CASES], ids=[c[0] for c in FORM_CASES])
def test_the_real_form_check_runs_through_verify(response, gold, question, reason):
    pytest.importorskip("justrl.verify.lenient.question")
    assert verify(response, gold, question=question).reason == reason
    assert [v.reason for v in verify_many([(response, gold, question)])] == [reason]
    assert verify(response, gold).reason == "match", "without the question: as before"


def test_a_form_check_that_needs_sympy_leaves_the_caller_sympy_free():
    import subprocess
    import sys

    pytest.importorskip("justrl.verify.lenient.question")
    code = ("import sys\n"
            "from justrl.verify.lenient import quick_verdict\n"
            "q = 'Factor completely: $16-4y^2$.'\n"
            "assert quick_verdict('\\\\boxed{(4-2y)(4+2y)}', '4(2-y)(2+y)', q) is None\n"
            "assert quick_verdict('\\\\boxed{\\\\sqrt{75}}', '5\\\\sqrt{3}', 'Simplify it.').reason == 'form'\n"
            "assert 'sympy' not in sys.modules\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
