"""Progress on stderr for long jobs: generation (:class:`LiveProgress`, one row per benchmark) and counted
steps (:class:`StepProgress`: grading, judging, training steps).

On a terminal they draw rich bars; otherwise (nohup, Slurm, ``| tee``) they print one plain line per
``interval`` seconds (default 30) and one when each benchmark finishes, so logs show progress too.

Rates are honest (:class:`RateMeter`):

* counted over this session only (resumed samples show as done but never as speed);
* start-up excluded: the clock starts at the first completion (model loading and the first batch, i.e.
  completions within 0.25 s of the first, are not in the rate), so the rate and ETA are "unknown" until
  a later completion arrives;
* ETA = remaining / rate, the rate averaged since that first completion (bursty batches do not produce
  ETAs of a second; rich's own ETA extrapolates from the last instant and does);
* tokens/s over a recent window (``window`` s), frozen when the row finishes instead of decaying.

rich is imported only when a terminal display is drawn (``progress=False`` runs never load it).
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TextIO


def format_duration(seconds: float | None) -> str:
    """``"unknown"``, ``"42s"``, ``"3m05s"``, ``"2h03m"``."""
    if seconds is None:
        return "unknown"
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class RateMeter:
    """Counts completions of one job against ``total`` (``done`` already finished before this session).

    ``clock`` is injectable for tests (default :func:`time.monotonic`); times are seconds.
    """

    BURST = 0.25  # completions this close to the first one count as its batch (excluded from the rate)

    def __init__(self, total: int, done: int = 0, *, window: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total = int(total)
        self.resumed = int(done)
        self.session = 0
        self.tokens = 0
        self.window = float(window)
        self.clock = clock
        self.started = clock()
        self._first: tuple[float, int] | None = None  # (time, session count) at the first completion
        self._burst_start = 0.0
        self._last: float | None = None
        self._events: deque[tuple[float, int]] = deque(maxlen=4096)  # (time, tokens)

    @property
    def done(self) -> int:
        return self.resumed + self.session

    @property
    def finished(self) -> bool:
        return self.done >= self.total

    def add(self, count: int = 1, tokens: int | None = None) -> None:
        """``count`` more completed (with ``tokens`` generated in all, when known)."""
        now = self.clock()
        self.session += count
        self.tokens += tokens or 0
        if self._first is None or now - self._burst_start <= self.BURST:
            # the first completion, and any that finish with it (a batch), mark the start of the clock
            if self._first is None:
                self._burst_start = now
            self._first = (now, self.session)
        self._last = now
        self._events.append((now, tokens or 0))

    def set_done(self, done: int) -> None:
        """Absolute form of :meth:`add` (callbacks that report the number done so far)."""
        if done > self.done:
            self.add(done - self.done)

    def _end(self, now: float | None) -> float:
        now = self.clock() if now is None else now
        return self._last if self.finished and self._last is not None else now

    def rate(self, now: float | None = None) -> float | None:
        """Completions per second since the first completion of this session; None before there is data."""
        if self._first is None:
            return None
        t0, n0 = self._first
        span = self._end(now) - t0
        counted = self.session - n0
        if span <= 0 or counted <= 0:
            return None
        return counted / span

    def eta(self, now: float | None = None) -> float | None:
        """Seconds left at the current rate (0 when finished, None while unknown)."""
        if self.finished:
            return 0.0
        rate = self.rate(now)
        return None if not rate else (self.total - self.done) / rate

    def seconds_per_item(self, now: float | None = None) -> float | None:
        rate = self.rate(now)
        return None if not rate else 1.0 / rate

    def tokens_per_second(self, now: float | None = None) -> float | None:
        """Tokens/s over the last ``window`` seconds (at least the last 3 completions), ending at the last
        completion once finished; the first completion's tokens are not counted (their time is unknown)."""
        if self._first is None or len(self._events) < 2:
            return None
        end = self._end(now)
        events = list(self._events)
        recent = events[-min(3, len(events))]
        start = max(self._first[0], min(end - self.window, recent[0]))
        tokens = sum(tok for t, tok in events if t > start)
        span = end - start
        if span <= 0 or tokens <= 0:
            return None
        return tokens / span


