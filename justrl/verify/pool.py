"""Persistent worker processes that run a checker function under a hard, killable per-call timeout.

Each worker is a fresh ``python`` interpreter started with :mod:`subprocess` (never a fork of the
caller, which may hold torch, CUDA contexts or rich threads) that imports the checker, runs one
warm-up call (so imports such as sympy happen before any clock starts) and then serves calls over a
pair of private pipes. Per call, the worker's deadline is ``timeout`` seconds after it started that
call; a worker past its deadline is killed (SIGKILL) and replaced, and its call's outcome is
``"timeout"``. A worker that dies gives its call the outcome ``"error"``; calls queued behind it are
re-sent to a replacement, so a batch always completes.

    pool = WorkerPool("justrl.verify.lenient:lenient_verify", warmup=("\\boxed{1}", "1"))
    with pool.session(workers=2, timeout=5.0) as session:
        session.submit("a", (response, gold))
        for key, outcome in session.drain(): ...

Workers are kept between sessions (start-up costs about a second because of sympy) and closed by
:meth:`WorkerPool.close`. A process that forks after creating a pool does not reuse its parent's
workers. Not for Windows (pipes are passed by file descriptor).

Workers die with their parent, however it ends (SIGTERM, SIGKILL, a crash): on Linux each worker
asks the kernel for SIGKILL when its parent goes (``prctl(PR_SET_PDEATHSIG)``, through ctypes), and
every worker also runs a watchdog thread that exits when its parent process id changes (other
systems, and the moment before the prctl call). The kernel ties PR_SET_PDEATHSIG to the *thread*
that created the child (prctl(2)), so workers are always started from one long-lived launcher
thread: a short-lived thread that happens to need a worker cannot take it down when it ends.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait

START_TIMEOUT = 120.0  # seconds a new worker may take to import its checker and run the warm-up
WORKER_MEMORY_MB = 4096  # address-space limit per worker (MiB); a call past it fails with MemoryError
MAX_BATCH = 16  # calls sent to one worker at once (each still has its own deadline)
WATCHDOG_INTERVAL = 0.5  # seconds between a worker's checks that its parent is still alive
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>

_BOOT = (
    "import sys, json; sys.path[:] = json.loads(sys.argv[1]); "
    "from justrl.verify.pool import _worker_main; _worker_main(sys.argv[2:])"
)


class PoolError(RuntimeError):
    """Workers cannot be started (the checker cannot be imported, or the interpreter fails)."""


@dataclass(frozen=True)
class Outcome:
    """The result of one call: ``status`` is "ok" (``value`` holds the return value), "timeout" or
    "error" (``detail`` says what happened)."""

    status: str
    value: object = None
    detail: str = ""


def default_workers() -> int:
    """The number of CPU cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class _Launcher:
    """One daemon thread per process that starts every worker (see the module docstring)."""

    _lock = threading.Lock()
    _instance: _Launcher | None = None

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.requests: queue.SimpleQueue = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._serve, name="justrl-verify-launcher", daemon=True)
        self.thread.start()

    @classmethod
    def get(cls) -> _Launcher:
        with cls._lock:
            if cls._instance is None or cls._instance.pid != os.getpid() or not cls._instance.thread.is_alive():
                cls._instance = cls()  # first use, or a forked child (threads do not survive fork)
            return cls._instance

    def _serve(self) -> None:
        while True:
            func, box, done = self.requests.get()
            try:
                box.append((True, func()))
            except BaseException as exc:  # noqa: BLE001 - handed back to the caller's thread
                box.append((False, exc))
            done.set()

    def run(self, func):
        """``func()`` on the launcher thread; its result, or its exception raised here."""
        if threading.current_thread() is self.thread:
            return func()
        box: list = []
        done = threading.Event()
        self.requests.put((func, box, done))
        done.wait()
        ok, value = box[0]
        if not ok:
            raise value
        return value


