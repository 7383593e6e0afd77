"""A whitelisted LaTeX evaluator on mpmath numbers: the middle path between exact Fractions and sympy.

``compile_atom(text)`` tokenises one normalised atom against a fixed whitelist (numbers, single
letters and greek commands with subscripts as variables, ``+ - * / ^ !``, ``\\frac``, ``\\sqrt``,
``\\sqrt[n]``, ``\\binom``, ``\\pi``, ``e``, ``i``, and the usual elementary functions) and returns a
small expression tree, or None when anything is outside the whitelist (the symbolic path takes over).
Nothing is ever evaluated as Python.

``numeric_equal(gold, resp, tolerance)`` evaluates both trees with mpmath at 50 significant digits,
with every variable set to the same fixed value in (1, 3), at three points:

- all values agree to 1e-30 relatively -> equal (an identity test: distinct closed forms do not agree
  to 30 digits at three random points);
- some value differs by more than 1e-12 relatively -> different (a point where they differ proves it);
- anything else (a value that is not a finite number, a near-tie) -> None: undecided, sympy decides.
A gold written as a decimal is compared within half a unit of its last digit instead (constants only).

Bounded work (this runs in the caller's process, which cannot be killed): the context's precision is
fixed at 50 digits, and no operation may make mpmath raise its internal precision without bound.
Every intermediate value must stay below ``2**MAX_MAG_BITS`` in magnitude; the argument of a
periodic function (sin, tan, ..., and exp of an imaginary part) below ``2**MAX_PERIODIC_MAG_BITS``
(reducing ``\\sin(e^{e^{20}})`` modulo pi needs pi to hundreds of millions of bits); the real part
of an ``exp``/``sinh``/``cosh`` argument below ``MAX_EXP_ARG``; a power's result is estimated from
the operands' magnitudes before it is computed. A value past the magnitude bound (or an exponential
whose argument is) raises :class:`TooLarge` naming the side (the verdict is "too_large"); anything
else past a bound, and any evaluation that runs longer than ``NUMERIC_BUDGET_S`` (or past the
deadline set with :func:`deadline_scope`), is undecided (None): the symbolic path, in a killable
worker, decides it.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction
from functools import lru_cache

from justrl.verify.lenient.cache import bytes_cached

_FUNCS = {
    "sin", "cos", "tan", "cot", "sec", "csc", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh",
    "ln", "log", "exp",
}
_GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "vartheta", "kappa",
    "lambda", "mu", "nu", "xi", "rho", "sigma", "tau", "phi", "varphi", "chi", "psi", "omega", "Gamma",
    "Delta", "Theta", "Lambda", "Xi", "Sigma", "Phi", "Psi", "Omega",
}
_DECORATIONS = {"dot", "ddot", "hat", "bar", "tilde", "vec", "overline"}
_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+\.?\d*|\.\d+)|(?P<cmd>\\[a-zA-Z]+)|(?P<letter>[a-zA-Z])|(?P<op>[-+*/^!(){}\[\]_]))"
)
_IMPLICIT_START = {"num", "var", "const", "func", "frac", "sqrt", "binom", "("}
MAX_NODES = 400
DPS = 50  # decimal digits of the private mpmath context
MAX_MAG_BITS = 1 << 16  # |value| < 2**65536 for every intermediate value
MAX_PERIODIC_MAG_BITS = 1024  # |x| < 2**1024 for sin(x), cos(x), ... (argument reduction cost)
MAX_EXP_ARG = 40_000  # |re(x)| for exp(x), sinh(x), cosh(x): e**40000 < 2**57709
MAX_BINOM_MAG_BITS = 40  # binomial arguments below 2**40
NUMERIC_BUDGET_S = 0.25  # wall seconds one numeric comparison may take before it gives up (None)
COMPILE_CACHE_BYTES = 16 << 20  # compiled trees kept in memory, in bytes


class _Fail(Exception):
    pass


class _Undefined(_Fail):
    """A division by zero: the value is undefined (never equal to a finite gold)."""


class _OverBudget(_Fail):
    """The time budget or a precision bound (periodic argument, binomial size) was exceeded:
    undecided, never a verdict."""


class _Huge(Exception):
    """A value is astronomically large (past ``2**MAX_MAG_BITS``); raised as TooLarge to callers."""


class TooLarge(Exception):
    """Raised by the comparisons when a side evaluates to a value past ``2**MAX_MAG_BITS``
    (more than about 19,700 decimal digits, e.g. ``e^{e^{20}}``). ``side`` is "gold" or "response"."""

    def __init__(self, side: str) -> None:
        super().__init__(side)
        self.side = side


_deadline = threading.local()


@contextmanager
def deadline_scope(deadline: float) -> Iterator[None]:
    """Within the block, numeric comparisons in this thread stop at ``deadline`` (``time.monotonic``)."""
    previous = getattr(_deadline, "at", None)
    _deadline.at = deadline if previous is None else min(previous, deadline)
    try:
        yield
    finally:
        _deadline.at = previous


def _deadline_now() -> float:
    own = time.monotonic() + NUMERIC_BUDGET_S
    ambient = getattr(_deadline, "at", None)
    return own if ambient is None else min(own, ambient)


def _tokens(s: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(s):
        m = _TOKEN.match(s, pos)
        if m is None:
            if s[pos:].strip() == "":
                break
            raise _Fail
        pos = m.end()
        if m.group("num") is not None:
            out.append(("num", m.group("num")))
        elif m.group("letter") is not None:
            out.append(("letter", m.group("letter")))
        elif m.group("op") is not None:
            out.append(("op", m.group("op")))
        else:
            name = m.group("cmd")[1:]
            if name in ("cdot", "times"):
                out.append(("op", "*"))
            elif name == "div":
                out.append(("op", "/"))
            elif name == "pi":
                out.append(("const", "pi"))
            elif name in _FUNCS:
                out.append(("func", name))
            elif name in _GREEK:
                out.append(("letter", "\\" + name))
            elif name in _DECORATIONS:
                out.append(("decor", name))
            elif name in ("frac", "sqrt", "binom"):
                out.append((name, name))
            elif name in ("lfloor", "lceil"):
                out.append(("open", name))
            elif name in ("rfloor", "rceil"):
                out.append(("close", name))
            else:
                raise _Fail
    return out


class _Parser:
    """Recursive descent to tuples: ("num", Fraction) | ("var", name) | ("const", name) | (op, a, b) ..."""

    def __init__(self, tokens):
        self.t = tokens
        self.i = 0
        self.nodes = 0

    def peek(self):
        return self.t[self.i] if self.i < len(self.t) else (None, None)

    def eat(self, kind, value=None):
        tok = self.peek()
        if tok[0] != kind or (value is not None and tok[1] != value):
            raise _Fail
        self.i += 1
        return tok

    def node(self, *parts):
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _Fail
        return parts

    def expr(self):
        left = self.term()
        while self.peek() in (("op", "+"), ("op", "-")):
            op = self.eat("op")[1]
            left = self.node(op, left, self.term())
        return left

    def term(self):
        left = self.unary()
        while True:
            tok = self.peek()
            if tok in (("op", "*"), ("op", "/")):
                self.i += 1
                left = self.node(tok[1], left, self.unary())
            elif tok[0] in ("num", "letter", "const", "func", "frac", "sqrt", "binom", "open", "decor") or tok in (
                ("op", "("), ("op", "{"), ("op", "["),
            ):
                if tok[0] == "num" and self.t[self.i - 1][0] == "num":
                    raise _Fail  # "4 2" is not a product
                left = self.node("*", left, self.power())
            else:
                return left

    def unary(self):
        if self.peek() == ("op", "-"):
            self.i += 1
            return self.node("neg", self.unary())
        if self.peek() == ("op", "+"):
            self.i += 1
            return self.unary()
        return self.power()

    def power(self):
        base = self.postfix()
        if self.peek() == ("op", "^"):
            self.i += 1
            exponent = self.exponent()
            return self.node("^", base, exponent)
        return base

    def exponent(self):
        tok = self.peek()
        if tok == ("op", "{"):
            return self.group()
        if tok == ("op", "-"):
            self.i += 1
            return self.node("neg", self.exponent())
        if tok[0] == "num":
            self.i += 1
            if len(tok[1]) != 1:
                raise _Fail  # x^23 is ambiguous in LaTeX
            return ("num", Fraction(tok[1]))
        if tok[0] in ("letter", "const"):
            return self.atom()
        raise _Fail

    def postfix(self):
        value = self.atom()
        while self.peek() == ("op", "!"):
            self.i += 1
            value = self.node("!", value)
        return value

    def group(self):
        self.eat("op", "{")
        value = self.expr()
        self.eat("op", "}")
        return value

    def atom(self):
        tok = self.peek()
        kind = tok[0]
        if kind == "num":
            self.i += 1
            return ("num", Fraction(tok[1]))
        if kind == "const":
            self.i += 1
            return ("const", tok[1])
        if kind == "decor":
            # \dot{x}, \hat x: a decorated letter is a variable of its own
            self.i += 1
            braced = self.peek() == ("op", "{")
            if braced:
                self.i += 1
            inner = self.eat("letter")[1]
            if braced:
                self.eat("op", "}")
            self.t[self.i - 1] = ("letter", f"\\{tok[1]}{{{inner}}}")
            self.i -= 1
            tok = self.peek()
            kind = "letter"
        if kind == "letter":
            self.i += 1
            name = tok[1]
            if self.peek() == ("op", "_"):
                self.i += 1
                sub = self.peek()
                if sub == ("op", "{"):
                    start = self.i
                    depth = 0
                    while True:
                        t = self.peek()
                        if t[0] is None:
                            raise _Fail
                        self.i += 1
                        if t == ("op", "{"):
                            depth += 1
                        elif t == ("op", "}"):
                            depth -= 1
                            if depth == 0:
                                break
                        elif t[0] not in ("num", "letter"):
                            raise _Fail
                    name += "_" + "".join(v for _, v in self.t[start + 1 : self.i - 1])
                elif sub[0] in ("num", "letter"):
                    self.i += 1
                    name += "_" + sub[1]
                else:
                    raise _Fail
                return ("var", name)
            if self.peek() == ("op", "(") and not name.startswith("\\") and not self._occurs_inside(name):
                # f(x), I(0), u(t): an application of an unknown function, not a product
                self.i += 1
                argument = self.expr()
                self.eat("op", ")")
                return self.node("call", ("var", name), argument)
            if name == "i":
                return ("const", "i")
            if name == "e":
                return ("const", "e")
            return ("var", name)
        if kind == "frac":
            self.i += 1
            num = self.arg()
            den = self.arg()
            return self.node("/", num, den)
        if kind == "binom":
            self.i += 1
            return self.node("binom", self.arg(), self.arg())
        if kind == "sqrt":
            self.i += 1
            if self.peek() == ("op", "["):
                self.i += 1
                index = self.expr()
                self.eat("op", "]")
                return self.node("root", self.arg(), index)
            return self.node("root", self.arg(), ("num", Fraction(2)))
        if kind == "func":
            self.i += 1
            name = tok[1]
            power = None
            if name == "log" and self.peek() == ("op", "_"):
                self.i += 1
                base = self.arg()
                return self.node("logb", self.func_arg(), base)
            if self.peek() == ("op", "^"):
                self.i += 1
                power = self.exponent()
            value = self.node(name, self.func_arg())
            return self.node("^", value, power) if power is not None else value
        if tok in (("op", "("), ("op", "[")):
            self.i += 1
            value = self.expr()
            self.eat("op", ")" if tok[1] == "(" else "]")  # brackets must match inside expressions
            return value
        if tok == ("op", "{"):
            return self.group()
        if kind == "open":
            self.i += 1
            value = self.expr()
            closing = "rfloor" if tok[1] == "lfloor" else "rceil"
            self.eat("close", closing)
            return self.node("floor" if tok[1] == "lfloor" else "ceil", value)
        raise _Fail

    def _occurs_inside(self, name: str) -> bool:
        """Whether the letter occurs in the parenthesised group that follows (``n(n+1)`` is a product)."""
        depth = 0
        for j in range(self.i, len(self.t)):
            tok = self.t[j]
            if tok == ("op", "("):
                depth += 1
            elif tok == ("op", ")"):
                depth -= 1
                if depth == 0:
                    return False
            elif tok == ("letter", name):
                return True
        return False

    def arg(self):
        tok = self.peek()
        if tok == ("op", "{"):
            return self.group()
        if tok[0] == "num":
            self.i += 1
            if len(tok[1]) != 1:
                raise _Fail
            return ("num", Fraction(tok[1]))
        if tok[0] in ("letter", "const"):
            return self.atom()
        raise _Fail

    def func_arg(self):
        tok = self.peek()
        if tok in (("op", "("), ("op", "{"), ("op", "[")):
            return self.atom()
        if tok[0] in ("num", "letter", "const"):
            value = self.atom()
            nxt = self.peek()
            if nxt[0] in ("num", "letter", "const") or nxt in (("op", "("), ("op", "^")):
                raise _Fail  # \sin 2x, \sin x^2: ambiguous, leave to the LaTeX grammar
            return value
        raise _Fail


@bytes_cached(COMPILE_CACHE_BYTES)
def compile_atom(text: str):
    """The expression tree of a normalised atom, or None when it is outside the whitelist."""
    if not text or len(text) > 600:
        return None
    try:
        parser = _Parser(_tokens(text))
        tree = parser.expr()
        if parser.i != len(parser.t):
            return None
        return tree
    except (_Fail, ValueError, RecursionError):
        return None


def _variables(tree, out: set) -> set:
    if tree[0] == "var":
        out.add(tree[1])
    elif tree[0] == "call":
        out.add("call:" + tree[1][1])
        _variables(tree[2], out)
    elif tree[0] not in ("num", "const"):
        for child in tree[1:]:
            if isinstance(child, tuple):
                _variables(child, out)
    return out


def _value_of(name: str, point: int):
    digest = hashlib.blake2b(f"{name}/{point}".encode(), digest_size=4).digest()
    return 1 + 2 * int.from_bytes(digest, "big") / 2**32  # in (1, 3)


_PERIODIC = {"sin", "cos", "tan", "cot", "sec", "csc", "tanh"}
_EXPONENTIAL = {"exp", "sinh", "cosh"}


def _bounded(x, mp):
    """``x`` itself, or _OverBudget when its magnitude is past MAX_MAG_BITS (non-finite passes)."""
    if _finite(x, mp) and x != 0 and mp.mag(x) > MAX_MAG_BITS:
        raise _Huge
    return x


def _check_function_arg(kind: str, a, mp) -> None:
    """Refuse arguments whose evaluation would need precision proportional to their size."""
    if not _finite(a, mp) or a == 0:
        return
    re_part, im_part = mp.re(a), mp.im(a)
    if kind in _PERIODIC:
        if mp.mag(a) > MAX_PERIODIC_MAG_BITS:
            raise _OverBudget
        if abs(im_part) > MAX_EXP_ARG:
            raise _OverBudget
    elif kind in _EXPONENTIAL:
        if abs(re_part) > MAX_EXP_ARG:
            raise _Huge if kind != "exp" or re_part > 0 else _OverBudget
        if im_part != 0 and mp.mag(im_part) > MAX_PERIODIC_MAG_BITS:
            raise _OverBudget


def _check_power(a, b, mp) -> None:
    """Refuse ``a**b`` when ``|b| * log2|a|`` (which bounds both the result's magnitude and the
    phase a complex power must reduce) is past ``2 * MAX_MAG_BITS``; estimated, never computed."""
    if not (_finite(a, mp) and _finite(b, mp)) or a == 0 or b == 0:
        return
    if abs(b) * (abs(mp.mag(a)) + 2) > 2 * MAX_MAG_BITS:
        raise _Huge


def _eval(tree, env, mp, peak=None, deadline=None):
    """Evaluate a tree within the bounds of the module docstring (past one: _OverBudget)."""
    if deadline is None:
        deadline = _deadline_now()
    return _bounded(_eval_node(tree, env, mp, peak, deadline), mp)


def _eval_node(tree, env, mp, peak, deadline):
    """Evaluate one node; ``peak`` (a one-element list) records the largest operand of any + or -."""
    if time.monotonic() > deadline:
        raise _OverBudget
    kind = tree[0]
    if kind == "num":
        v = tree[1]
        return mp.mpf(v.numerator) / v.denominator
    if kind == "var":
        return env[tree[1]]
    if kind == "const":
        return {"pi": mp.pi, "e": mp.e, "i": mp.mpc(0, 1)}[tree[1]]
    if kind == "neg":
        return -_eval(tree[1], env, mp, peak, deadline)
    if kind == "!":
        x = _eval(tree[1], env, mp, peak, deadline)
        if mp.im(x) != 0 or abs(x) > 2000:
            raise _Fail
        if mp.re(x) == int(mp.re(x)):
            if x < 0:
                raise _Fail
            return mp.factorial(int(mp.re(x)))
        return mp.gamma(x + 1)
    if kind == "call":
        # an unknown function: a fixed, name-dependent quadratic, the same on both sides
        x = _eval(tree[2], env, mp, peak, deadline)
        c0, c1, c2 = (mp.mpf(_value_of(tree[1][1] + k, 7)) for k in ("#0", "#1", "#2"))
        return c0 + c1 * x + c2 * x * x
    if kind in ("floor", "ceil"):
        x = _eval(tree[1], env, mp, peak, deadline)
        if mp.im(x) != 0:
            raise _Fail
        return mp.floor(x) if kind == "floor" else mp.ceil(x)
    a = _eval(tree[1], env, mp, peak, deadline)
    b = _eval(tree[2], env, mp, peak, deadline) if len(tree) > 2 else None
    if kind in ("+", "-"):
        if peak is not None:
            peak[0] = max(peak[0], abs(a), abs(b))
        return a + b if kind == "+" else a - b
    if kind == "*":
        return a * b
    if kind == "/":
        if b == 0:
            raise _Undefined
        return a / b
    if kind == "^":
        if a == 0 and mp.re(b) <= 0:
            raise _Fail
        if abs(b) > 10_000:
            if mp.im(a) == 0 and mp.im(b) == 0 and a >= 2 and b > 0 and b * mp.log(a, 2) > MAX_MAG_BITS:
                raise _Huge  # e^{e^{20}}: a positive base past 2 to a huge positive power
            raise _Fail
        _check_power(a, b, mp)
        return mp.power(a, b)
    if kind == "root":
        if b == 0:
            raise _Fail
        if b == 2:
            return mp.sqrt(a)
        if mp.im(a) == 0 and mp.re(a) < 0 and mp.im(b) == 0 and int(mp.re(b)) == b and int(mp.re(b)) % 2 == 1:
            return -mp.power(-a, 1 / b)  # real odd root of a negative number
        _check_power(a, 1 / b, mp)
        return mp.power(a, 1 / b)
    if kind == "binom":
        if any(_finite(v, mp) and v != 0 and mp.mag(v) > MAX_BINOM_MAG_BITS for v in (a, b)):
            raise _OverBudget
        return mp.binomial(a, b)
    if kind == "logb":
        return mp.log(a) / mp.log(b)
    func = {"sin": mp.sin, "cos": mp.cos, "tan": mp.tan, "cot": mp.cot, "sec": mp.sec, "csc": mp.csc,
            "arcsin": mp.asin, "arccos": mp.acos, "arctan": mp.atan, "sinh": mp.sinh, "cosh": mp.cosh,
            "tanh": mp.tanh, "ln": mp.log, "log": mp.log, "exp": mp.exp}[kind]
    _check_function_arg(kind, a, mp)
    return func(a)


def _finite(x, mp) -> bool:
    return bool(mp.isfinite(mp.re(x)) and mp.isfinite(mp.im(x)))


@lru_cache(maxsize=1)
def _context():
    """A private mpmath context at 50 digits (the global ``mpmath.mp`` is never touched)."""
    import mpmath

    ctx = mpmath.MPContext()
    ctx.dps = DPS
    return ctx


def _piecewise(tree) -> bool:
    """Whether the tree uses floor/ceil (agreement at sample points then proves nothing)."""
    if tree[0] in ("floor", "ceil"):
        return True
    return any(isinstance(c, tuple) and _piecewise(c) for c in tree[1:]) if tree[0] not in ("num", "var", "const") else False


def numeric_equal(gold, resp, tolerance: Fraction | None = None) -> bool | None:
    """Compare two compiled trees numerically (see the module docstring): True, False or None."""
    mp = _context()
    names = _variables(gold, set()) | _variables(resp, set())
    calls = {n for n in names if n.startswith("call:")}
    names -= calls
    if calls and {n for n in _variables(gold, set()) if n.startswith("call:")} != {
        n for n in _variables(resp, set()) if n.startswith("call:")
    }:
        return None  # f(x) on one side only: a product or a function? the LaTeX grammar decides
    if tolerance is not None and (names or calls):
        return _constant_gold_vs_variable(gold, resp, names, mp)
    points = 1 if not (names or calls) else 3
    agreed = 0
    deadline = _deadline_now()
    for p in range(points):
        env = {name: mp.mpf(_value_of(name, p)) for name in names}
        peak = [mp.mpf(0)]
        try:
            vg = _eval(gold, env, mp, peak, deadline)
        except (_Fail, ValueError, ZeroDivisionError, OverflowError):
            return None
        except _Huge:
            raise TooLarge("gold") from None
        try:
            vr = _eval(resp, env, mp, peak, deadline)
        except _Huge:
            raise TooLarge("response") from None
        except _Undefined:
            # \frac{4}{0} against a finite constant gold
            return False if not names and not calls and _finite(vg, mp) else None
        except (_Fail, ValueError, ZeroDivisionError, OverflowError):
            return None
        if not (_finite(vg, mp) and _finite(vr, mp)):
            return None
        gap = abs(vg - vr)
        scale = max(abs(vg), abs(vr))
        if (scale == 0 and peak[0] > 0) or (scale != 0 and (scale < mp.mpf(10) ** -40 or peak[0] > scale * mp.mpf(10) ** 20)):
            return None  # tiny values or heavy cancellation: 50 digits cannot settle it
        if tolerance is not None:
            limit = mp.mpf(tolerance.numerator) / tolerance.denominator
            if gap <= limit * (1 - mp.mpf(10) ** -20):
                return True
            if gap > limit * (1 + mp.mpf(10) ** -20):
                return False
            return None
        if scale == 0 or gap <= scale * mp.mpf(10) ** -30:
            agreed += 1
            continue
        if gap > scale * mp.mpf(10) ** -12:
            return False
        return None
    if agreed == points and (names or calls) and (_piecewise(gold) or _piecewise(resp)):
        return None
    return agreed == points


def _constant_gold_vs_variable(gold, resp, names, mp) -> bool | None:
    """A decimal gold against an expression with variables: False when the expression is not constant."""
    if _variables(gold, set()) or not names:
        return None
    try:
        deadline = _deadline_now()
        values = [_eval(resp, {n: mp.mpf(_value_of(n, p)) for n in names}, mp, None, deadline) for p in range(2)]
    except (_Fail, ValueError, ZeroDivisionError, OverflowError):
        return None
    except _Huge:
        raise TooLarge("response") from None
    if not all(_finite(v, mp) for v in values):
        return None
    scale = max(abs(values[0]), abs(values[1]))
    if abs(values[0] - values[1]) > scale * mp.mpf(10) ** -12:
        return False
    return None


def numeric_equation_equal(gold_lhs, gold_rhs, resp_lhs, resp_rhs) -> bool | None:
    """Two equations as compiled trees: same solutions up to a constant factor? True, False or None.

    ``(gl - gr) / (rl - rr)`` must be the same non-zero constant at three points; a point where
    the ratios differ (or one side vanishes alone) proves the equations differ.
    """
    mp = _context()
    dg = ("-", gold_lhs, gold_rhs)
    dr = ("-", resp_lhs, resp_rhs)
    names = _variables(dg, set()) | _variables(dr, set())
    if not names or any(n.startswith("call:") for n in names) or _piecewise(dg) or _piecewise(dr):
        return None
    ratios = []
    deadline = _deadline_now()
    for p in range(3):
        env = {name: mp.mpf(_value_of(name, p)) for name in names}
        peak = [mp.mpf(0)]
        try:
            vg = _eval(dg, env, mp, peak, deadline)
        except (_Fail, ValueError, ZeroDivisionError, OverflowError):
            return None
        except _Huge:
            raise TooLarge("gold") from None
        try:
            vr = _eval(dr, env, mp, peak, deadline)
        except (_Fail, ValueError, ZeroDivisionError, OverflowError):
            return None
        except _Huge:
            raise TooLarge("response") from None
        if not (_finite(vg, mp) and _finite(vr, mp)):
            return None
        scale = max(abs(vg), abs(vr))
        if scale == 0 or scale < mp.mpf(10) ** -40 or peak[0] > scale * mp.mpf(10) ** 20:
            return None
        if abs(vr) < scale * mp.mpf(10) ** -30 or abs(vg) < scale * mp.mpf(10) ** -30:
            return None  # one side vanishes here: let the exact path decide
        ratios.append(vg / vr)
    first = ratios[0]
    for other in ratios[1:]:
        gap = abs(other - first)
        size = max(abs(other), abs(first))
        if gap > size * mp.mpf(10) ** -12:
            return False
        if gap > size * mp.mpf(10) ** -30:
            return None
    return True
