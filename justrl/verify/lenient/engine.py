"""lenient mode: would a careful human grader accept this final answer? (DESIGN.md section 2)

Two entry points:

- :func:`quick_verdict` decides what it can without sympy or latex2sympy (extraction, refusals,
  string normalisation, exact integer/Fraction arithmetic, structure); it returns None otherwise.
- :func:`lenient_verify` always decides: the quick path first, then the symbolic path. It never
  raises: an internal error gives reason "error".

Order of checks: extraction (no_answer / truncated / hedged / too_large) -> code-like answer (unsafe)
-> normalised string equality (match) -> size refusals (too_large) -> structure and value comparison.
"""

from __future__ import annotations

from functools import lru_cache

from justrl.verify.extract import extract_final_answer
from justrl.verify.lenient.compare import Comparer, Undecided
from justrl.verify.lenient.guards import MAX_ANSWER_CHARS, is_unsafe, too_large
from justrl.verify.lenient.normalize import compact, normalize
from justrl.verify.lenient.structure import parse_structure
from justrl.verify.strict import unwrap_gold
from justrl.verify.verdict import Verdict

MODE = "lenient"


@lru_cache(maxsize=16384)
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
    if is_unsafe(answer):
        return Verdict(False, answer, "unsafe", MODE)
    gold_text = _gold_text(gold)
    if len(gold_text) > MAX_ANSWER_CHARS:
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
    comparer = Comparer(symbolic=symbolic)
    if comparer.equal(gold_tree, resp_tree):
        return Verdict(True, answer, "match", MODE)
    return Verdict(False, answer, "unparseable" if comparer.unparsed else "mismatch", MODE)


def quick_verdict(response: str, gold: str) -> Verdict | None:
    """A bounded pre-check without sympy: a final Verdict when it can decide, else None."""
    try:
        front = _front(response, gold)
        if isinstance(front, Verdict):
            return front
        return _decide(*front, symbolic=False)
    except Undecided:
        return None
    except Exception:
        return None  # lenient_verify will report it


def lenient_verify(response: str, gold: str) -> Verdict:
    """Check ``response`` against ``gold`` as a careful human grader would. Never raises."""
    extracted = None
    try:
        front = _front(response, gold)
        if isinstance(front, Verdict):
            return front
        extracted = front[0]
        return _decide(*front, symbolic=True)
    except Exception:
        return Verdict(False, extracted, "error", MODE)
