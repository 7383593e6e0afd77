"""JustRL's rule grader (the paper's ``evals/utils.py::grade_answer_verl``), reimplemented from its semantics.

JustRL graded every sample with this rule first (then CompassVerifier-3B on every rule failure, see
:mod:`justrl.evaluate.judge`). The rule, as read from thunlp/JustRL ``evals/utils.py`` at commit
cf444e9 (the DeepScaleR / PRM800K grader, which builds on Hendrycks' MATH normalisation):

1. Gold: empty -> incorrect; a gold containing ``\\boxed`` is replaced by its last box's content
   (or by nothing when that box is not ``\\boxed{...}``).
2. Answer: the text of the last ``\\boxed`` in the response, brace-matched, which must read
   ``\\boxed{...}`` (``\\boxed 5`` or an unclosed box gives no answer -> incorrect). No box -> incorrect.
3. Correct if the two are equal after Hendrycks' ``_strip_string`` (the "mathd" check), or
4. after the PRM800K ``_normalize`` (units, ``\\text{}``, thousands commas, LaTeX rendered to text by
   pylatexenc's ``latex2text``, spaces and braces dropped, lower case, integers canonical), equal as
   strings, or element-wise (tuples / intervals with the same brackets) equal: fractions only as
   identical strings, integers never against non-integers, the rest when sympy's ``simplify`` of
   ``(gold)-(answer)`` is 0, provided that expression has at most two distinct letters (``sqrt`` and
   ``frac`` not counted), no ``^{`` / ``^(``, no ``^`` followed by two digits and no ``^n^``.

The reference evaluates the normalised text with ``sympy.parsing.sympy_parser.parse_expr`` (standard
transformations + implicit multiplication/application). justrl never evaluates model text (DESIGN.md
§2), so step 4 runs sympy's own *token* transformations (``stringify_expr``: tokenising and token
rewriting only, nothing is executed) and then interprets the resulting Python expression with
:func:`_safe_eval`, a whitelist over its ``ast`` (numbers, +, -, *, /, **, unary signs, calls of
sympy's numeric constructors, of ``Symbol``/``Function``, and of sympy's mathematical functions and
constants). Anything else (attribute access, tuples, comparisons, keywords, builtins) is refused,
which the reference turns into "incorrect" too (its ``(a,b)-(c,d)`` raises). The same sympy objects
are built, so ``simplify`` sees what the reference's would.

Every check runs in a worker process under a hard timeout (:func:`grade_many`); past it the verdict
is "incorrect" with reason "timeout" (the reference has no timeout and would eventually answer). A boxed
answer or gold over 20,000 characters is refused at once ("too_large"; the reference would try it).
"""

from __future__ import annotations

import ast
import math
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from justrl.verify.lazy_pool import LazyPool

__all__ = ["RuleVerdict", "extract_boxed", "grade_many", "justrl_rule_check", "mathd_normalize",
           "prm_normalize", "require_pylatexenc"]

CHECKER = "justrl.evaluate.justrl_rule:justrl_rule_check"
WARMUP = ("\\boxed{\\dfrac{\\sqrt{2}}{2}}", "\\frac{1}{\\sqrt{2}}")
DEFAULT_TIMEOUT = 10.0  # seconds per sample (sympy.simplify is the slow part)
MAX_ANSWER_CHARS = 20_000  # a longer boxed answer (or gold) is refused at once: reason "too_large"


class RuleGraderUnavailable(RuntimeError):
    """pylatexenc (the LaTeX-to-text step of JustRL's rule) is not installed."""


def require_pylatexenc() -> None:
    """Raise :class:`RuleGraderUnavailable` (one line) when pylatexenc cannot be imported."""
    import importlib.util

    if importlib.util.find_spec("pylatexenc") is None:
        raise RuleGraderUnavailable("the justrl-rule grader needs pylatexenc (JustRL's LaTeX-to-text step); "
                                    "install it with: pip install 'pylatexenc>=2.10,<3'")


@dataclass(frozen=True)
class RuleVerdict:
    """``correct``; ``extracted`` the last box's content (None without one); ``reason``: "match_mathd",
    "match_string", "match_sympy", "mismatch", "no_answer", "empty_gold", "too_large" (an answer or gold
    over MAX_ANSWER_CHARS, refused without normalising), "timeout", "error"."""

    correct: bool
    extracted: str | None
    reason: str


# --------------------------------------------------------------------------------------------- extraction

