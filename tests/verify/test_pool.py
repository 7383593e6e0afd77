"""Worker processes: hard per-call timeouts, recovery from dead workers, order, reuse, start-up errors.

The pool runs test-local checker functions (defined below, imported by name in the workers).
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from justrl.verify.pool import Outcome, PoolError, WorkerPool

PARENT_ONLY = {"value": "default"}


def echo(tag, delay=0.0):
    """Return ``(tag, pid)`` after ``delay`` seconds."""
    time.sleep(delay)
    return tag, os.getpid()


def die(code):
    os._exit(code)


def boom(message):
    raise ValueError(message)


def hog(megabytes):
    return len(bytearray(megabytes * 1024 * 1024))


def read_parent_state():
    import sys

    return PARENT_ONLY["value"], "torch" in sys.modules


def unpicklable():
    return lambda: None


def checker(name: str) -> str:
    return f"{__name__}:{name}"


@pytest.fixture
def pool_of():
    pools = []

    def make(name: str, **kwargs) -> WorkerPool:
        pools.append(WorkerPool(checker(name), **kwargs))
        return pools[-1]

    yield make
    for pool in pools:
        pool.close()


def run_all(pool: WorkerPool, items: list[tuple], *, workers: int, timeout: float) -> dict:
    with pool.session(workers=workers, timeout=timeout) as session:
        for key, args in enumerate(items):
            session.submit(key, args)
        return dict(session.drain())


def test_results_come_back_for_every_key_across_workers(pool_of):
    pool = pool_of("echo")
    delays = [0.05 if i % 3 == 0 else 0.0 for i in range(40)]
    got = run_all(pool, [(i, d) for i, d in enumerate(delays)], workers=2, timeout=5)
    assert sorted(got) == list(range(40))
    assert all(o.status == "ok" and o.value[0] == key for key, o in got.items())
    assert len({o.value[1] for o in got.values()}) == 2, "both workers took part"


def test_a_call_past_its_timeout_is_killed_and_the_pool_recovers(pool_of):
    pool = pool_of("echo")
    first = pool.call(("warm",), timeout=5)
    start = time.monotonic()
    slow = pool.call(("slow", 30.0), timeout=0.5)
    elapsed = time.monotonic() - start
    assert slow.status == "timeout" and "killed" in slow.detail
    assert elapsed < 3.0, f"timeout took {elapsed:.1f} s"
    after = pool.call(("after",), timeout=5)
    assert after.status == "ok" and after.value[0] == "after"
    assert after.value[1] != first.value[1], "the killed worker was replaced by a new process"
    with pytest.raises(ProcessLookupError):
        os.kill(first.value[1], 0)


def test_timeout_hits_only_the_slow_call_of_a_batch(pool_of):
    pool = pool_of("echo")
    items = [(i, 30.0 if i == 5 else 0.0) for i in range(12)]
    got = run_all(pool, items, workers=1, timeout=0.5)
    assert got[5].status == "timeout"
    assert all(got[i] == Outcome("ok", (i, got[i].value[1])) for i in range(12) if i != 5)


def test_a_worker_that_dies_fails_its_call_and_the_rest_complete(pool_of):
    pool = pool_of("die")
    got = run_all(pool, [(3,), (4,)], workers=1, timeout=5)
    assert [got[0].status, got[1].status] == ["error", "error"]
    assert "died" in got[0].detail and "exit code 3" in got[0].detail


def test_a_worker_killed_from_outside_mid_batch_does_not_lose_the_batch(pool_of):
    pool = pool_of("echo")
    pids = {pool.call((i,), timeout=5).value[1] for i in range(2)}
    with pool.session(workers=1, timeout=10) as session:
        for i in range(20):
            session.submit(i, (i, 0.05))
        got = dict(session.poll(None))  # the first results: the worker is now mid-batch
        victim = next(iter(got.values())).value[1]
        os.kill(victim, signal.SIGKILL)
        got.update(session.drain())
    assert sorted(got) == list(range(20))
    errors = [k for k, o in got.items() if o.status == "error"]
    assert len(errors) <= 1, "only the call in flight at the kill is lost"
    assert all(o.value[0] == k for k, o in got.items() if o.status == "ok")
    assert victim in pids


def test_an_exception_is_reported_and_the_worker_survives(pool_of):
    pool = pool_of("boom")
    got = run_all(pool, [("first",), ("second",)], workers=1, timeout=5)
    assert got[0] == Outcome("error", None, "ValueError: first")
    assert got[1].detail == "ValueError: second"
    assert pool.started == 1


@pytest.mark.parametrize("name,args,detail", [
    ("hog", (8192,), "MemoryError"),
    ("unpicklable", (), "cannot send result"),
], ids=["memory-past-the-worker-limit", "unpicklable-result"])
def test_failures_inside_a_call_become_error_outcomes(pool_of, name, args, detail):
    outcome = pool_of(name).call(args, timeout=10)
    assert outcome.status == "error" and detail in outcome.detail


def test_workers_are_reused_across_calls_and_sessions(pool_of):
    pool = pool_of("echo")
    pids = {pool.call((i,), timeout=5).value[1] for i in range(5)}
    run_all(pool, [(i,) for i in range(10)], workers=1, timeout=5)
    assert len(pids) == 1 and pool.started == 1


def test_workers_are_fresh_interpreters_not_forks_of_the_caller(pool_of):
    PARENT_ONLY["value"] = "changed in the parent"
    try:
        state = pool_of("read_parent_state").call((), timeout=10)
    finally:
        PARENT_ONLY["value"] = "default"
    assert state.value == ("default", False)


@pytest.mark.parametrize("spec", ["no_such_module_xyz:f", f"{__name__}:no_such_function"],
                         ids=["missing-module", "missing-function"])
def test_a_checker_that_cannot_load_raises_pool_error(spec):
    pool = WorkerPool(spec)
    try:
        with pytest.raises(PoolError, match="verification worker"):
            pool.call(("x",), timeout=5)
    finally:
        pool.close()


@pytest.mark.parametrize("kwargs,message", [
    ({"workers": 0, "timeout": 1}, "workers"),
    ({"workers": 1, "timeout": 0}, "timeout"),
], ids=["zero-workers", "zero-timeout"])
def test_session_arguments_are_validated(kwargs, message):
    with pytest.raises(ValueError, match=message):
        WorkerPool(checker("echo")).session(**kwargs)


def test_close_stops_idle_workers(pool_of):
    pool = pool_of("echo")
    pid = pool.call(("x",), timeout=5).value[1]
    pool.close()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


# -- workers die with their parent ------------------------------------------------------------------

PARENT_SCRIPT = """
import sys, time
from justrl.verify.pool import WorkerPool
pool = WorkerPool("tests.verify.test_pool:echo")
session = pool.session(workers=2, timeout=900)
for key in ("a", "b"):
    session.submit(key, (key, 600.0))  # both workers busy (not reading their pipes) when the parent dies