class _Worker:
    """One worker process and its two pipe ends; not thread-safe (owned by one session at a time)."""

    def __init__(self, checker: str, warmup: tuple | None, memory_mb: int) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        self.stderr = tempfile.TemporaryFile()
        args = [sys.executable, "-c", _BOOT, json.dumps(sys.path), str(to_child_r), str(from_child_w), checker,
                json.dumps(list(warmup) if warmup is not None else None), str(memory_mb), str(os.getpid())]
        try:
            self.proc = _Launcher.get().run(lambda: subprocess.Popen(
                args, pass_fds=(to_child_r, from_child_w), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=self.stderr, close_fds=True))
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        self.outbox = Connection(to_child_w, readable=False)
        self.inbox = Connection(from_child_r, writable=False)
        self.ready = False
        self.owner_pid = os.getpid()
        self.since = time.monotonic()  # start of the current wait: launch, batch sent, or last result
        self.inflight: deque[tuple[Hashable, tuple]] = deque()

    def deadline(self, timeout: float) -> float:
        return self.since + (timeout if self.ready else START_TIMEOUT)

    def send(self, batch: list[tuple[Hashable, tuple]]) -> None:
        self.outbox.send([(i, (key, args)) for i, (key, args) in enumerate(batch)])
        self.inflight.extend(batch)
        self.since = time.monotonic()

    def stderr_tail(self, limit: int = 400) -> str:
        try:
            self.stderr.seek(0)
            text = self.stderr.read().decode("utf-8", "replace").strip()
        except (OSError, ValueError):
            return ""
        return text[-limit:].replace("\n", " | ")

    def kill(self) -> None:
        """SIGKILL the process and release its pipes (safe to call twice)."""
        if self.owner_pid == os.getpid():
            try:
                self.proc.kill()
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self._close()

    def stop(self, grace: float = 0.5) -> None:
        """Ask the process to exit (closing its input), killing it after ``grace`` seconds."""
        if self.owner_pid != os.getpid():
            self._close()
            return
        try:
            self.outbox.close()
            self.proc.wait(timeout=grace)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()

    def _close(self) -> None:
        for conn in (self.outbox, self.inbox):
            try:
                conn.close()
            except OSError:
                pass
        self.stderr.close()


