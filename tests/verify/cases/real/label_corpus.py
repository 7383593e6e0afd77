"""Turn ``candidates.jsonl`` (from ``build_corpus.py``) into the labelled ``corpus.jsonl``.

Labelling rule (the careful grader): a response is correct iff a careful human grader would accept
the final answer the response gives as that answer. A response cut off or looping before it states
an answer, one with no final answer, or one hedging between answers is incorrect; a number met in
the working is not an answer.

How each label was decided (``labeled_by``):
- ``agree``: the published grade of the source log, justrl lenient and Math-Verify 0.9.0 (all run
  when the corpus was built) gave the same verdict; a sample of these was read (see README.md).
- ``hand``: they disagreed, and the label below was decided by reading the response, the gold and,
  where needed, the question. Every such record is listed in ``HAND`` with its reason.
Records in ``EXCLUDED`` are left out (empty gold, or a gold whose convention makes the verdict a
matter of taste); the reasons are kept here so the choice is visible.

    python tests/verify/cases/real/label_corpus.py --verdicts verdicts.jsonl

``verdicts.jsonl`` holds, per candidate id, ``j`` (justrl), ``m`` (Math-Verify) and ``p`` (published)
as computed at build time. GSM8K records (``gsm-*``) whose verifiers disagree are decided by their
last line ``A: N`` (the format OpenAI's models were trained to end with) compared exactly with the
gold; each was checked to agree with the published ``is_correct``.
"""

from __future__ import annotations

import argparse
import json
import re
from fractions import Fraction
from pathlib import Path

HERE = Path(__file__).resolve().parent

