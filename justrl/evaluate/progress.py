"""Progress displays on stderr: the live generation display (one rich row per benchmark: done/total,
tokens/s, ETA) and the grading bar (:func:`grading_progress`).

Rates and ETAs count only this session's work (resumed samples are shown as already done). rich is
imported only when a display is enabled (``progress=False`` runs, as in the trainer's periodic
evaluation, never load it).
"""

from __future__ import annotations

import time
from collections.abc import Callable


def _rate_column():
    from rich.progress import ProgressColumn, Task
    from rich.text import Text

    class _Rate(ProgressColumn):
        """Generated tokens per second for the row, since it started."""

        def render(self, task: Task) -> Text:
            tokens = task.fields.get("tokens", 0)
            started = task.fields.get("started")
            if not tokens or started is None:
                return Text("– tok/s", style="progress.data.speed")
            return Text(f"{tokens / max(1e-9, time.perf_counter() - started):,.1f} tok/s",
                        style="progress.data.speed")

    return _Rate()


class _OptionalDisplay:
    """A rich ``Progress`` in ``self._progress`` when enabled (else None); entering/leaving drives it."""

    _progress = None

    def __enter__(self):
        if self._progress is not None:
            self._progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)


class LiveProgress(_OptionalDisplay):
    """Context manager: ``add(name, total, done)`` then ``advance(name, tokens)`` per finished sample.

    Disabled, it does nothing (and imports nothing)."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._progress = None
        if enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._progress = Progress(TextColumn("{task.description:<15}"), BarColumn(), MofNCompleteColumn(),
                                      _rate_column(), TextColumn("ETA"), TimeRemainingColumn(),
                                      console=Console(stderr=True), refresh_per_second=4)
        self._tasks: dict[str, int] = {}
        self._tokens: dict[str, int] = {}

    def add(self, name: str, total: int, done: int = 0) -> None:
        if self._progress is None:
            return
        # resumed samples start as completed; rich's speed (hence ETA) counts only later advances
        self._tasks[name] = self._progress.add_task(name, total=total, completed=done, tokens=0,
                                                    started=time.perf_counter())
        self._tokens[name] = 0

    def advance(self, name: str, tokens: int | None) -> None:
        if self._progress is None:
            return
        self._tokens[name] += tokens or 0
        self._progress.update(self._tasks[name], advance=1, tokens=self._tokens[name])


class StepProgress(_OptionalDisplay):
    """A counted progress bar (description, bar, done/total, rate, elapsed, ETA) on stderr, transient.

    ``start(description, total)`` returns a callback taking the number done so far (the shape
    :func:`justrl.verify.verify_many`'s ``progress=`` expects); ``stop()`` removes the row. Disabled, the
    callback is None and nothing is imported."""

    def __init__(self, enabled: bool = True) -> None:
        self._progress = None
        self._task = None
        if enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TaskProgressColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                      TaskProgressColumn(), TextColumn("{task.fields[rate]}"), TimeElapsedColumn(),
                                      TextColumn("ETA"), TimeRemainingColumn(), console=Console(stderr=True),
                                      transient=True, refresh_per_second=4)

    def start(self, description: str, total: int) -> Callable[[int], None] | None:
        if self._progress is None:
            return None
        progress = self._progress
        started = time.perf_counter()
        task = self._task = progress.add_task(description, total=total, rate="")

        def update(done: int) -> None:
            elapsed = time.perf_counter() - started
            rate = f"{done / elapsed:,.0f}/s" if done and elapsed > 0 else ""
            progress.update(task, completed=done, rate=rate)

        return update

    def stop(self) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.remove_task(self._task)
            self._task = None