def _is_tty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class _Ticker:
    """Calls ``emit`` every ``interval`` seconds from a daemon thread until stopped."""

    def __init__(self, interval: float, emit: Callable[[], None]) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, args=(interval, emit), daemon=True,
                                        name="justrl-progress")

    def _loop(self, interval: float, emit: Callable[[], None]) -> None:
        while not self._stop.wait(interval):
            try:
                emit()
            except Exception:  # a progress line must never print a traceback into the run's log
                pass

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)


def _fmt_rate(value: float | None, unit: str) -> str:
    if value is None:
        return f"- {unit}"
    return f"{value:,.2f} {unit}" if value < 10 else f"{value:,.0f} {unit}"


class _Display:
    """Shared machinery: a rich ``Progress`` on a terminal, else a plain-line ticker."""

    _progress = None
    _ticker: _Ticker | None = None

    def __init__(self, enabled: bool, stream: TextIO | None, interval: float, prefix: str) -> None:
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self.interval = interval
        self.prefix = prefix
        self.plain = enabled and not _is_tty(self.stream)
        self._lock = threading.Lock()

    def _line(self, text: str) -> None:
        try:
            print(f"{self.prefix}: {text}", file=self.stream, flush=True)
        except (OSError, ValueError):
            pass  # a closed or broken stderr must not end the run

    def _tick(self) -> None:  # overridden
        pass

    def __enter__(self):
        if self._progress is not None:
            self._progress.__enter__()
        elif self.plain and self.interval > 0:
            self._ticker = _Ticker(self.interval, self._tick)
            self._ticker.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._ticker is not None:
            self._ticker.stop()
            self._ticker = None
        if self._progress is not None:
            self._progress.__exit__(*exc)


def _meter_columns():
    from rich.progress import ProgressColumn, Task
    from rich.text import Text

    class _Tokens(ProgressColumn):
        def render(self, task: Task) -> Text:
            meter: RateMeter = task.fields["meter"]
            return Text(_fmt_rate(meter.tokens_per_second(), "tok/s"), style="progress.data.speed")

    class _Eta(ProgressColumn):
        def render(self, task: Task) -> Text:
            meter: RateMeter = task.fields["meter"]
            return Text(f"ETA {format_duration(meter.eta())}", style="progress.remaining")

    return _Tokens(), _Eta()


