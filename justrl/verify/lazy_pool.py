"""A process-wide worker pool created on first use, so importing the API stays light (no
multiprocessing or subprocess import until a check needs a worker)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from justrl.verify.pool import WorkerPool


class LazyPool:
    """A :class:`~justrl.verify.pool.WorkerPool` created on first ``get()`` and stopped at interpreter exit.

    ``get()`` is thread-safe; ``shutdown()`` stops the workers now (the next ``get()`` starts new ones).
    ``current`` is the live pool or None.
    """

    def __init__(self, checker: str, *, warmup: tuple | None = None) -> None:
        self.checker, self.warmup = checker, warmup
        self.current: WorkerPool | None = None
        self._lock = threading.Lock()
        self._atexit_registered = False

    def get(self) -> WorkerPool:
        with self._lock:
            if self.current is None:
                from justrl.verify.pool import WorkerPool

                self.current = WorkerPool(self.checker, warmup=self.warmup)
                if not self._atexit_registered:
                    import atexit

                    atexit.register(self.shutdown)
                    self._atexit_registered = True
            return self.current

    def shutdown(self) -> None:
        with self._lock:
            pool, self.current = self.current, None
        if pool is not None:
            pool.close()


__all__ = ["LazyPool"]