def extract_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed`` occurrence when it reads ``\\boxed{...}`` (brace-matched), else None.

    Brace matching starts at the occurrence and counts every ``{`` and ``}`` after it; the span ends at
    the first ``}`` that brings the count back to exactly zero.
    """
    if "\\boxed" not in text:
        return None
    start = text.rfind("\\boxed")
    depth = 0
    end = -1
    for pos in range(start, len(text)):
        ch = text[pos]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                end = pos
                break
    if end < 0:
        return None
    span = text[start:end + 1]
    if not span.startswith("\\boxed{"):
        return None
    return span[len("\\boxed{"):-1]


# ----------------------------------------------------------------------------- Hendrycks' _strip_string

_TEXT_WRAPPED = re.compile(r"^\\text\{(?P<text>.+?)\}$")


class _NormaliseFailed(Exception):
    """One of the reference's helpers raised; mathd normalisation then keeps the text as it was."""


def _expand_sqrt(s: str) -> str:
    if "\\sqrt" not in s:
        return s
    head, *rest = s.split("\\sqrt")
    out = [head]
    for piece in rest:
        if not piece:
            raise _NormaliseFailed
        out.append("\\sqrt" + piece if piece[0] == "{" else "\\sqrt{" + piece[0] + "}" + piece[1:])
    return "".join(out)


def _expand_fracs(s: str) -> str:
    head, *rest = s.split("\\frac")
    out = [head]
    for piece in rest:
        out.append("\\frac")
        if not piece:
            raise _NormaliseFailed
        if piece[0] == "{":
            out.append(piece)
        elif len(piece) < 2:
            return s  # the reference gives up on the whole string here
        elif piece[1] != "{":
            out.append("{" + piece[0] + "}{" + piece[1] + "}" + piece[2:])
        else:
            out.append("{" + piece[0] + "}" + piece[1] + piece[2:])
    return "".join(out)


def _slash_to_frac(s: str) -> str:
    parts = s.split("/")
    if len(parts) != 2:
        return s
    try:
        a, b = int(parts[0]), int(parts[1])
    except ValueError:
        return s
    if s != f"{a}/{b}":
        return s
    return "\\frac{" + str(a) + "}{" + str(b) + "}"


def _strip_string(s: str) -> str:
    s = s.replace("\n", "").replace("\\!", "").replace("\\\\", "\\")
    s = s.replace("tfrac", "frac").replace("dfrac", "frac")
    s = s.replace("\\left", "").replace("\\right", "")
    s = s.replace("^{\\circ}", "").replace("^\\circ", "")
    s = s.replace("\\$", "")
    if "\\text{ " in s:  # units on the right
        pieces = s.split("\\text{ ")
        if len(pieces) != 2:
            raise _NormaliseFailed
        s = pieces[0]
    s = s.replace("\\%", "")
    s = s.replace(" .", " 0.").replace("{.", "{0.")
    if not s:
        return s
    if s[0] == ".":
        s = "0" + s
    sides = s.split("=")
    if len(sides) == 2 and len(sides[0]) <= 2:
        s = sides[1]
    s = _expand_sqrt(s)
    s = s.replace(" ", "")
    s = _expand_fracs(s)
    if s == "0.5":
        s = "\\frac{1}{2}"
    return _slash_to_frac(s)


def mathd_normalize(answer: str | None) -> str | None:
    """Hendrycks' MATH normalisation as JustRL applies it (``mathd_normalize_answer``)."""
    if answer is None:
        return None
    answer = answer.strip()
    m = _TEXT_WRAPPED.search(answer)
    if m is not None:
        answer = m.group("text").strip()
    try:
        return _strip_string(answer)
    except _NormaliseFailed:
        return answer


# ---------------------------------------------------------------------------------- PRM800K _normalize

_UNITS = ("degree", "cm", "centimeter", "meter", "mile", "second", "minute", "hour", "day", "week", "month",
          "year", "foot", "feet", "inch", "yard")
_UNIT_RES = [re.compile(unit + r"(es)?(s)? *(\^[0-9]+)?") for unit in _UNITS]
_CARET_CIRC = re.compile(r"\^ *\\circ")
_COMMA_THINSPACE = re.compile(r",\\! *")
_DASH_SPACES = re.compile(r"- *")
_MIXED_NUMBER = re.compile(r"([0-9]) +([0-9])")
_THOUSANDS = re.compile(r"(\d)(,)(\d\d\d)($|\D)")
_FRACTION_TEXT = re.compile(r"^-?[0-9]+.?/0*[1-9][0-9]*.?$")
_LATEX_GLYPHS = (("√", "sqrt"), ("π", "pi"), ("∞", "inf"), ("∪", "U"), ("·", "*"), ("×", "*"))
_latex2text = None
_latex2text_lock = threading.Lock()


