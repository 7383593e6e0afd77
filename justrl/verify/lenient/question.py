"""Explicit form demands of a question that a value-equal answer can still fail (issue 10 item 7).

``form_violation(question, answer, gold)`` is asked only after the answer already matched the gold
by value. It returns a short code when the question makes an explicit demand about the *form* of
the answer and the answer does not meet it, else None. Conservative: only the wordings below count,
and a demand the gold itself does not meet is not read as one (the gold shows what was meant).

| question says | code | answer that fails it |
| --- | --- | --- |
| "simplify", "simplest radical form" | ``radical_not_simplified`` | ``\\sqrt{75}`` (a square factor under the root) |
| "rationalize the denominator", "simplest radical form" | ``radical_in_denominator`` | ``\\frac{2}{\\sqrt{2}}`` |
| "simplify", "common fraction", "lowest terms", "simplest form" | ``fraction_not_reduced`` | ``\\frac{4}{8}`` |
| "common fraction" | ``decimal_not_fraction``, ``mixed_number`` | ``0.5``, ``1\\frac{1}{2}`` |
| "factor completely" / "factor fully" / "Factor ..." | ``not_factored`` | ``x^2-4``; with "completely": ``(4-2y)(4+2y)`` |
| "compute", "evaluate", "calculate", "find the value" (gold a plain number) | ``not_evaluated`` | ``\\frac{20!}{17!\\,3!}`` |

"Factored completely" is decided with sympy's ``factor_list`` on each factor of the answer, parsed
through the LaTeX grammar only (:func:`.symbolic.to_sympy`), for polynomials of degree at most 12 in
at most 3 variables: a factor that splits further, or a sum with an integer common factor (``4-2y``),
fails. ``symbolic=False`` (the sympy-free quick path) raises :class:`.compare.Undecided` when that
check is needed. Everything else is string scanning, linear in the answer.
"""

from __future__ import annotations

import math
import re

from justrl.verify.lenient.normalize import normalize
from justrl.verify.lenient.numbers import parse_rational

MAX_QUESTION_CHARS = 20_000  # a longer question is read only in its last part
MAX_RADICAND = 10**12  # larger integers under a root are not tested for square factors
MAX_FACTOR_DEGREE = 12
MAX_FACTOR_SYMBOLS = 3
MAX_FACTOR_CHARS = 300  # longer answers are not parsed for the factoring check (bounds the parser's time)

_SIMPLIFY = re.compile(r"\bsimplif(?:y|ied|ies)\b|\bsimplest\s+(?:radical\s+)?form\b", re.IGNORECASE)
_RADICAL_FORM = re.compile(r"\bsimplest\s+radical\s+form\b", re.IGNORECASE)
_RATIONALIZE = re.compile(r"\brationali[sz](?:e|ing)\s+the\s+denominator", re.IGNORECASE)
_COMMON_FRACTION = re.compile(r"\bcommon\s+fraction", re.IGNORECASE)
_LOWEST_TERMS = re.compile(r"\blowest\s+terms\b|\bsimplest\s+(?:form|terms)\b|\breduced\s+fraction", re.IGNORECASE)
_FACTOR_COMPLETELY = re.compile(r"\bfactor(?:ed|ize|ise)?\s+(?:\S+\s+){0,6}?(?:completely|fully)\b|\bcompletely\s+factor",
                                re.IGNORECASE)
_FACTOR = re.compile(r"(?:^|[.!?\n])\s*factor(?:ize|ise)?\b", re.IGNORECASE)
_COMPUTE = re.compile(
    r"\b(?:compute|evaluate|calculate|find\s+the\s+(?:exact\s+)?value|what\s+is\s+the\s+(?:exact\s+)?value)\b",
    re.IGNORECASE,
)
_ROOT = re.compile(r"\\sqrt\s*(?:\[\s*(\d+)\s*\])?\s*\{\s*(\d+)\s*\}")
_FRACTION = re.compile(r"\\frac\s*\{\s*(-?\d+)\s*\}\s*\{\s*(-?\d+)\s*\}|(?<![\d.])(-?\d+)\s*/\s*(\d+)(?![\d.])")
_DECIMAL = re.compile(r"(?<![\d.])\d*\.\d+|\\overline")
_MIXED = re.compile(r"(?<![\d.}])\d+\s*\\frac")
_PLAIN_NUMBER = re.compile(  # the gold is a plain number: an integer, a decimal or a simple fraction
    r"^-?(?:\d+(?:\.\d+)?|\.\d+|\\frac\{\d+\}\{\d+\}|\d+/\d+|\d+\\frac\{\d+\}\{\d+\})(?:\\%)?$"
)
# an operation left undone in an answer whose gold is a plain number ("x =" before it is dropped)
_UNEVALUATED = re.compile(
    r"!|\\binom|\\choose|\^|\\cdot|\\times|\*|\\sqrt|\\log|\\ln|\\sum|\\prod|(?<=[\d)}])\s*[+\-]\s*(?=[\d(\\])"
    r"|\\frac\s*\{[\d\s-]*[^\d{}\s-]|\\frac\s*\{[^{}]*\}\s*\{[\d\s]*[^\d{}\s]"
)
_ASSIGNED = re.compile(r"^\s*[A-Za-z](?:_\{?\w+\}?)?\s*=\s*")
_SLASH_ROOT = re.compile(r"/\s*\(?\s*-?\d*\s*\\sqrt")


