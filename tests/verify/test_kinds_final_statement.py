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
    ("think-marker-starts-a-line", "Angle A is 14 degrees, so <end think> $\\angle B = 76^\\circ$.", "76^\\circ",
     "\\angle B = 76^\\circ", True),
    ("gsm-hashes-then-value", WORK + "####\n41", "41", "41", True),
    ("answer-is-with-a-parenthesis", WORK + "Therefore, the answer (arabic numerals) is 41. \n\nI hope this helps!", "41",
     "41", True),
    ("bold-value-ends-the-last-line", WORK + "m + n = 25 + 16 = **41**", "41", "41", True),
    ("the-quantity-has-a-value-of", "The smallest bar in the chart has a value of 41.", "41", "41", True),
    ("number-words-describe-beside-digits", WORK + "Thus the two farms together have 41 acres.", "41", "41", True),
    # near misses
    ("two-numbers-in-final-sentence", WORK + "So she has 5 apples and 3 pears.", "5", None, False),
    ("question-last", WORK + "The total is 41. Is that what you wanted?", "41", None, False),
    ("plan-last", WORK + "Next, I will find the sum of 41 and 3.", "41", None, False),
    ("offer-to-continue", WORK + "We get **41** so far. Let me know if you'd like me to continue.", "41", None, False),
    ("cut-off-mid-algebra", WORK + "So $x = 41 +", "41", None, False),
    ("cut-off-mid-sentence", WORK + "So the number of marbles is 41 and", "41", None, False),
    ("step-of-the-working", WORK + "Step 3: The discriminant is 41.", "41", None, False),
    ("list-item-of-the-working", WORK + "2. The area of the first part is 41.", "41", None, False),
    ("long-paragraph-is-not-a-statement", WORK + "We add the numbers again " * 40 + "and so the total is 41.", "41", None,
     False),
    ("working-opener", WORK + "Since there are 41 marbles, we divide.", "41", None, False),
    ("same-paragraph-conclusion", "We place the books in 6 orders and the folders in 2. So there are 12 ways.", "12", None, False),
    ("one-sentence-with-working", "The legs are 6 and 8, so its area is $24$.", "24", None, False),
    ("number-in-working-only", "There are 41 marbles in the bag, and we must pick some of them\nbut I cannot finish", "41", None, False),
]


THINK = "<think> 20 red and 21 blue, 20 + 21 = 41. </think> "
ANSWER_TAGS = [
    ("answer-tag-bare-value", THINK + "<answer> 41 </answer>", "41", "41", True),
    ("answer-tag-math-value", THINK + "<answer>$41$</answer>", "41", "41", True),
    ("answer-tag-assignment", THINK + "<answer> $x = 6$ </answer>", "6", "x = 6", True),
    ("answer-tag-chain", THINK + "<answer> 3/24 = 1/8 </answer>", "\\frac{1}{8}", "3/24 = 1/8", True),
    ("answer-tag-chain-wrong-start", THINK + "<answer> 3/20 = 1/8 </answer>", "\\frac{1}{8}", "3/20 = 1/8", False),
    ("answer-tag-sentence", THINK + "<answer> Jasmine has 13 stickers at the end. </answer>", "13", "13", True),
    ("answer-tag-sentence-with-sum", THINK + "<answer> So, Joe has 40 - 8 - 16 = 16 cars left.</answer>", "16", "16", True),
    ("answer-tag-math-chain-sentence", THINK + "<answer> So, $\\sqrt{242} = \\sqrt{121 \\cdot 2} = 11\\sqrt{2}$.</answer>",
     "11\\sqrt2", "\\sqrt{242} = \\sqrt{121 \\cdot 2} = 11\\sqrt{2}", True),
    ("answer-tag-script-wrapper", THINK + '<answer> <script type="math/tex"> \\frac{3}{4} </script> </answer>',
     "\\frac 34", "\\frac{3}{4}", True),
    ("answer-tag-box-inside", THINK + "<answer> so \\boxed{41} </answer>", "41", "41", True),
    ("box-after-the-tag-is-later", "Format: <answer></answer>.\n\nSo \\boxed{41}.", "41", "41", True),
    ("empty-tag-then-nothing", THINK + "<answer></answer>", "41", None, False),
    ("json-answer-at-the-end", THINK + '<endthink> {"answer": 41}\n\n</answer>', "41", "41", True),
    ("json-answer-quoted", THINK + '{"answer": "41"}', "41", "41", True),
    ("answer-tag-placeholder", THINK + "<answer> <insert the answer here> </answer>", "41", None, False),
    ("answer-tag-unclosed", THINK + "<answer>$41$ <end answer>", "41", None, False),
    ("answer-tag-words-no-value", THINK + "<answer> (n + 2)(n + 4) is multiplied as crossed terms</answer>", "2", None,
     False),
]


@pytest.mark.parametrize(
    "response, gold, answer, correct", [c[1:] for c in CASES + ANSWER_TAGS], ids=[c[0] for c in CASES + ANSWER_TAGS]
)
def test_final_statement(response, gold, answer, correct):
    assert extract_final_answer(response).answer == answer
    verdict = lenient_verify(response, gold)
    assert verdict.correct is correct, verdict
    quick = quick_verdict(response, gold)
    assert quick is None or quick.correct is correct, quick