T, F = True, False
_B = "cs336-qwen2.5-math-1.5b-base-"
_I = "cs336-qwen2.5-math-1.5b-instruct-inst-"
# id -> (label, note)
HAND: dict[str, tuple[bool, str]] = {
    "prime-qwen2.5-math-7b-instruct-minerva_math-50": (T, "boxed 1/360000 equals the decimal gold 2.7778e-6 to its precision"),
    "prime-qwen2.5-math-7b-instruct-minerva_math-252": (T, "100\\sqrt{P} for gold 100p^{1/2}: the question's price variable is P"),
    "prime-qwen2.5-math-7b-instruct-minerva_math-47": (T, "0.001 for gold 1e-3"),
    "prime-qwen2.5-math-7b-instruct-minerva_math-71": (T, "sinh(at)/a equals (e^{at}-e^{-at})/(2a)"),
    "prime-qwen2.5-math-7b-instruct-minerva_math-108": (T, "(1/4 - i/4) e^{2it} equals e^{2it}/(2+2i); published grade wrong"),
    "prime-qwen2.5-math-7b-instruct-minerva_math-267": (T, "4.57e-24 rounds to the gold 4.6e-24"),
    "prime-qwen2.5-math-7b-instruct-minerva_math-88": (T, "same rational function, terms reordered"),
    "prime-qwen2.5-math-7b-instruct-minerva_math-54": (T, "0.1918 rounds to the gold 0.192"),
    "prime-qwen2.5-math-7b-instruct-minerva_math-1": (T, "4.5 \\times 10^{33} for gold 4.5e33"),
    "prime-qwen2.5-math-7b-instruct-minerva_math-104": (T, "37m/4 for gold (37/4)m"),
    "prime-qwen2.5-math-7b-instruct-minerva_math-129": (T, "10^{-8} for gold 1e-8"),
    "prime-qwen2.5-math-7b-instruct-minerva_math-75": (
        T, "'Final answer: ... resonance is \\boxed{2}.' then the model invents Subproblem 2 and boxes its answer"
    ),
    "prime-qwen2.5-math-7b-instruct-minerva_math-101": (
        T, "general solution with the arbitrary constants attached in the other order (C_1 cos 2t + C_2 sin 2t)"
    ),
    "prime-qwen2.5-math-7b-instruct-minerva_math-131": (T, "LC v_o'' + v_o = v_i: the gold equation times LC"),
    "prime-qwen2.5-math-7b-instruct-minerva_math-250": (T, "SRAC = LAC: LAC is the long-run average cost (gold SRAC=LRAC)"),
    "prime-qwen2.5-math-7b-instruct-gaokao2023en-0": (T, "[-2, 1) is the gold set {x | -2 <= x < 1}"),
    "prime-prime-sft-ablation-minerva_math-263": (T, "'1.07 x 10^16' (plain x for times) for gold 1.07e16"),
    "prime-llama-3.1-8b-instruct-minerva_math-5": (T, "arcsin(1/1.3) = arcsin(10/13); gold written np.arcsin(10/13)"),
    "prime-qwen2.5-math-7b-instruct-olympiadbench-216": (T, "'100 and 0.01' is the gold's solution set"),
    "prime-qwen2.5-math-7b-instruct-olympiadbench-275": (T, "(1/3, -2, 5) are a, b, c in the order asked"),
    "prime-qwen2.5-math-7b-instruct-olympiadbench-303": (T, "both triples joined by 'and'"),
    "prime-qwen2.5-math-7b-instruct-gaokao2023en-274": (T, "2.625 equals the mixed number 2 5/8"),
    "prime-qwen2.5-math-7b-instruct-gaokao2023en-33": (T, "set \\{0,2,4,6,8\\}; gold written {0,2,4,6,8}"),
    "prime-qwen2.5-math-7b-instruct-gaokao2023en-237": (T, "the right side of the gold f(x)=...; no 'f(x)=' needed"),
    "prime-llama-3.1-8b-instruct-minerva_math-57": (T, "0.532 rounds to the gold 0.53"),
    "prime-llama-3.1-8b-instruct-minerva_math-63": (T, "C/x^2 - cos(2x)/(2x^2): same as gold, constant named C for c"),
    "prime-llama-3.1-8b-instruct-minerva_math-41": (T, "same expression rearranged"),
    "prime-llama-3.1-8b-instruct-minerva_math-267": (T, "4.57e-24 rounds to the gold 4.6e-24"),
    "prime-llama-3.1-8b-instruct-minerva_math-161": (F, "40.8 vs gold 4080: wrong conversion; published grade wrong"),
    "prime-llama-3.1-8b-instruct-minerva_math-175": (T, "9 \\times 10^{11} for gold 9e11"),
    "prime-llama-3.1-8b-instruct-minerva_math-18": (T, "3.275e12 rounds to the gold 3.3e12"),
    "prime-llama-3.1-8b-instruct-minerva_math-268": (T, "same linear combination"),
    "prime-llama-3.1-8b-instruct-minerva_math-135": (T, "3 \\times 10^{8} for gold 3e8"),
    "prime-llama-3.1-8b-instruct-minerva_math-76": (T, "same general solution, terms reordered"),
    "prime-llama-3.1-8b-instruct-olympiadbench-381": (F, "1/3, 1/9, 1/27 vs gold 1/3, 1, 1/9; published grade wrong"),
    "prime-llama-3.1-8b-instruct-olympiadbench-237": (T, "-2, 5 is the gold's solution set"),
    "prime-llama-3.1-8b-instruct-olympiadbench-361": (F, "10000 vs gold 100; published grade wrong"),
    "prime-llama-3.1-8b-instruct-olympiadbench-259": (F, "response loops on one line until cut off; the 3 is in the working"),
    "prime-llama-3.1-8b-instruct-gaokao2023en-33": (T, "set \\{0,2,4,6,8\\}; gold written {0,2,4,6,8}"),
    "prime-llama-3.1-8b-instruct-gaokao2023en-81": (T, "set \\{1\\}; gold written {1}"),
    "prime-prime-sft-ablation-minerva_math-72": (T, "boxed x(t)=...; a summary paragraph follows the box"),
    "prime-prime-sft-ablation-minerva_math-224": (T, "36 mL for gold 36"),
    "prime-prime-sft-ablation-minerva_math-135": (T, "3.0 \\times 10^{8} for gold 3e8"),
    "prime-prime-sft-ablation-minerva_math-259": (T, "Unicode α for gold \\alpha"),
    "prime-prime-sft-ablation-minerva_math-86": (T, "boxed I(t)=I(0)e^{-t/RC}; a summary follows the box"),
    "prime-prime-sft-ablation-minerva_math-104": (F, "37/4 without the factor m the gold has"),
    "prime-prime-sft-ablation-minerva_math-41": (T, "same expression rearranged"),
    "prime-prime-sft-ablation-gaokao2023en-246": (T, "boxed '(D) x^2-8x+16=0': the letter with the option's text"),
    "prime-prime-sft-ablation-gaokao2023en-169": (T, "boxed f(-6)=0 is option (A)'s text verbatim (needs the question to see)"),
    "prime-prime-sft-ablation-gaokao2023en-81": (T, "set \\{1\\}; gold written {1}"),
    "prime-prime-sft-ablation-gaokao2023en-9": (T, "set \\{2,3,5\\}; gold written {2,3,5}"),
    "tora-tora-70b-gsm8k-367": (T, "no box; last line '19 people were kicked out for other reasons.'"),
    "tora-tora-code-34b-gsm8k-772": (T, "50.0\\% for gold 50 (the question asks for a percentage)"),
    "mathvista-gpt-4-96": (T, "final sentence 'Dissatisfied is 3.9 times more than Satisfied.'"),
    "mathvista-gpt-4-803": (T, "final sentence '... has a value of 1.'"),
    "mathvista-gpt-4-928": (T, "final sentence '... costs $5.00 more ...'"),
    "mathvista-gpt-4-573": (T, "final sentence 'the mode of the numbers is 53.'"),
    "mathvista-gpt-4-56": (T, "final sentence 'the perimeter of the rectangle is 6.'"),
    "mathvista-gpt-4-21": (T, "final sentence '... there are 4/2 = 2 dots in each group.'"),
    "mathvista-gpt-4-867": (T, "final sentence '... made $22 from pizza sales.'"),
    "mathvista-gpt-4-387": (T, "final sentence 'the percentage of balls on the ground is 100%.'"),
    "mathvista-claude-2-363": (T, "last line 'the final number of objects left is: 2'"),
    "mathvista-claude-2-472": (T, "final sentence 'There are 3 dots in each group.'"),
    "mathvista-claude-2-259": (T, "ends 'That leaves:\\n2'"),
    "mathvista-bard-74": (F, "computes 47.6% then rounds it wrongly and concludes 47.7%"),
    "mathvista-bard-794": (T, "'So, the answer to your question is 2.'"),
    "mathvista-bard-676": (T, "'The smallest individual bar ... is **0**.' then a sign-off line"),
    "mathvista-bard-215": (T, "final sentence '... the range ... is 8 miles.'"),
    "mathvista-bard-759": (T, "'The nail is about **2 inches** long.' (question: to the nearest inch)"),
    "mathvista-bard-730": (T, "'The market share of KLA is highest in **2019**', then context and a sign-off"),
    "mathvista-llava-789": (T, "single sentence 'The sum of the values of posse and mortar is 10.'"),
    # Qwen2.5-Math-1.5B (base / Instruct) with the R1-zero <think>/<answer> prompt (CS336 logs)
    _B + "math500-289": (T, 'answer tags hold {"answer": 16}'),
    _B + "math500-393": (T, '<answer> holds \\frac{3}{4} inside a <script type="math/tex"> wrapper'),
    _B + "math500-187": (T, "<answer> 7 </answer>"),
    _B + "math500-344": (T, "ends '(answer) $a = 5$' then '####' and 5"),
    _B + "math500-492": (T, "<answer> $y = -2x$ </answer>"),
    _B + "math500-253": (T, "<answer> 3/24 = 1/8 </answer>: the value after the last '='"),
    _B + "math500-31": (T, "<answer> So, sqrt(242) = ... = 11\\sqrt{2}. </answer>"),
    _B + "math500-38": (T, "\\boxed{\\text{2000 calories}}"),
    _B + "math500-463": (T, "final statement 'undefined for exactly two values of x' (number word) for gold 2"),
    _B + "math500-77": (T, "<answer>$4$</answer>"),
    _B + "math500-121": (T, "<answer> $x = 6$ </answer>"),
    _B + "math500-395": (F, "<answer> <insert the answer here>: no answer; what Math-Verify reads is working"),
    _B + "math500-261": (T, "last line '$\\angle B = 76^\\circ$.'"),
    _B + "math500-457": (T, "'Answer: 54的模6为0 ... Therefore, 54 (mod 6) = 0.' (question: the remainder of 54 mod 6)"),
    _B + "math500-265": (T, "answer 4005 stated in <answer>; then the model invents a new User turn"),
    _B + "math500-363": (T, "<answer> ... Therefore, x = 2.</answer>"),
    _B + "math500-280": (T, "'<answer> Answer: $8$' answers the question; then the model invents a new problem (answered 9)"),
    _B + "math500-459": (T, "\\boxed{18.90} answers the question; then an invented new problem, cut off"),
    _B + "math500-46": (T, "\\boxed{6} and 'answer> 6'; then an invented new User turn answered 195"),
    _B + "math500-411": (T, "\\boxed{60} answers the question; then an invented new problem, cut off"),
    _B + "gsm8k-1311": (T, "<answer> 594 </answer>"),
    _B + "gsm8k-185": (T, "<answer> ... the total number of apples picked by both of them is 20 + 10 = 30 apples.</answer>"),
    _B + "gsm8k-707": (T, "<answer> 8% </answer> for gold 8 (the question asks for a percent)"),
    _B + "gsm8k-947": (T, "<answer> Jasmine has 13 stickers at the end. </answer>"),
    _B + "gsm8k-695": (T, "'Answer: There are 5 8 point bucks.' (5 is the count, 8 names the bucks)"),
    _B + "gsm8k-1276": (T, "<answer> James needs to buy 70 feet of crepe paper. </answer>"),
    _B + "gsm8k-910": (T, "<answer> The two farms together have 700 acres. </answer>"),
    _B + "gsm8k-809": (T, "<answer> 50 </answer>"),
    _B + "gsm8k-918": (T, "<answer>56 students</answer>"),
    _B + "gsm8k-9": (T, "<answer> ... we make a final total of equaling $460.</answer>"),
    _B + "gsm8k-1291": (T, "'Sarah has 54 pens / 2 = 27 pens.' then unrelated text the model invents"),
    _B + "gsm8k-818": (T, "<answer> ... Therefore, Joe has 40 - 8 - 16 = 16 cars left.</answer>"),
    _B + "gsm8k-558": (T, "<answer> ... Peter's locker is 12/4 = 3 cubic inches. </answer>"),
    _B + "gsm8k-512": (T, "<answer> ... she will need to drink a total of 2 * 60 = 120 ml of water.</answer>"),
    _B + "gsm8k-210": (T, "\\boxed{10} answers the question; then the model invents a new problem and boxes 700 for it"),
    _B + "gsm8k-142": (T, "'$20 multiplied by 7 is $140.' then noise and an invented new problem"),
    _B + "gsm8k-772": (T, "'Answer: 6 hours ... x 100 = 50 percent.' then an invented new problem, cut off"),
    _I + "math500-121": (T, "\\boxed{6}[/ answer], then an unrelated textbook passage the model invents, cut off"),
    _I + "math500-6": (T, "'the smallest positive perfect cube ... is 27.' and '< answer > 27', then noise"),
    _I + "math500-20": (T, "'Therefore, the final answer is \\boxed{6+9i}.' then noise ('== == ...')"),
    _I + "math500-419": (F, "states the vector, then is cut off in the middle of verifying it (unfinished)"),
    _I + "math500-444": (F, "boxes 1/2, then noise, then boxes 1/4: the last answer given is 1/4"),
    _I + "math500-414": (T, "'The final answer is $\\boxed{10}$.' amid noise; no competing answer"),
    _I + "math500-28": (T, "last box -2+7i amid noise; no competing answer"),
    _I + "math500-24": (T, "'the interest rate ... is \\boxed{10\\%}' then noise"),
    _I + "math500-61": (T, "ends 'The final answer is $\\boxed{-256}$.' after noise"),
    _I + "math500-146": (T, "boxed sqrt(3)/3, then repeated closing tags"),
    _I + "math500-217": (T, "'The answer is \\boxed{11111111100}.' then noise restating the task"),
    _I + "math500-492": (T, "\\boxed{y = -2x} then noise"),
    _I + "math500-291": (T, "boxed 63 twice, then a few noise words"),
    _I + "math500-160": (T, "repeats 'The greater of the two integers is \\boxed{18}' until cut off"),
    _I + "math500-116": (T, "boxed 2, '< answer > 2', 'The final answer is $\\boxed{2}$.'"),
    # GPT-3 zero-shot CoT (Kojima et al.): reasoning capped at 128 tokens, then the answer trigger
    # "Therefore, the answer (arabic numerals) is" / "Therefore, among A through E, the answer is" and its completion
    "kojima-gpt3-gsm8k-838": (T, "trigger completion '50 + 0 + ... = 280 \\n\\n280/7 = 40 \\n\\nMack saw an average of 40'"),
    "kojima-gpt3-gsm8k-1018": (T, "'the answer (arabic numerals) is 110+32=142.': the value after '='"),
    "kojima-gpt3-gsm8k-755": (T, "'the answer (arabic numerals) is: \\n\\n800 + 720 = 1520'"),
    "kojima-gpt3-gsm8k-95": (T, "'the answer (arabic numerals) is $40,000.'"),
    "kojima-gpt3-gsm8k-1129": (T, "'the answer (arabic numerals) is 9.' then the same answer in words"),
    "kojima-gpt3-gsm8k-412": (T, "'the answer (arabic numerals) is 80.' then the model invents the next 'Q:'"),
    "kojima-gpt3-gsm8k-364": (T, "'the answer (arabic numerals) is 96 * 5 = 480.'"),
    "kojima-gpt3-multiarith-26": (T, "'the answer (arabic numerals) is 2. \\n\\nI hope this helps!'"),
    "kojima-gpt3-multiarith-363": (T, "'the answer (arabic numerals) is 6. \\n\\nI hope this helps!'"),
    "kojima-gpt3-aqua-137": (F, "'among A through E, the answer is A, B, C, D, or E.': hedged; published grade wrong"),
    "kojima-gpt3-aqua-99": (T, "'among A through E, the answer is E.' then more working, cut off; no other letter"),
    "kojima-gpt3-aqua-143": (T, "'among A through E, the answer is D.' then more working; no other letter"),
}
# Mistral-7B-v0.1 (base, 5-shot) on TheoremQA; the log has no grade, so "agree" means both verifiers agreed
_M = "theoremqa-mistral-7b-v0.1-"
HAND.update({
    _M + "797": (T, "'The answer is 3.72.' rounds to the gold 3.7"),
    _M + "524": (T, "'The answer is (a).'"),
    _M + "59": (T, "'The answer is False.'"),
    _M + "794": (T, "'The answer is (a).'"),
    _M + "734": (T, "'The answer is True.'"),
    _M + "193": (T, "'The answer is (d).'"),
    _M + "139": (T, "'The answer is True.'"),
    _M + "706": (T, "'The answer is True.'"),
    _M + "141": (F, "loops on one equation until cut off; the 1 Math-Verify reads is in the working"),
    _M + "636": (T, "'The answer is Yes.' for gold True (a yes/no question)"),
    _M + "406": (T, "'The answer is Yes.' for gold True (a yes/no question)"),
    _M + "697": (T, "'The answer is Yes.' for gold True (a yes/no question)"),
    "theoremqa-internlm2-20b-55": (T, "ends 'The answer is False' after a caveat; one answer given"),
    "theoremqa-internlm2-20b-613": (T, "'So, the answer is False.'"),
    "theoremqa-internlm2-20b-236": (F, "'the answer is [0, 1]' vs gold [1, 1]; Math-Verify matches one element"),
    # SkyThought's Qwen2.5-Math-harness logs (gemma-2-27b-it, Qwen2.5-14B-Instruct, Llama-3.1-8B, Sky-T1-32B)
    "sky-gemma-2-27b-it-math500-407": (F, "cut off at 'Therefore, the value of f^{-1}(1/5) is:' before stating it (9 is in the working)"),
    "sky-gemma-2-27b-it-math500-480": (F, "lists 1 and two complex values; all possible values are just 1; published grade wrong"),
    "sky-gemma-2-27b-it-amc23-33": (T, "last line 'm + n = 25 + 169 = **194**'"),
    "sky-gemma-2-27b-it-amc23-19": (T, "boxes 4\\sqrt{5} (the form m sqrt n), then 'Therefore, m + n = 4 + 5 = 9.' answers the question asked"),
    "sky-qwen2.5-14b-instruct-math500-379": (T, "\\boxed{12^{\\mathrm{th}} \\text{ grade}} for gold 12"),
})