deadline = time.monotonic() + 120
while sum(len(w.inflight) for w in session.workers) < 2 and time.monotonic() < deadline:
    session.poll(0.05)
print(" ".join(str(w.proc.pid) for w in session.workers), flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie awaiting its reaper counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["sigkill", "sigterm"])
def test_workers_die_when_their_parent_is_killed(sig):
    import subprocess
    import sys
    from pathlib import Path

    parent = subprocess.Popen([sys.executable, "-c", PARENT_SCRIPT], stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parents[2])
    try:
        line = parent.stdout.readline()
        workers = [int(p) for p in line.split()]
        assert workers and all(_alive(p) for p in workers), line
        parent.send_signal(sig)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 5
        while any(_alive(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_alive(p) for p in workers), "verifier workers outlived their parent"
    finally:
        parent.kill()
        parent.wait()


def test_a_worker_started_from_a_short_lived_thread_outlives_the_thread(pool_of):
    import threading

    pool = pool_of("echo")
    first: list = []
    thread = threading.Thread(target=lambda: first.append(pool.call(("t",), timeout=30)))
    thread.start()
    thread.join()
    time.sleep(0.3)  # PR_SET_PDEATHSIG would have fired by now if it were tied to that thread
    pid = first[0].value[1]
    assert _alive(pid)
    again = pool.call(("u",), timeout=30)
    assert again == Outcome("ok", ("u", pid)), "the same worker served the next call"
