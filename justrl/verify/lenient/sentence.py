"""The value a one-sentence answer states: ``The train needs 45 more minutes.`` -> ``45``.

A careful grader reads a sentence answer for the one value it commits to; when it names several
different values, the sentence is not an answer. Rules, in order (the first that applies decides):

1. bold spans (``**41**``, ``\\textbf{41}``): exactly one distinct bold content is the value
   ("Hence, *g(3) = **-7***" -> ``-7``); several different bold contents -> no value;
2. after the last copula ("is", "are", "equals", "=" written as a word, "was", "measures", "becomes"):
   the rest of the sentence, when it is a value (not prose) once trailing units and words are dropped
   ("the smallest $k$ is 12" -> ``12``, "the ratio is $\\frac{2}{7}$" -> ``\\frac{2}{7}``);
3. an ``=`` outside math: the value after the last one ("Joe has 40 - 8 - 16 = 16 cars left" -> 16);
4. otherwise exactly one value in the whole sentence: one math span, or one number (digits; number
   words such as "three" only when no digits occur: "the two farms have 700 acres" states 700); zero or
   two different ones -> no value ("5 apples and 3 pears" has none).

Everything is a single pass over at most :data:`MAX_SENTENCE` characters (regexes without nested
quantifiers), so the cost is linear and small.
"""

from __future__ import annotations

import re

MAX_SENTENCE = 600  # longer text is not read as one sentence

_BOLD = re.compile(r"\*\*([^*]+?)\*\*|__([^_]+?)__|\\textbf\{([^{}]+)\}")
_MATH = re.compile(r"\$\$([^$]+)\$\$|\$([^$]+)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]")
_COPULA = re.compile(
    r"\b(?:is|are|was|were|equals|equal\s+to|measures|becomes|be|comes\s+to|totals)\b(?:\s*:)?", re.IGNORECASE
)
_LEAD_WORDS = re.compile(
    r"^(?:\s|,|:|exactly|just|then|therefore|thus|so|hence|now|indeed|precisely|simply|still|also|equal\s+to|"
    r"given\s+by|the\s+value|option|choice|answer)+\b",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"(?<![\w.\\^_])[-−]?\d+(?:[.,]\d+)*(?:\s*/\s*\d+)?(?![\w])|(?<![\w\\])[-−]?\d+(?=(?:st|nd|rd|th)\b)")
_PROSE_WORD = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{2,}(?![A-Za-z])")
_TEXT_GROUP = re.compile(r"\\[A-Za-z]+\s*\{[^{}]*\}|\\[A-Za-z]+")
_TEXT_WRAPPER = re.compile(r"\\(?:text|textnormal|textrm|mbox|mathrm|textit|emph)\s*\{([^{}]*)\}")
_LETTER_CHOICE = re.compile(r"^\(?\s*[A-E]\s*\)?$")
NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
    "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 10**6}
_NUMBER_WORD = re.compile(
    r"\b(?:(?:" + "|".join(NUMBER_WORDS) + "|" + "|".join(_SCALES) + r"|and)(?:[\s-]+|\b))+", re.IGNORECASE
)


def number_from_words(text: str) -> int | None:
    """The integer a phrase of number words names (``"twenty-one"`` -> 21, ``"three hundred"``), or None."""
    words = [w for w in re.split(r"[\s-]+", text.strip().lower()) if w]
    if not words or len(words) > 12 or words[0] == "and" or words[-1] == "and":
        return None
    total, current, seen = 0, 0, False
    last_small = None
    for w in words:
        if w == "and":
            continue
        if w in NUMBER_WORDS:
            v = NUMBER_WORDS[w]
            if last_small is not None and (last_small < 20 or v >= 20 or last_small % 10 != 0):
                return None  # "seven three", "twenty thirty": not one number
            current += v
            last_small = v if last_small is None else last_small + v
            seen = True
        elif w in _SCALES:
            if not seen or current == 0:
                return None
            current *= _SCALES[w]
            if _SCALES[w] >= 1000:
                total += current
                current = 0
            last_small = None
        else:
            return None
    return total + current if seen else None


def is_prose(text: str) -> bool:
    """Two or more words of at least two letters outside LaTeX commands: a sentence, not a formula."""
    plain = _TEXT_GROUP.sub(lambda m: " " + _inner(m.group()) + " ", text)
    return len(_PROSE_WORD.findall(plain)) >= 2


def _inner(group: str) -> str:
    k = group.find("{")
    return group[k + 1 : -1] if k >= 0 and group.startswith(("\\text", "\\mbox", "\\textnormal")) else ""


def _clean(value: str) -> str:
    value = value.strip()
    for _ in range(3):
        before = value
        value = value.strip().strip("*_").strip().rstrip(".,;:!").strip()
        if value.startswith("$") and value.endswith("$") and len(value) >= 2:
            value = value.strip("$").strip()
        if value.startswith("\\(") and value.endswith("\\)"):
            value = value[2:-2].strip()
        if value == before:
            break
    return value


