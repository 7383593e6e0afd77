"""The symbolic path: LaTeX -> sympy through ``latex2sympy2_extended``, and bounded equivalence tests.

Nothing here evaluates text as Python: expressions are built by the LaTeX grammar of
``latex2sympy2_extended`` (called without its string normaliser and without variable bindings). The
caller has already refused explosive input (:mod:`.guards`). sympy and latex2sympy are imported
lazily, on the first symbolic comparison.

Equivalence (``expr_equal``):
- constants: exactly when both are rational; otherwise numerically at 50 significant digits with a
  relative gap below 1e-30 (an identity test, not a tolerance: distinct closed forms do not agree to 30
  digits). A gold written as a decimal is compared with its stated precision instead.
- expressions with free symbols: evaluated at three fixed points (the symbols get distinct values in
  (1, 3)); equal when all points agree to 1e-20 relatively. When evaluation is impossible (undefined
  functions), a bounded ``simplify`` of the difference decides, for small expressions only.
- equations ``l1 = r1`` and ``l2 = r2``: ``(l1 - r1) / (l2 - r2)`` must be the same non-zero constant
  at every point (``2y = 4x + 6`` is ``y = 2x + 3``).
"""

from __future__ import annotations

import re
from fractions import Fraction
from functools import lru_cache

MAX_PARSE_CHARS = 800  # longer atoms are not handed to the LaTeX parser (its time grows fast)
MAX_OPS = 400  # larger parsed expressions are not compared symbolically
SIMPLIFY_MAX_OPS = 40
_POINTS = ((1.3183, 1.7249, 2.1291, 1.5417, 2.4131, 1.1379), (2.2113, 1.4433, 1.8167, 2.7211, 1.2659, 2.5303),
           (1.6547, 2.9081, 1.2239, 2.0341, 1.9433, 1.4773))
_FUNCS_ONLY_LATEX = re.compile(r"\\(?:sum|prod|int|lim|iint|oint)\b")


def _sympy():
    import sympy

    return sympy


@lru_cache(maxsize=8192)
def to_sympy(text: str):
    """Parse one normalised atom to a sympy expression, or None when it cannot be parsed as one."""
    if not text or len(text) > MAX_PARSE_CHARS or _FUNCS_ONLY_LATEX.search(text):
        return None
    sympy = _sympy()
    from latex2sympy2_extended import latex2sympy
    from latex2sympy2_extended.latex2sympy2 import ConversionConfig

    config = ConversionConfig(interpret_as_mixed_fractions=True, interpret_simple_eq_as_assignment=False,
                              interpret_contains_as_eq=False, lowercase_symbols=False)
    try:
        expr = latex2sympy(text, normalization_config=None, conversion_config=config)
    except Exception:
        return None
    if not isinstance(expr, sympy.Expr):
        return None
    try:
        if sympy.count_ops(expr) > MAX_OPS:
            return None
        replace = {}
        for sym in expr.free_symbols:
            if sym.name == "i":
                replace[sym] = sympy.I
            elif sym.name == "e":
                replace[sym] = sympy.E
            elif sym.name in ("pi", "\\pi"):
                replace[sym] = sympy.pi
        if replace:
            expr = expr.xreplace(replace)
    except Exception:
        return None
    return expr


