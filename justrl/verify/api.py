"""The public verification API: :func:`verify`, :func:`verify_many` and the streaming :func:`iter_verify`.

strict runs in the caller's process (the DAPO rule is bounded: it reads at most 100 characters).
lenient first runs the bounded, sympy-free ``quick_verdict`` in the caller; only when that cannot
decide does ``lenient_verify`` run, in a persistent worker process under a hard per-call timeout
(``timeout`` seconds of wall time; past it the worker is killed and replaced and the verdict has
reason "timeout"; a worker that dies gives reason "error"). Workers are started on first need
(about a second: they import sympy), reused across calls, and stopped at interpreter exit.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable, Iterable, Iterator

from justrl.verify.strict import strict_verify
from justrl.verify.verdict import MODES, Verdict

DEFAULT_TIMEOUT = 5.0  # seconds per lenient check that reaches a worker process
MAX_LOOKAHEAD = 4096  # verdicts iter_verify may hold while an earlier one is still being checked

LENIENT_CHECKER = "justrl.verify.lenient:lenient_verify"
# One symbolic check at worker start-up, so sympy and the LaTeX parser load before any clock starts.
LENIENT_WARMUP = ("\\boxed{\\frac{\\sqrt{8}}{2} + x - x}", "\\sqrt{2}")

_pool = None
_pool_lock = threading.Lock()
_atexit_registered = False


def _get_pool():
    """The process-wide lenient worker pool, created on first use and stopped at exit."""
    global _pool, _atexit_registered
    with _pool_lock:
        if _pool is None:
            from justrl.verify.pool import WorkerPool

            _pool = WorkerPool(LENIENT_CHECKER, warmup=LENIENT_WARMUP)
            if not _atexit_registered:
                atexit.register(shutdown_pool)
                _atexit_registered = True
        return _pool


def shutdown_pool() -> None:
    """Stop the lenient worker processes now (they restart on the next call that needs one)."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.close()


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"unknown verification mode {mode!r}; valid modes: {', '.join(MODES)}")


def _check_timeout(timeout: float) -> None:
    if not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")


def _check_pair(response: object, gold: object, where: str = "") -> None:
    for name, value in (("response", response), ("gold", gold)):
        if not isinstance(value, str):
            raise TypeError(f"{name}{where} must be a str, got {type(value).__name__}")


def _quick(response: str, gold: str) -> Verdict | None:
    from justrl.verify.lenient import quick_verdict

    return quick_verdict(response, gold)


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


def verify(response: str, gold: str, mode: str = "lenient", *, timeout: float = DEFAULT_TIMEOUT) -> Verdict:
    """Check one response against its gold answer. Never raises for any answer text.

    ``mode`` is "strict" (the DAPO training reward) or "lenient" (a careful grader). ``timeout`` bounds
    the lenient check in seconds (strict needs none). Raises ValueError for an unknown mode or a
    non-positive timeout and TypeError when response or gold is not a str.
    """
    if not (isinstance(response, str) and isinstance(gold, str)):
        _check_pair(response, gold)
    if mode == "strict":
        return strict_verify(response, gold)
    _check_mode(mode)
    _check_timeout(timeout)
    quick = _quick(response, gold)
    if quick is not None:
        return quick
    return _from_outcome(_get_pool().call((response, gold), timeout=timeout), response)


def iter_verify(pairs: Iterable[tuple[str, str]], mode: str = "lenient", workers: int | None = None,
                timeout: float = DEFAULT_TIMEOUT) -> Iterator[Verdict]:
    """Verdicts for ``(response, gold)`` pairs, yielded in input order as they become available.

    Pairs are read lazily. lenient checks that ``quick_verdict`` cannot decide run on up to
    ``workers`` processes (default: the number of cores) while the caller keeps reading; at most
    ``MAX_LOOKAHEAD`` finished verdicts wait behind a slow one. Same errors as :func:`verify`;
    a non-str element raises TypeError naming its index.
    """
    _check_mode(mode)
    _check_timeout(timeout)
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if mode == "strict":
        for index, (response, gold) in enumerate(pairs):
            if not (isinstance(response, str) and isinstance(gold, str)):
                _check_pair(response, gold, f" of pair {index}")
            yield strict_verify(response, gold)
        return
    yield from _iter_lenient(pairs, workers, timeout)


def _iter_lenient(pairs: Iterable[tuple[str, str]], workers: int | None, timeout: float) -> Iterator[Verdict]:
    results: dict[int, Verdict] = {}
    waiting: dict[int, str] = {}  # index -> response, for calls sent to a worker
    session = None
    next_out = 0
    try:
        for index, (response, gold) in enumerate(pairs):
            if not (isinstance(response, str) and isinstance(gold, str)):
                _check_pair(response, gold, f" of pair {index}")
            quick = _quick(response, gold)
            if quick is not None:
                results[index] = quick
            else:
                if session is None:
                    session = _get_pool().session(workers=workers, timeout=timeout)
                session.submit(index, (response, gold))
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


def verify_many(pairs: Iterable[tuple[str, str]], mode: str = "lenient", workers: int | None = None,
                timeout: float = DEFAULT_TIMEOUT, *,
                progress: Callable[[int], None] | None = None) -> list[Verdict]:
    """Verdicts for ``(response, gold)`` pairs, in input order (see :func:`iter_verify`).

    ``progress``, when given, is called with the number of verdicts finished so far, at most about
    every 64 verdicts and once at the end.
    """
    verdicts: list[Verdict] = []
    for verdict in iter_verify(pairs, mode, workers, timeout):
        verdicts.append(verdict)
        if progress is not None and len(verdicts) % 64 == 0:
            progress(len(verdicts))
    if progress is not None:
        progress(len(verdicts))
    return verdicts