# GPT-3 zero-shot CoT AQuA records where only Math-Verify disagrees: its parse of a letter gold
# ("$D$") does not match the response's closing "the answer is D." (all read; all correct).
for _i in ("90", "82", "140", "101", "136", "157", "150", "2", "80", "79", "97", "185", "119", "179"):
    HAND[f"kojima-gpt3-aqua-{_i}"] = (T, "closing 'Therefore, among A through E, the answer is <letter>.'")

# Read and found right as both verifiers had it, where the published grade differs: the CS336 logs'
# answer_reward needs the R1-zero format as well as the answer, so it rejects correct answers that
# miss "</think> <answer>" (every one of these was read; all are correct).
VERIFIERS_RIGHT: frozenset[str] = frozenset({
    _B + "math500-106",
    _B + "math500-449",
    _B + "math500-86",
    _B + "math500-440",
    _B + "math500-479",
    _B + "math500-314",
    _B + "math500-0",
    _B + "math500-135",
    _B + "math500-441",
    _B + "math500-474",
    _B + "math500-276",
    _B + "math500-155",
    _B + "math500-95",
    _B + "math500-178",
    _B + "math500-42",
    _B + "math500-2",
    _B + "math500-414",
    _B + "math500-350",
    _B + "math500-337",
    _I + "math500-325",
    _I + "math500-83",
    _I + "math500-446",
    _I + "math500-114",
    _I + "math500-85",
    _I + "math500-442",
    _I + "math500-403",
    _I + "math500-417",
    _I + "math500-122",
    _B + "gsm8k-188",
    _B + "gsm8k-444",
    _B + "gsm8k-1157",
    _B + "gsm8k-797",
    _B + "gsm8k-1078",
    _B + "gsm8k-1197",
    _B + "gsm8k-528",
})

