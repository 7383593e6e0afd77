"""The named graders (DESIGN.md §4) and the JustRL paper's rule grader checked against its reference.

The golden file holds verdicts of JustRL's own ``evals/utils.py::grade_answer_verl`` (run outside this
repository by scripts/justrl_rule_golden.py) on the nine benchmarks' golds and varied answers.
"""

from __future__ import annotations

import builtins
import gzip
import json
from collections import Counter
from pathlib import Path

import pytest

from justrl.evaluate import justrl_rule
from justrl.evaluate.graders import GRADERS, check_grader, grade_answer, grade_many
from justrl.evaluate.justrl_rule import extract_boxed, justrl_rule_check, mathd_normalize, prm_normalize

GOLDEN = Path(__file__).parent / "golden" / "justrl_rule.jsonl.gz"
GOLDEN_REAL = Path(__file__).parent / "golden" / "justrl_rule_real.jsonl.gz"  # real model outputs, labelled cases


def _golden(path: Path = GOLDEN) -> list[dict]:
    return [json.loads(line) for line in gzip.decompress(path.read_bytes()).decode("utf-8").splitlines()]


def test_graders_are_listed_in_one_place():
    assert set(GRADERS) == {"lenient", "strict", "justrl-rule"}
    assert check_grader("JustRL_Rule") == "justrl-rule"
    with pytest.raises(ValueError, match="lenient, strict, justrl-rule"):
        check_grader("math-verify")


@pytest.mark.parametrize(("response", "gold", "expected"), [
    # (lenient, strict, justrl-rule)
    ("so \\boxed{\\dfrac12}", "0.5", (True, False, True)),
    ("\\boxed{42}", "42", (True, True, True)),
    ("\\boxed{0}", "1.2e-30", (False, False, True)),  # Minerva: tiny e-notation golds round to the integer 0
    ("\\boxed{4.5 \\times 10^{33}}", "4.5e33", (True, False, False)),  # two-digit exponent: no sympy
    ("\\boxed{\\frac{2}{4}}", "\\frac{1}{2}", (True, False, False)),  # unreduced fraction vs fraction text
    ("The answer is 7.", "7", (True, False, False)),  # no box: the JustRL rule finds no answer
    ("\\boxed{x^2+2x+1}", "(x+1)^2", (True, False, True)),
    ("\\boxed{3 \\text{ cm}}", "3", (True, False, True)),
], ids=["half", "integer", "minerva-zero", "minerva-times-ten", "unreduced", "no-box", "polynomial", "units"])
def test_grade_answer_under_each_grader(response, gold, expected):
    got = tuple(grade_answer(response, gold, g) for g in ("lenient", "strict", "justrl-rule"))
    assert got == expected


def test_numeric_golds_are_accepted_by_every_grader():
    assert [grade_answer("\\boxed{42}", 42, g) for g in GRADERS] == [True, True, True]


