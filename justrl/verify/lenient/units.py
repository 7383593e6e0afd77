"""Trailing units after a value, removed by backward scans that are linear in the answer's length.

No regular expression here runs a repeated group over model text: ``\\text{mmmm...}`` or a chain of
``\\text{..}`` groups used to make the old unit regexes backtrack exponentially. Instead, each
function walks back from the end of the string once, brace-matching ``{...}`` groups and checking
their content word by word against a fixed set.

- :func:`strip_text_unit`: one trailing ``\\text{ cm}`` / ``\\mbox{ inches}^2`` / ``\\textnormal{ km}``
  group whose words are all unit words (used by normalisation on every answer);
- :func:`strip_trailing_units`: every trailing unit-like piece after a value: text groups with a
  letter in them (``\\text{ erg/s}``), astronomical units (``M_\\odot``, ``L_{\\odot}``, ``R_\\oplus``),
  bare unit words (``320 liters``, ``64 square feet``), with ``/``, ``\\cdot`` and small powers between
  them (used by comparison when the gold is a number and the response is not).
"""

from __future__ import annotations

import re

UNIT_WORDS = frozenset(
    (
        "cm mm km m meter meters metre metres centimeter centimeters millimeter millimeters kilometer "
        "kilometers inch inches in feet foot ft yard yards mile miles mph units unit square sq cubic "
        "degree degrees deg radian radians rad dollar dollars cent cents second seconds sec s minute "
        "minutes min hour hours hr hrs day days week weeks month months year years kg gram grams g pound "
        "pounds lb lbs ounce ounces oz liter liters litre litres ml gallon gallons people person persons "
        "students student ways way points point times percent mL L km/h kmh cups cup quarts quart pints "
        "pint tons ton mg cc J kJ N W kW V A K Pa Hz eV keV MeV GeV erg ergs AU pc kpc Mpc ly nm um "
        "micrometers microns microseconds ms ns Gyr Myr yr yrs kelvin joules joule newtons watts volts "
        "amps calories calorie cal kcal acres acre hectares square-feet sq.ft m/s cm/s km/s mi hectare "
        "marbles apples books coins cookies pages boxes balls cards games tickets miles/hour "
        "beats liters/min"
    ).split()
)
# bare words after a number that are units only in a longer phrase ("square feet", "cubic inches")
_PHRASE_HEADS = frozenset({"square", "sq", "cubic", "sq."})
_TEXT_COMMANDS = ("\\textnormal", "\\textrm", "\\mathrm", "\\textup", "\\text", "\\mbox", "\\rm", "\\textsf")
_ASTRO = frozenset({"\\odot", "\\oplus", "\\earth", "\\sun", "\\star"})
_WORD = re.compile(r"[A-Za-z]+(?:[./-][A-Za-z]+)*\.?|\d+|\S")
MAX_TAIL = 400  # characters at the end of an answer examined for units at most


def _open_brace(s: str, close: int) -> int:
    """Index of the ``{`` matching the ``}`` at ``close`` (scanning back at most MAX_TAIL), or -1."""
    depth = 0
    lowest = max(-1, close - MAX_TAIL)
    for i in range(close, lowest, -1):
        ch = s[i]
        if ch == "}":
            depth += 1
        elif ch == "{":
            depth -= 1
            if depth == 0:
                return i
    return -1


def _command_before(s: str, end: int) -> int:
    """Start of the text command ending at ``end`` (``\\text`` before ``{``), or -1."""
    j = end
    while j > 0 and s[j - 1] in " \t":
        j -= 1
    for cmd in _TEXT_COMMANDS:
        if s.startswith(cmd, j - len(cmd)) and j - len(cmd) >= 0:
            return j - len(cmd)
    return -1


def _power_start(s: str, end: int) -> int:
    """Start of a small trailing power (``^2``, ``^{3}``, ``^{-1}``) ending at ``end``, else ``end``."""
    j = end
    while j > 0 and s[j - 1] in " \t":
        j -= 1
    k = j
    braced = k > 0 and s[k - 1] == "}"
    if braced:
        k -= 1
    d = k
    while d > 0 and s[d - 1].isdigit() and k - d < 2:
        d -= 1
    if d == k:
        return end
    if d > 0 and s[d - 1] == "-":
        d -= 1
    if braced:
        if d == 0 or s[d - 1] != "{":
            return end
        d -= 1
    while d > 0 and s[d - 1] in " \t":
        d -= 1
    if d > 0 and s[d - 1] == "^":
        return d - 1
    return end


