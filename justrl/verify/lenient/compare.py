"""Comparison of a gold structure with a response structure, by kind (see :mod:`.structure`).

Atoms are compared exactly (Fractions), then numerically on a whitelisted grammar (:mod:`.numeric`,
mpmath only), then symbolically. ``Comparer(symbolic=False)`` never touches sympy: when an atom needs
symbolic work it raises
:class:`Undecided` (used by ``quick_verdict``). ``Comparer(symbolic=True)`` finishes the job with
:mod:`.symbolic`.

Decisions written down here:
- an unbracketed list (``1, 2``) and a set (``\\{1, 2\\}``) are unordered and compare as multisets;
  a bracketed sequence (``(1, 2)``, ``[1, 2)``) is ordered and its bracket kinds must match;
- an assignment ``x = 5`` equals ``5`` and ``x = 5`` (not ``y = 5``); an equation equals another
  equation with the same solutions up to a constant factor; an inequality equals the same interval;
- a column (or row) vector equals a parenthesised tuple of the same entries; matrices need the same shape;
- a number in base b (``1011_2``) equals the same digits with or without the subscript;
- a decimal gold is matched within half a unit of its last stated digit; an exact gold is matched exactly.
"""

from __future__ import annotations

import re
from fractions import Fraction

from justrl.verify.lenient.normalize import compact, normalize, numpy_gold, unwrap_text
from justrl.verify.lenient.numbers import decimal_tolerance, parse_rational
from justrl.verify.lenient.numeric import compile_atom, numeric_equal, numeric_equation_equal
from justrl.verify.lenient.sentence import gold_shaped_value, is_prose, sentence_value
from justrl.verify.lenient.structure import (
    Assign,
    Atom,
    Equation,
    Letter,
    Matrix,
    Relation,
    Seq,
    Text,
    Union,
    letter_of,
    parse_structure,
    split_top,
)
from justrl.verify.lenient.units import strip_trailing_units

_BASE = re.compile(r"^(\w+)\s*_\s*\{?\s*(\d+)\s*\}?$")
_REPEATING = re.compile(r"(?<![\d.])(-?)(\d*)\.(\d*)\\overline\s*\{\s*(\d+)\s*\}")
_INFINITY = {"\\infty", "+\\infty", "\\infinity", "∞", "oo", "+oo", "infty"}
_NEG_INFINITY = {"-\\infty", "-\\infinity", "-∞", "-oo", "-infty"}


# a True/False gold (TheoremQA) is answered by yes/no as well
_TRUTH = {"true": "true", "yes": "true", "false": "false", "no": "false"}


class Undecided(Exception):
    """Raised by the fast comparer when symbolic work would be needed."""


def repeating_to_fraction(text: str) -> str:
    """Rewrite ``0.\\overline{3}``, ``1.2\\overline{45}`` as exact ``\\frac{p}{q}``."""

    def repl(m: re.Match) -> str:
        sign, whole, fixed, rep = m.group(1), m.group(2) or "0", m.group(3), m.group(4)
        value = Fraction(int(whole)) + (Fraction(int(fixed), 10 ** len(fixed)) if fixed else 0)
        value += Fraction(int(rep), (10 ** len(rep) - 1) * 10 ** len(fixed))
        if sign:
            value = -value
        return f"\\frac{{{value.numerator}}}{{{value.denominator}}}"

    return _REPEATING.sub(repl, text) if "\\overline" in text else text


def _prep_atom(text: str) -> str:
    text = repeating_to_fraction(text.strip())
    if text.startswith("+") and len(text) > 1:
        text = text[1:].strip()
    return text