def _values(text: str) -> list[str]:
    """The values one sentence names: its math spans, then numbers and number words outside them."""
    found: list[str] = []
    outside: list[str] = []
    pos = 0
    for m in _MATH.finditer(text):
        outside.append(text[pos : m.start()])
        found.append(next(g for g in m.groups() if g is not None).strip())
        pos = m.end()
    outside.append(text[pos:])
    for chunk in outside:
        if "$" in chunk:
            return [] if not found else found + ["$"]  # an unclosed math span: cut off, not one value
        found.extend(m.group().replace("−", "-").replace(" ", "") for m in _NUMBER.finditer(chunk))
    if found:
        return found  # with digits present, number words describe ("the two farms have 700 acres")
    for chunk in outside:
        for m in _NUMBER_WORD.finditer(chunk):
            n = number_from_words(m.group())
            if n is not None:
                found.append(str(n))
    return found


def _single(values: list[str]) -> str | None:
    distinct = {v.replace(" ", "") for v in values}
    if len(distinct) != 1:
        return None
    return values[-1]


def _after_copula(text: str) -> str | None:
    last = None
    for m in _COPULA.finditer(text):
        last = m
    if last is None:
        return None
    rest = _LEAD_WORDS.sub("", text[last.end() :]).strip()
    rest = _clean(rest)
    if not rest:
        return None
    if not is_prose(rest):
        return rest
    return _single(_values(rest))


def sentence_value(text: str) -> str | None:
    """The one value the sentence ``text`` states (see the module docstring), or None."""
    if not text or len(text) > MAX_SENTENCE:
        return None
    text = text.strip()
    bold = [_clean(next(g for g in m.groups() if g is not None)) for m in _BOLD.finditer(text)]
    bold = [b for b in bold if b]
    if bold:
        distinct = {b.replace(" ", "").casefold() for b in bold}
        if len(distinct) != 1:
            return None
        value = bold[-1]
        if is_prose(value):
            inner = sentence_value(value.replace("**", "")) if "**" not in value else None
            if inner is not None:
                return inner
            words = number_from_words(value)
            return str(words) if words is not None else value
        return value
    text = _TEXT_WRAPPER.sub(lambda m: m.group(1), text)  # \text{The smallest } k \text{ is } 12
    after = _after_copula(text)
    if after is not None:
        return after
    outside = _MATH.sub(" ", text)
    if "=" in outside:  # "Joe has 40 - 8 - 16 = 16 cars left": the value after the last "="
        rest = _clean(outside[outside.rfind("=") + 1 :])
        if rest and not is_prose(rest):
            return rest
        single = _single(_values(rest)) if rest else None
        if single is not None:
            return _clean(single)
        return None
    single = _single(_values(text))
    if single is not None:
        return _clean(single)
    return None


def letter_choice(text: str) -> str | None:
    """``(B)`` when a value is a multiple-choice letter."""
    value = _clean(text)
    return value if _LETTER_CHOICE.match(value) else None


def value_shape(text: str) -> str:
    """A coarse shape of one value: "integer", "decimal", "fraction", "tuple", or "expression"."""
    t = text.replace(" ", "").replace("\\dfrac", "\\frac").lstrip("+-")
    if not t:
        return "expression"
    if t.isdigit() or re.fullmatch(r"\d{1,3}(?:,\d{3})+", t):
        return "integer"
    if re.fullmatch(r"\d*\.\d+", t):
        return "decimal"
    if re.fullmatch(r"\\frac\{\d+\}\{\d+\}|\d+/\d+", t):
        return "fraction"
    if t.startswith(("(", "[")) and "," in t:
        return "tuple"
    return "expression"


def gold_shaped_value(text: str, gold: str) -> str | None:
    """When a sentence names several values, the one value with the gold's shape, if exactly one has it.

    "The probability is 3 out of 8, that is $\\frac{3}{8}$" names 3, 8 and 3/8; for a fraction gold the
    fraction is the answer. It must be the sentence's final value and the only one of its shape:
    "5 apples and 3 pears" stays unanswered for an integer gold, and so does "3/8 of them, that is 5".
    """
    if not text or len(text) > MAX_SENTENCE:
        return None
    shape = value_shape(gold)
    values = [v.replace(" ", "") for v in _values(_TEXT_WRAPPER.sub(lambda m: m.group(1), text)) if v != "$"]
    if len(set(values)) < 2:
        return None
    matching = {v for v in values if value_shape(v) == shape}
    if len(matching) != 1 or value_shape(values[-1]) != shape:
        return None  # the gold-shaped value must be unique and the sentence's final value
    return values[-1]