class WorkerPool:
    """A set of idle worker processes for one checker (``"module:function"``), shared by sessions.

    Thread-safe: concurrent sessions use disjoint workers. ``warmup`` is an argument tuple for one
    call made at start-up, before the worker reports ready. ``memory_mb`` limits each worker's address
    space (0: no limit).
    """

    def __init__(self, checker: str, *, warmup: tuple | None = None, memory_mb: int = WORKER_MEMORY_MB) -> None:
        self.checker = checker
        self.warmup = warmup
        self.memory_mb = memory_mb
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self.started = 0  # worker processes launched so far (for tests and diagnostics)

    def session(self, *, workers: int | None = None, timeout: float) -> Session:
        """A batch context using up to ``workers`` processes (default: the number of cores)."""
        workers = default_workers() if workers is None else workers
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        if not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout}")
        return Session(self, workers, float(timeout))

    def call(self, args: tuple, *, timeout: float) -> Outcome:
        """Run the checker once on ``args`` in a worker, under ``timeout`` seconds."""
        with self.session(workers=1, timeout=timeout) as session:
            session.submit(0, args)
            for _, outcome in session.drain():
                return outcome
        raise AssertionError("a submitted call always produces an outcome")

    def close(self) -> None:
        """Stop every idle worker (those in use by a session are stopped when it ends)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.stop()

    def _take(self, count: int) -> list[_Worker]:
        with self._lock:
            if os.getpid() != self._pid:  # forked: the workers belong to the parent process
                for worker in self._idle:
                    worker.stop()
                self._idle, self._pid = [], os.getpid()
            # Prefer workers that are already ready.
            self._idle.sort(key=lambda w: w.ready)
            taken = [self._idle.pop() for _ in range(min(count, len(self._idle)))]
        return taken

    def _launch(self) -> _Worker:
        self.started += 1
        return _Worker(self.checker, self.warmup, self.memory_mb)

    def _give_back(self, workers: list[_Worker]) -> None:
        with self._lock:
            if os.getpid() == self._pid:
                self._idle.extend(workers)
                return
        for worker in workers:
            worker.stop()


class Session:
    """Submit keyed calls, collect ``(key, Outcome)`` pairs as they finish (in completion order).

    Workers are taken from the pool (or launched) only when there is work for them, up to the
    session's ``workers``. Leaving the context kills workers still busy with this session's calls and
    returns the others to the pool.
    """

    def __init__(self, pool: WorkerPool, workers: int, timeout: float) -> None:
        self.pool = pool
        self.limit = workers
        self.timeout = timeout
        self.queue: deque[tuple[Hashable, tuple]] = deque()
        self.workers: list[_Worker] = []
        self._failed_starts = 0
        self._ready_once = False

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def outstanding(self) -> int:
        """Calls submitted and not yet collected."""
        return len(self.queue) + sum(len(w.inflight) for w in self.workers)

    def submit(self, key: Hashable, args: tuple) -> None:
        self.queue.append((key, args))

    def drain(self) -> Iterator[tuple[Hashable, Outcome]]:
        """Collect every outstanding call, blocking until all are done."""
        while self.outstanding:
            yield from self.poll(None)

    def poll(self, wait_s: float | None = 0.0) -> list[tuple[Hashable, Outcome]]:
        """Dispatch queued calls and collect finished ones, waiting at most ``wait_s`` seconds
        (None: until at least one call finishes). Enforces deadlines."""
        done: list[tuple[Hashable, Outcome]] = []
        until = None if wait_s is None else time.monotonic() + wait_s
        while True:
            self._staff()
            self._dispatch()
            if not self.outstanding:
                return done
            busy = [w for w in self.workers if w.inflight or not w.ready]
            if not busy:
                return done
            now = time.monotonic()
            nearest = min(w.deadline(self.timeout) for w in busy)
            limit = nearest if until is None else min(nearest, until)
            ready = wait([w.inbox for w in busy], timeout=max(0.0, limit - now))
            by_conn = {id(w.inbox): w for w in busy}
            for conn in ready:
                self._receive(by_conn[id(conn)], done)
            now = time.monotonic()
            for worker in list(self.workers):
                if (worker.inflight or not worker.ready) and now >= worker.deadline(self.timeout) \
                        and worker in self.workers:
                    self._expire(worker, done)
            if done and until is None:
                return done
            if until is not None and time.monotonic() >= until:
                return done
            if not self.outstanding:
                return done

    def close(self) -> None:
        keep = []
        for worker in self.workers:
            if worker.inflight:
                worker.kill()
            else:
                keep.append(worker)
        self.workers = []
        self.queue.clear()
        self.pool._give_back(keep)

    # -- internals ---------------------------------------------------------------------------------

    def _staff(self) -> None:
        """Take or launch workers while there is queued work and room under the limit."""
        idle_ready = sum(1 for w in self.workers if w.ready and not w.inflight)
        starting = sum(1 for w in self.workers if not w.ready)
        want = min(self.limit - len(self.workers), len(self.queue) - idle_ready - starting)
        if want <= 0:
            return
        taken = self.pool._take(want)
        self.workers.extend(taken)
        for _ in range(want - len(taken)):
            self.workers.append(self.pool._launch())

    def _dispatch(self) -> None:
        idle = [w for w in self.workers if w.ready and not w.inflight]
        if not idle or not self.queue:
            return
        size = max(1, min(MAX_BATCH, len(self.queue) // (2 * len(self.workers))))
        for worker in idle:
            if not self.queue:
                break
            batch = [self.queue.popleft() for _ in range(min(size, len(self.queue)))]
            try:
                worker.send(batch)
            except OSError:  # the worker died while idle: put the batch back, replace the worker
                self.queue.extendleft(reversed(batch))
                worker.inflight.clear()
                self._replace(worker)

    def _receive(self, worker: _Worker, done: list) -> None:
        try:
            while worker.inbox.poll():
                message = worker.inbox.recv()
                if message[0] == "ready":
                    worker.ready = True
                    worker.since = time.monotonic()
                    self._failed_starts = 0
                    self._ready_once = True
                    continue
                _, _key, status, value = message
                key, _args = worker.inflight.popleft()
                worker.since = time.monotonic()
                done.append((key, Outcome(status, value if status == "ok" else None,
                                          "" if status == "ok" else str(value))))
        except (EOFError, OSError):
            self._died(worker, done)

    def _died(self, worker: _Worker, done: list) -> None:
        try:
            code = worker.proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            code = None
        if not worker.ready:
            self._start_failed(worker, f"exited with code {code} while starting")
            return
        if worker.inflight:
            key, _ = worker.inflight.popleft()
            done.append((key, Outcome("error", detail=f"worker process died (exit code {code})")))
        self._requeue(worker)
        self._replace(worker)

    def _expire(self, worker: _Worker, done: list) -> None:
        if not worker.ready:
            self._start_failed(worker, f"did not start within {START_TIMEOUT:g} s")
            return
        key, _ = worker.inflight.popleft()
        done.append((key, Outcome("timeout", detail=f"no result within {self.timeout:g} s; worker killed")))
        self._requeue(worker)
        self._replace(worker)

    def _requeue(self, worker: _Worker) -> None:
        self.queue.extendleft(reversed(worker.inflight))
        worker.inflight.clear()

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        self.workers.remove(worker)
        if self.queue:
            self.workers.append(self.pool._launch())

    def _start_failed(self, worker: _Worker, what: str) -> None:
        tail = worker.stderr_tail()
        worker.kill()
        self.workers.remove(worker)
        self._failed_starts += 1
        if self._failed_starts >= 2 and not self._ready_once:
            self.close()
            raise PoolError(f"verification worker for {self.pool.checker} {what}"
                            + (f": {tail}" if tail else "") + f" (interpreter {sys.executable})")


def _resolve(spec: str):
    import importlib

    module_name, _, name = spec.partition(":")
    target = importlib.import_module(module_name)
    for part in name.split("."):
        target = getattr(target, part)
    return target


def _limit_memory(megabytes: int) -> None:
    if megabytes <= 0:
        return
    try:
        import resource

        limit = megabytes * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass


def _die_with_parent(parent: int) -> None:
    """Exit when the parent process goes: PR_SET_PDEATHSIG (Linux) and a watchdog thread (everywhere)."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before the prctl call took effect
        os._exit(0)

    def watch() -> None:
        while True:
            time.sleep(WATCHDOG_INTERVAL)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def _worker_main(argv: list[str]) -> None:
    """Worker process: serve ``[(i, (key, args)), ...]`` batches, answering ``("result", key, status, value)``."""
    read_fd, write_fd, checker, warmup, memory_mb, parent = argv
    _die_with_parent(int(parent))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _limit_memory(int(memory_mb))
    inbox = Connection(int(read_fd), writable=False)
    outbox = Connection(int(write_fd), readable=False)
    func = _resolve(checker)
    warm = json.loads(warmup)
    if warm is not None:
        func(*warm)
    outbox.send(("ready", os.getpid()))
    while True:
        try:
            batch = inbox.recv()
        except (EOFError, OSError):
            return
        for _, (key, args) in batch:
            try:
                reply = ("result", key, "ok", func(*args))
            except BaseException as exc:  # noqa: BLE001 - every failure is reported, never fatal
                reply = ("result", key, "error", f"{type(exc).__name__}: {exc}"[:500])
            try:
                outbox.send(reply)
            except (EOFError, OSError):
                return
            except Exception as exc:  # an unpicklable return value
                outbox.send(("result", key, "error", f"cannot send result: {type(exc).__name__}: {exc}"[:500]))
