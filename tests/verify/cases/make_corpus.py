"""Writes corpus.jsonl: hand-labelled (response, gold, correct, kind) cases for lenient mode.

Labels are what a careful human grader says, independent of any tool. Run from the repository root:
    python tests/verify/cases/make_corpus.py
Each table row is (answer-or-response, gold, correct). Rows whose first field starts with "RAW:" are
whole responses; the others are boxed inside a varying, typical response.
"""

from __future__ import annotations

import json
from pathlib import Path

TEMPLATES = (
    "Let me work through this carefully.\n\nAfter simplifying, we get the result.\n\nThe answer is $\\boxed{{{a}}}$.",
    "**Step 1.** Set up the equation.\n**Step 2.** Solve it.\n\nTherefore, the final answer is \\boxed{{{a}}}.",
    "<think>\nHmm, let me compute this. Wait, check again.\n</think>\n\nSo the result is \\[\\boxed{{{a}}}\\]",
    "We find that the value is\n$$\n\\boxed{{{a}}}\n$$",
)

CASES: dict[str, list[tuple[str, str, bool]]] = {
    "integer": [
        ("42", "42", True), ("042", "42", True), ("-7", "-7", True), ("7", "-7", False), ("41", "42", False),
        ("42.0", "42", True), ("\\mathbf{42}", "42", True), ("+2", "2", True), ("2", "+2", True),
        ("\\boxed{204}", "\\boxed{204}", True), ("204", "\\boxed{204}", True), ("240", "\\boxed{204}", False),
        ("{42}", "42", True), ("4 2", "42", False), ("420", "42", False), ("-0", "0", True),
        ("x=42", "42", True), ("n = 13", "13", True), ("13 \\text{ ways}", "13", True), ("1.3", "13", False),
    ],
    "fraction": [
        ("\\frac{1}{2}", "\\frac{1}{2}", True), ("\\frac{2}{4}", "\\frac{1}{2}", True), ("0.5", "\\frac{1}{2}", True),
        ("1/2", "\\frac12", True), ("\\dfrac{3}{4}", "\\frac 34", True), ("\\tfrac{9}{19}", "\\frac9{19}", True),
        ("-\\frac{35}{9}", "-\\frac{35}{9}", True), ("\\frac{-35}{9}", "-\\frac{35}{9}", True),
        ("\\frac{35}{-9}", "-\\frac{35}{9}", True), ("\\frac{35}{9}", "-\\frac{35}{9}", False),
        ("0.333", "\\frac{1}{3}", False), ("0.3333333333", "\\frac{1}{3}", False), ("\\frac{1}{3}", "\\frac{1}{3}", True),
        ("\\frac{9}{5}", "1\\frac{4}{5}", True), ("1.8", "1\\frac{4}{5}", True), ("\\frac{4}{5}", "1\\frac{4}{5}", False),
        ("137.5", "137 \\frac{1}{2}", True), ("\\frac{275}{2}", "137 \\frac{1}{2}", True),
        ("\\frac{3}{56}", "\\frac{3}{56}", True), ("\\frac{56}{3}", "\\frac{3}{56}", False),
        ("\\frac{1}{2^{99}}", "\\frac{1}{2^{99}}", True), ("\\frac{1}{2^{98}}", "\\frac{1}{2^{99}}", False),
        ("2^{-99}", "\\frac{1}{2^{99}}", True), ("\\frac{1}{2^{100}}", "\\frac{1}{2^{99}}", False),
        ("\\frac{2271049}{129600}", "\\frac{1507^{2}}{360^{2}}", True), ("\\frac{1507}{360}", "\\frac{1507^{2}}{360^{2}}", False),
        ("\\frac{9349}{327680}", "\\frac{9349}{327680}", True), ("\\frac{9349}{327681}", "\\frac{9349}{327680}", False),
        ("-1/3", "-1./3", True), ("-\\frac{3}{2}", "-3./2", True), ("-1.5", "-3./2", True), ("\\frac{3}{2}", "-3./2", False),
        ("\\frac{14}{3}", "\\frac{14}{3}", True), ("4\\frac{2}{3}", "\\frac{14}{3}", True), ("4.67", "\\frac{14}{3}", False),
    ],
    "decimal": [
        ("0.33", "0.33", True), ("\\frac{1}{3}", "0.33", True), ("0.333", "0.33", True), ("0.3", "0.33", False),
        ("0.34", "0.33", False), ("1.6", "1.6", True), ("1.62", "1.6", True), ("1.7", "1.6", False),
        ("1.66", "1.6", False), ("41.8", "41.8", True), ("42", "41.8", False),
        ("9.94", "9.94", True), ("9.9", "9.94", False), ("\\frac{497}{50}", "9.94", True),
        ("1.25", "1.25", True), ("\\frac{5}{4}", "1.25", True), ("1.3", "1.25", False), ("5/4", "1.25", True),
        ("0.0000672", ".0000672", True), ("6.72 \\times 10^{-5}", ".0000672", True), ("0.000067", ".0000672", False),
        ("0.35625", ".35625", True), ("\\frac{57}{160}", ".35625", True), ("0.356", ".35625", False),
        ("56", "56.0", True), ("56.04", "56.0", True), ("56.1", "56.0", False), ("-0.875", "-0.875", True),
        ("-\\frac{7}{8}", "-0.875", True), ("0.875", "-0.875", False), ("0.10", "0.10", True), ("0.1", "0.10", True),
        ("0.11", "0.10", False), ("326.5", "326.5", True), ("\\frac{653}{2}", "326.5", True), ("326", "326.5", False),
        ("4.5", "4.5", True), ("9/2", "4.5", True), ("4.56", "4.5", False),
    ],
    "scientific": [
        ("4.5 \\times 10^{33}", "4.5e33", True), ("4.5e33", "4.5e33", True), ("4.5 \\cdot 10^{33}", "4.5e33", True),
        ("4.5\\times10^{33}", "4.5e33", True), ("4.49 \\times 10^{33}", "4.5e33", True), ("4.5 \\times 10^{32}", "4.5e33", False),
        ("4.6 \\times 10^{33}", "4.5e33", False), ("45 \\times 10^{32}", "4.5e33", True), ("4.5 \\times 10^{34}", "4.5e33", False),
        ("3.83 \\times 10^{35}", "3.83e35", True), ("3.8 \\times 10^{35}", "3.83e35", False),
        ("1 \\times 10^{-5}", "1e-5", True), ("10^{-5}", "1e-5", True), ("10^{-4}", "1e-5", False),
        ("2.7778 \\times 10^{-6}", "2.7778e-6", True), ("2.78 \\times 10^{-6}", "2.7778e-6", False),
        ("3 \\times 10^{8}", "3e8", True), ("3.0 \\times 10^{8}", "3e8", True), ("3 \\times 10^{9}", "3e8", False),
        ("1.4903 \\times 10^{4}", "1.4903e4", True), ("14903", "1.4903e4", True), ("14900", "1.4903e4", False),
        ("7.4 \\times 10^{-12}", "7.4e-12", True), ("7.4 \\times 10^{12}", "7.4e-12", False),
        ("6.5 \\times 10^{-2}", "6.5e-2", True), ("0.065", "6.5e-2", True), ("0.65", "6.5e-2", False),
    ],
    "radical": [
        ("3\\sqrt{13}", "3\\sqrt{13}", True), ("\\sqrt{117}", "3\\sqrt{13}", True), ("3 \\sqrt{13}", "3\\sqrt{13}", True),
        ("\\sqrt{13} \\cdot 3", "3\\sqrt{13}", True), ("13\\sqrt{3}", "3\\sqrt{13}", False), ("10.8167", "3\\sqrt{13}", False),
        ("11\\sqrt{2}", "11\\sqrt2", True), ("\\sqrt{242}", "11\\sqrt2", True), ("\\frac{\\sqrt{3}}{3}", "\\frac{\\sqrt{3}}{3}", True),
        ("\\frac{1}{\\sqrt{3}}", "\\frac{\\sqrt{3}}{3}", True), ("\\frac{\\sqrt{3}}{2}", "\\frac{\\sqrt{3}}{3}", False),
        ("\\sqrt{3}-1", "\\sqrt{3}-1", True), ("-1+\\sqrt{3}", "\\sqrt{3}-1", True), ("1-\\sqrt{3}", "\\sqrt{3}-1", False),
        ("\\frac{9\\sqrt{23}}{23}", "\\frac{9 \\sqrt{23}}{23}", True), ("\\frac{9}{\\sqrt{23}}", "\\frac{9 \\sqrt{23}}{23}", True),
        ("\\sqrt{\\frac{95}{24}}", "\\sqrt{\\frac{95}{24}}", True), ("\\frac{\\sqrt{570}}{12}", "\\sqrt{\\frac{95}{24}}", True),
        ("\\frac{\\sqrt{570}}{24}", "\\sqrt{\\frac{95}{24}}", False), ("\\frac{8}{\\sqrt[3]{7}}", "$\\frac{8}{\\sqrt[3]{7}}$", True),
        ("\\frac{8\\sqrt[3]{49}}{7}", "$\\frac{8}{\\sqrt[3]{7}}$", True), ("\\frac{8}{\\sqrt{7}}", "$\\frac{8}{\\sqrt[3]{7}}$", False),
        ("3+2\\sqrt{2}", "3+2\\sqrt{2}", True), ("3-2\\sqrt{2}", "3+2\\sqrt{2}", False),
        ("\\frac{97-3\\sqrt{1001}}{2}", "\\frac{97-3\\sqrt{1001}}{2}", True), ("\\frac{97+3\\sqrt{1001}}{2}", "\\frac{97-3\\sqrt{1001}}{2}", False),
        ("\\sqrt{23}-2\\sqrt{3}", "\\sqrt{23}-2 \\sqrt{3}", True), ("\\sqrt{23}-\\sqrt{12}", "\\sqrt{23}-2 \\sqrt{3}", True),
        ("1.414", "\\sqrt{2}", False), ("\\sqrt{2}", "\\sqrt{2}", True), ("2^{1/2}", "\\sqrt{2}", True),
    ],
    "pi": [
        ("20\\pi", "20\\pi", True), ("20 \\pi", "20\\pi", True), ("\\pi \\cdot 20", "20\\pi", True), ("62.83", "20\\pi", False),
        ("10\\pi", "20\\pi", False), ("1-\\frac{2}{\\pi}", "1-\\frac{2}{\\pi}", True), ("\\frac{\\pi-2}{\\pi}", "1-\\frac{2}{\\pi}", True),
        ("\\frac{2}{\\pi}-1", "1-\\frac{2}{\\pi}", False), ("10+\\frac{40\\pi}{3}", "10+\\frac{40\\pi}{3}", True),
        ("\\frac{30+40\\pi}{3}", "10+\\frac{40\\pi}{3}", True), ("\\frac{20000}{\\pi}", "\\frac{20000}{\\pi}", True),
        ("\\frac{\\pi}{2}", "\\frac{\\pi}{2}", True), ("90", "\\frac{\\pi}{2}", False), ("-\\frac{\\pi}{6}", "-\\frac{\\pi}{6}", True),
        ("\\frac{-\\pi}{6}", "-\\frac{\\pi}{6}", True), ("\\frac{\\pi}{6}", "-\\frac{\\pi}{6}", False),
        ("\\pi", "\\pi", True), ("3.14", "\\pi", False), ("288\\pi", "288 \\pi", True), ("\\frac{\\pi^2-9}{9}", "$\\frac{\\pi^{2}-9}{9}$", True),
    ],
    "expression": [
        ("x^3+3x-6", "x^3+3x-6", True), ("3x+x^3-6", "x^3+3x-6", True), ("x^3+3x+6", "x^3+3x-6", False),
        ("(a+5)(b+2)", "(a+5)(b+2)", True), ("(b+2)(a+5)", "(a+5)(b+2)", True),
        ("(a+2)(b+5)", "(a+5)(b+2)", False), ("x^5 - x^4 + x^3 - x^2 + x - 1", "x^5 - x^4 + x^3 - x^2 + x - 1", True),
        ("(x+1)(x^4+x^2+1)", "x^5 - x^4 + x^3 - x^2 + x - 1", False),
        ("2k+2", "2k+2", True), ("2(k+1)", "2k+2", True), ("2k+1", "2k+2", False), ("p-q", "p - q", True), ("q-p", "p - q", False),
        ("6r^2-4r-24", "6r^2-4r-24", True), ("2(3r^2-2r-12)", "6r^2-4r-24", True), ("6r^2-4r+24", "6r^2-4r-24", False),
        ("\\frac{11+9a}{20}", "\\frac{11+9a}{20}", True), ("\\frac{11}{20}+\\frac{9a}{20}", "\\frac{11+9a}{20}", True),
        ("\\frac{11+9a}{2}", "\\frac{11+9a}{20}", False), ("5r^5", "5r^5", True), ("5r^4", "5r^5", False),
        ("3R^2", "3R^2", True), ("-13x+3", "-13x+3", True), ("3-13x", "-13x+3", True), ("13x+3", "-13x+3", False),
        ("\\frac{n(n+1)}{2}", "$\\frac{n(n+1)}{2}$", True), ("\\frac{n^2+n}{2}", "$\\frac{n(n+1)}{2}$", True),
        ("\\frac{n(n-1)}{2}", "$\\frac{n(n+1)}{2}$", False), ("2^{k-1}", "$2^{k-1}$", True), ("\\frac{2^k}{2}", "$2^{k-1}$", True),
        ("2^{k+1}", "$2^{k-1}$", False), ("\\cot x", "\\cot x", True), ("\\frac{\\cos x}{\\sin x}", "\\cot x", True),
        ("\\tan x", "\\cot x", False), ("e^{t}/3", "e^{t} / 3", True), ("\\frac{e^t}{3}", "e^{t} / 3", True), ("e^{3t}", "e^{t} / 3", False),
        ("\\frac{1}{4-\\omega^{2}}", "\\frac{1}{4-\\omega^{2}}", True), ("-\\frac{1}{\\omega^2-4}", "\\frac{1}{4-\\omega^{2}}", True),
        ("\\frac{1}{\\omega^{2}-4}", "\\frac{1}{4-\\omega^{2}}", False), ("2^{25}\\cdot 26!", "2^{25} \\cdot 26!", True),
        ("26! \\cdot 2^{25}", "2^{25} \\cdot 26!", True), ("2^{26}\\cdot 25!", "2^{25} \\cdot 26!", False),
        ("2024^{4046}", "2024^{4046}", True), ("2024^{4045}", "2024^{4046}", False),
    ],
    "equation": [
        ("x=5", "x=5", True), ("5", "x=5", True), ("x = 5", "x=5", True), ("y=5", "x=5", False), ("x=-5", "x=5", False),
        ("2x+3", "y = 2x + 3", True), ("y=2x+3", "y = 2x + 3", True), ("y=3+2x", "y = 2x + 3", True), ("y=2x-3", "y = 2x + 3", False),
        ("y - 2x = 3", "y = 2x + 3", True), ("2y = 4x + 6", "y = 2x + 3", True), ("y=-2x", "y = -2x", True), ("y=2x", "y = -2x", False),
        ("5x - 7y + 11z + 4 = 0", "5x - 7y + 11z + 4 = 0", True), ("-5x+7y-11z-4=0", "5x - 7y + 11z + 4 = 0", True),
        ("10x - 14y + 22z + 8 = 0", "5x - 7y + 11z + 4 = 0", True), ("5x - 7y + 11z - 4 = 0", "5x - 7y + 11z + 4 = 0", False),
        ("f(x)=2x", "$f(x)=2 x$", True), ("2x", "$f(x)=2 x$", True), ("f(x) = x+x", "$f(x)=2 x$", True), ("f(x)=x", "$f(x)=2 x$", False),
        ("k=1", "$k=1$", True), ("1", "$k=1$", True), ("k=2", "$k=1$", False), ("M = 2^{N-2}+1", "$M=2^{N-2}+1$", True),
        ("2^{N-2}+1", "$M=2^{N-2}+1$", True), ("2^{N-1}+1", "$M=2^{N-2}+1$", False),
        ("f(n)=n, g(n)=1", "$f(n)=n$, $g(n)=1$", True), ("f(n)=1, g(n)=n", "$f(n)=n$, $g(n)=1$", False),
        ("f(x)=x+1 \\text{ and } f(x)=-1", "$f(x)=-1$,$f(x)=x+1$", True), ("f(x)=x+1", "$f(x)=-1$,$f(x)=x+1$", False),
    ],
    "list_unordered": [
        ("1,-2", "1,-2", True), ("-2, 1", "1,-2", True), ("1, 2", "1,-2", False), ("1", "1,-2", False), ("1,-2,3", "1,-2", False),
        ("3, 5, 7", "3, 5, 7", True), ("7, 5, 3", "3, 5, 7", True), ("3,5", "3, 5, 7", False), ("\\{3, 5, 7\\}", "3, 5, 7", True),
        ("x=1, x=2", "1,2", True), ("1 \\text{ and } 2", "1,2", True), ("2 \\text{ or } 1", "1,2", True), ("1, 3", "1,2", False),
        ("-2,1", "-2,1", True), ("1, -2", "-2,1", True), ("69, 84", "$69$,$84$", True), ("84, 69", "$69$,$84$", True),
        ("69", "$69$,$84$", False), ("2,3,\\frac{3+i\\sqrt{3}}{2},\\frac{3-i\\sqrt{3}}{2}", "2,3,\\frac{3+i\\sqrt{3}}{2},\\frac{3-i\\sqrt{3}}{2}", True),
        ("\\frac{3-i\\sqrt{3}}{2}, \\frac{3+i\\sqrt{3}}{2}, 3, 2", "2,3,\\frac{3+i\\sqrt{3}}{2},\\frac{3-i\\sqrt{3}}{2}", True),
        ("2, 3", "2,3,\\frac{3+i\\sqrt{3}}{2},\\frac{3-i\\sqrt{3}}{2}", False),
        ("\\frac{-1-\\sqrt{17}}{2}, \\frac{-1+\\sqrt{17}}{2}", "\\frac{-1+\\sqrt{17}}{2}, \\frac{-1-\\sqrt{17}}{2}", True),
        ("\\frac{-1\\pm\\sqrt{17}}{2}", "\\frac{-1+\\sqrt{17}}{2}, \\frac{-1-\\sqrt{17}}{2}", True),
        ("\\frac{-1+\\sqrt{17}}{2}", "\\frac{-1+\\sqrt{17}}{2}, \\frac{-1-\\sqrt{17}}{2}", False),
        ("1,1", "1,2", False), ("1,2", "1,1", False), ("2500, 7500", "2500,7500", True), ("7500, 2500", "2500,7500", True),
        ("10,11,12,13,14,-2,-1,0,1,2", "10,11,12,13,14,-2,-1,0,1,2", True), ("-2,-1,0,1,2,10,11,12,13,14", "10,11,12,13,14,-2,-1,0,1,2", True),
        ("-2,-1,0,1,2,10,11,12,13", "10,11,12,13,14,-2,-1,0,1,2", False),
    ],
    "tuple_ordered": [
        ("(6,31,-1)", "(6,31,-1)", True), ("(6, 31, -1)", "(6,31,-1)", True), ("(31,6,-1)", "(6,31,-1)", False),
        ("(6,31)", "(6,31,-1)", False), ("\\left( 3, \\frac{\\pi}{2} \\right)", "\\left( 3, \\frac{\\pi}{2} \\right)", True),
        ("(3, \\pi/2)", "\\left( 3, \\frac{\\pi}{2} \\right)", True), ("(\\frac{\\pi}{2}, 3)", "\\left( 3, \\frac{\\pi}{2} \\right)", False),
        ("(-2,1)", "(-2,1)", True), ("(1,-2)", "(-2,1)", False),
        ("(1.5, -13)", "\\left( \\frac{3}{2}, -13 \\right)", True), ("(\\frac{3}{2}, 13)", "\\left( \\frac{3}{2}, -13 \\right)", False),
        ("(1,8,19), (2,7,13), (4,5,7)", "$(1,8,19), (2,7,13), (4,5,7)$", True), ("(4,5,7), (1,8,19), (2,7,13)", "$(1,8,19), (2,7,13), (4,5,7)$", True),
        ("(1,8,19), (2,13,7), (4,5,7)", "$(1,8,19), (2,7,13), (4,5,7)$", False), ("(1,8,19), (2,7,13)", "$(1,8,19), (2,7,13), (4,5,7)$", False),
        ("(1,-16,-4,43)", "(1,-16,-4,43)", True), ("(1,-16,4,43)", "(1,-16,-4,43)", False), ("(15,-29)", "(15,-29)", True),
        ("(3,2),(-3,2),(3,-2),(-3,-2)", "$(3,2),(-3,2),(3,-2),(-3,-2)$", True), ("(3,2),(-3,2),(3,-2)", "$(3,2),(-3,2),(3,-2),(-3,-2)$", False),
    ],
    "interval": [
        ("(3,4]", "(3,4]", True), ("(3, 4]", "(3,4]", True), ("[3,4]", "(3,4]", False), ("(3,4)", "(3,4]", False),
        ("\\left(3,4\\right]", "(3,4]", True), ("(2,\\infty)", "(2,\\infty)", True), ("(2, \\infty)", "(2,\\infty)", True),
        ("[2,\\infty)", "(2,\\infty)", False), ("(-\\infty, 0]", "(-\\infty, 0]", True), ("(-\\infty, 0)", "(-\\infty, 0]", False),
        ("x \\le 0", "(-\\infty, 0]", True), ("x < 0", "(-\\infty, 0]", False), ("(0,9) \\cup (9,36)", "(0,9) \\cup (9,36)", True),
        ("(9,36) \\cup (0,9)", "(0,9) \\cup (9,36)", True), ("(0,36)", "(0,9) \\cup (9,36)", False), ("(0,9] \\cup (9,36)", "(0,9) \\cup (9,36)", False),
        ("(-\\infty,2)\\cup(3,\\infty)", "(-\\infty, 2) \\cup (3, \\infty)", True), ("(-\\infty,2]\\cup[3,\\infty)", "(-\\infty, 2) \\cup (3, \\infty)", False),
        ("[-2,7]", "x \\in [-2,7]", True), ("x \\in [-2, 7]", "x \\in [-2,7]", True), ("-2 \\le x \\le 7", "x \\in [-2,7]", True),
        ("(-2,7)", "x \\in [-2,7]", False), ("\\left[ \\frac{\\pi^2}{8}, \\frac{5 \\pi^2}{4} \\right]", "\\left[ \\frac{\\pi^2}{8}, \\frac{5 \\pi^2}{4} \\right]", True),
        ("[\\frac{\\pi^2}{8}, \\frac{5\\pi^2}{4})", "\\left[ \\frac{\\pi^2}{8}, \\frac{5 \\pi^2}{4} \\right]", False),
        ("\\left(\\frac{3}{5},\\frac{8}{3}\\right]", "\\left(\\frac{3}{5},\\frac{8}{3}\\right]", True), ("(0.6, \\frac{8}{3}]", "\\left(\\frac{3}{5},\\frac{8}{3}\\right]", True),
        ("(\\frac{3}{5},\\frac{8}{3})", "\\left(\\frac{3}{5},\\frac{8}{3}\\right]", False), ("(-\\sqrt{3}, \\sqrt{3})", "(-\\sqrt{3}, \\sqrt{3})", True),
        ("(-\\sqrt{3}, \\sqrt{2})", "(-\\sqrt{3}, \\sqrt{3})", False), ("[\\frac{1}{2}, 8]", "$[\\frac{1}{2}, 8]$", True), ("[0.5, 8]", "$[\\frac{1}{2}, 8]$", True),
        ("(-\\infty,-5)", "(-\\infty,-5)", True), ("x<-5", "(-\\infty,-5)", True), ("x>-5", "(-\\infty,-5)", False),
    ],
    "inequality": [
        ("x > 3", "x > 3", True), ("3 < x", "x > 3", True), ("x \\ge 3", "x > 3", False), ("x > 4", "x > 3", False),
        ("(3, \\infty)", "x > 3", True), ("k \\geq 2", "$k \\geqslant 2$", True), ("k \\ge 2", "$k \\geqslant 2$", True),
        ("2 \\le k", "$k \\geqslant 2$", True), ("k > 2", "$k \\geqslant 2$", False), ("n \\geq 2", "$k \\geqslant 2$", False),
        ("1 < x < 5", "1 < x < 5", True), ("5 > x > 1", "1 < x < 5", True), ("1 \\le x < 5", "1 < x < 5", False), ("(1,5)", "1 < x < 5", True),
    ],
    "matrix": [
        ("\\begin{pmatrix} -2 \\\\ -14 \\\\ -7 \\end{pmatrix}", "\\begin{pmatrix} -2 \\\\ -14 \\\\ -7 \\end{pmatrix}", True),
        ("\\begin{bmatrix} -2 \\\\ -14 \\\\ -7 \\end{bmatrix}", "\\begin{pmatrix} -2 \\\\ -14 \\\\ -7 \\end{pmatrix}", True),
        ("(-2, -14, -7)", "\\begin{pmatrix} -2 \\\\ -14 \\\\ -7 \\end{pmatrix}", True),
        ("\\begin{pmatrix} -2 & -14 & -7 \\end{pmatrix}", "\\begin{pmatrix} -2 \\\\ -14 \\\\ -7 \\end{pmatrix}", False),
        ("\\begin{pmatrix} -2 \\\\ -14 \\end{pmatrix}", "\\begin{pmatrix} -2 \\\\ -14 \\\\ -7 \\end{pmatrix}", False),
        ("\\begin{pmatrix} -2 \\\\ 14 \\\\ -7 \\end{pmatrix}", "\\begin{pmatrix} -2 \\\\ -14 \\\\ -7 \\end{pmatrix}", False),
        ("\\begin{pmatrix} -\\frac{1}{3} \\\\ \\frac{2}{3} \\\\ \\frac{5}{3} \\end{pmatrix}", "\\begin{pmatrix} -1/3 \\\\ 2/3 \\\\ 5/3 \\end{pmatrix}", True),
        ("\\begin{pmatrix} 1/3 \\\\ 2/3 \\\\ 5/3 \\end{pmatrix}", "\\begin{pmatrix} -1/3 \\\\ 2/3 \\\\ 5/3 \\end{pmatrix}", False),
        ("\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}", "\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}", True),
        ("\\begin{bmatrix}-1&0\\\\0&-1\\end{bmatrix}", "\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}", True),
        ("\\begin{pmatrix} -1 & 0 & 0 & -1 \\end{pmatrix}", "\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}", False),
        ("\\begin{pmatrix} 1 & 0 \\\\ 0 & 1 \\end{pmatrix}", "\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}", False),
        ("(-1, 0, 0, -1)", "\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}", False),
        ("\\begin{pmatrix} 0.2 \\\\ -3.6 \\end{pmatrix}", "\\begin{pmatrix} 1/5 \\\\ -18/5 \\end{pmatrix}", True),
    ],
    "plus_minus": [
        ("1 \\pm \\sqrt{19}", "1 \\pm \\sqrt{19}", True), ("1+\\sqrt{19}, 1-\\sqrt{19}", "1 \\pm \\sqrt{19}", True),
        ("1-\\sqrt{19}, 1+\\sqrt{19}", "1 \\pm \\sqrt{19}", True), ("1+\\sqrt{19}", "1 \\pm \\sqrt{19}", False),
        ("-1 \\pm \\sqrt{19}", "1 \\pm \\sqrt{19}", False), ("3 \\pm 2\\sqrt{2}", "3 \\pm 2 \\sqrt{2}", True),
        ("3 \\mp 2\\sqrt{2}", "3 \\pm 2 \\sqrt{2}", True), ("\\{1\\pm\\sqrt{5}, -2\\}", "\\{1\\pm\\sqrt{5},-2\\}", True),
        ("-2, 1+\\sqrt{5}, 1-\\sqrt{5}", "\\{1\\pm\\sqrt{5},-2\\}", True), ("1+\\sqrt{5}, 1-\\sqrt{5}", "\\{1\\pm\\sqrt{5},-2\\}", False),
    ],
    "percent": [
        ("50\\%", "50", True), ("50", "50\\%", True), ("50 \\%", "50\\%", True), ("0.5", "50\\%", False), ("5\\%", "50\\%", False),
        ("62.5\\%", "62.5%", True), ("62.5", "62.5%", True), ("\\frac{125}{2}\\%", "62.5%", True), ("0.625", "62.5%", False),
        ("8\\%", "$8 \\%$", True), ("17.5", "17.5%", True), ("17.6\\%", "17.5%", False),
    ],
    "units": [
        ("30", "30^\\circ", True), ("30^\\circ", "30^\\circ", True), ("30^{\\circ}", "30^\\circ", True), ("30°", "30^\\circ", True),
        ("30 \\text{ degrees}", "30^\\circ", True), ("\\frac{\\pi}{6}", "30^\\circ", False), ("60^\\circ", "30^\\circ", False),
        ("5.4", "5.4 \\text{ cents}", True), ("5.4 \\text{ cents}", "5.4 \\text{ cents}", True), ("5.4\\text{ cents}", "5.4 \\text{ cents}", True),
        ("5.5", "5.4 \\text{ cents}", False), ("864", "864 \\mbox{ inches}^2", True), ("864 \\text{ in}^2", "864 \\mbox{ inches}^2", True),
        ("846", "864 \\mbox{ inches}^2", False), ("15", "15\\mbox{ cm}^2", True), ("15 \\text{ cm}^2", "15\\mbox{ cm}^2", True),
        ("\\frac{270}{7}", "\\frac{270}7\\text{ degrees}", True), ("\\frac{270}{7}^\\circ", "\\frac{270}7\\text{ degrees}", True),
        ("\\$32,348", "\\$32,\\!348", True), ("32348", "\\$32,\\!348", True), ("32,348 \\text{ dollars}", "\\$32,\\!348", True),
        ("\\$18.90", "\\$18.90", True), ("18.9", "\\$18.90", True), ("18.09", "\\$18.90", False), ("36", "\\$36", True),
        ("90", "90^\\circ", True), ("89", "90^\\circ", False), ("5 \\text{ cm}", "5", True), ("5 cm", "5", True),
    ],
    "thousands": [
        ("10080", "10,\\!080", True), ("10,080", "10,\\!080", True), ("10{,}080", "10,\\!080", True), ("10\\,080", "10,\\!080", True),
        ("10 080", "10,\\!080", True), ("1008", "10,\\!080", False), ("11111111100", "11,\\! 111,\\! 111,\\! 100", True),
        ("11,111,111,100", "11,\\! 111,\\! 111,\\! 100", True), ("1111111100", "11,\\! 111,\\! 111,\\! 100", False),
        ("58500", "58,500", True), ("58,500", "58500", True), ("58.5", "58,500", False), ("1,000", "1000", True), ("1{,}000", "1000", True),
        ("1\\,000", "1000", True), ("1,2", "12", False), ("1,2", "1,2", True), ("12", "1,2", False),
    ],
    "base": [
        ("52_8", "52_8", True), ("52_{8}", "52_8", True), ("52", "52_8", True), ("42", "52_8", False), ("52_{10}", "52_8", False),
        ("4210_5", "4210_{5}", True), ("4210", "4210_{5}", True), ("4201_5", "4210_{5}", False), ("1011_2", "1011_2", True),
        ("2516_8", "2516_8", True), ("2516_{8}", "2516_8", True), ("1358", "2516_8", False),
    ],
    "complex": [
        ("3+4i", "3+4i", True), ("3 + 4 i", "3+4i", True), ("4i+3", "3+4i", True), ("3+4\\cdot i", "3+4i", True), ("3-4i", "3+4i", False),
        ("4+3i", "3+4i", False), ("6-5i", "6 - 5i", True), ("-5i+6", "6 - 5i", True), ("6+5i", "6 - 5i", False),
        ("1+274i", "1+274i", True), ("274i+1", "1+274i", True), ("1+2i", "1+2i", True), ("2i+1", "1+2i", True), ("2+i", "1+2i", False),
        ("-2+2\\sqrt{3} i", "-2+2 \\sqrt{3} i", True), ("-2+2i\\sqrt{3}", "-2+2 \\sqrt{3} i", True), ("2+2i\\sqrt{3}", "-2+2 \\sqrt{3} i", False),
        ("1+\\sqrt{3}i", "1+\\sqrt{3} i", True), ("1+i\\sqrt{3}", "1+\\sqrt{3} i", True), ("\\ln 2 + \\frac{i\\pi}{3}", "\\ln 2 + i\\pi / 3", True),
    ],
    "repeating": [
        ("0.\\overline{3}", "\\frac{1}{3}", True), ("\\frac{1}{3}", "0.\\overline{3}", True), ("0.\\overline{6}", "\\frac{1}{3}", False),
        ("0.1\\overline{6}", "\\frac{1}{6}", True), ("0.\\overline{16}", "\\frac{1}{6}", False), ("0.\\overline{142857}", "\\frac{1}{7}", True),
        ("1.\\overline{3}", "\\frac{4}{3}", True), ("0.\\overline{45}", "\\frac{5}{11}", True), ("0.45", "\\frac{5}{11}", False),
    ],
    "text": [
        ("\\text{Evelyn}", "\\text{Evelyn}", True), ("Evelyn", "\\text{Evelyn}", True), ("\\text{evelyn}", "\\text{Evelyn}", True),
        ("\\text{Navin}", "\\text{Evelyn}", False), ("\\text{east}", "\\text{east}", True), ("East", "\\text{east}", True),
        ("\\text{West}", "\\text{east}", False), ("\\text{even}", "\\text{even}", True), ("\\text{odd}", "\\text{even}", False),
        ("\\text{ellipse}", "\\text{ellipse}", True), ("\\text{Ellipse}", "\\text{ellipse}", True), ("\\text{parabola}", "\\text{ellipse}", False),
        ("\\text{Monday}", "\\text{Monday}", True), ("\\textbf{Monday}", "\\text{Monday}", True), ("\\text{Tuesday}", "\\text{Monday}", False),
    ],
    "multiple_choice": [
        ("(C)", "\\text{(C)}", True), ("C", "\\text{(C)}", True), ("\\textbf{(C)}", "\\text{(C)}", True), ("\\text{(C)}", "\\text{(C)}", True),
        ("(B)", "\\text{(C)}", False), ("\\text{(E)}", "\\text{(E)}", True), ("E", "\\text{(E)}", True), ("D", "\\text{(E)}", False),
        ("\\text{(B)}", "\\text{(B)}", True), ("(B)", "\\text{(B)}", True), ("\\textbf{(B) }", "\\text{(B)}", True), ("(A)", "\\text{(B)}", False),
    ],
    "tiny_values": [
        ("\\frac{1}{2^{99}}", "\\frac{1}{2^{99}}", True), ("\\frac{1}{2^{98}}", "\\frac{1}{2^{99}}", False),
        ("2^{-98}", "2^{-99}", False), ("10^{-30}", "10^{-31}", False), ("\\frac{1}{3^{60}}", "\\frac{1}{3^{61}}", False),
        ("\\frac{\\sqrt{2}}{2^{120}}", "\\frac{\\sqrt{2}}{2^{121}}", False), ("\\frac{\\sqrt{2}}{2^{121}}", "\\frac{\\sqrt{2}}{2^{121}}", True),
        ("\\frac{1}{2^{121}\\sqrt{2}}", "\\frac{\\sqrt{2}}{2^{122}}", True), ("0", "\\frac{1}{2^{99}}", False), ("2^{99}", "2^{99}", True),
        ("2^{99}+1", "2^{99}", False), ("633825300114114700748351602688", "2^{99}", True), ("633825300114114700748351602689", "2^{99}", False),
    ],
    "traps": [
        ("2x", "2", False), ("\\frac{1}{2}x", "\\frac{1}{2}", False), ("10\\%", "0.1", False), ("(1,2]", "(1,2)", False),
        ("x=5, y=3", "x=5", False), ("x = 5 \\text{ or } x = 6", "5", False), ("\\text{(C) and (D)}", "\\text{(C)}", False),
        ("c", "C", False), ("\\text{not even}", "\\text{even}", False), ("3.0000000001", "3", False), ("5 x", "5", False),
        ("5!", "5", False), ("-2", "2", False), ("\\pm 2", "4", False), ("0.999", "1", False), ("1,2,3,3", "1,2,3", False),
        ("\\varnothing", "0", False), ("yes", "\\text{No}", False), ("1 0", "10", False), ("2.82842712474619", "2\\sqrt{2}", False),
        ("-\\infty", "\\infty", False), ("x", "x^2", False), ("\\frac{1}{x}", "x^{-2}", False), ("\\sin x", "\\cos x", False),
        ("\\ln 3", "\\log_{2} 3", False), ("e^{2}", "2e", False), ("i", "-i", False), ("(2,3)", "2,3", False),
        ("2,3", "(2,3)", False), ("[2,3]", "\\begin{pmatrix} 2 \\\\ 3 \\end{pmatrix}", False),
        ("\\sqrt{2}\\cdot 10^{60}+2-\\sqrt{2}\\cdot 10^{60}", "1", False), ("\\sin(1)", "0", False),
        ("\\frac{\\sqrt{3}}{2^{150}}", "\\frac{\\sqrt{3}}{2^{151}}", False), ("e^{-100}", "e^{-101}", False),
    ],
    "accepted_variants": [
        ("(C) 12", "\\text{(C)}", True), ("4.5 \\times 10^{33} \\text{ erg/s}", "4.5e33", True),
        ("3.3 \\times 10^{12} \\mathrm{~m}", "3.3e12", True), ("5!", "120", True), ("\\exp(1)", "e", True),
        ("\\frac{1}{3} \\approx 0.333", "\\frac{1}{3}", True), ("\\sqrt{4}", "2", True), ("0.0", "0", True), ("-0.0", "0", True),
        ("0.\\overline{9}", "1", True), ("\\frac{1}{2}\\text{ dollars}", "\\frac{1}{2}", True), ("2^{1}", "2", True),
        ("x\\cdot x", "x^2", True), ("\\varnothing", "\\emptyset", True), ("no", "\\text{No}", True), ("10.", "10", True),
        ("\\sqrt{8}", "2\\sqrt{2}", True), ("\\mathbf{42}", "42", True), ("\\textbf{7}", "7", True),
        ("\\cos(\\pi/2)", "0", True), ("\\sqrt{2}\\cdot 10^{60}+1-\\sqrt{2}\\cdot 10^{60}", "1", True),
    ],
    "symbolic_physics": [
        ("\\sqrt{4\\pi G\\rho_{0} r_{0}^{2}}", "\\sqrt{4 \\pi G \\rho_{0} r_{0}^{2}}", True),
        ("2 r_0 \\sqrt{\\pi G \\rho_0}", "\\sqrt{4 \\pi G \\rho_{0} r_{0}^{2}}", True),
        ("\\sqrt{2\\pi G\\rho_{0} r_{0}^{2}}", "\\sqrt{4 \\pi G \\rho_{0} r_{0}^{2}}", False),
        ("\\frac{a M^{1/3}}{G M^{2/3} + b}", "\\frac{a M^{1 / 3}}{G M^{2 / 3}+b}", True),
        ("\\frac{a M^{1/3}}{G M^{1/3} + b}", "\\frac{a M^{1 / 3}}{G M^{2 / 3}+b}", False),
        ("\\frac{\\cos(2t)}{15}", "\\frac{\\cos (2 t)}{15}", True), ("\\frac{\\cos(2t)}{5}", "\\frac{\\cos (2 t)}{15}", False),
        ("\\frac{1}{s+a}", "\\frac{1}{s+a}", True), ("(s+a)^{-1}", "\\frac{1}{s+a}", True), ("\\frac{1}{s-a}", "\\frac{1}{s+a}", False),
        ("\\frac{2\\pi}{\\omega}", "2 \\pi / \\omega", True), ("\\frac{\\pi}{\\omega}", "2 \\pi / \\omega", False),
        ("s^2+\\omega^2", "s^{2}+\\omega^{2}", True), ("\\omega^2+s^2", "s^{2}+\\omega^{2}", True), ("s^2-\\omega^2", "s^{2}+\\omega^{2}", False),
        ("\\frac{t}{4}\\sin(2t)", "\\frac{t}{4} \\sin (2 t)", True),
        ("\\frac{t}{2}\\sin(2t)", "\\frac{t}{4} \\sin (2 t)", False),
    ],
}