def _latex_to_text(s: str) -> str:
    global _latex2text
    with _latex2text_lock:
        if _latex2text is None:
            import logging

            require_pylatexenc()
            from pylatexenc import latex2text

            logging.getLogger("pylatexenc").setLevel(logging.CRITICAL)  # tolerant parsing logs every oddity
            _latex2text = latex2text.LatexNodes2Text()
    s = s.replace("\\tfrac", "\\frac").replace("\\dfrac", "\\frac").replace("\\frac", " \\frac")
    s = _latex2text.latex_to_text(s)
    for glyph, word in _LATEX_GLYPHS:
        s = s.replace(glyph, word)
    return s.strip()


def _as_float(s: str) -> float | None:
    try:
        return float(s)
    except ValueError:
        return None


def _near_int(x: float) -> bool:
    try:
        return abs(x - int(round(x))) <= 1e-7
    except (OverflowError, ValueError):
        return False


def _drop_thousands_commas(s: str) -> str:
    while True:
        nxt = _THOUSANDS.sub(r"\1\3\4", s)
        if nxt == s:
            return nxt
        s = nxt


def _text_is_int(s: str) -> bool:
    x = _as_float(_drop_thousands_commas(s))
    return x is not None and _near_int(x)


def _text_to_int(s: str) -> int:
    return int(float(s.replace(",", "")))


def prm_normalize(expr: str | None) -> str | None:
    """The PRM800K grader's ``_normalize`` as JustRL applies it (LaTeX via pylatexenc's latex2text)."""
    if expr is None:
        return None
    m = _TEXT_WRAPPED.search(expr)
    if m is not None:
        expr = m.group("text")
    expr = expr.replace("\\%", "%").replace("\\$", "$").replace("$", "").replace("%", "")
    expr = expr.replace(" or ", " , ").replace(" and ", " , ")
    expr = expr.replace("million", "*10^6").replace("billion", "*10^9").replace("trillion", "*10^12")
    for unit in _UNIT_RES:
        expr = unit.sub("", expr)
    expr = _CARET_CIRC.sub("", expr)
    if expr and expr[0] == "{" and expr[-1] == "}":
        expr = expr[1:-1]
    expr = _COMMA_THINSPACE.sub("", expr)
    value = _as_float(expr)
    if value is not None and _near_int(value):
        expr = str(int(round(value)))
    if "\\" in expr:
        try:
            expr = _latex_to_text(expr)
        except RuleGraderUnavailable:
            raise
        except Exception:  # noqa: BLE001 - the reference keeps the text when latex2text fails
            pass
    expr = _DASH_SPACES.sub("-", expr)
    expr = _MIXED_NUMBER.sub(r"\1+\2", expr)
    expr = expr.replace(" ", "").replace("{", "").replace("}", "").lower()
    if _text_is_int(expr):
        expr = str(_text_to_int(expr))
    return expr


# ----------------------------------------------------------------------------------- sympy comparison

_BAD_SUBSTRINGS = ("^{", "^(")
_BAD_RES = (re.compile(r"\^[0-9]+\^"), re.compile(r"\^[0-9][0-9]+"))
_TUPLE_CHARS = "()[]"


def _sympy_allowed(expr: str) -> bool:
    letters = {ch for ch in expr.replace("sqrt", "").replace("frac", "") if ch.isalpha()}
    if len(letters) > 2:
        return False
    if any(bad in expr for bad in _BAD_SUBSTRINGS):
        return False
    return not any(r.search(expr) for r in _BAD_RES)


_namespace: dict | None = None
_allowed_callables: dict | None = None


