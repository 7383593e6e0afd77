"""Exact rational arithmetic on normalised answers, without sympy: the fast path of lenient mode.

``parse_rational(s)`` evaluates a small, whitelisted grammar to a :class:`fractions.Fraction`:
integers, decimals (``.5``, ``2.``), e-notation (``4.5e33``), ``\\frac{a}{b}``, ``a/b``, mixed
numbers (``1\\frac{4}{5}`` = 9/5), ``+ - * /``, ``\\cdot``, ``\\times``, ``\\div``, parentheses and
braces, integer powers (``2^{99}``, ``10^{-3}``), and factorials (``26!``). Anything else (a letter,
``\\sqrt``, ``\\pi``) returns None and is left to the symbolic path. Every step is size-capped
(see :mod:`justrl.verify.lenient.guards`), so the evaluation is bounded in time and memory.

``decimal_tolerance(s)`` tells whether a gold is written as a decimal, and the half-unit of its last
stated digit: ``0.33`` -> 0.005, ``4.5e33`` -> 0.05e33, ``1.6`` -> 0.05; exact golds return None.
A gold with a single significant digit (``0.1``, ``3e8``) gets half a unit of the digit after it
(``0.1`` -> 0.005, ``3e8`` -> 0.05e8): half a unit of its only digit would be up to 50% of the value.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

from justrl.verify.lenient.guards import MAX_DIGITS, MAX_E_EXPONENT, MAX_EXPONENT, MAX_FACTORIAL

_TOKEN = re.compile(
    r"\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|(?P<cmd>\\[a-zA-Z]+)|(?P<op>[-+*/^!(){}\[\]]))"
)
_MUL_CMDS = {"\\cdot": "*", "\\times": "*", "\\div": "/", "\\frac": "frac"}


class _Fail(Exception):
    """The text is outside the rational grammar (not an error: the symbolic path takes over)."""


def _tokenize(s: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    n = len(s)
    while pos < n:
        m = _TOKEN.match(s, pos)
        if m is None:
            if s[pos:].strip() == "":
                break
            raise _Fail
        pos = m.end()
        if m.group("num") is not None:
            tokens.append(("num", m.group("num")))
        elif m.group("cmd") is not None:
            kind = _MUL_CMDS.get(m.group("cmd"))
            if kind is None:
                raise _Fail
            tokens.append(("frac", "") if kind == "frac" else ("op", kind))
        else:
            tokens.append(("op", m.group("op")))
    return tokens


def _number(text: str) -> Fraction:
    mantissa, _, exp = text.lower().partition("e")
    value = Fraction(mantissa) if mantissa not in ("", ".") else Fraction(0)
    if exp:
        e = int(exp)
        if abs(e) > MAX_E_EXPONENT:
            raise _Fail
        value *= Fraction(10) ** e
    return value


def _digits(x: Fraction) -> int:
    """Approximate decimal digits of the larger of numerator and denominator (no str conversion)."""
    return int(max(abs(x.numerator).bit_length(), x.denominator.bit_length()) * 0.30103) + 1


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]):
        self.t = tokens
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.t[self.i] if self.i < len(self.t) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or (value is not None and tok[1] != value):
            raise _Fail
        self.i += 1
        return tok

    def expr(self) -> Fraction:
        value = self.term()
        while (tok := self.peek()) is not None and tok[0] == "op" and tok[1] in "+-":
            self.i += 1
            rhs = self.term()
            value = value + rhs if tok[1] == "+" else value - rhs
        return value

    def term(self) -> Fraction:
        value = self.unary()
        while (tok := self.peek()) is not None:
            if tok[0] == "op" and tok[1] in "*/":
                self.i += 1
                rhs = self.unary()
                if tok[1] == "*":
                    value = value * rhs
                else:
                    if rhs == 0:
                        raise _Fail
                    value = value / rhs
            elif tok[0] == "frac" or (tok[0] == "op" and tok[1] in "({"):
                # implicit product, except an integer followed by \frac{p}{q}: a mixed number
                prev = self.t[self.i - 1]
                rhs = self.power()
                if tok[0] == "frac" and prev[0] == "num" and value.denominator == 1 and rhs > 0:
                    value = value + rhs if value >= 0 else value - rhs
                else:
                    value = value * rhs
            else:
                break
            if _digits(value) > MAX_DIGITS:
                raise _Fail
        return value

    def unary(self) -> Fraction:
        tok = self.peek()
        if tok is not None and tok[0] == "op" and tok[1] in "+-":
            self.i += 1
            value = self.unary()
            return -value if tok[1] == "-" else value
        return self.power()

    def power(self) -> Fraction:
        base = self.postfix()
        tok = self.peek()
        if tok is not None and tok == ("op", "^"):
            self.i += 1
            exponent = self.exponent()
            if exponent.denominator != 1 or abs(exponent) > MAX_EXPONENT:
                raise _Fail
            e = int(exponent)
            if base == 0 and e < 0:
                raise _Fail
            size = max(abs(base.numerator), base.denominator)
            if size > 1 and abs(e) * math.log10(size) > MAX_DIGITS:
                raise _Fail
            return base**e
        return base

    def exponent(self) -> Fraction:
        tok = self.peek()
        if tok is None:
            raise _Fail
        if tok == ("op", "{"):
            return self.primary()
        if tok[0] == "op" and tok[1] in "+-":
            self.i += 1
            value = self.exponent()
            return -value if tok[1] == "-" else value
        if tok[0] == "num":
            # ^23 in LaTeX means ^{2}3; only a single digit binds
            self.i += 1
            text = tok[1]
            if len(text) > 1:
                if not text.isdigit():
                    raise _Fail
                self.t.insert(self.i, ("num", text[1:]))
                text = text[0]
            return _number(text)
        return self.postfix()

    def postfix(self) -> Fraction:
        value = self.primary()
        while (tok := self.peek()) is not None and tok == ("op", "!"):
            self.i += 1
            if value.denominator != 1 or value < 0 or value > MAX_FACTORIAL:
                raise _Fail
            value = Fraction(math.factorial(int(value)))
        return value

    def primary(self) -> Fraction:
        tok = self.take()
        if tok[0] == "num":
            return _number(tok[1])
        if tok[0] == "frac":
            num = self.group()
            den = self.group()
            if den == 0:
                raise _Fail
            return num / den
        if tok[1] in "({[":
            close = {"(": ")", "{": "}", "[": "]"}[tok[1]]
            value = self.expr()
            self.take(close)
            return value
        raise _Fail

    def group(self) -> Fraction:
        tok = self.peek()
        if tok == ("op", "{"):
            return self.primary()
        if tok is not None and tok[0] == "num" and len(tok[1]) == 1:
            self.i += 1
            return _number(tok[1])
        raise _Fail


def parse_rational(s: str) -> Fraction | None:
    """The exact value of ``s`` when it is a rational expression in the grammar above, else None."""
    if not s or len(s) > 2000:
        return None
    try:
        tokens = _tokenize(s)
        if not tokens:
            return None
        parser = _Parser(tokens)
        value = parser.expr()
        if parser.i != len(parser.t):
            return None
        return value
    except (_Fail, ValueError, ZeroDivisionError, OverflowError, RecursionError):
        return None


_DECIMAL = re.compile(
    r"^[+-]?(?P<int>\d*)(?:\.(?P<frac>\d*))?(?:[eE](?P<e>[+-]?\d+)|\s*(?:\\times|\\cdot|\*)\s*10\s*\^\s*\{?\s*(?P<p>[+-]?\d+)\s*\}?)?$"
)


def decimal_tolerance(s: str) -> Fraction | None:
    """Half a unit of the last stated digit when ``s`` is a decimal number, else None.

    Decimals are ``1.6``, ``.35``, ``0.10``, and scientific forms with a decimal or integer mantissa
    (``4.5e33``, ``3e8``, ``2.7 \\times 10^{-6}``). Integers (``42``, ``1.``) are exact (None).
    """
    m = _DECIMAL.match(s.strip())
    if m is None or (not m.group("int") and not m.group("frac")):
        return None
    frac = m.group("frac") or ""
    exp_text = m.group("e") or m.group("p")
    if not frac and exp_text is None:
        return None  # an integer
    exponent = int(exp_text) if exp_text is not None else 0
    if abs(exponent) > MAX_E_EXPONENT:
        return None
    last_digit = exponent - len(frac)
    significant = len(((m.group("int") or "") + frac).lstrip("0"))
    if significant <= 1:
        # One significant digit (0.1, 3e8, 0.05): half a unit of that digit would accept 1/7 for 0.1
        # (a 43% error). Such a gold is read as exact in its next digit: +-5% of 0.1, +-1.7% of 3e8.
        last_digit -= 1
    return Fraction(1, 2) * Fraction(10) ** last_digit