RAW_CASES: list[tuple[str, str, bool, str]] = [
    # extraction: last box wins, boxes anywhere, \boxed 5, \fbox
    ("First guess \\boxed{3}. On reflection that is wrong; the answer is \\boxed{5}.", "5", True, "several_boxes"),
    ("Initially \\boxed{5}, but correcting an error gives \\boxed{3}.", "5", False, "several_boxes"),
    ("The answer is \\boxed{5}. " + "Let me double-check this long verification. " * 20, "5", True, "several_boxes"),
    ("So the answer is \\boxed 5.", "5", True, "extraction"), ("So the answer is \\fbox{5}.", "5", True, "extraction"),
    ("So the answer is \\boxed{\\frac{1}{2}}.", "\\frac{1}{2}", True, "extraction"),
    ("Thus $\\boxed{\\{1, 2\\}}$ are the roots.", "1,2", True, "extraction"),
    # explicit statements without a box
    ("We compute 6*7.\nAnswer: 42", "42", True, "statement"), ("We compute 6*7.\n\nFinal Answer: 42", "42", True, "statement"),
    ("So the final answer is $\\frac{3}{4}$.", "\\frac34", True, "statement"), ("The answer is 17.", "17", True, "statement"),
    ("**Answer:** $12$", "12", True, "statement"), ("Answer: 41", "42", False, "statement"),
    ("The final answer is 3.5.", "\\frac{7}{2}", True, "statement"), ("Answer: (B)", "\\text{(B)}", True, "statement"),
    # no answer at all
    ("I think the number is probably about 42 but I am not sure how to finish.", "42", False, "no_answer"),
    ("Let's compute 6 times 7, which is 42, and then we need to subtract", "42", False, "no_answer"),
    ("", "42", False, "no_answer"), ("\\boxed{}", "42", False, "no_answer"),
    # truncated
    ("After all this work the answer is \\boxed{4", "42", False, "truncated"),
    ("After all this work the answer is \\boxed{\\frac{1}{2}", "\\frac{1}{2}", False, "truncated"),
    ("We first got \\boxed{42}. Then checking again, the final answer is \\boxed{4", "42", False, "truncated"),
    ("<think>\nLet me think. The answer could be \\boxed{42} maybe, let me verify", "42", False, "truncated"),
    ("So the answer is \\boxed", "42", False, "truncated"),
    # hedges
    ("The answer is \\boxed{2} or \\boxed{3}.", "2", False, "hedge"), ("It is either $\\boxed{3}$ or $\\boxed{2}$", "2", False, "hedge"),
    ("The answer is \\boxed{2} or \\boxed{2}.", "2", True, "hedge"), ("\\boxed{2 \\text{ or } 3}", "2", False, "hedge"),
    ("The solutions are \\boxed{2} and \\boxed{3}.", "2,3", True, "several_boxes"),
    ("The solutions are $\\boxed{-1}$, $\\boxed{2}$, $\\boxed{-2}$", "$-1$,$2$,$-2$", True, "several_boxes"),
    ("(a) \\boxed{69} (b) \\boxed{84}", "$69$,$84$", True, "several_boxes"),
    # thinking models: the answer after </think>
    ("<think>\nmaybe \\boxed{7}\n</think>\nThe answer is \\boxed{8}.", "8", True, "extraction"),
    ("<think>\nthe answer is \\boxed{8}\n</think>\nFinal answer: 8", "8", True, "extraction"),
    # adversarial and code-like
    ("\\boxed{__import__('os').system('touch /tmp/pwned')}", "0", False, "unsafe"),
    ("\\boxed{eval('2+2')}", "4", False, "unsafe"), ("\\boxed{lambda: 4}", "4", False, "unsafe"),
    ("\\boxed{10^{10^{10}}}", "10", False, "too_large"), ("\\boxed{2^{2^{2^{2^{2}}}}}", "4", False, "too_large"),
    ("\\boxed{99999!}", "1", False, "too_large"), ("\\boxed{" + "{" * 500 + "1" + "}" * 500 + "}", "1", False, "too_large"),
    ("\\boxed{10^{1000000}}", "1", False, "too_large"),
    ("\\boxed{42 + x}", "42", False, "adversarial"),
    ("\\boxed{x}", "42", False, "adversarial"), ("\\boxed{42\\%}", "0.42", False, "adversarial"),
    ("\\boxed{\\infty}", "42", False, "adversarial"), ("\\boxed{4,2}", "42", False, "adversarial"),
    ("\\boxed{42, 43}", "42", False, "adversarial"), ("\\boxed{(42)}", "42", True, "adversarial"),
]


def main() -> None:
    out = Path(__file__).with_name("corpus.jsonl")
    rows = []
    k = 0
    for kind, cases in CASES.items():
        for answer, gold, correct in cases:
            response = TEMPLATES[k % len(TEMPLATES)].format(a=answer)
            k += 1
            rows.append({"response": response, "gold": gold, "correct": correct, "kind": kind})
    for response, gold, correct, kind in RAW_CASES:
        rows.append({"response": response, "gold": gold, "correct": correct, "kind": kind})
    with out.open("w") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")
    print(f"wrote {len(rows)} cases to {out}")


if __name__ == "__main__":
    main()