def _has_power_factor(n: int, k: int) -> bool | None:
    """Whether some p**k (p > 1) divides ``n``; None when ``n`` is too large to decide quickly."""
    if n < 4 or k < 2:
        return False
    if n > MAX_RADICAND:
        return None
    limit = min(math.isqrt(n), 10_000)
    m = n
    for p in range(2, limit + 1):
        if m % p == 0:
            e = 0
            while m % p == 0:
                m //= p
                e += 1
            if e >= k:
                return True
    if m > 1:  # a cofactor without prime factors up to 10,000: p**k with p > 10,000 only if m == p**k
        root = round(m ** (1.0 / k))
        return any((root + d) > 1 and (root + d) ** k == m for d in (-1, 0, 1))
    return False


def _unsimplified_radical(text: str) -> bool:
    for m in _ROOT.finditer(text):
        index = int(m.group(1)) if m.group(1) else 2
        if 2 <= index <= 10 and _has_power_factor(int(m.group(2)), index):
            return True
    return False


def _brace_map(text: str) -> dict[int, int]:
    """Index of each ``{`` -> index of its matching ``}`` (one pass with a stack; unclosed ones absent)."""
    closes: dict[int, int] = {}
    stack: list[int] = []
    for i, ch in enumerate(text):
        if ch == "{":
            stack.append(i)
        elif ch == "}" and stack:
            closes[stack.pop()] = i
    return closes


def _group_at(text: str, i: int, closes: dict[int, int]) -> tuple[str, int] | None:
    """The argument starting at ``text[i]`` (after blanks): a brace group or one character."""
    while i < len(text) and text[i] == " ":
        i += 1
    if i >= len(text):
        return None
    if text[i] != "{":
        return text[i], i + 1
    close = closes.get(i)
    if close is None:
        return None
    return text[i + 1 : close], close + 1


def _radical_in_denominator(text: str) -> bool:
    if _SLASH_ROOT.search(text):
        return True
    if "\\frac" not in text or "\\sqrt" not in text:
        return False
    closes = _brace_map(text)
    start = 0
    while True:
        k = text.find("\\frac", start)
        if k < 0:
            return False
        start = k + 5  # numerators may hold nested fractions: keep scanning inside
        first = _group_at(text, k + 5, closes)
        if first is None:
            continue
        second = _group_at(text, first[1], closes)
        if second is not None and "\\sqrt" in second[0]:
            return True


def _fraction_not_reduced(text: str) -> bool:
    for m in _FRACTION.finditer(text):
        a, b = (m.group(1), m.group(2)) if m.group(1) is not None else (m.group(3), m.group(4))
        if len(a) > 60 or len(b) > 60:
            continue
        p, q = abs(int(a)), abs(int(b))
        if q != 0 and math.gcd(p, q) > 1:
            return True
    return False


_COMMAND_END = re.compile(r"\\[A-Za-z]+\s*$")


def _split_product(text: str) -> list[str] | None:
    """The top-level factors of a product (``4(2-y)(2+y)`` -> ``4``, ``(2-y)``, ``(2+y)``); a sum is one
    factor; None when the brackets do not balance."""
    s = text.strip()
    if s.startswith("-"):
        s = s[1:].strip()
    s = s.replace("\\cdot", " ").replace("\\times", " ").replace("\\left", "").replace("\\right", "")
    factors: list[str] = []
    depth = 0
    start = 0
    for i, ch in enumerate(s):
        if ch in "({[":
            if depth == 0 and ch == "(" and s[start:i].strip() and not _COMMAND_END.search(s[start:i]):
                factors.append(s[start:i])  # a new bracketed factor, unless it is a function's argument
                start = i
            depth += 1
        elif ch in ")}]":
            depth -= 1
            if depth < 0:
                return None
        elif depth == 0 and ch in "+-" and i > 0 and s[i - 1] not in "^{(_":
            return [text.strip()]  # a top-level sum: not a product
    if depth != 0:
        return None
    factors.append(s[start:])
    return [f.strip() for f in factors if f.strip()]


