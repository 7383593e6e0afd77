"""The live generation display: one rich progress row per benchmark (done/total, tokens/s, ETA).

Rates and ETAs count only this session's work (resumed samples are shown as already done), on stderr.
"""

from __future__ import annotations

import time

from rich.progress import ProgressColumn, Task
from rich.text import Text


class _Rate(ProgressColumn):
    """Generated tokens per second for the row, since it started."""

    def render(self, task: Task) -> Text:
        tokens = task.fields.get("tokens", 0)
        started = task.fields.get("started")
        if not tokens or started is None:
            return Text("– tok/s", style="progress.data.speed")
        return Text(f"{tokens / max(1e-9, time.perf_counter() - started):,.1f} tok/s", style="progress.data.speed")


class LiveProgress:
    """Context manager: ``add(name, total, done)`` then ``advance(name, tokens)`` per finished sample."""

    def __init__(self, enabled: bool = True) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.enabled = enabled
        self._progress = Progress(TextColumn("{task.description:<15}"), BarColumn(), MofNCompleteColumn(), _Rate(),
                                  TextColumn("ETA"), TimeRemainingColumn(), console=Console(stderr=True),
                                  disable=not enabled, refresh_per_second=4)
        self._tasks: dict[str, int] = {}
        self._tokens: dict[str, int] = {}

    def __enter__(self) -> LiveProgress:
        self._progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._progress.__exit__(*exc)

    def add(self, name: str, total: int, done: int = 0) -> None:
        # resumed samples start as completed; rich's speed (hence ETA) counts only later advances
        self._tasks[name] = self._progress.add_task(name, total=total, completed=done, tokens=0,
                                                    started=time.perf_counter())
        self._tokens[name] = 0

    def advance(self, name: str, tokens: int | None) -> None:
        self._tokens[name] += tokens or 0
        self._progress.update(self._tasks[name], advance=1, tokens=self._tokens[name])
