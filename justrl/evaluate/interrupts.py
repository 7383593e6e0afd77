"""SIGTERM and Ctrl-C as exceptions that a run can defer while it writes its own bookkeeping.

A scheduler's cancel (SIGTERM) unwinds like Ctrl-C, so ``finally`` blocks close run.json as
"interrupted" instead of leaving it "running". A signal that arrives inside :func:`deferred` (the last
write of run.json) is held and raised when the block ends, so that write is never cut in half.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C (exit status 143 at the CLI)."""


_state: dict = {"depth": 0, "pending": None}


def _handler(signum, frame) -> None:
    exc = Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()
    if _state["depth"]:
        _state["pending"] = exc
        return
    raise exc


@contextmanager
def deferred() -> Iterator[None]:
    """Hold SIGTERM / SIGINT (when :func:`install` ran) until the block ends, then raise them."""
    _state["depth"] += 1
    try:
        yield
    finally:
        _state["depth"] -= 1
        if not _state["depth"] and _state["pending"] is not None:
            exc, _state["pending"] = _state["pending"], None
            raise exc


def install() -> Callable[[], None]:
    """Route SIGTERM and SIGINT through :func:`_handler`; returns a function restoring the old handlers.
    Outside the main thread (where Python cannot set handlers) it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    old = {sig: signal.signal(sig, _handler) for sig in (signal.SIGTERM, signal.SIGINT)}

    def restore() -> None:
        for sig, handler in old.items():
            signal.signal(sig, handler)

    return restore


__all__ = ["Terminated", "deferred", "install"]
