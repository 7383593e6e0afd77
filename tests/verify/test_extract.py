"""Final-answer extraction for lenient mode (justrl.verify.extract)."""

from __future__ import annotations

import time

import pytest

from justrl.verify.extract import extract_final_answer

CASES = [
    # (id, response, expected answer, expected status)
    ("single-box", "so \\boxed{42}.", "42", "boxed"),
    ("last-box-wins", "first \\boxed{3}, then after checking the work carefully: \\boxed{5}", "5", "boxed"),
    ("box-far-from-end", "\\boxed{7}" + " and some words" * 500, "7", "boxed"),
    ("nested-braces", "\\boxed{\\frac{1}{\\sqrt{2}}}", "\\frac{1}{\\sqrt{2}}", "boxed"),
    ("box-with-space", "\\boxed {12}", "12", "boxed"),
    ("bare-boxed-token", "the answer is \\boxed 5.", "5", "boxed"),
    ("bare-boxed-command", "the answer is \\boxed\\pi", "\\pi", "boxed"),
    ("fbox", "\\fbox{8}", "8", "boxed"),
    ("content-stripped", "\\boxed{ 7 }", "7", "boxed"),
    ("boxes-joined-by-and", "roots \\boxed{2} and \\boxed{3}", "2, 3", "boxed"),
    ("boxes-joined-by-comma", "$\\boxed{1}$, $\\boxed{2}$", "1, 2", "boxed"),
    ("parts-labelled", "(a) \\boxed{69} (b) \\boxed{84}", "69, 84", "boxed"),
    ("repeated-box-once", "\\boxed{5}. \\boxed{5}", "5", "boxed"),
    ("hedge-or", "it is \\boxed{2} or \\boxed{3}", "2 or 3", "hedged"),
    ("or-same-answer", "\\boxed{2} or \\boxed{2}", "2", "boxed"),
    ("unclosed-last-box", "so \\boxed{\\frac{1}{2}", None, "truncated"),
    ("earlier-box-then-unclosed", "\\boxed{42} hmm, actually \\boxed{4", None, "truncated"),
    ("boxed-at-end", "the answer is \\boxed", None, "truncated"),
    ("open-think", "<think>\nmaybe \\boxed{3}", None, "truncated"),
    ("after-think-preferred", "<think>\\boxed{3}</think>The answer is \\boxed{4}.", "4", "boxed"),
    ("statement-after-think", "<think>\\boxed{3}</think>\nFinal answer: 4", "4", "statement"),
    ("answer-colon", "We compute.\nAnswer: 42", "42", "statement"),
    ("final-answer-is", "So the final answer is $\\frac{3}{4}$.", "\\frac{3}{4}", "statement"),
    ("the-answer-is-decimal", "The answer is 3.5.", "3.5", "statement"),
    ("bold-answer", "**Answer:** $12$", "12", "statement"),
    ("answer-next-line", "Final Answer:\n$x = 2$", "x = 2", "statement"),
    ("statement-colon-bold", "The answer is: **5**", "5", "statement"),
    ("statement-math-span-then-prose", "The answer is $x=3$, and we are done.", "x=3", "statement"),
    ("statement-trailing-clause", "so the answer is 6, which is even.", "6", "statement"),
    ("statement-trailing-reason", "the answer is 5 since 2+3=5", "5", "statement"),
    ("statement-list-kept", "The answer is 1, 2 and 3.", "1, 2 and 3", "statement"),
    ("statement-decimal-then-sentence", "Answer: 3.14. Next we check.", "3.14", "statement"),
    ("bare-short-answer", "$\\frac{1}{2}$", "\\frac{1}{2}", "bare"),
    ("bare-list", "$69$,$84$", "69$,$84", "bare"),
    ("prose-is-not-an-answer", "I think it is about 42 but cannot finish", None, "no_answer"),
    ("empty", "", None, "no_answer"),
    ("empty-box", "\\boxed{}", None, "no_answer"),
    ("boxedx-is-not-a-box", "we use \\boxedfoo here and then stop", None, "no_answer"),
]


@pytest.mark.parametrize("response, answer, status", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_extraction(response, answer, status):
    found = extract_final_answer(response)
    assert (found.answer, found.status) == (answer, status)


@pytest.mark.parametrize(
    "response",
    [
        "x" * 1_000_000 + "\\boxed{5}",
        "\\boxed{1}" * 100_000,
        "{" * 1_000_000 + "\\boxed{5}",
        "\\boxed{" * 100_000,
        "\\boxed{" + "{" * 500_000,
    ],
    ids=["long-prose", "many-boxes", "many-braces", "many-open-boxes", "deep-unclosed"],
)
def test_extraction_is_fast_on_megabyte_responses(response):
    start = time.perf_counter()
    extract_final_answer(response)
    assert time.perf_counter() - start < 1.0


def test_oversized_response_is_refused():
    assert extract_final_answer("1" * 9_000_000).status == "too_large"