def _all_units(content: str) -> bool:
    """Whether a text group's content is nothing but unit words (``" cm"``, ``"square feet"``, ``"km/h"``)."""
    words = _WORD.findall(content)
    seen_unit = False
    after_slash = False
    for w in words:
        if w in ("/", "^", "{", "}", "-", ".", "~", "\\", ",", ";", "\\cdot"):
            after_slash = w == "/"
            continue
        if w.isdigit():
            if w not in ("2", "3"):
                return False
            continue
        if after_slash and w[0].isalpha():
            after_slash = False
            continue
        if w.rstrip(".") in UNIT_WORDS or w.rstrip(".").lower() in UNIT_WORDS:
            seen_unit = True
            continue
        return False
    return seen_unit


def strip_text_unit(s: str) -> str:
    """Remove one trailing text group of unit words after a value (``5 \\text{ cm}^2`` -> ``5``)."""
    end = len(s)
    while end > 0 and s[end - 1] in " \t":
        end -= 1
    end = _power_start(s, end)
    while end > 0 and s[end - 1] in " \t":
        end -= 1
    if end == 0 or s[end - 1] != "}":
        return s
    open_ = _open_brace(s, end - 1)
    if open_ < 0:
        return s
    cmd = _command_before(s, open_)
    if cmd <= 0 or not _all_units(s[open_ + 1 : end - 1]):
        return s
    before = s[:cmd].rstrip()
    for _ in range(4):  # spacing written before the unit: 2\\sqrt{3}\\,\\mathrm{m}, 5~\\text{cm}
        for space in ("\\,", "\\;", "\\:", "\\!", "\\ ", "~"):
            if before.endswith(space):
                before = before[: len(before) - len(space)].rstrip()
    if not before or not (before[-1].isalnum() or before[-1] in "_}).") :
        return s
    return before


def _strip_one(s: str) -> str | None:
    """``s`` without its last unit-like piece, or None when it does not end in one."""
    t = s.rstrip()
    if not t:
        return None
    p = _power_start(t, len(t))
    if p < len(t):
        return _strip_piece(t[:p])  # a power belongs to a unit ("m^2"), never to the value ("10^{33}")
    return _strip_piece(t)


def _strip_piece(t: str) -> str | None:
    """``t`` without its last unit piece (no power), or None."""
    t = t.rstrip()
    if not t:
        return None
    for sep in ("\\cdot", "/", "\\,", "\\ ", "~"):
        if t.endswith(sep):
            return t[: len(t) - len(sep)]
    if t.endswith("}"):
        open_ = _open_brace(t, len(t) - 1)
        if open_ < 0:
            return None
        inner = t[open_ + 1 : -1]
        cmd = _command_before(t, open_)
        if cmd >= 0 and any(c.isalpha() for c in inner):
            return t[:cmd]
        # X_{\odot}
        head = t[:open_].rstrip()
        if inner.strip() in _ASTRO and head.endswith("_"):
            return _strip_subscripted(head[:-1])
        return None
    for astro in _ASTRO:
        if t.endswith(astro):
            head = t[: len(t) - len(astro)].rstrip()
            if head.endswith("_"):
                return _strip_subscripted(head[:-1])
            return head
    # a bare word at the end
    k = len(t)
    while k > 0 and (t[k - 1].isalpha() or t[k - 1] in "./-") and len(t) - k < 30:
        k -= 1
    word = t[k:]
    if not word or not word[0].isalpha():
        return None
    if k > 0 and t[k - 1] == "\\":
        return None  # a command such as \pi is a value, never a unit
    if word.rstrip(".") in UNIT_WORDS or word.rstrip(".").lower() in UNIT_WORDS or word in _PHRASE_HEADS:
        if k > 0 and not t[k - 1].isspace() and word not in ("L", "mL") and len(word) == 1:
            return None  # "5x", "3s" written tight: a variable, not a unit
        return t[:k]
    return None


def _strip_subscripted(head: str) -> str:
    """Remove the letter or ``\\mathrm{M}`` that carries a ``_\\odot`` subscript."""
    head = head.rstrip()
    if head.endswith("}"):
        open_ = _open_brace(head, len(head) - 1)
        cmd = _command_before(head, open_) if open_ >= 0 else -1
        if cmd >= 0:
            return head[:cmd]
        return head
    if head and head[-1].isalpha():
        return head[:-1]
    return head


def strip_trailing_units(s: str, max_pieces: int = 12) -> str:
    """``s`` without every trailing unit-like piece (see the module docstring); ``s`` itself when none.

    The value must remain: a string that is nothing but units is returned unchanged.
    """
    current = s
    for _ in range(max_pieces):
        nxt = _strip_one(current)
        if nxt is None:
            break
        if not nxt.strip():
            return s
        current = nxt
    return current.rstrip()
