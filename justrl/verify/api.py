"""PROVISIONAL in-process dispatcher; the helper owning api.py replaces this with worker processes."""

from __future__ import annotations

from collections.abc import Iterable

from justrl.verify.strict import strict_verify
from justrl.verify.verdict import Verdict

DEFAULT_TIMEOUT = 5.0


def verify(response: str, gold: str, mode: str = "lenient", *, timeout: float = DEFAULT_TIMEOUT) -> Verdict:
    if mode == "strict":
        return strict_verify(response, gold)
    from justrl.verify.lenient import lenient_verify

    return lenient_verify(response, gold)


def verify_many(pairs: Iterable[tuple[str, str]], mode: str = "lenient", workers: int | None = None,
                timeout: float = DEFAULT_TIMEOUT) -> list[Verdict]:
    return [verify(r, g, mode, timeout=timeout) for r, g in pairs]