_POWER_SUFFIX = re.compile(r"\^\s*(?:\{\s*\d+\s*\}|\d)\s*$")


def _not_fully_factored(text: str, completely: bool) -> bool | None:
    """Whether the polynomial ``text`` is not factored (completely); None when it cannot be decided."""
    from justrl.verify.lenient import symbolic

    factors = _split_product(text)
    if not factors or len(factors) > 12:
        return None
    sympy = symbolic._sympy()
    nonconstant = 0
    for factor in factors:
        base = _POWER_SUFFIX.sub("", factor).strip()
        if base.startswith("(") and base.endswith(")"):
            base = base[1:-1]
        if parse_rational(base) is not None:
            continue
        expr = symbolic.to_sympy(base)
        if expr is None:
            return None
        symbols = expr.free_symbols
        if not symbols:
            continue
        if len(symbols) > MAX_FACTOR_SYMBOLS:
            return None
        try:
            if not expr.is_polynomial(*symbols):
                return None
            poly = sympy.Poly(expr, *symbols)
            if poly.total_degree() > MAX_FACTOR_DEGREE:
                return None
            content, parts = sympy.factor_list(expr)
        except Exception:
            return None
        nonconstant += 1
        if not isinstance(expr, sympy.Add):
            continue  # a monomial (3x^2y) is factored as written
        if len([f for f, _ in parts if f.free_symbols]) > 1 or any(m > 1 for f, m in parts if f.free_symbols):
            return True  # this sum splits further (x^2-4 -> (x-2)(x+2), x^2+2x+1 -> (x+1)^2)
        if completely and content.is_Integer and abs(int(content)) > 1:
            return True  # a common integer factor left inside a sum (4-2y = 2(2-y))
    return False if nonconstant else None


def _violations(question: str, text: str, gold_text: str, symbolic: bool) -> list[str]:
    found: list[str] = []
    radical_form = _RADICAL_FORM.search(question) is not None
    if (_SIMPLIFY.search(question) or radical_form) and _unsimplified_radical(text):
        found.append("radical_not_simplified")
    if (_RATIONALIZE.search(question) or radical_form) and _radical_in_denominator(text):
        found.append("radical_in_denominator")
    common = _COMMON_FRACTION.search(question) is not None
    if (common or _LOWEST_TERMS.search(question) or _SIMPLIFY.search(question)) and _fraction_not_reduced(text):
        found.append("fraction_not_reduced")
    if common and _DECIMAL.search(text):
        found.append("decimal_not_fraction")
    if common and _MIXED.search(text):
        found.append("mixed_number")
    if _COMPUTE.search(question) and _PLAIN_NUMBER.match(gold_text.replace(" ", "")) and _UNEVALUATED.search(
        _ASSIGNED.sub("", text)
    ):
        found.append("not_evaluated")
    completely = _FACTOR_COMPLETELY.search(question) is not None
    if completely or _FACTOR.search(question):
        if not symbolic:
            from justrl.verify.lenient.compare import Undecided

            raise Undecided
        if len(text) <= MAX_FACTOR_CHARS and _not_fully_factored(text, completely):
            found.append("not_factored")
    return found


def _stated_value(text: str) -> str:
    """The value an answer states: the right side of ``3/24 = 1/8`` or ``\\cos B = \\frac35``, the one
    value of a sentence; the form demands apply to that, not to the working written before it."""
    from justrl.verify.lenient.sentence import is_prose, sentence_value
    from justrl.verify.lenient.structure import split_top

    if is_prose(text):
        value = sentence_value(text)
        if value is not None:
            text = normalize(value)
    parts = split_top(text, ("=",))
    if len(parts) >= 2 and parts[-1].strip():
        return parts[-1].strip()
    return text


def form_violation(question: str, answer: str, gold: str, *, symbolic: bool = True) -> str | None:
    """The code of the first explicit form demand of ``question`` that ``answer`` fails, else None.

    ``answer`` is assumed already equal to ``gold`` in value (see the module docstring for the
    demands read and their codes). A demand the gold fails as well is ignored.
    """
    if not isinstance(question, str) or not question.strip() or not answer or not gold:
        return None
    question = question[-MAX_QUESTION_CHARS:]
    text, gold_text = _stated_value(normalize(answer)), normalize(gold)
    mine = _violations(question, text, gold_text, symbolic)
    if not mine:
        return None
    golds = set(_violations(question, gold_text, gold_text, symbolic))
    for code in mine:
        if code not in golds:
            return code
    return None