EXCLUDED: dict[str, str] = {
    "prime-qwen2.5-math-7b-instruct-gaokao2023en-167": "empty gold in the published log",
    "prime-llama-3.1-8b-instruct-gaokao2023en-83": "empty gold in the published log",
    "prime-prime-sft-ablation-gaokao2023en-167": "empty gold in the published log",
    "prime-llama-3.1-8b-instruct-minerva_math-162": (
        "gold 1.22 means 1.22e-18 J by the source's convention; the response's 1.22 x 10^-18 is right in"
        " physics and wrong against the literal gold"
    ),
    "prime-qwen2.5-math-7b-instruct-minerva_math-52": (
        "48.3 Angstrom against an integer gold 48 with no rounding asked: a grader's taste"
    ),
    _B + "gsm8k-1172": "ends 'she will have counted 3 + 6 + 12 + 24 + 48 clouds': right value, never evaluated",
    _B + "gsm8k-216": "garbled answer tag ('Output error! ... $220 remains ...') left open",
    _B + "gsm8k-1280": "states 7, then says the question is missing information and starts again",
    _B + "math500-476": "'The answer is approximately 500 feet' then concludes 200 (the gold): two answers",
    "prime-qwen2.5-math-7b-instruct-gaokao2023en-90": "gold garbled in the log (an empty \\overrightarrow{})",
    "prime-prime-sft-ablation-gaokao2023en-90": "gold garbled in the log (an empty \\overrightarrow{})",
    "prime-qwen2.5-math-7b-instruct-gaokao2023en-292": "gold garbled in the log ('+^{2}+b')",
    "prime-llama-3.1-8b-instruct-gaokao2023en-107": "gold garbled in the log ('145solution:')",
    "prime-prime-sft-ablation-gaokao2023en-107": "gold garbled in the log ('145solution:')",
    "prime-llama-3.1-8b-instruct-gaokao2023en-172": "gold garbled in the log ('1+\\sqrt{\\frac{q}{}}')",
    "sky-qwen2.5-14b-instruct-math500-298": "gold garbled in the log ('\\begin{pmatrix}-18-4996\\end{pmatrix}', row breaks lost)",
    "kojima-gpt3-gsm8k-77": "'In total, she earned $450.' then the trigger completion writes the digits one per line: 4 5 0",
}