def _values(expr, point):
    sympy = _sympy()
    syms = sorted(expr.free_symbols, key=lambda s: s.name)
    return {s: sympy.Float(point[k % len(point)] + 0.0137 * (k // len(point)), 30) for k, s in enumerate(syms)}


def _numeric(expr, subs=None, digits: int = 50):
    """The value as a sympy number, or None when it is not a finite number."""
    try:
        value = expr.evalf(digits, subs=subs) if subs else expr.evalf(digits)
        if not value.is_number or value.has(_sympy().nan, _sympy().zoo, _sympy().oo, -_sympy().oo):
            return None
    except Exception:
        return None
    return value


def _close(a, b, rel: float) -> bool:
    sympy = _sympy()
    diff = abs(sympy.N(a - b, 40))
    scale = max(abs(sympy.N(a, 40)), abs(sympy.N(b, 40)))
    if scale == 0:
        return diff == 0
    return bool(diff <= rel * scale)


def _fraction_of(expr) -> Fraction | None:
    sympy = _sympy()
    if isinstance(expr, sympy.Rational):
        return Fraction(int(expr.p), int(expr.q))
    return None


def expr_equal(gold, resp, tolerance: Fraction | None = None) -> bool:
    """True when two sympy expressions are equal in value (see the module docstring)."""
    sympy = _sympy()
    try:
        if gold == resp:
            return True
        symbols = gold.free_symbols | resp.free_symbols
        if not symbols:
            fg, fr = _fraction_of(gold), _fraction_of(resp)
            if tolerance is None and fg is not None and fr is not None:
                return fg == fr
            vg, vr = _numeric(gold), _numeric(resp)
            if vg is None or vr is None:
                return False
            if tolerance is not None:
                return bool(abs(sympy.N(vg - vr, 40)) <= sympy.Float(str(tolerance.numerator), 40) / tolerance.denominator)
            if fg is not None and fr is not None:
                return fg == fr
            if max(abs(sympy.N(vg, 40)), abs(sympy.N(vr, 40))) < sympy.Float("1e-40"):
                # both numerically zero (cos(pi/2) vs 0): only an exact simplification decides
                if sympy.count_ops(gold) + sympy.count_ops(resp) <= SIMPLIFY_MAX_OPS:
                    return bool(sympy.simplify(gold - resp) == 0)
                return False
            return _close(vg, vr, 1e-30)
        if tolerance is not None:
            return False
        if _piecewise(gold) or _piecewise(resp):
            # floor, |x|, sign...: agreement at sample points proves nothing; only an exact simplification
            if sympy.count_ops(gold) + sympy.count_ops(resp) <= SIMPLIFY_MAX_OPS:
                return bool(sympy.simplify(gold - resp) == 0)
            return False
        evaluated = 0
        for point in _POINTS:
            subs = _values(gold + resp, point)
            vg, vr = _numeric(gold, subs, 30), _numeric(resp, subs, 30)
            if vg is None and vr is None:
                continue
            if vg is None or vr is None:
                return False
            if not _close(vg, vr, 1e-20):
                return False
            evaluated += 1
        if evaluated >= 2:
            return True
        if sympy.count_ops(gold) + sympy.count_ops(resp) <= SIMPLIFY_MAX_OPS:
            return bool(sympy.simplify(gold - resp) == 0)
        return False
    except Exception:
        return False


def _piecewise(expr) -> bool:
    """Whether the expression uses a piecewise-constant or non-analytic function of its symbols."""
    sympy = _sympy()
    kinds = (sympy.floor, sympy.ceiling, sympy.Abs, sympy.sign, sympy.Piecewise, sympy.frac, sympy.Max, sympy.Min)
    return any(isinstance(node, kinds) for node in sympy.preorder_traversal(expr))


def equation_equal(gold_lhs, gold_rhs, resp_lhs, resp_rhs) -> bool:
    """True when two equations have the same solution set up to a constant non-zero factor."""
    sympy = _sympy()
    try:
        dg = gold_lhs - gold_rhs
        dr = resp_lhs - resp_rhs
        if dg == dr or dg == -dr:
            return True
        symbols = dg.free_symbols | dr.free_symbols
        if not symbols:
            return False
        ratios = []
        for point in _POINTS:
            subs = _values(dg + dr, point)
            vg, vr = _numeric(dg, subs, 30), _numeric(dr, subs, 30)
            if vg is None or vr is None or vr == 0:
                continue
            ratios.append(sympy.N(vg / vr, 30))
        if len(ratios) < 2 or any(r == 0 for r in ratios):
            return False
        return all(_close(ratios[0], r, 1e-20) for r in ratios[1:])
    except Exception:
        return False


def rational(value: Fraction):
    """A sympy Rational from an exact Fraction (used when the fast path already parsed a number)."""
    sympy = _sympy()
    return sympy.Rational(value.numerator, value.denominator)