def _parse_namespace() -> tuple[dict, dict]:
    """parse_expr's default global namespace (``from sympy import *``, builtin functions, max/min) — used
    only for sympy's token transformations, which look names up there — and the callables the safe
    interpreter accepts."""
    global _namespace, _allowed_callables
    if _namespace is None:
        import builtins
        import types

        import sympy
        from sympy.core.function import FunctionClass

        namespace = {name: getattr(sympy, name) for name in sympy.__all__}
        for name, obj in vars(builtins).items():
            if isinstance(obj, types.BuiltinFunctionType):
                namespace[name] = obj
        namespace["max"], namespace["min"] = sympy.Max, sympy.Min
        allowed = {"Symbol": sympy.Symbol, "Function": sympy.Function, "Integer": sympy.Integer,
                   "Float": sympy.Float, "Rational": sympy.Rational, "sqrt": sympy.sqrt, "root": sympy.root,
                   "abs": abs, "max": sympy.Max, "min": sympy.Min}
        for name, obj in namespace.items():
            if isinstance(obj, FunctionClass) and name not in allowed:
                allowed[name] = obj  # sympy's mathematical functions (sin, log, factorial, ...)
        _namespace, _allowed_callables = namespace, allowed
    return _namespace, _allowed_callables


class _Refused(Exception):
    """The expression is outside the whitelist; the verdict is "not equal" (as the reference's error)."""


_BINOPS: dict[type, Callable] = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
                                 ast.Mult: lambda a, b: a * b, ast.Div: lambda a, b: a / b}
_MAX_POWER_BITS = 100_000  # |exponent| * log2|base| above this is refused (integer powers only)


def _power(base, exponent):
    import sympy

    if isinstance(exponent, sympy.Integer) and isinstance(base, (sympy.Integer, sympy.Rational)):
        size = max(abs(int(base.p)), abs(int(base.q)), 2)
        if abs(int(exponent)) * math.log2(size) > _MAX_POWER_BITS:
            raise _Refused
    return base ** exponent


def _safe_eval(node: ast.AST, callables: dict, namespace: dict):
    """Evaluate the transformed expression's AST over a whitelist (see the module docstring)."""
    import sympy

    if isinstance(node, ast.Expression):
        return _safe_eval(node.body, callables, namespace)
    if isinstance(node, ast.BinOp):
        left = _safe_eval(node.left, callables, namespace)
        right = _safe_eval(node.right, callables, namespace)
        if isinstance(node.op, ast.Pow):
            return _power(left, right)
        op = _BINOPS.get(type(node.op))
        if op is None:
            raise _Refused
        return op(left, right)
    if isinstance(node, ast.UnaryOp):
        value = _safe_eval(node.operand, callables, namespace)
        if isinstance(node.op, ast.USub):
            return -value
        if isinstance(node.op, ast.UAdd):
            return +value
        raise _Refused
    if isinstance(node, ast.Constant):
        if isinstance(node.value, (int, str)) and not isinstance(node.value, bool):
            return node.value
        raise _Refused
    if isinstance(node, ast.Name):
        obj = namespace.get(node.id)
        if isinstance(obj, sympy.Basic) or node.id in callables:
            return obj if isinstance(obj, sympy.Basic) else callables[node.id]
        raise _Refused
    if isinstance(node, ast.Call):
        if node.keywords or not isinstance(node.func, (ast.Name, ast.Call)):
            raise _Refused
        if isinstance(node.func, ast.Name):
            func = callables.get(node.func.id)
            if func is None:
                raise _Refused
        else:  # Function('f')(x): an undefined function applied
            func = _safe_eval(node.func, callables, namespace)
            if not isinstance(func, sympy.core.function.UndefinedFunction):
                raise _Refused
        args = [_safe_eval(a, callables, namespace) for a in node.args]
        if func in (sympy.Symbol, sympy.Function) and not (len(args) == 1 and isinstance(args[0], str)):
            raise _Refused
        if func in (sympy.Integer, sympy.Float, sympy.Rational):
            if not all(isinstance(a, (int, str)) for a in args):
                raise _Refused
        elif func not in (sympy.Symbol, sympy.Function) and any(isinstance(a, str) for a in args):
            raise _Refused
        return func(*args)
    raise _Refused


def _safe_parse(expr: str):
    """What ``parse_expr(expr.replace('^', '**'), transformations=standard + implicit_multiplication_
    application)`` returns, built without evaluating the text; raises on anything outside the whitelist."""
    from sympy.parsing.sympy_parser import (
        implicit_multiplication_application,
        standard_transformations,
        stringify_expr,
    )

    namespace, callables = _parse_namespace()
    code = stringify_expr(expr.replace("^", "**"), {}, dict(namespace),
                          standard_transformations + (implicit_multiplication_application,))
    tree = ast.parse(code.strip(), mode="eval")
    return _safe_eval(tree, callables, namespace)