class Comparer:
    """Structure-by-structure comparison; ``symbolic`` allows sympy for atoms."""

    def __init__(self, symbolic: bool):
        self.symbolic = symbolic
        self.unparsed = False  # set when an atom could not be parsed by any path
        self._top = True  # restatements (sentence, right side of an equation) are read at the top only

    # ---- atoms -----------------------------------------------------------------------------
    def atom_equal(self, gold: str, resp: str) -> bool:
        g, r = _prep_atom(numpy_gold(gold)), _prep_atom(resp)
        cg, cr = compact(g), compact(r)
        if cg == cr:
            return True
        if cg in _INFINITY or cr in _INFINITY:
            return cg in _INFINITY and cr in _INFINITY
        if cg in _NEG_INFINITY or cr in _NEG_INFINITY:
            return cg in _NEG_INFINITY and cr in _NEG_INFINITY
        base_g = _BASE.match(cg)
        if base_g and base_g.group(1).isalnum() and not base_g.group(1).isalpha():
            base_r = _BASE.match(cr)
            if base_r:
                return base_r.group(1).lower() == base_g.group(1).lower() and base_r.group(2) == base_g.group(2)
            return cr.lower() == base_g.group(1).lower()
        base_r = _BASE.match(cr)
        if base_r and not base_r.group(1).isalpha() and not base_g:
            return False  # a base-b numeral against a gold that is not one
        fg, fr = parse_rational(g), parse_rational(r)
        if fg is not None and fr is None:
            stripped = strip_trailing_units(r)
            if stripped != r and stripped.strip():
                fr = parse_rational(stripped)  # 4.5 \times 10^{33} \text{ erg/s}: a number with units
        tolerance = decimal_tolerance(cg) if fg is not None else None
        if fg is not None and fr is not None:
            if tolerance is not None:
                return abs(fr - fg) <= tolerance
            return fr == fg
        tg = ("num", fg) if fg is not None else compile_atom(g)
        tr = ("num", fr) if fr is not None else compile_atom(r)
        if tg is not None and tr is not None:
            decided = numeric_equal(tg, tr, tolerance)
            if decided is not None:
                return decided
        if not self.symbolic:
            raise Undecided
        from justrl.verify.lenient import symbolic

        # parse the side the fast grammar could not read first: when it fails, skip the other
        er = symbolic.rational(fr) if fr is not None else symbolic.to_sympy(r)
        if er is None:
            self.unparsed = True
            return False
        eg = symbolic.rational(fg) if fg is not None else symbolic.to_sympy(g)
        if eg is None:
            self.unparsed = True
            return False
        return symbolic.expr_equal(eg, er, tolerance)

    # ---- structures ------------------------------------------------------------------------
    def equal(self, g, r) -> bool:
        """Whether response structure ``r`` states gold structure ``g``.

        At the top level only, a response that restates its value is read for that value when the
        direct comparison fails: a sentence (:func:`.sentence.sentence_value`) and an equation whose
        left side is not a bare name (``\\cos B = \\frac{3}{5}``, see :meth:`right_side`).
        """
        if not self._top:
            return self.kind_equal(g, r)
        self._top = False
        try:
            return self.kind_equal(g, r) or self.restated(g, r)
        finally:
            self._top = True

    def restated(self, g, r) -> bool:
        """The comparison of ``g`` with the value a sentence or an equation ``r`` states (top level)."""
        if isinstance(g, Text):
            return False  # a text gold is compared as text, never read out of a sentence
        g_set, r_set = _bare_set(g), _bare_set(r)
        if g_set is not None or r_set is not None:  # a gold {0,2,4} written without \\{ \\}
            return self.kind_equal(g_set or g, r_set or r)
        if isinstance(g, Letter) and isinstance(r, Equation):  # (D) $x^2-8x+16=0$: a letter and its option
            return letter_of(f"{r.lhs} = {r.rhs}") == g.letter
        if isinstance(r, Equation):
            return not isinstance(g, (Equation, Assign)) and self.right_side(g, r)
        if isinstance(r, Atom) and not isinstance(g, (Equation, Assign)):
            chain = [p.strip() for p in split_top(r.text, ("=",))]
            if len(chain) >= 3 and all(chain) and len(chain) <= 12:
                # \\sqrt{242} = \\sqrt{121 \\cdot 2} = 11\\sqrt{2}: the last part is the answer, and every
                # part that is a number expression must equal it too
                if not self.kind_equal(g, parse_structure(chain[-1])):
                    return False
                return all(self.kind_equal(g, parse_structure(p)) for p in chain[:-1] if _is_constant(p))
        prose = r.text if isinstance(r, Atom) else (r.raw or r.text) if isinstance(r, Text) else None
        if prose is None or not is_prose(prose):
            return False
        value = sentence_value(prose)
        if value is None and isinstance(g, Atom):
            value = gold_shaped_value(prose, g.text)  # "3 out of 8, that is 3/8" for a fraction gold
        if value is None or compact(value) == compact(prose):
            return False
        node = parse_structure(normalize(value))
        if isinstance(node, Equation):
            return not isinstance(g, (Equation, Assign)) and self.right_side(g, node)
        return self.kind_equal(g, node)

    def right_side(self, g, r: Equation) -> bool:
        """``h(g(2)) = 11``, ``p+q = 9``: the right side is the answer; a left side that is a number
        expression must equal it too (``\\log_3 81 = 4`` passes for 4, ``2+2 = 5`` fails for 5)."""
        if not self.kind_equal(g, parse_structure(r.rhs)):
            return False
        if _is_constant(r.lhs):
            return self.kind_equal(g, parse_structure(r.lhs))
        return True

    def kind_equal(self, g, r) -> bool:
        if isinstance(g, Assign):
            if isinstance(r, Assign):
                return compact(g.name) == compact(r.name) and self.equal(g.value, r.value)
            if isinstance(r, Equation):
                return isinstance(g.value, Atom) and self.equations(g.name, g.value.text, r.lhs, r.rhs)
            return self.equal(g.value, r)
        if isinstance(g, Equation):
            if isinstance(r, Equation):
                return self.equations(g.lhs, g.rhs, r.lhs, r.rhs)
            if isinstance(r, Assign) and isinstance(r.value, Atom):
                return self.equations(g.lhs, g.rhs, r.name, r.value.text)
            return False
        if isinstance(r, Assign):
            return self.equal(g, r.value)
        if isinstance(g, Text):
            said = self.text_of(r)
            return said == g.text or (said is not None and _TRUTH.get(said, "") == _TRUTH.get(g.text, None))
        if isinstance(g, Letter):
            return self.letter_of_node(r) == g.letter
        if isinstance(g, Relation):
            if isinstance(r, Relation):
                return compact(g.var) == compact(r.var) and self.seq_equal(g.interval, r.interval)
            if isinstance(r, Seq) and r.ordered:
                return self.seq_equal(g.interval, r)
            return False
        if isinstance(r, Relation):
            return isinstance(g, Seq) and g.ordered and self.seq_equal(g, r.interval)
        if isinstance(g, Union):
            return isinstance(r, Union) and self.unordered(list(g.parts), list(r.parts))
        if isinstance(g, Matrix):
            return self.matrix_equal(g, r)
        if isinstance(g, Seq):
            if isinstance(r, Matrix):
                return self.matrix_equal(r, g, gold_is_matrix=False)
            return self.seq_equal(g, r)
        if isinstance(g, Atom):
            if isinstance(r, Atom):
                return self.atom_equal(g.text, r.text)
            if isinstance(r, Text):  # \mathbf{42}, 4.5 \times 10^{33} \text{ erg/s}
                raw = r.raw or r.text
                return self.atom_equal(g.text, unwrap_text(raw)) or self.atom_equal(g.text, raw)
            return False
        return False

    def seq_equal(self, g: Seq, r) -> bool:
        if not isinstance(r, Seq) or g.ordered != r.ordered:
            return False
        if g.ordered:
            if (g.left, g.right) != (r.left, r.right) or len(g.items) != len(r.items):
                return False
            return all(self.equal(a, b) for a, b in zip(g.items, r.items, strict=True))
        return self.unordered(_flatten(g.items), _flatten(r.items))

    def unordered(self, gold_items: list, resp_items: list) -> bool:
        if len(gold_items) != len(resp_items):
            return False
        remaining = list(resp_items)
        for item in gold_items:
            for k, cand in enumerate(remaining):
                if self.equal(item, cand):
                    del remaining[k]
                    break
            else:
                return False
        return True

    def matrix_equal(self, g: Matrix, r, gold_is_matrix: bool = True) -> bool:
        if isinstance(r, Matrix):
            if len(g.rows) != len(r.rows) or any(len(a) != len(b) for a, b in zip(g.rows, r.rows, strict=True)):
                return False
            return all(self.equal(a, b) for ra, rb in zip(g.rows, r.rows, strict=True) for a, b in zip(ra, rb, strict=True))
        if isinstance(r, Seq) and r.ordered and (r.left, r.right) == ("(", ")"):
            if len(g.rows) == 1:
                entries = list(g.rows[0])
            elif all(len(row) == 1 for row in g.rows):
                entries = [row[0] for row in g.rows]
            else:
                return False
            if len(entries) != len(r.items):
                return False
            pairs = zip(entries, r.items, strict=True) if gold_is_matrix else zip(r.items, entries, strict=True)
            return all(self.equal(a, b) for a, b in pairs)
        return False

    def equations(self, gl: str, gr: str, rl: str, rr: str) -> bool:
        if compact(gl) == compact(rl) and self.atom_equal(gr, rr):
            return True
        if compact(gl) == compact(rr) and self.atom_equal(gr, rl):
            return True
        trees = [compile_atom(_prep_atom(x)) for x in (gl, gr, rl, rr)]
        if all(t is not None for t in trees):
            decided = numeric_equation_equal(*trees)
            if decided is not None:
                return decided
        if not self.symbolic:
            raise Undecided
        from justrl.verify.lenient import symbolic

        parts = [symbolic.to_sympy(_prep_atom(x)) for x in (gl, gr, rl, rr)]
        if any(p is None for p in parts):
            self.unparsed = True
            return False
        return symbolic.equation_equal(*parts)

    @staticmethod
    def text_of(node) -> str | None:
        if isinstance(node, Text):
            return node.text
        if isinstance(node, Atom):
            return " ".join(unwrap_text(node.text).casefold().split())
        return None

    @staticmethod
    def letter_of_node(node) -> str | None:
        if isinstance(node, Letter):
            return node.letter
        if isinstance(node, (Atom, Text)):
            return letter_of(node.text.upper() if isinstance(node, Text) else node.text)
        return None