class LiveProgress(_Display):
    """Context manager: ``add(name, total, done)`` per benchmark, then ``advance(name, tokens)`` per
    finished sample (thread-safe). Disabled, it does nothing and imports nothing."""

    def __init__(self, enabled: bool = True, *, stream: TextIO | None = None, interval: float = 30.0,
                 window: float = 60.0, prefix: str = "justrl-eval", clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(enabled, stream, interval, prefix)
        self.window = window
        self.clock = clock
        self.meters: dict[str, RateMeter] = {}
        self.overall: RateMeter | None = None
        self._tasks: dict[str, int] = {}
        if enabled and not self.plain:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            tokens, eta = _meter_columns()
            self._progress = Progress(TextColumn("{task.description:<15}"), BarColumn(), MofNCompleteColumn(),
                                      tokens, eta, console=Console(file=self.stream), refresh_per_second=4)

    def add(self, name: str, total: int, done: int = 0) -> None:
        if not self.enabled:
            return
        meter = self.meters[name] = RateMeter(total, done, window=self.window, clock=self.clock)
        with self._lock:
            totals = sum(m.total for m in self.meters.values())
            dones = sum(m.done for m in self.meters.values())
            self.overall = RateMeter(totals, dones, window=self.window, clock=self.clock)
        if self._progress is not None:
            # resumed samples start as completed; the meter counts only later advances as speed
            self._tasks[name] = self._progress.add_task(name, total=total, completed=done, meter=meter)

    def advance(self, name: str, tokens: int | None) -> None:
        if not self.enabled:
            return
        with self._lock:
            meter = self.meters[name]
            meter.add(1, tokens)
            self.overall.add(1, tokens)
            just_finished = meter.finished and meter.done == meter.total
        if self._progress is not None:
            self._progress.update(self._tasks[name], completed=meter.done)
        elif just_finished and self.plain and meter.session:
            elapsed = (meter._last or meter.clock()) - meter.started
            self._line(f"{name} done: {meter.done}/{meter.total} samples in {format_duration(elapsed)}, "
                       f"{_fmt_rate(meter.tokens_per_second(), 'tok/s')}")

    def status_line(self) -> str:
        """The plain progress line: overall done/total, rate, tok/s, ETA, then each unfinished benchmark."""
        with self._lock:
            o = self.overall
            if o is None:
                return "no samples planned"
            pct = 100.0 * o.done / o.total if o.total else 100.0
            rate = o.rate()
            parts = [f"{o.done}/{o.total} samples ({pct:.1f}%)",
                     "unknown samples/s" if rate is None else f"{rate:,.2f} samples/s",
                     _fmt_rate(o.tokens_per_second(), "tok/s"), f"ETA {format_duration(o.eta())}"]
            rows = " ".join(f"{n} {m.done}/{m.total}" for n, m in self.meters.items() if not m.finished)
        return ", ".join(parts) + (f" | {rows}" if rows else "")

    def _tick(self) -> None:
        self._line(self.status_line())


class StepProgress(_Display):
    """A counted job (description, done/total, rate, elapsed, ETA): a transient rich bar on a terminal,
    plain lines every ``interval`` s otherwise.

    ``start(description, total, done=0)`` returns a callback taking the number done so far (the shape
    :func:`justrl.verify.verify_many`'s ``progress=`` expects; extra text may be passed as ``info=``);
    ``stop()`` ends the row (a plain final line with the elapsed time). The rate excludes start-up (see
    :class:`RateMeter`) and reads ``s/<unit>`` when slower than one per second (training: ``s/step``).
    Disabled, the callback is None and nothing is imported.
    """

    def __init__(self, enabled: bool = True, *, unit: str = "item", stream: TextIO | None = None,
                 interval: float = 30.0, prefix: str = "justrl-eval", clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(enabled, stream, interval, prefix)
        self.unit = unit
        self.clock = clock
        self.meter: RateMeter | None = None
        self.description = ""
        self.info = ""
        self._task = None
        if enabled and not self.plain:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn

            self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                      TaskProgressColumn(), TextColumn("{task.fields[rate]}"),
                                      TextColumn("{task.fields[elapsed]}"), TextColumn("ETA {task.fields[eta]}"),
                                      TextColumn("{task.fields[info]}"), console=Console(file=self.stream),
                                      transient=True, refresh_per_second=4)

    def rate_text(self) -> str:
        """``"12.3 item/s"``, ``"4.56 s/step"`` or ``""`` while unknown."""
        meter = self.meter
        rate = meter.rate() if meter else None
        if not rate:
            return ""
        return f"{1.0 / rate:,.2f} s/{self.unit}" if rate < 1 else f"{rate:,.1f} {self.unit}/s"

    def start(self, description: str, total: int, done: int = 0) -> Callable[..., None] | None:
        if not self.enabled:
            return None
        self.meter = RateMeter(total, done, clock=self.clock)
        self.description, self.info = description, ""
        if self._progress is not None:
            self._task = self._progress.add_task(description, total=total, completed=done, rate="", eta="unknown",
                                                 elapsed="0s", info="")

        def update(done: int, info: str | None = None) -> None:
            meter = self.meter
            with self._lock:
                meter.set_done(done)
                if info is not None:
                    self.info = info
            if self._progress is not None and self._task is not None:
                self._progress.update(self._task, completed=meter.done, rate=self.rate_text(),
                                      eta=format_duration(meter.eta()), info=self.info,
                                      elapsed=format_duration(meter.clock() - meter.started))

        return update

    def status_line(self) -> str:
        meter = self.meter
        if meter is None:
            return ""
        elapsed = meter.clock() - meter.started
        if meter.finished:  # the summary: the whole job's wall time, start-up included
            overall = f", {meter.session / elapsed:,.1f} {self.unit}/s" if meter.session and elapsed > 0 else ""
            return (f"{self.description}: {meter.done}/{meter.total} done in {format_duration(elapsed)}{overall}"
                    + (f" | {self.info}" if self.info else ""))
        pct = 100.0 * meter.done / meter.total if meter.total else 100.0
        parts = [f"{self.description}: {meter.done}/{meter.total} ({pct:.1f}%)", self.rate_text() or
                 f"unknown {self.unit}/s", f"elapsed {format_duration(meter.clock() - meter.started)}",
                 f"ETA {format_duration(meter.eta())}"]
        return ", ".join(parts) + (f" | {self.info}" if self.info else "")

    def _tick(self) -> None:
        if self.meter is not None and not self.meter.finished:
            self._line(self.status_line())

    def stop(self) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.remove_task(self._task)
            self._task = None
        elif self.plain and self.meter is not None and self.meter.session:
            self._line(self.status_line())
        self.meter = None
