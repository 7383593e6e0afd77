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


def strip_delimiters(s: str) -> str:
    """Remove math-mode delimiters anywhere (answers like ``$69$,$84$`` become ``69,84``)."""
    s = s.replace("\\(", " ").replace("\\)", " ").replace("\\[", " ").replace("\\]", " ")
    s = s.replace("$$", " ").replace("\\$", "\x00").replace("$", " ").replace("\x00", "\\$")
    return s


def normalize(s: str) -> str:
    """Normalise an answer string (see the module docstring). Pure and linear-ish in ``len(s)``."""
    s = " ".join(strip_delimiters(s).split())  # one space per run: no regex below meets a long run
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
    s = strip_text_unit(s)
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
