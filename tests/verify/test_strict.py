"""strict mode is the DAPO strict-box rule, checked against an independent reference written from its
description (DESIGN.md section 2):

1. keep the last 300 characters of the response, then the last 100 of those;
2. find the last occurrence of ``\\boxed{`` in that window;
3. the answer runs from after that ``{`` to the ``}`` that brings the brace depth back to zero;
   no such ``}`` means no answer;
4. correct iff the answer equals the gold string exactly (after unwrapping a gold written as
   ``\\boxed{X}`` or ``$X$``); reward +1 when correct, -1 otherwise.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from justrl.verify import verify

OPEN = "\\boxed{"


def reference_answer(response: str) -> str | None:
    """Steps 1-3, written independently of justrl.verify.strict."""
    window = response[-300:]
    window = window[-100:]
    positions = [i for i in range(len(window)) if window.startswith(OPEN, i)]
    if not positions:
        return None
    body_start = positions[-1] + len(OPEN)
    depth = 1
    for i in range(body_start, len(window)):
        depth += {"{": 1, "}": -1}.get(window[i], 0)
        if depth == 0:
            return window[body_start:i]
    return None


def reference_gold(gold: str) -> str:
    """Unwrap one ``\\boxed{X}`` (whose brace closes at the very end) or one ``$X$``."""
    if gold.startswith(OPEN) and gold.endswith("}"):
        depth = 1
        for i in range(len(OPEN), len(gold)):
            depth += {"{": 1, "}": -1}.get(gold[i], 0)
            if depth == 0:
                if i == len(gold) - 1:
                    return gold[len(OPEN):-1]
                break
    if len(gold) >= 2 and gold[0] == "$" and gold[-1] == "$" and gold.count("$") == 2:
        return gold[1:-1]
    return gold


def reference_score(response: str, gold: str) -> float:
    answer = reference_answer(response)
    return 1.0 if answer is not None and answer == reference_gold(gold) else -1.0


# -- explicit cases ----------------------------------------------------------------------------------

CASES = [
    ("exact-match", "so \\boxed{7}", "7", 1.0, "7"),
    ("leading-space-is-a-different-string", "so \\boxed{ 7}", "7", -1.0, " 7"),
    ("trailing-space-is-a-different-string", "so \\boxed{7 }", "7", -1.0, "7 "),
    ("gold-is-not-stripped", "so \\boxed{7}", " 7", -1.0, "7"),
    ("equivalent-form-is-wrong", "so \\boxed{\\frac{1}{2}}", "0.5", -1.0, "\\frac{1}{2}"),
    ("nested-braces", "so \\boxed{\\frac{1}{2}}", "\\frac{1}{2}", 1.0, "\\frac{1}{2}"),
    ("last-box-wins", "\\boxed{3} or rather \\boxed{4}", "4", 1.0, "4"),
    ("earlier-box-ignored", "\\boxed{4} or rather \\boxed{3}", "4", -1.0, "3"),
    ("unclosed-last-box", "\\boxed{4} then \\boxed{4", "4", -1.0, None),
    ("no-box", "the answer is 4", "4", -1.0, None),
    ("box-just-outside-100", "\\boxed{4}" + "x" * 92, "4", -1.0, None),
    ("box-just-inside-100", "\\boxed{4}" + "x" * 91, "4", 1.0, "4"),
    ("box-opening-cut-by-window", "\\boxed{4}" + "x" * 94, "4", -1.0, None),
    ("fbox-is-not-a-box", "\\fbox{4}", "4", -1.0, None),
    ("boxed-without-brace", "\\boxed 4", "4", -1.0, None),
    ("gold-wrapped-in-box", "so \\boxed{204}", "\\boxed{204}", 1.0, "204"),
    ("gold-wrapped-in-dollars", "so \\boxed{204}", "$204$", 1.0, "204"),
    ("gold-two-boxes-not-unwrapped", "so \\boxed{1}", "\\boxed{1}\\boxed{2}", -1.0, "1"),
    ("dollar-box-in-response", "so $\\boxed{12}$.", "12", 1.0, "12"),
    ("empty-box-vs-empty-gold", "so \\boxed{}", "", 1.0, ""),
]


@pytest.mark.parametrize("response,gold,score,extracted", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_strict_table(response, gold, score, extracted):
    verdict = verify(response, gold, "strict")
    assert (verdict.score, verdict.extracted) == (score, extracted)
    assert reference_score(response, gold) == score, "the reference agrees with the table"


def test_only_the_last_300_then_100_characters_count():
    response = "\\boxed{5}" + "y" * 500
    assert verify(response, "5", "strict").reason == "no_answer"
    assert verify(response[-100:] + "\\boxed{5}", "5", "strict").correct


# -- generated responses -----------------------------------------------------------------------------

ATOMS = st.sampled_from(["\\boxed{", "{", "}", "\\boxed", "boxed{", "\\", " ", "7", " 7", "x", "\\frac{1}{2}",
                         "$", "\n", "é", "ab", "\\fbox{", "0" * 40])
FILLER = st.text(alphabet=st.characters(codec="utf-8"), max_size=30)


@st.composite
def responses(draw) -> str:
    parts = draw(st.lists(st.one_of(ATOMS, FILLER), max_size=40))
    padding = draw(st.sampled_from([0, 50, 95, 99, 100, 101, 150, 250, 299, 300, 301, 400]))
    tail = draw(st.lists(ATOMS, max_size=6))
    # Place boxes at every distance from the end, including just outside the 100/300 windows.
    return "".join(parts) + "z" * padding + "".join(tail)


GOLDS = st.one_of(st.sampled_from(["7", " 7", "x", "\\frac{1}{2}", "", "\\boxed{7}", "$7$", "\\boxed{x}}",
                                   "$$", "{7}"]), FILLER)


@pytest.mark.slow
@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(responses(), GOLDS)
def test_strict_agrees_with_the_reference(response, gold):
    verdict = verify(response, gold, "strict")
    assert verdict.score == reference_score(response, gold)
    assert verdict.extracted == reference_answer(response)
    assert verdict.correct == (verdict.score == 1.0) and verdict.mode == "strict"


@settings(max_examples=1000, deadline=None)
@given(st.text(max_size=20).filter(lambda s: not set(s) & set("{}$")), st.integers(0, 400))
def test_a_box_holding_the_gold_is_correct_iff_it_ends_within_100_characters(answer, trailing):
    response = f"reasoning \\boxed{{{answer}}}" + "." * trailing
    box_length = len(OPEN) + len(answer) + 1
    assert verify(response, answer, "strict").correct == (box_length + trailing <= 100)


@settings(max_examples=500, deadline=None)
@given(st.integers(1, 60), st.text(alphabet="ab{}", max_size=30))
def test_nested_braces_are_matched(depth, inner):
    content = "{" * depth + "a" + "}" * depth + inner
    balanced = reference_answer(f"\\boxed{{{content}}}")
    assert verify(f"\\boxed{{{content}}}", content, "strict").extracted == balanced
