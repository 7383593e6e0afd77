"""Answer verification: ``strict`` (the JustRL/DAPO training reward) and ``lenient`` (a careful grader).

Public API (relied on by evaluation, training and outside tools)::

    verify(response, gold, mode="lenient", *, timeout=...) -> Verdict
    verify_many(pairs, mode=..., workers=..., timeout=...) -> list[Verdict]
"""

from justrl.verify.api import DEFAULT_TIMEOUT, verify, verify_many
from justrl.verify.verdict import MODES, REASONS, Verdict

__all__ = ["verify", "verify_many", "Verdict", "REASONS", "MODES", "DEFAULT_TIMEOUT"]
