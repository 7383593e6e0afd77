"""The public verification API: :func:`verify`, :func:`verify_many` and the streaming :func:`iter_verify`.

strict runs in the caller's process (the DAPO rule is bounded: it reads at most 100 characters).
lenient first runs the bounded, sympy-free ``quick_verdict`` in the caller; only when that cannot
decide does ``lenient_verify`` run, in a persistent worker process under a hard per-call timeout
(``timeout`` seconds of wall time; past it the worker is killed and replaced and the verdict has
reason "timeout"; a worker that dies gives reason "error"). Workers are started on first need
(about a second: they import sympy), reused across calls, and stopped at interpreter exit.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from fractions import Fraction

from justrl.verify.lazy_pool import LazyPool
from justrl.verify.strict import strict_verify
from justrl.verify.verdict import MODES, Verdict

DEFAULT_TIMEOUT = 5.0  # seconds per lenient check that reaches a worker process
MAX_LOOKAHEAD = 4096  # verdicts iter_verify may hold while an earlier one is still being checked

LENIENT_CHECKER = "justrl.verify.lenient:lenient_verify"
# One symbolic check at worker start-up, so sympy and the LaTeX parser load before any clock starts.
LENIENT_WARMUP = ("\\boxed{\\frac{\\sqrt{8}}{2} + x - x}", "\\sqrt{2}")

_LENIENT_POOL = LazyPool(LENIENT_CHECKER, warmup=LENIENT_WARMUP)  # workers for checks that need sympy


def _get_pool():
    """The process-wide lenient worker pool, created on first use and stopped at exit."""
    return _LENIENT_POOL.get()


def shutdown_pool() -> None:
    """Stop the lenient worker processes now (they restart on the next call that needs one)."""
    _LENIENT_POOL.shutdown()


def _mode(mode: object) -> str:
    """The canonical mode name: "strict" or "lenient", matched case-insensitively ("STRICT")."""
    name = mode.strip().lower() if isinstance(mode, str) else mode
    if name not in MODES:
        raise ValueError(f"unknown verification mode {mode!r}; valid modes: {', '.join(MODES)}")
    return name


def _check_timeout(timeout: float) -> None:
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < math.inf:
        raise ValueError(f"timeout must be a positive, finite number of seconds, got {timeout!r}")


def canonical_gold(gold: object) -> str:
    """The gold answer as a string: a str unchanged; an int (or any integral number) as its decimal
    digits; a Fraction as ``\\frac{p}{q}`` (``-\\frac{p}{q}``; an integral one as its integer); a
    float as its integer when integral, else its shortest round-trip repr (``0.1``, ``1e-05``); a
    Decimal as written (``2.50`` keeps its stated precision). Raises TypeError for bool and anything
    else, ValueError for a float or Decimal that is not finite."""
    if isinstance(gold, str):
        return gold
    if isinstance(gold, bool) or type(gold).__name__ == "bool_":
        raise TypeError("gold must be a str or a number, got bool")
    try:
        return _number_text(gold)
    except ValueError as exc:
        if "digits" in str(exc) and "limit" in str(exc):  # Python's int -> str conversion limit
            raise ValueError("gold is a number too large to write out (over 4,300 digits); pass it as a str") \
                from None
        raise


def _number_text(gold: object) -> str:
    if isinstance(gold, numbers.Integral):
        return str(int(gold))
    if isinstance(gold, numbers.Rational):
        value = Fraction(gold.numerator, gold.denominator)
        if value.denominator == 1:
            return str(value.numerator)
        sign = "-" if value < 0 else ""
        return f"{sign}\\frac{{{abs(value.numerator)}}}{{{value.denominator}}}"
    if isinstance(gold, Decimal):
        if not gold.is_finite():
            raise ValueError(f"gold must be a finite number, got {gold!r}")
        return str(gold)
    if isinstance(gold, numbers.Real):
        value = float(gold)
        if not math.isfinite(value):
            raise ValueError(f"gold must be a finite number, got {gold!r}")
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(value)
    raise TypeError(f"gold must be a str or a number, got {type(gold).__name__}")


def _check_question(question: object, where: str = "") -> None:
    if question is not None and not isinstance(question, str):
        raise TypeError(f"question{where} must be a str or None, got {type(question).__name__}")


def _unpack(pair: object, index: int | None, default_question: str | None) -> tuple[str, str, str | None]:
    """(response, canonical gold, question) of one element of ``pairs`` (``index`` None: the
    arguments of :func:`verify`); errors name the index."""
    where = "" if index is None else f" of pair {index}"
    if not isinstance(pair, (tuple, list)) or len(pair) not in (2, 3):
        raise TypeError(f"pair {index} must be (response, gold) or (response, gold, question)")
    response, gold = pair[0], pair[1]
    question = pair[2] if len(pair) == 3 else default_question
    if not isinstance(response, str):
        raise TypeError(f"response{where} must be a str, got {type(response).__name__}")
    try:
        gold = canonical_gold(gold)
    except (TypeError, ValueError) as exc:
        raise type(exc)(str(exc).replace("gold", f"gold{where}", 1)) from None
    _check_question(question, where)
    return response, gold, question


def _quick(response: str, gold: str, question: str | None) -> Verdict | None:
    from justrl.verify.lenient import quick_verdict

    return quick_verdict(response, gold, question)


def _worker_args(response: str, gold: str, question: str | None) -> tuple:
    """Arguments of ``lenient_verify`` in a worker (the question only when there is one)."""
    return (response, gold) if question is None else (response, gold, question)


def _failed(response: str, reason: str) -> Verdict:
    """A lenient verdict for a check that did not finish; ``extracted`` is filled when cheap to find."""
    extracted = None
    try:
        from justrl.verify.extract import extract_final_answer

        extracted = extract_final_answer(response).answer
    except Exception:
        pass
    return Verdict(False, extracted, reason, "lenient")


def _from_outcome(outcome, response: str) -> Verdict:
    if outcome.status == "ok" and isinstance(outcome.value, Verdict):
        return outcome.value
    return _failed(response, "timeout" if outcome.status == "timeout" else "error")


def verify(response: str, gold: str | float | Fraction, mode: str = "lenient", *,
           timeout: float = DEFAULT_TIMEOUT, question: str | None = None) -> Verdict:
    """Check one response against its gold answer. Never raises for any answer text.

    ``mode`` is "strict" (the DAPO training reward) or "lenient" (a careful grader), in any case.
    ``gold`` is a str or a number (see :func:`canonical_gold`). ``timeout`` bounds the lenient check
    in seconds (strict needs none). ``question`` (lenient only; strict ignores it) is the problem
    statement: a matching answer that ignores an explicit form demand ("simplify", "rationalize the
    denominator", ...) gets reason "form"; without it every verdict is as without the keyword.
    Raises ValueError for an unknown mode or a timeout that is not positive and finite, TypeError
    when response is not a str, gold is neither a str nor a number, or question is not a str.
    """
    if not (isinstance(response, str) and isinstance(gold, str) and question is None):
        response, gold, question = _unpack((response, gold, question), None, None)
    mode = _mode(mode)
    if mode == "strict":
        return strict_verify(response, gold)
    _check_timeout(timeout)
    quick = _quick(response, gold, question)
    if quick is not None:
        return quick
    return _from_outcome(_get_pool().call(_worker_args(response, gold, question), timeout=timeout), response)


def iter_verify(pairs: Iterable[tuple], mode: str = "lenient", workers: int | None = None,
                timeout: float = DEFAULT_TIMEOUT, *, question: str | None = None) -> Iterator[Verdict]:
    """Verdicts for ``(response, gold)`` or ``(response, gold, question)`` pairs, yielded in input
    order as they become available.

    ``question`` is the default for pairs without their own (a 3-tuple's question wins; see
    :func:`verify`). Pairs are read lazily. lenient checks that ``quick_verdict`` cannot decide run on
    up to ``workers`` processes (default: the number of cores) while the caller keeps reading; at
    most ``MAX_LOOKAHEAD`` finished verdicts wait behind a slow one. Same errors as :func:`verify`;
    a malformed element raises TypeError naming its index.
    """
    mode = _mode(mode)
    _check_timeout(timeout)
    _check_question(question)
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be at least 1, got {workers}")
    if mode == "strict":
        for index, pair in enumerate(pairs):
            response, gold, _ = _unpack(pair, index, question)
            yield strict_verify(response, gold)
        return
    yield from _iter_lenient(pairs, workers, timeout, question)


def _iter_lenient(pairs: Iterable[tuple], workers: int | None, timeout: float,
                  default_question: str | None) -> Iterator[Verdict]:
    results: dict[int, Verdict] = {}
    waiting: dict[int, str] = {}  # index -> response, for calls sent to a worker
    session = None
    next_out = 0
    try:
        for index, pair in enumerate(pairs):
            response, gold, question = _unpack(pair, index, default_question)
            quick = _quick(response, gold, question)
            if quick is not None:
                results[index] = quick
            else:
                if session is None:
                    session = _get_pool().session(workers=workers, timeout=timeout)
                session.submit(index, _worker_args(response, gold, question))
                waiting[index] = response
            if session is not None and waiting:
                # Keep workers busy; block only when too far ahead of the oldest unfinished call.
                stall = index - next_out >= MAX_LOOKAHEAD
                for key, outcome in session.poll(None if stall else 0.0):
                    results[key] = _from_outcome(outcome, waiting.pop(key))
            while next_out in results:
                yield results.pop(next_out)
                next_out += 1
        while waiting:
            for key, outcome in session.poll(None):
                results[key] = _from_outcome(outcome, waiting.pop(key))
            while next_out in results:
                yield results.pop(next_out)
                next_out += 1
        while next_out in results:
            yield results.pop(next_out)
            next_out += 1
    finally:
        if session is not None:
            session.close()


def verify_many(pairs: Iterable[tuple], mode: str = "lenient", workers: int | None = None,
                timeout: float = DEFAULT_TIMEOUT, *, question: str | None = None,
                progress: Callable[[int], None] | None = None) -> list[Verdict]:
    """Verdicts for ``(response, gold)`` or ``(response, gold, question)`` pairs, in input order
    (see :func:`iter_verify`).

    ``progress``, when given, is called with the number of verdicts finished so far, at most about
    every 64 verdicts and once at the end.
    """
    verdicts: list[Verdict] = []
    for verdict in iter_verify(pairs, mode, workers, timeout, question=question):
        verdicts.append(verdict)
        if progress is not None and len(verdicts) % 64 == 0:
            progress(len(verdicts))
    if progress is not None:
        progress(len(verdicts))
    return verdicts
