"""Cheap refusals before any parsing: code-like text ("unsafe") and explosive input ("too_large").

Every check here is a linear scan or a bounded regex; nothing is evaluated. The numeric bounds are
chosen so that anything accepted can be computed exactly in milliseconds:

- an answer longer than ``MAX_ANSWER_CHARS`` characters, or braces nested deeper than ``MAX_DEPTH``;
- exponents nested three deep (``a^{b^{c^{d}}}``), whatever the symbols;
- a power tower of literal numbers whose value would exceed ``MAX_EXPONENT`` in an exponent
  (``10^{10^{10}}``, ``2^{2^{2^{2^{2}}}}``), or any literal power with more than ``MAX_DIGITS`` digits;
- a factorial of a literal above ``MAX_FACTORIAL`` (``99999!``), a binomial with a literal above it;
- an integer literal longer than ``MAX_DIGITS`` digits, an e-notation exponent above ``MAX_E_EXPONENT``.
"""

from __future__ import annotations

import math
import re

MAX_ANSWER_CHARS = 10_000
MAX_DEPTH = 40
MAX_DIGITS = 20_000  # decimal digits of any exact integer we are willing to build
MAX_LITERAL_DIGITS = 4_000  # digits of one integer literal (Python's str->int limit is 4,300)
MAX_TOWER_DEPTH = 3  # a^{b^{c^{d}}} with any symbols is refused
MAX_EXPONENT = 10_000  # the largest literal exponent allowed at all
MAX_FACTORIAL = 2_000
MAX_E_EXPONENT = 1_000

_UNSAFE = re.compile(
    r"__|(?<!\\)\bimport\b|(?<!\\)\blambda\b|\beval\s*\(|\bexec\s*\(|\bos\.|\bsys\.|\bsubprocess\b|\bopen\s*\(|\bcompile\s*\("
    r"|\bgetattr\s*\(|\bglobals\s*\(|\blocals\s*\(|\bsystem\s*\(|\bbuiltins\b|\bpopen\b"
)
_FACTORIAL = re.compile(r"(?<!\d)(\d+)\s*!")
_BIG_INT = re.compile(r"\d{" + str(MAX_LITERAL_DIGITS + 1) + ",}")
_E_EXP = re.compile(r"\d[eE]\s*([+-]?\d+)")
# base ^ exponent where both are literal numbers (exponent braced or a bare digit run)
_LIT_POW = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s*\)?\s*\^\s*(\{\s*-?\s*\d+\s*\}|\d+)")
_ANY_POW = re.compile(r"\^\s*(?:\{\s*-?\s*(\d+)\s*\}|(\d+))")
_BINOM = re.compile(r"\\[dt]?binom\s*\{\s*(\d+)\s*\}\s*\{\s*(\d+)\s*\}")


def is_unsafe(text: str) -> bool:
    """True when the text looks like code (dunder access, imports, eval/exec, lambda, os/sys calls)."""
    return _UNSAFE.search(text) is not None


def _max_depth(text: str) -> int:
    depth = best = 0
    for ch in text:
        if ch in "{([":
            depth += 1
            if depth > best:
                best = depth
        elif ch in "})]":
            depth -= 1
    return best


def _has_numeric_tower(text: str) -> bool:
    """A ``^`` whose exponent group itself contains a ``^`` with only numbers around it."""
    i = text.find("^")
    while i >= 0:
        j = i + 1
        while j < len(text) and text[j] == " ":
            j += 1
        if j < len(text) and text[j] == "{":
            depth = 0
            k = j
            while k < len(text):
                if text[k] == "{":
                    depth += 1
                elif text[k] == "}":
                    depth -= 1
                    if depth == 0:
                        break
                k += 1
            group = text[j + 1 : k]
            if "^" in group and not re.search(r"[A-Za-z]", group.replace("\\cdot", "").replace("\\times", "")):
                if _tower_value_too_big(group):
                    return True
        i = text.find("^", i + 1)
    return False


def _tower_value_too_big(group: str) -> bool:
    """Bound a numeric exponent such as ``10^{10}`` or ``2^{2^{2}}`` without computing huge values."""
    nums = [int(n) for n in re.findall(r"\d+", group)]
    if not nums or "^" not in group:
        return False
    # evaluate the tower right to left with a cap on every intermediate value
    value = nums[-1]
    for base in reversed(nums[:-1]):
        if base <= 1:
            value = base
            continue
        if value * math.log10(base) > math.log10(MAX_EXPONENT):
            return True
        value = base**value
    return value > MAX_EXPONENT


def too_large(text: str) -> bool:
    """True when the answer is too big to handle exactly (see the module docstring)."""
    if len(text) > MAX_ANSWER_CHARS:
        return True
    if _max_depth(text) > MAX_DEPTH:
        return True
    if _BIG_INT.search(text):
        return True
    for m in _FACTORIAL.finditer(text):
        if int(m.group(1)) > MAX_FACTORIAL:
            return True
    for m in _BINOM.finditer(text):
        if int(m.group(1)) > MAX_FACTORIAL:
            return True
    for m in _E_EXP.finditer(text):
        if abs(int(m.group(1))) > MAX_E_EXPONENT:
            return True
    for m in _LIT_POW.finditer(text):
        base = float(m.group(1))
        exponent = abs(int(m.group(2).strip("{} ").replace(" ", "")))
        if exponent > MAX_EXPONENT:
            return True
        if base > 1 and exponent * math.log10(base) > MAX_DIGITS:
            return True
    for m in _ANY_POW.finditer(text):
        if int(m.group(1) or m.group(2)) > MAX_EXPONENT:
            return True
    if "^" in text and (_has_numeric_tower(text) or _tower_depth(text) >= MAX_TOWER_DEPTH):
        return True
    return False


def _tower_depth(text: str) -> int:
    """The deepest nesting of exponents: ``x^{y^{z}}`` has depth 2."""
    best = 0
    stack: list[bool] = []  # for each open brace: does it open an exponent?
    depth = 0
    pending = False
    for ch in text:
        if ch == "^":
            pending = True
            continue
        if ch == "{":
            stack.append(pending)
            if pending:
                depth += 1
                best = max(best, depth)
        elif ch == "}":
            if stack and stack.pop():
                depth -= 1
        elif pending and not ch.isspace():
            best = max(best, depth + 1)
        if not ch.isspace():
            pending = False
    return best