@pytest.mark.parametrize(("text", "content"), [
    ("a \\boxed{1} b \\boxed{2}", "2"),
    ("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),
    ("\\boxed{\\boxed{5}}", "5"),  # the last occurrence is the inner one
    ("\\boxed 5", None), ("\\boxed{5", None), ("no box", None), ("\\fbox{5}", None),
    ("\\boxed {5}", None),  # the span must read \boxed{...}
    ("\\boxed}{5}", None),  # a closing brace first: the count never returns to zero on a "}"
    ("\\boxed{}", ""),
], ids=["last", "nested-braces", "nested-box", "no-brace", "unclosed", "none", "fbox", "space", "stray", "empty"])
def test_extraction_follows_last_boxed_only_string(text, content):
    assert extract_boxed(text) == content


@pytest.mark.parametrize(("raw", "mathd", "prm"), [
    ("\\dfrac{1}{2}", "\\frac{1}{2}", "1/2"),
    ("\\text{Even}", "Even", "even"),
    ("x = 5", "5", "x=5"),
    ("1,000", "1,000", "1000"),
    ("5\\%", "5", "5"),
    ("\\sqrt2", "\\sqrt{2}", "sqrt(2)"),
    ("\\frac12", "\\frac{1}{2}", "1/2"),
    ("3/4", "\\frac{3}{4}", "3/4"),
    ("1.2e-30", "1.2e-30", "0"),
    ("a \\text{ b} \\text{ c}", "a \\text{ b} \\text{ c}", "abc"),  # two "\text{ ": mathd keeps the text
    ("5\\frac", "5\\frac", "5%s/%s"),  # pylatexenc's frac template without arguments, as the reference
])
def test_normalisations(raw, mathd, prm):
    assert mathd_normalize(raw) == mathd
    assert prm_normalize(raw) == prm


@pytest.mark.slow  # ~6 s on an idle 2-core machine (15,825 cases)
def test_rule_grader_agrees_with_the_reference_on_golden_cases():
    rows = _golden()
    assert len(rows) >= 10_000 and all(r["reference_status"] == "ok" for r in rows)
    verdicts = grade_many([(r["response"], r["gold"]) for r in rows], "justrl-rule", workers=2)
    disagree = [(r, v) for r, v in zip(rows, verdicts, strict=True) if v.correct != r["reference"]]
    agreement = 1 - len(disagree) / len(rows)
    shown = [(r["benchmark"], r["response"][-60:], r["gold"], r["reference"], v.reason) for r, v in disagree[:10]]
    assert agreement >= 0.995, shown
    # every benchmark gold is accepted against itself, by the reference and by us
    selves = [v.correct for r, v in zip(rows, verdicts, strict=True) if r["kind"].startswith("self")]
    assert len(selves) >= 2000 and all(selves)
    kinds = Counter(r["kind"] for r in rows)
    assert kinds["variant"] > 5000 and kinds["mutation"] > 1000 and kinds["hand"] > 100
    # the golden file exercises every layer of the rule, not only string matches
    reasons = Counter(v.reason for v in verdicts)
    assert all(reasons[k] > 100 for k in ("match_mathd", "match_string", "match_sympy", "mismatch", "no_answer"))


@pytest.mark.slow
def test_rule_grader_agrees_with_the_reference_on_real_model_outputs():
    rows = _golden(GOLDEN_REAL)
    assert len(rows) >= 2500 and sum(r["kind"] == "real" for r in rows) >= 1500
    verdicts = grade_many([(r["response"], r["gold"]) for r in rows], "justrl-rule", workers=2)
    disagree = [(r["example_id"], r["gold"], r["reference"]) for r, v in zip(rows, verdicts, strict=True)
                if v.correct != r["reference"]]
    assert 1 - len(disagree) / len(rows) >= 0.995, disagree[:10]
    assert sum(r["reference"] for r in rows) > 500  # both verdicts well represented


def test_minerva_behaviour_of_the_paper_grader_is_reproduced():
    rows = [r for r in _golden() if r["benchmark"] == "Minerva"]
    zero = [r for r in rows if "\\boxed{0}" in r["response"] and "e-" in r["gold"] and r["kind"] == "variant"]
    times = [r for r in rows if "\\times 10^" in r["response"] and r["kind"] == "variant"]
    assert sum(r["reference"] for r in zero) >= 10 and sum(not r["reference"] for r in times) >= 50
    verdicts = grade_many([(r["response"], r["gold"]) for r in zero + times], "justrl-rule", workers=2)
    assert [v.correct for v in verdicts] == [r["reference"] for r in zero + times]


def test_model_text_is_never_evaluated(monkeypatch, tmp_path):
    """The rule reaches sympy's verdicts without eval/parse_expr (both made to fail here)."""
    import sympy.parsing.sympy_parser as sp

    # warm-up: simplify's first call imports sympy modules that sympify their own constant strings
    assert justrl_rule_check("\\boxed{(x+1)^2}", "x^2+2x+1")[0] is True

    def refuse(*_a, **_k):
        raise AssertionError("model text evaluated")

    monkeypatch.setattr(sp, "parse_expr", refuse)
    monkeypatch.setattr(sp, "eval_expr", refuse)
    monkeypatch.setattr(builtins, "eval", refuse)
    assert justrl_rule_check("\\boxed{x^2+2x+1}", "(x+1)^2") == (True, "x^2+2x+1", "match_sympy")
    assert justrl_rule_check("\\boxed{2\\sqrt{2}}", "\\sqrt{8}")[0] is True
    target = tmp_path / "pwned"
    for payload in (f"__import__('os').system('touch {target}')", "(1).__class__", "id(1)"):
        assert justrl_rule_check(f"\\boxed{{{payload}}}", "1")[0] is False
    assert not target.exists()


@pytest.mark.parametrize("expr", ["(1).real", "[1][0]", "(lambda:1)()", "1 if 1 else 2", "x==x", "eval(1)"])
def test_safe_parser_refuses_everything_outside_the_whitelist(expr):
    with pytest.raises(Exception):  # noqa: B017 - any refusal is fine; it becomes "not equal"
        justrl_rule._safe_parse(expr)


def _slow_simplify_pair() -> tuple[str, str]:
    """(response, gold) equal only after a sympy simplify of ~0.25 s in a warm worker (more when cold):
    five times the 50 ms timeout below, even after earlier tests warmed the workers' sympy."""
    import sympy

    x, y = sympy.symbols("x y")

    def text(e) -> str:
        return str(e).replace("**", "^").replace("*", "")

    factors = [(x - y, 8), (x + 2 * y, 7), (2 * x + y, 6), (x + 3 * y, 5), (3 * x - y, 4)]
    response = "\\boxed{(x+y)^9/(" + "".join(f"({text(f)})^{p}" for f, p in factors) + ")}"
    gold = (f"({text(sympy.expand((x + y) ** 9))})/("
            + "".join(f"({text(sympy.expand(f ** p))})" for f, p in factors) + ")")
    return response, gold


def test_a_check_past_its_timeout_is_incorrect_not_a_hang():
    (v,) = justrl_rule.grade_many([_slow_simplify_pair()], timeout=0.05)
    assert (v.correct, v.reason) == (False, "timeout")
    (w,) = justrl_rule.grade_many([("\\boxed{2}", "2")])
    assert w.correct


def _no_pylatexenc(monkeypatch):
    def missing() -> None:
        raise justrl_rule.RuleGraderUnavailable("the justrl-rule grader needs pylatexenc; install it with: pip "
                                                "install 'pylatexenc>=2.10,<3'")

    monkeypatch.setattr(justrl_rule, "require_pylatexenc", missing)


def test_without_pylatexenc_default_grading_still_runs_and_says_so(monkeypatch, tmp_path):
    from justrl.evaluate.grading import grade_run

    _no_pylatexenc(monkeypatch)
    (tmp_path / "aime25.jsonl").write_text(json.dumps({"benchmark": "AIME25", "example_id": 0, "sample_index": 0,
                                                       "answer": "3", "response": "\\boxed{3}"}) + "\n")
    results = grade_run(tmp_path, progress=False, published_model="JustRL-DeepSeek-1.5B")
    aime = results["benchmarks"]["AIME25"]
    assert aime["graders"]["justrl-rule"] is None and aime["graders"]["lenient"]["avg_at_n"] == 100.0
    assert aime["published"] is None  # no paper-grader score, so no difference is claimed
    assert "pip install" in results["grading"]["graders_unavailable"]["justrl-rule"]
    assert "Grader justrl-rule did not run" in (tmp_path / "report.md").read_text()


def test_without_pylatexenc_the_justrl_grader_is_a_one_line_error(monkeypatch, tmp_path):
    from justrl.evaluate.grading import GradingError, grade_run

    _no_pylatexenc(monkeypatch)
    (tmp_path / "aime25.jsonl").write_text(json.dumps({"benchmark": "AIME25", "example_id": 0, "answer": "3",
                                                       "response": "\\boxed{3}"}) + "\n")
    with pytest.raises(GradingError, match="pip install") as info:
        grade_run(tmp_path, grader="justrl", progress=False)
    assert "\n" not in str(info.value)


def test_long_responses_reach_the_workers_from_their_last_box_on():
    assert justrl_rule._from_last_box("a \\boxed{1} b \\boxed{2} c") == "\\boxed{2} c"
    assert justrl_rule._from_last_box("no box here") == ""
    (v,) = justrl_rule.grade_many([("think " * 500_000 + "so \\boxed{5}", "5")])
    assert (v.correct, v.extracted) == (True, "5")


def test_a_megabyte_answer_is_refused_at_once():
    assert justrl_rule_check("\\boxed{" + "x" * 1_000_000 + "}", "x")[::2] == (False, "too_large")
    assert justrl_rule_check("\\boxed{" + "1" * 20_000 + "}", "x")[2] == "mismatch"  # at the limit: graded
