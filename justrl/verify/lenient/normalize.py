"""String normalisation of one answer (gold or extracted): presentation is removed, meaning is kept.

What is removed or rewritten, in order:

- an approximation after the exact answer (``\\frac{1}{3} \\approx 0.333`` keeps ``\\frac{1}{3}``);
- math delimiters (``$``, ``\\(``, ``\\)``, ``\\[``, ``\\]``), ``\\left``/``\\right``/``\\big``,
  ``\\displaystyle``, a trailing full stop;
- thousands separators between digit groups (``1{,}000``, ``10,\\!080``, ``1\\,000``, thin spaces),
  and ``1,000`` when the whole answer is one number written with 3-digit groups (``1,2`` stays a list);
- spacing commands (``\\!``, ``\\,``, ``\\;``, ``\\quad``), ``\\dfrac``/``\\tfrac`` -> ``\\frac``,
  ``\\frac43`` -> ``\\frac{4}{3}``, ``\\sqrt2`` and plain ``sqrt(2)`` -> ``\\sqrt{2}``;
- degrees (``^\\circ``, ``^{\\circ}``, ``°``, ``\\degree``), ``\\%`` (a percentage is compared by its
  number: ``50\\%`` equals ``50``, and is *not* equal to ``0.5``), dollar signs;
- units written as trailing text after a value (``5 \\text{ cm}``, ``864 \\mbox{ inches}^2``,
  ``\\text{ degrees}``) and a few unit words written bare at the end (``5 cm``);
- ``\\text{...}``/``\\textbf{...}``/``\\mathrm{...}`` wrappers (their content is kept).
"""

from __future__ import annotations

import re

from justrl.verify.lenient.sentence import number_from_words
from justrl.verify.lenient.units import strip_text_unit

