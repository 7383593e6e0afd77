"""The shape of a normalised answer: lists, tuples, intervals, unions, matrices, equations, ...

``parse_structure(s)`` splits a normalised answer (see :mod:`.normalize`) into a small tree whose
leaves are :class:`Atom` (one mathematical expression, compared later by value). Splitting is done
on brackets counted without regard to their kind, so ``(3,4]`` and ``[0,1)`` are single items.

- ``a, b, c`` (also ``a; b``, ``a and b``, ``a or b``): an unordered list (a solution set);
  ``\\{a, b\\}``: a set, also unordered;
- ``(a, b)``, ``[a, b)``: an ordered bracketed sequence (a point, a tuple or an interval; the
  bracket kinds are part of it);
- ``A \\cup B``: a union (unordered);
- ``\\begin{pmatrix}...\\end{pmatrix}`` (also b/v/B/V-matrix and array): a matrix with its shape;
- ``x = 5``, ``f(x) = 2x``: an assignment (name and value); other ``lhs = rhs``: an equation;
- ``3 < x``, ``a \\le x < b``: an inequality in one variable, kept as an interval;
- ``a \\pm b``: the list ``a + b, a - b``;
- ``\\text{Monday}``-like words: text; ``(B)`` / ``\\textbf{(B)}``: a multiple-choice letter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from justrl.verify.lenient.normalize import unwrap_text

MAX_ITEMS = 64  # longer lists are compared as strings only


@dataclass(frozen=True)
class Atom:
    text: str


@dataclass(frozen=True)
class Text:
    text: str  # casefolded words
    raw: str = ""  # the normalised source, wrappers included


@dataclass(frozen=True)
class Letter:
    letter: str  # an upper-case multiple-choice letter


@dataclass(frozen=True)
class Seq:
    items: tuple
    ordered: bool
    left: str = ""
    right: str = ""


@dataclass(frozen=True)
class Union:
    parts: tuple


@dataclass(frozen=True)
class Matrix:
    rows: tuple  # tuple of tuples of Atom


@dataclass(frozen=True)
class Assign:
    name: str
    value: object


@dataclass(frozen=True)
class Equation:
    lhs: str
    rhs: str


@dataclass(frozen=True)
class Relation:
    var: str
    interval: Seq  # an ordered Seq of two Atoms with bracket kinds


_OPEN = "([{"
_CLOSE = ")]}"
_MATRIX = re.compile(
    r"^[(\[]?\s*\\begin\{(?P<env>[pbvBV]?matrix|array|smallmatrix)\}(?:\{[^{}]*\})?(?P<body>.*?)\\end\{(?P=env)\}\s*[)\]]?$",
    re.S,
)
_LETTER = re.compile(r"^\(?\s*([A-E])\s*\)?$")
_LETTER_PREFIX = re.compile(r"^\(\s*([A-E])\s*\)")
_WORDS = re.compile(r"^[A-Za-z][A-Za-z' \-]*$")
_NAME = re.compile(
    r"^(?:\\angle\s*)?(?:\\[a-zA-Z]+|[A-Za-z]{1,4})\s*(?:_\s*(?:\{[^{}]*\}|\w))?\s*(?:\^\s*\{?\\prime\}?|')?\s*"
    r"(?:\([^()]*\))?$"
)
_NOT_NAMES = {"\\frac", "\\sqrt", "\\sin", "\\cos", "\\tan", "\\log", "\\ln", "\\exp", "\\pi", "\\infty"}
_REL = re.compile(r"\\le(?![a-z])|\\ge(?![a-z])|\\lt(?![a-z])|\\gt(?![a-z])|<=|>=|<|>")
_WHOLE_TEXT = re.compile(r"^\\(?:text|textbf|mbox|mathrm)\s*\{([^{}]*)\}$")
_TEXT_SEPARATORS = re.compile(r"\\text\s*\{\s*(?:and|or|,)\s*\}|(?<![A-Za-z\\])(?:and|or)(?![A-Za-z])")


def split_top(s: str, seps: str | tuple[str, ...]) -> list[str]:
    """Split ``s`` on any separator at bracket depth 0 (bracket kinds are not matched)."""
    if isinstance(seps, str):
        seps = tuple(seps)
    parts: list[str] = []
    depth = 0
    start = 0
    i = 0
    n = len(s)
    while i < n:
        ch = s[i]
        if ch == "\\" and i + 1 < n and s[i + 1] in "{}":
            depth += 1 if s[i + 1] == "{" else -1
            i += 2
            continue
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth -= 1
        elif depth == 0:
            for sep in seps:
                if s.startswith(sep, i):
                    parts.append(s[start:i])
                    i += len(sep)
                    start = i
                    break
            else:
                i += 1
                continue
            continue
        i += 1
    parts.append(s[start:])
    return parts


def _wraps(s: str, open_index: int = 0) -> bool:
    """True when the bracket at ``open_index`` closes at the very end of ``s``."""
    depth = 0
    for i in range(open_index, len(s)):
        if s[i] in _OPEN:
            depth += 1
        elif s[i] in _CLOSE:
            depth -= 1
            if depth == 0:
                return i == len(s) - 1
    return False


def _is_name(lhs: str) -> bool:
    lhs = lhs.strip()
    if not lhs or len(lhs) > 40 or lhs in _NOT_NAMES:
        return False
    return _NAME.match(lhs) is not None and not lhs.startswith(tuple(_NOT_NAMES))


def _expand_pm(item: str) -> list[str] | None:
    if item.startswith(("\\{", "[")):
        return None
    if item.startswith("(") and _wraps(item):
        # a point with one \pm inside, (1,\pm 3): the two points (1,3) and (1,-3); an interval never
        inner = split_top(item[1:-1], (",",))
        if len(inner) < 2 or item.count("\\pm") + item.count("\\mp") != 1:
            return None
    count = item.count("\\pm") + item.count("\\mp")
    if count != 1:
        return None
    if "\\pm" in item:
        return [item.replace("\\pm", "+", 1), item.replace("\\pm", "-", 1)]
    return [item.replace("\\mp", "-", 1), item.replace("\\mp", "+", 1)]


_SET_BUILDER = re.compile(r"^\\?\{\s*([A-Za-z])\s*(?:\||\\mid|:)\s*([^{}|]{1,200}?)\s*\\?\}$")
_NE = re.compile(r"\\ne(?![A-Za-z])")
_REALS = {"\\mathbb{R}", "\\R", "\\mathbf{R}", "\\text{all real numbers}", "all real numbers"}


def _point_value(text: str):
    """A sortable value of an endpoint or a removed point: a Fraction, or +-inf for infinities."""
    from justrl.verify.lenient.numbers import parse_rational

    t = text.replace(" ", "")
    if t in ("\\infty", "+\\infty"):
        return float("inf")
    if t == "-\\infty":
        return float("-inf")
    return parse_rational(t)


def _without_points(s: str, depth: int):
    """``\\mathbb{R}\\setminus\\{2\\}``, ``(1,9)\\setminus\\{4\\}``, ``x \\ne 7``: an interval with points
    removed, as the union of the pieces left (numbers only; anything else: None)."""
    parts = split_top(s, ("\\setminus",))
    if len(parts) == 2:
        base = parse_structure(parts[0].strip(), depth + 1)
        removed = parts[1].strip()
        if removed.startswith("\\{") and removed.endswith("\\}"):
            points = [p.strip() for p in split_top(removed[2:-2], (",",)) if p.strip()]
        else:
            points = [removed]
    elif len(parts) == 1:
        if _NE.search(s) is None:
            return None  # \newline, \neg: not a relation
        sides = split_top(s, ("\\ne",))
        if len(sides) != 2 or not _is_name(sides[0]) or _is_name(sides[1]):
            return None
        base = Seq((Atom("-\\infty"), Atom("\\infty")), True, "(", ")")
        points = [sides[1].strip()]
    else:
        return None
    if not isinstance(base, Seq) or not base.ordered or len(base.items) != 2 or not points or len(points) > 16:
        return None
    if not all(isinstance(x, Atom) for x in base.items):
        return None
    lo, hi = base.items[0].text, base.items[1].text
    vlo, vhi = _point_value(lo), _point_value(hi)
    values = [(_point_value(p), p) for p in points]
    if vlo is None or vhi is None or any(v is None for v, _ in values):
        return None
    values.sort(key=lambda pair: pair[0])
    pieces = []
    left_text, left_bracket = lo, base.left
    for v, text in values:
        if not vlo < v < vhi:
            return None  # a point outside the interval or on its end: not this shape
        pieces.append(Seq((Atom(left_text), Atom(text)), True, left_bracket, ")"))
        left_text, left_bracket = text, "("
    pieces.append(Seq((Atom(left_text), Atom(hi)), True, left_bracket, base.right))
    return Union(tuple(pieces))


def _negated_name(piece: str) -> str | None:
    """``y`` for ``-y`` (a negated variable in an inequality), else None."""
    piece = piece.strip()
    return piece[1:].strip() if piece.startswith("-") and _is_name(piece[1:]) else None


def _as_relation(s: str) -> Relation | None:
    pieces = []
    ops = []
    pos = 0
    depth = 0
    i = 0
    while i < len(s):
        ch = s[i]
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth -= 1
        elif depth == 0:
            m = _REL.match(s, i)
            if m:
                pieces.append(s[pos:i].strip())
                ops.append(m.group())
                pos = i = m.end()
                continue
        i += 1
    pieces.append(s[pos:].strip())
    if not ops or len(ops) > 2 or any(not p for p in pieces):
        return None
    less = [o in ("<", "\\lt", "\\le", "<=") for o in ops]
    strict = [o in ("<", ">", "\\lt", "\\gt") for o in ops]
    if len(ops) == 2:
        if less[0] != less[1] or not _is_name(pieces[1]):
            return None
        lo, hi = (pieces[0], pieces[2]) if less[0] else (pieces[2], pieces[0])
        lo_strict, hi_strict = (strict[0], strict[1]) if less[0] else (strict[1], strict[0])
        var = pieces[1]
    elif _is_name(pieces[0]) and not _is_name(pieces[1]):
        var, bound = pieces
        if less[0]:  # x < b
            lo, hi, lo_strict, hi_strict = "-\\infty", bound, True, strict[0]
        else:  # x > a
            lo, hi, lo_strict, hi_strict = bound, "\\infty", strict[0], True
    elif _is_name(pieces[1]) and not _is_name(pieces[0]):
        bound, var = pieces
        if less[0]:  # a < x
            lo, hi, lo_strict, hi_strict = bound, "\\infty", strict[0], True
        else:  # b > x
            lo, hi, lo_strict, hi_strict = "-\\infty", bound, True, strict[0]
    elif len(ops) == 1 and (name := _negated_name(pieces[0])) is not None and not _is_name(pieces[1]):
        # -y > -5 is y < 5: negate both sides and turn the relation round
        bound = f"-({pieces[1]})"
        if less[0]:  # -y < b: y > -b
            var, lo, hi, lo_strict, hi_strict = name, bound, "\\infty", strict[0], True
        else:  # -y > b: y < -b
            var, lo, hi, lo_strict, hi_strict = name, "-\\infty", bound, True, strict[0]
    else:
        return None
    interval = Seq((Atom(lo), Atom(hi)), True, "(" if lo_strict else "[", ")" if hi_strict else "]")
    return Relation(var.replace(" ", ""), interval)


def parse_structure(s: str, depth: int = 0):
    """The structure tree of the normalised answer ``s`` (see the module docstring)."""
    s = s.strip()
    if depth > 6:
        return Atom(s)
    m = _MATRIX.match(s)
    if m:
        rows = []
        for row in m.group("body").split("\\\\"):
            if row.strip() == "" or row.strip() == "\\hline":
                continue
            rows.append(tuple(Atom(c.strip()) for c in row.split("&")))
        if rows and len({len(r) for r in rows}) == 1:
            return Matrix(tuple(rows))
        return Atom(s)
    whole_text = _WHOLE_TEXT.match(s)
    if whole_text and re.search(r"(?<![A-Za-z])(?:and|or)(?![A-Za-z])|,", whole_text.group(1)):
        s = whole_text.group(1).strip()  # \text{(C) and (D)}: a list written as text
    text_sep = _TEXT_SEPARATORS.sub(",", s) if ("and" in s or "or" in s or "\\text" in s) else s
    items = [p.strip() for p in split_top(text_sep, (",", ";")) if p.strip()]
    if len(items) > MAX_ITEMS:
        return Atom(s)
    if len(items) > 1 or (len(items) == 1 and _expand_pm(items[0]) and "=" not in items[0]):
        flat = []
        for item in items:
            expanded = _expand_pm(item) if "=" not in item else None
            for piece in expanded or [item]:
                node = parse_structure(piece, depth + 1)
                if isinstance(node, Seq) and not node.ordered and not node.left:
                    flat.extend(node.items)
                else:
                    flat.append(node)
        return Seq(tuple(flat), False)
    if not items:
        return Atom("")
    s = items[0]
    builder = _SET_BUILDER.match(s)
    if builder is not None:  # {x | -2 \le x < 1}: the condition's interval
        var, cond = builder.group(1), builder.group(2)
        cond = re.sub(r"\\(le|ge|lt|gt)(?=" + re.escape(var) + r"(?![A-Za-z]))", r"\\\1 ", cond)  # \lex -> \le x
        rel = _as_relation(cond)
        if rel is not None and rel.var == var:
            return rel
    if s in _REALS:
        return Seq((Atom("-\\infty"), Atom("\\infty")), True, "(", ")")
    if "\\setminus" in s or "\\ne" in s:
        removed = _without_points(s, depth)
        if removed is not None:
            return removed
    unions = split_top(s, ("\\cup",))
    if len(unions) > 1:
        return Union(tuple(parse_structure(u.strip(), depth + 1) for u in unions))
    if s.startswith("\\{") and s.endswith("\\}"):
        inner = [p.strip() for p in split_top(s[2:-2], (",", ";")) if p.strip()]
        return Seq(tuple(parse_structure(p, depth + 1) for p in inner), False, "{", "}")
    if s in ("\\varnothing", "\\{\\}", "\\{ \\}"):
        return Seq((), False, "{", "}")
    member = re.match(r"^([A-Za-z])\s*\\in\s*(.+)$", s)
    if member:
        inner = parse_structure(member.group(2), depth + 1)
        if isinstance(inner, Seq) and inner.ordered and len(inner.items) == 2:
            return Relation(member.group(1), inner)  # x \in [a, b]: the variable is kept
        return inner
    if s and s[0] in "([" and s[-1] in ")]" and _wraps(s):
        inner = [p.strip() for p in split_top(s[1:-1], (",",))]
        if len(inner) >= 2 and all(inner):
            return Seq(tuple(parse_structure(p, depth + 1) for p in inner), True, s[0], s[-1])
        if len(inner) == 1 and s[0] == "(" and s[-1] == ")":
            letter = _LETTER.match(s)
            if letter:
                return Letter(letter.group(1))
            return parse_structure(inner[0], depth + 1)
    eq = split_top(s, ("=",))
    if len(eq) >= 2 and all(p.strip() for p in eq):
        lhs, rhs = eq[0].strip(), eq[-1].strip()
        if _is_name(lhs):
            return Assign(lhs.replace(" ", ""), parse_structure(rhs, depth + 1))
        if len(eq) == 2:
            return Equation(lhs, rhs)
        return Atom(s)
    rel = _as_relation(s)
    if rel is not None:
        return rel
    plain = unwrap_text(s)
    letter = _LETTER.match(plain)
    if letter:
        return Letter(letter.group(1))
    if plain != s or (_WORDS.match(plain) and max(len(w) for w in re.split(r"[ \-']", plain)) >= 3):
        if _WORDS.match(plain) or plain != s:
            return Text(" ".join(plain.casefold().split()), s)
    return Atom(s)


def letter_of(s: str) -> str | None:
    """The multiple-choice letter a response answers with: ``B``, ``(B)``, ``(B) 12``.

    A prefix ``(B)`` counts only when no other choice letter follows (``(C) and (D)`` is no answer).
    """
    plain = unwrap_text(s).strip()
    m = _LETTER.match(plain)
    if m:
        return m.group(1)
    m = _LETTER_PREFIX.match(plain)
    if m and not re.search(r"(?<![A-Za-z\\])[A-E](?![A-Za-z])", plain[m.end() :]):
        return m.group(1)
    return None