def _equal_under_sympy(gold: str, given: str) -> bool:
    expr = f"({gold})-({given})"
    if not _sympy_allowed(expr):
        return False
    try:
        import sympy

        return sympy.simplify(_safe_parse(expr)) == 0
    except Exception:  # noqa: BLE001 - the reference counts every failure as "not equal"
        return False


def _split_elements(expr: str) -> list[str]:
    expr = _drop_thousands_commas(expr)
    if not expr:
        return []
    inner = expr[1:-1]
    if len(expr) > 2 and expr[0] in _TUPLE_CHARS and expr[-1] in _TUPLE_CHARS \
            and not any(ch in inner for ch in _TUPLE_CHARS):
        return [elem.strip() for elem in inner.split(",")]
    return [expr]


def _sympy_grade(given: str, gold: str | None) -> str | None:
    """The PRM800K comparison: "match_string" / "match_sympy" when equal, None when not."""
    gold_n, given_n = prm_normalize(gold), prm_normalize(given)
    if gold_n is None:
        return None
    if gold_n == given_n:
        return "match_string"
    if not given_n:
        return None
    gold_elems, given_elems = _split_elements(gold_n), _split_elements(given_n)
    if len(gold_elems) > 1 and (gold_n[0] != given_n[0] or gold_n[-1] != given_n[-1]):
        return None
    if len(gold_elems) != len(given_elems):
        return None
    for g, a in zip(gold_elems, given_elems, strict=True):
        if _FRACTION_TEXT.search(g) and _FRACTION_TEXT.search(a):
            ok = g == a  # unreduced fractions must not be simplified into the gold
        elif _text_is_int(g) != _text_is_int(a):
            ok = False
        else:
            ok = _equal_under_sympy(g, a)
        if not ok:
            return None
    return "match_sympy"


def justrl_rule_check(response: str, gold: str) -> tuple[bool, str | None, str]:
    """JustRL's rule verdict for one sample: ``(correct, extracted, reason)`` (runs in a worker)."""
    if not gold:
        return False, extract_boxed(response), "empty_gold"
    gold_text: str | None = extract_boxed(gold) if "\\boxed" in gold else gold
    given = extract_boxed(response)
    if given is None:
        return False, None, "no_answer"
    if len(given) > MAX_ANSWER_CHARS or len(gold_text or "") > MAX_ANSWER_CHARS:
        return False, given[:200], "too_large"
    if gold_text is not None and mathd_normalize(given) == mathd_normalize(gold_text):
        return True, given, "match_mathd"
    reason = _sympy_grade(given, gold_text)
    return (True, given, reason) if reason else (False, given, "mismatch")


# ---------------------------------------------------------------------------------------- worker pool

_POOL = LazyPool(CHECKER, warmup=WARMUP)


def _get_pool():
    return _POOL.get()


def shutdown_pool() -> None:
    """Stop the rule grader's worker processes (they restart on the next call)."""
    _POOL.shutdown()


def _from_last_box(response: str) -> str:
    """The response from its last ``\\boxed`` on ("" when it has none): the rule reads nothing before that
    point, so the verdict is unchanged and workers receive a few characters, not 30k tokens."""
    at = response.rfind("\\boxed")
    return response[at:] if at >= 0 else ""


def grade_many(pairs: Iterable[tuple[str, str]], *, workers: int | None = None, timeout: float = DEFAULT_TIMEOUT,
               progress: Callable[[int], None] | None = None) -> list[RuleVerdict]:
    """JustRL rule verdicts for ``(response, gold)`` pairs, in order, each under a hard ``timeout``."""
    require_pylatexenc()
    items = [(_from_last_box(str(r)), str(g)) for r, g in pairs]
    out: list[RuleVerdict | None] = [None] * len(items)
    if not items:
        return []
    done = 0
    with _get_pool().session(workers=workers, timeout=timeout) as session:
        for i, pair in enumerate(items):
            session.submit(i, pair)
        for key, outcome in session.drain():
            if outcome.status == "ok":
                correct, extracted, reason = outcome.value
                out[key] = RuleVerdict(bool(correct), extracted, str(reason))
            else:
                out[key] = RuleVerdict(False, extract_boxed(items[key][0]), outcome.status)
            done += 1
            if progress is not None:
                progress(done)
    return [v for v in out if v is not None]
