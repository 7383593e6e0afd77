"""lenient mode: would a careful human grader accept this final answer? (DESIGN.md section 2)

Two entry points:

- :func:`quick_verdict` decides what it can without sympy or latex2sympy (extraction, refusals,
  string normalisation, exact integer/Fraction arithmetic, structure); it returns None otherwise.
- :func:`lenient_verify` always decides: the quick path first, then the symbolic path. It never
  raises: an internal error gives reason "error".

Order of checks: extraction (no_answer / truncated / hedged / too_large) -> control characters
(unparseable; in the gold: bad_gold) -> code-like answer (unsafe) -> normalised string equality
(match) -> size refusals (too_large; an explosive gold: bad_gold) -> structure and value comparison
(a value past the numeric evaluator's magnitude bound: too_large / bad_gold) -> when a ``question``
is given and the answer matched, the question's explicit form demands (reason "form").

Bounded in the caller's process: :func:`quick_verdict` runs the numeric comparisons under a deadline
of ``QUICK_BUDGET_S`` seconds (past it: None, the worker decides), and the cache of prepared answers
is bounded in bytes (``PREPARED_CACHE_BYTES``), not in entries.

Control characters: an extracted answer or a gold holding a C0 control character other than tab,
newline and carriage return (NUL, form feed, ...) or DEL is refused (reason "unparseable", for the
gold "bad_gold"). Such a character is never silently dropped, so ``\\boxed{4\\x002}`` never equals
``42``. (A JSON producer that wrote ``\\frac`` with one backslash yields a form feed and ``rac``:
refused, never misread.)
"""

from __future__ import annotations

import re
import time
import weakref
from collections.abc import Callable

from justrl.verify.extract import extract_final_answer
from justrl.verify.lenient.cache import bytes_cached
from justrl.verify.lenient.compare import Comparer, Undecided
from justrl.verify.lenient.guards import MAX_ANSWER_CHARS, is_unsafe, too_large
from justrl.verify.lenient.normalize import compact, normalize
from justrl.verify.lenient.numeric import TooLarge, deadline_scope
from justrl.verify.lenient.structure import parse_structure
from justrl.verify.strict import unwrap_gold
from justrl.verify.verdict import Verdict

MODE = "lenient"
QUICK_BUDGET_S = 0.5  # seconds of numeric work quick_verdict may do before leaving the pair to a worker
PREPARED_CACHE_BYTES = 48 << 20  # memory held by cached (normalised text, structure) pairs
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@bytes_cached(PREPARED_CACHE_BYTES)
def _prepared(text: str):
    """(normalised text, structure) of one answer; cached, since golds repeat across samples."""
    norm = normalize(text)
    return norm, parse_structure(norm)


def _gold_text(gold: str) -> str:
    gold = unwrap_gold(gold.strip())
    return gold


def _front(response: str, gold: str) -> Verdict | tuple[str, str]:
    """Checks shared by both entry points: a final Verdict, or (extracted answer, gold text)."""
    if not isinstance(gold, str) or not gold.strip():
        return Verdict(False, None, "bad_gold", MODE)
    if not isinstance(response, str):
        return Verdict(False, None, "no_answer", MODE)
    found = extract_final_answer(response)
    if found.status in ("no_answer", "truncated", "too_large"):
        return Verdict(False, found.answer, found.status, MODE)
    if found.status == "hedged":
        return Verdict(False, found.answer, "hedged", MODE)
    answer = found.answer or ""
    if len(answer) > MAX_ANSWER_CHARS:
        return Verdict(False, answer[:200], "too_large", MODE)
    if _CONTROL.search(answer):
        return Verdict(False, answer, "unparseable", MODE)
    if is_unsafe(answer):
        return Verdict(False, answer, "unsafe", MODE)
    gold_text = _gold_text(gold)
    if len(gold_text) > MAX_ANSWER_CHARS or _CONTROL.search(gold_text):
        return Verdict(False, answer, "bad_gold", MODE)
    if compact(answer) == compact(gold_text):
        return Verdict(True, answer, "match", MODE)
    return answer, gold_text