def _bare_set(node):
    """``{0,2,4}`` (an Atom with bare braces around a list) as the set ``\\{0,2,4\\}``, else None.

    A single braced number (``{42}``) is a group, not a set, unless the other side is a set: the
    caller only uses this when the other side is compared as a set anyway.
    """
    if not isinstance(node, Atom):
        return None
    text = node.text.strip()
    if len(text) < 2 or text[0] != "{" or text[-1] != "}" or text.startswith("{}"):
        return None
    depth = 0
    for i, ch in enumerate(text):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth == 0 and i != len(text) - 1:
            return None  # {a}{b}: two groups, not one set
    return parse_structure("\\{" + text[1:-1] + "\\}")


def _is_constant(text: str) -> bool:
    """Whether ``text`` is a number expression without variables (``\\log_3 81``, ``2+2``)."""
    prepared = _prep_atom(text)
    if parse_rational(prepared) is not None:
        return True
    tree = compile_atom(prepared)
    return tree is not None and not _has_var(tree)


def _has_var(tree) -> bool:
    if not isinstance(tree, tuple):
        return False
    if tree and tree[0] == "var":
        return True
    return any(_has_var(part) for part in tree[1:])


def _flatten(items) -> list:
    out: list = []
    for item in items:
        if isinstance(item, Seq) and not item.ordered and not item.left:
            out.extend(_flatten(item.items))
        else:
            out.append(item)
    return out