_BARE_UNIT = re.compile(
    r"(?<=[\d}])\s+(?:cm|mm|km|meters?|metres?|inches|inch|feet|ft|miles?|mph|units?|degrees?|dollars?|cents?|"
    r"seconds?|minutes?|hours?|days?|kg|grams?|liters?|square\s+(?:feet|units|inches|meters|cm))"
    r"(?:\s*\^\s*\{?\s*[23]\s*\}?)?\s*$"
)
_DEGREES = re.compile(r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|\\circ|°|\\degree|\^\s*\{\s*\\text\{\s*o\s*\}\s*\}")
_THOUSANDS_INNER = re.compile(r"(?<=\d)(?:\{,\}|,\\!\s*|\\,|\\!|(?<!\\)\\ | |\u2009|\u202f|\u00a0|~)(?=\d{3}(?!\d))")
_THOUSANDS_WHOLE = re.compile(r"^-?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_FRAC_SHORT = re.compile(r"\\frac\s*(\d)\s*(\d)")
_FRAC_HALF1 = re.compile(r"\\frac\s*(\d)\s*\{")
_FRAC_HALF2 = re.compile(r"\\frac\s*(\{[^{}]*\})\s*(\d)")
_FRAC_SPACED = re.compile(r"\\frac\s+(\d)\s*(\d)")
_SQRT_PLAIN = re.compile(r"(?<![\\A-Za-z.])sqrt\s*\(([^()]*)\)")  # plain-text sqrt(2), not np.sqrt(2)
_SQRT_SHORT = re.compile(r"\\sqrt\s*(\d+|[a-zA-Z])(?![a-zA-Z])")
_TEXT_WRAP = re.compile(r"\\(?:text|textbf|textit|textrm|mathrm|mathbf|mathit|mbox|textup|textsf|mathsf|boldsymbol|bm)\s*\{([^{}]*)\}")
_SPACING = re.compile(r"(?<!\\)\\[,;:! ]|\\q?quad\b|\\hspace\s*\{[^{}]*\}|\\displaystyle|\\limits")
_SIZING = re.compile(r"\\(?:left|right|bigl|bigr|Bigl|Bigr|biggl|biggr|Biggl|Biggr|big|Big|bigg|Bigg)(?![a-zA-Z])\s*")


_UNICODE = {
    "π": "\\pi ", "∞": "\\infty ", "≠": "\\ne ", "∪": "\\cup ", "∩": "\\cap ", "∈": "\\in ", "ℝ": "\\mathbb{R}",
    "÷": "\\div ", "±": "\\pm ", "∓": "\\mp ", "θ": "\\theta ", "α": "\\alpha ", "β": "\\beta ", "γ": "\\gamma ",
    "φ": "\\phi ", "λ": "\\lambda ", "μ": "\\mu ", "σ": "\\sigma ", "ω": "\\omega ", "Δ": "\\Delta ", "′": "'",
    "–": "-", "—": "-", "∅": "\\varnothing ", "⋅": "\\cdot ", "∗": "*", "∖": "\\setminus ",
}
_VULGAR = {"½": (1, 2), "⅓": (1, 3), "⅔": (2, 3), "¼": (1, 4), "¾": (3, 4), "⅕": (1, 5), "⅖": (2, 5), "⅗": (3, 5),
           "⅘": (4, 5), "⅙": (1, 6), "⅚": (5, 6), "⅛": (1, 8), "⅜": (3, 8), "⅝": (5, 8), "⅞": (7, 8)}
_SUPERSCRIPTS = {"⁰": "0", "¹": "1", "²": "2", "³": "3", "⁴": "4", "⁵": "5", "⁶": "6", "⁷": "7", "⁸": "8", "⁹": "9",
                 "⁻": "-", "⁺": "+", "ⁿ": "n"}
_ORDINAL = re.compile(
    r"(?<=\d)\s*(?:\^\s*\{?\s*(?:\\(?:text|mathrm|textrm|rm)\s*\{\s*(?:st|nd|rd|th)\s*\}|st|nd|rd|th)\s*\}?"
    r"|(?:st|nd|rd|th)\b)"
)
_X_TIMES_TEN = re.compile(r"(?<=\d)\s*[xX]\s*10\s*\^\s*(-?\d+)")  # 1.07 x 10^16, a plain-text power
_WORDS_ONLY = re.compile(r"^[A-Za-z][A-Za-z \-]*$")


_NUMPY = re.compile(r"(?<![A-Za-z_.])(?:np|numpy|math)\.(arcsin|arccos|arctan|sin|cos|tan|sqrt|exp|log|pi|e)\b")


def _numpy_name(m: re.Match) -> str:
    name = m.group(1)
    if name == "sqrt":
        return "sqrt"  # plain sqrt(...) is rewritten to \\sqrt{...} below
    if name == "log":
        return "\\ln"  # numpy's log is the natural logarithm
    if name == "e":
        return "e"
    return "\\" + name + " "


def numpy_gold(s: str) -> str:
    """A gold written numpy-style (``np.arctan(3/4)``, ``np.sqrt(2)/2``) in LaTeX words, normalised.

    Only golds are read this way (an answer written as code is not one a grader accepts); the text
    then goes through the same whitelisted grammar as any answer, never through Python.
    """
    if "np." not in s and "math." not in s and "numpy." not in s:
        return s
    return normalize(_NUMPY.sub(_numpy_name, s))


def replace_unicode(s: str) -> str:
    """Unicode mathematics as LaTeX: ``π`` -> ``\\pi``, ``√75`` -> ``\\sqrt{75}``, ``x²`` -> ``x^{2}``,
    ``½`` -> ``\\frac{1}{2}``, ``−`` ``×`` ``·`` ``≤`` ``≥`` (one pass, linear)."""
    if s.isascii():
        return s
    out: list[str] = []
    i, n = 0, len(s)
    budget = 4 * n + 2000  # characters the "√(...)" scans may read in all
    while i < n:
        ch = s[i]
        if ch in _SUPERSCRIPTS:
            j = i
            while j < n and s[j] in _SUPERSCRIPTS:
                j += 1
            out.append("^{" + "".join(_SUPERSCRIPTS[c] for c in s[i:j]) + "}")
            i = j
            continue
        if ch in _VULGAR:
            p, q = _VULGAR[ch]
            out.append(f"\\frac{{{p}}}{{{q}}}")
        elif ch == "√" or ch == "∛":
            root = "\\sqrt" if ch == "√" else "\\sqrt[3]"
            j = i + 1
            while j < n and s[j] == " ":
                j += 1
            k = j
            while k < n and (s[k].isdigit() or s[k] == "."):
                k += 1
            if k == j and k < n and s[k].isalpha() and s[k].isascii():
                k += 1
            if k > j:
                out.append(root + "{" + s[j:k] + "}")
                i = k
                continue
            if j < n and s[j] == "(" and budget > 0:
                depth = 0
                budget -= min(n, j + 2000) - j  # all root scans together stay linear in the answer
                for k in range(j, min(n, j + 2000)):
                    depth += {"(": 1, ")": -1}.get(s[k], 0)
                    if depth == 0:
                        out.append(root + "{" + s[j + 1 : k] + "}")
                        i = k + 1
                        break
                else:
                    out.append(root + " ")
                    i = j
                continue
            out.append(root + " ")
        else:
            out.append(_UNICODE.get(ch, ch))
        i += 1
    return "".join(out)


def number_words_to_digits(s: str) -> str:
    """An answer that is only number words (``seven``, ``twenty-one``, ``\\text{three}``) as digits."""
    plain = s.strip()
    if plain.startswith("\\text{") and plain.endswith("}"):
        plain = plain[6:-1].strip()
    if not plain or len(plain) > 80 or not _WORDS_ONLY.match(plain):
        return s
    value = number_from_words(plain)
    return str(value) if value is not None else s


def strip_delimiters(s: str) -> str:
    """Remove math-mode delimiters anywhere (answers like ``$69$,$84$`` become ``69,84``)."""
    s = s.replace("\\(", " ").replace("\\)", " ").replace("\\[", " ").replace("\\]", " ")
    # an escaped dollar (a price) is kept; split/join, so no sentinel character can collide with the text
    return "\\$".join(part.replace("$", " ") for part in s.split("\\$"))


def normalize(s: str) -> str:
    """Normalise an answer string (see the module docstring). Pure and linear-ish in ``len(s)``."""
    s = " ".join(replace_unicode(strip_delimiters(s)).split())  # one space per run: no regex below meets a long run
    cut = s.find("\\approx")
    if cut > 0:
        s = s[:cut].strip()  # "\frac{1}{3} \approx 0.333": the exact part is the answer
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").replace("\\cfrac", "\\frac")
    s = s.replace("\\dbinom", "\\binom").replace("\\tbinom", "\\binom")
    s = _SIZING.sub("", s)
    s = _THOUSANDS_INNER.sub("", s)
    s = _DEGREES.sub("", s)
    s = s.replace("\\%", "").replace("%", "").replace("\\$", "")
    s = s.replace("\\geqslant", "\\ge").replace("\\leqslant", "\\le").replace("\\geq", "\\ge").replace("\\leq", "\\le")
    s = s.replace("≤", "\\le").replace("≥", "\\ge").replace("−", "-").replace("×", "\\times").replace("·", "\\cdot")
    s = s.replace("\\infin", "\\infty").replace("\\emptyset", "\\varnothing")
    s = s.replace("\\neq", "\\ne").replace("!=", "\\ne ").replace("\\mathbb R", "\\mathbb{R}")
    s = strip_text_unit(s)
    s = _X_TIMES_TEN.sub(r" \\times 10^{\1}", s) if "10" in s else s
    s = _ORDINAL.sub("", s) if ("st" in s or "nd" in s or "rd" in s or "th" in s) else s
    s = _BARE_UNIT.sub("", s)
    s = _SPACING.sub(" ", s)
    s = s.replace("~", " ")
    s = _FRAC_SHORT.sub(r"\\frac{\1}{\2}", s)
    s = _FRAC_SPACED.sub(r"\\frac{\1}{\2}", s)
    s = _FRAC_HALF1.sub(r"\\frac{\1}{", s)
    s = _FRAC_HALF2.sub(r"\\frac\1{\2}", s)
    s = _SQRT_PLAIN.sub(r"\\sqrt{\1}", s)
    s = _SQRT_SHORT.sub(r"\\sqrt{\1}", s)
    s = re.sub(r"\s+", " ", s).strip()
    s = s.rstrip(".").strip()
    if s.endswith("\\\\"):
        s = s[:-2].strip()
    s = number_words_to_digits(s)
    if _THOUSANDS_WHOLE.match(s.replace(" ", "")):
        s = s.replace(",", "").replace(" ", "")
    return s


def unwrap_text(s: str) -> str:
    """Replace ``\\text{X}`` style wrappers by their content (repeatedly, for nested wrappers)."""
    for _ in range(4):
        new = _TEXT_WRAP.sub(lambda m: m.group(1), s)
        if new == s:
            break
        s = new
    return re.sub(r"\s+", " ", s).strip()


_DIGIT_GAP = re.compile(r"(?<=\d)\s+(?=\d)")


def compact(s: str) -> str:
    """A whitespace-free form used for plain string equality (``4 2`` stays apart from ``42``)."""
    return re.sub(r"\s+", "", _DIGIT_GAP.sub("\x01", s))