def gsm_label(response: str, gold: str) -> bool | None:
    """The label of a GSM8K sample from its last line ``A: N`` (None when there is no such line)."""
    lines = response.strip().splitlines()
    m = re.fullmatch(r"A: ?\$?(-?[\d,]*\.?\d+)", lines[-1].strip()) if lines else None
    if not m:
        return None
    return Fraction(m.group(1).replace(",", "")) == Fraction(gold.replace(",", ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--candidates", type=Path, default=HERE / "candidates.jsonl")
    ap.add_argument("--verdicts", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=HERE / "corpus.jsonl")
    args = ap.parse_args()
    verdicts = {v["id"]: v for v in map(json.loads, args.verdicts.read_text().splitlines())}
    out = []
    for line in args.candidates.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        if rec["id"] in EXCLUDED:
            continue
        v = verdicts[rec["id"]]
        agree = v["j"] == v["m"] and (v["p"] is None or v["p"] == v["j"])
        note = ""
        if rec["id"] in HAND:
            label, note = HAND[rec["id"]]
            by = "hand"
        elif agree:
            label, by = v["j"], "agree"
        elif rec["id"] in VERIFIERS_RIGHT:
            assert v["j"] == v["m"], rec["id"]
            label, by = v["j"], "hand"
            note = "correct answer; the published reward also demands the R1-zero answer format"
        elif rec["id"].startswith("gsm-"):
            label = gsm_label(rec["response"], rec["gold"])
            assert label is not None and label == rec["published"], rec["id"]
            note, by = "last line 'A: N' (GSM8K answer line) read as the final answer", "hand"
        else:
            raise SystemExit(f"no label decided for {rec['id']}")
        published = rec.pop("published")
        out.append({**rec, "published_grade": published, "label": bool(label), "label_note": note, "labeled_by": by})
    with args.out.open("w", encoding="utf-8") as f:
        for rec in out:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    print(f"{len(out)} records -> {args.out} ({sum(r['label'] for r in out)} correct,"
          f" {sum(r['labeled_by'] == 'hand' for r in out)} by hand)")


if __name__ == "__main__":
    main()