def _decide(answer: str, gold_text: str, symbolic: bool) -> Verdict:
    gold_norm, gold_tree = _prepared(gold_text)
    resp_norm, resp_tree = _prepared(answer)
    if compact(gold_norm) == compact(resp_norm):
        return Verdict(True, answer, "match", MODE)
    if not resp_norm:
        return Verdict(False, answer, "no_answer", MODE)
    if too_large(resp_norm):
        return Verdict(False, answer, "too_large", MODE)
    if too_large(gold_norm):
        return Verdict(False, answer, "bad_gold", MODE)
    comparer = Comparer(symbolic=symbolic)
    try:
        equal = comparer.equal(gold_tree, resp_tree)
    except TooLarge as exc:
        return Verdict(False, answer, "bad_gold" if exc.side == "gold" else "too_large", MODE)
    if equal:
        return Verdict(True, answer, "match", MODE)
    return Verdict(False, answer, "unparseable" if comparer.unparsed else "mismatch", MODE)


def _form_checker() -> Callable[..., str | None] | None:
    """``justrl.verify.lenient.question.form_violation`` when that module is installed, else None."""
    try:
        from justrl.verify.lenient.question import form_violation
    except ImportError:
        return None
    return form_violation


_ACCEPTS_SYMBOLIC: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _accepts_symbolic(check: Callable) -> bool:
    """Whether the form check takes ``symbolic=`` (remembered per function object)."""
    try:
        return _ACCEPTS_SYMBOLIC[check]
    except (KeyError, TypeError):
        pass
    import inspect

    try:
        accepts = "symbolic" in inspect.signature(check).parameters
    except (TypeError, ValueError):
        accepts = False
    try:
        _ACCEPTS_SYMBOLIC[check] = accepts
    except TypeError:  # not weak-referenceable
        pass
    return accepts


def _with_question(verdict: Verdict, question: str | None, gold: str, symbolic: bool) -> Verdict:
    """A match that breaks an explicit form demand of the question becomes reason "form".

    Only a match is re-examined and only when a question is given, so without one every verdict is
    unchanged. ``symbolic=False`` (the quick path) asks the check not to use sympy; a check that
    would need it raises Undecided and the pair goes to a worker. Any other error inside the form
    check leaves the verdict as it was."""
    if question is None or not verdict.correct or verdict.extracted is None:
        return verdict
    check = _form_checker()
    if check is None:
        return verdict
    try:
        if _accepts_symbolic(check):
            code = check(question, verdict.extracted, _gold_text(gold), symbolic=symbolic)
        else:
            code = check(question, verdict.extracted, _gold_text(gold))
    except Undecided:
        if symbolic:
            return verdict
        raise
    except Exception:
        return verdict
    if code:
        return Verdict(False, verdict.extracted, "form", MODE)
    return verdict


def quick_verdict(response: str, gold: str, question: str | None = None) -> Verdict | None:
    """A bounded pre-check without sympy: a final Verdict when it can decide, else None.

    Numeric work stops after ``QUICK_BUDGET_S`` seconds (then None). ``question``: see
    :func:`lenient_verify`."""
    try:
        with deadline_scope(time.monotonic() + QUICK_BUDGET_S):
            front = _front(response, gold)
            if not isinstance(front, Verdict):
                front = _decide(*front, symbolic=False)
            return _with_question(front, question, gold, symbolic=False)
    except Undecided:
        return None
    except Exception:
        return None  # lenient_verify will report it


def lenient_verify(response: str, gold: str, question: str | None = None) -> Verdict:
    """Check ``response`` against ``gold`` as a careful human grader would. Never raises.

    ``question``, when given, is the problem statement: a matching answer that ignores an explicit
    form demand ("simplify", "rationalize the denominator", ...) is refused with reason "form"
    (see ``justrl.verify.lenient.question``). Without it the verdict is exactly as before."""
    extracted = None
    try:
        front = _front(response, gold)
        if isinstance(front, Verdict):
            return _with_question(front, question, gold, symbolic=True)
        extracted = front[0]
        return _with_question(_decide(*front, symbolic=True), question, gold, symbolic=True)
    except Exception:
        return Verdict(False, extracted, "error", MODE)
