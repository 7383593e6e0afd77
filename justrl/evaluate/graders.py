"""The named answer graders, listed in one place (DESIGN.md §4; outside checks call exactly this API).

``grade_answer(response, gold, grader="lenient") -> bool``:

* ``"lenient"`` — :func:`justrl.verify.verify` in lenient mode (would a careful human grader accept it?);
* ``"strict"`` — the DAPO training reward JustRL trained with (:mod:`justrl.verify.strict`);
* ``"justrl-rule"`` — the JustRL paper's rule grader (``evals/utils.py::grade_answer_verl`` semantics,
  reimplemented in :mod:`justrl.evaluate.justrl_rule`, reproducing the reference's verdicts).

The LLM judge is not a grader of its own: it is a layer on top of a rule grader (JustRL asks it about
every rule failure, see :mod:`justrl.evaluate.judge`). :func:`grade_many` grades many pairs with one
grader, in worker processes under hard timeouts, in order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

__all__ = ["GRADERS", "GradeResult", "grade_answer", "grade_many", "check_grader"]

GRADERS: dict[str, str] = {
    "lenient": "justrl.verify lenient: would a careful human grader accept this final answer?",
    "strict": "justrl.verify strict: the DAPO training reward (last box in the last 100 characters == gold)",
    "justrl-rule": "the JustRL paper's rule grader (evals/utils.py grade_answer_verl: last \\boxed{}, "
                   "Hendrycks normalisation, sympy), reimplemented",
}


@dataclass(frozen=True)
class GradeResult:
    """One grader's verdict on one sample: ``correct``, the ``extracted`` final answer (None without one)
    and a short ``reason`` code (the grader's own vocabulary)."""

    correct: bool
    extracted: str | None
    reason: str


def check_grader(grader: str) -> str:
    """The canonical grader name (case-insensitive; "justrl_rule" accepted), or ValueError naming the choices."""
    name = str(grader).strip().lower().replace("_", "-")
    if name not in GRADERS:
        raise ValueError(f"unknown grader {grader!r}; choose one of: {', '.join(GRADERS)}")
    return name


def _gold_text(gold: object) -> str:
    """A gold as text: numbers as justrl.verify writes them (JustRL's own grader would crash on a non-str)."""
    if isinstance(gold, str):
        return gold
    from justrl.verify.api import canonical_gold

    return canonical_gold(gold)


def grade_many(pairs: Iterable[tuple[str, str]], grader: str = "lenient", *, workers: int | None = None,
               timeout: float | None = None, progress: Callable[[int], None] | None = None) -> list[GradeResult]:
    """Verdicts of ``grader`` for ``(response, gold)`` pairs, in order (``timeout`` seconds per sample,
    the grader's default when None)."""
    name = check_grader(grader)
    items = list(pairs)
    if name == "justrl-rule":
        from justrl.evaluate import justrl_rule

        kwargs = {} if timeout is None else {"timeout": timeout}
        texts = [(str(r), _gold_text(g)) for r, g in items]
        return [GradeResult(v.correct, v.extracted, v.reason)
                for v in justrl_rule.grade_many(texts, workers=workers, progress=progress, **kwargs)]
    from justrl.verify import verify_many

    kwargs = {} if timeout is None else {"timeout": timeout}
    verdicts = verify_many(items, mode=name, workers=workers, progress=progress, **kwargs)
    return [GradeResult(v.correct, v.extracted, v.reason) for v in verdicts]


def grade_answer(response: str, gold: str, grader: str = "lenient") -> bool:
    """True when ``grader`` (one of :data:`GRADERS`) accepts ``response`` for ``gold``."""
    return grade_many([(response, gold)], grader, workers=1)[0].correct
