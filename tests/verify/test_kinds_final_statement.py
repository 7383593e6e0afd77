"""Issue 10 item 3: an unboxed response whose very end states its answer, and what stays rejected.

Only the final sentence of the final line is read; it must be a line of its own after the working
(or mark its value in bold), worded as a conclusion or a plain statement of one value. A number
anywhere else, a last line that asks, plans or offers to continue, and a trace cut off mid-formula
give no answer.
"""

from __future__ import annotations

import pytest

from justrl.verify.extract import extract_final_answer
from justrl.verify.lenient import lenient_verify, quick_verdict

WORK = "Let me count. There are 20 red and 21 blue marbles, and 20 + 21 = 41.\n\n"

# (behaviour id, response, gold, extracted answer or None, correct)
CASES = [
    ("conclusion-bold-number", WORK + "So the number of marbles is **41**.", "41", "41", True),
    ("conclusion-bold-number-wrong", WORK + "So the number of marbles is **40**.", "41", "40", False),
    ("bold-in-working-is-not-the-answer", "We have **41** so far.\n\nNext we add the green ones.", "41", None, False),
    ("nested-emphasis", WORK + "Hence, *g(3) = **-7***.", "-7", "-7", True),
    ("answer-label-sentence", WORK + "**Answer:** the angle measures **75 degrees**", "75", "75 degrees", True),
    ("gsm-answer-line", WORK + "A: 19", "19", "19", True),
    ("gsm-hashes", WORK + "#### 19", "19", "19", True),
    ("gsm-line-not-last", "A: 19\n\nQ: How many pears are there?", "19", None, False),
    ("final-answer-sentence", WORK + "Final Answer: The smallest $k$ is 12.", "12", "12", True),
    ("conclusion-math-span", WORK + "Thus the ratio is $\\frac{2}{7}$.", "\\frac{2}{7}", "\\frac{2}{7}", True),
    ("conclusion-other-value", WORK + "Thus the ratio is $\\frac{2}{9}$.", "\\frac{2}{7}", "\\frac{2}{9}", False),
    ("the-quantity-is", WORK + "The vertex is $(3,-4)$.", "(3,-4)", "(3,-4)", True),
    ("the-right-choice", WORK + "The right choice is (B).", "B", "(B)", True),
    ("bold-number-word", WORK + "Therefore there are **three** roots.", "3", "three", True),
    ("plain-statement-one-value", WORK + "19 people were kicked out for other reasons.", "19", "19", True),
    ("price-is-not-a-math-span", WORK + "Dan's shop made $22 from pizza sales.", "22", "22", True),
    ("announced-bare-value", WORK + "That leaves:\n2", "2", "2", True),
    ("one-sentence-response", "The sum of the values of posse and mortar is 10.", "10", "10", True),
    # near misses
    ("two-numbers-in-final-sentence", WORK + "So she has 5 apples and 3 pears.", "5", None, False),
    ("question-last", WORK + "The total is 41. Is that what you wanted?", "41", None, False),
    ("plan-last", WORK + "Next, I will find the sum of 41 and 3.", "41", None, False),
    ("offer-to-continue", WORK + "We get **41** so far. Let me know if you'd like me to continue.", "41", None, False),
    ("cut-off-mid-algebra", WORK + "So $x = 41 +", "41", None, False),
    ("cut-off-mid-sentence", WORK + "So the number of marbles is 41 and", "41", None, False),
    ("working-opener", WORK + "Since there are 41 marbles, we divide.", "41", None, False),
    ("same-paragraph-conclusion", "We place the books in 6 orders and the folders in 2. So there are 12 ways.", "12", None, False),
    ("one-sentence-with-working", "The legs are 6 and 8, so its area is $24$.", "24", None, False),
    ("number-in-working-only", "There are 41 marbles in the bag, and we must pick some of them\nbut I cannot finish", "41", None, False),
]


@pytest.mark.parametrize("response, gold, answer, correct", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_final_statement(response, gold, answer, correct):
    assert extract_final_answer(response).answer == answer
    verdict = lenient_verify(response, gold)
    assert verdict.correct is correct, verdict
    quick = quick_verdict(response, gold)
    assert quick is None or quick.correct is correct, quick
