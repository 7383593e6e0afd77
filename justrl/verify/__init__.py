"""Answer verification: ``strict`` (the JustRL/DAPO training reward) and ``lenient`` (a careful grader).

Public API (relied on by evaluation, training and outside tools)::

    verify(response, gold, mode="lenient", *, timeout=..., question=None) -> Verdict
    verify_many(pairs, mode=..., workers=..., timeout=..., *, question=None) -> list[Verdict]
    iter_verify(pairs, ...) -> Iterator[Verdict]     # same, streamed in input order
    # gold: a str or a number; mode: any case; pairs: (response, gold) or (response, gold, question)
    shutdown_pool()                                  # stop the worker processes now (else at exit)
"""

from justrl.verify.api import DEFAULT_TIMEOUT, iter_verify, shutdown_pool, verify, verify_many
from justrl.verify.verdict import MODES, REASONS, Verdict

__all__ = ["verify", "verify_many", "iter_verify", "shutdown_pool", "Verdict", "REASONS", "MODES",
           "DEFAULT_TIMEOUT"]
