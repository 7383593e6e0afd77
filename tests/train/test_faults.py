"""Training under faults: killed with SIGKILL at random points and resumed, restarted before any checkpoint,
started again into a used folder. Nothing is logged twice, nothing is lost, the result is the same."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("torch")

from justrl.train.config import TrainError  # noqa: E402
from justrl.train.loop import train  # noqa: E402
from justrl.train.presets import resolve_config  # noqa: E402

TIMING = ("timing_s/", "perf/")
SETTINGS = ["--set", "total_steps=6", "--set", "save_every=1", "--set", "warm_start_steps=20",
            "--set", "prompts_per_step=8", "--set", "mini_batch_prompts=4"]


def _rows(run: Path) -> list[dict]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if not k.startswith(TIMING)} for r in rows]


def _logged(run: Path) -> int:
    """Complete lines in the run's metrics.jsonl (0 before it exists)."""
    try:
        return (run / "metrics.jsonl").read_text().count("\n")
    except OSError:
        return 0


def _cli(run: Path, *, resume: bool) -> subprocess.Popen:
    args = ["--resume", str(run)] if resume else ["--preset", "toy", "--output-dir", str(run), *SETTINGS]
    return subprocess.Popen([sys.executable, "-m", "justrl.train.cli", *args, "--quiet", "--no-plot"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


@pytest.mark.slow
def test_kill_9_at_random_points_then_resume_gives_the_uninterrupted_metrics(tmp_path):
    straight = tmp_path / "straight"
    proc = _cli(straight, resume=False)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-2000:]
    run = tmp_path / "faulty"
    rng = random.Random(8)
    kills = 0
    # Kill points are drawn against the run's own progress (not wall time, which depends on the machine's
    # load): after 0 or 1 further logged steps, then a random moment of the next step or of the start-up.
    for _ in range(4):
        before = _logged(run)
        target = before + rng.randint(0, 1)
        if target >= 5:
            break
        proc = _cli(run, resume=(run / "config.json").exists())
        deadline = time.monotonic() + 300
        while proc.poll() is None and _logged(run) < target and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.3))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            kills += 1
        proc.communicate()
    proc = _cli(run, resume=(run / "config.json").exists())
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-2000:]
    assert kills >= 2  # the run really was interrupted several times
    assert _rows(run) == _rows(straight)
    leftovers = [p for p in run.rglob("*") if p.name.endswith(".tmp")]
    assert not leftovers


def _tiny(**changes):
    base = dict(prompts_per_step=4, rollouts_per_prompt=4, mini_batch_prompts=2, warm_start_steps=5,
                total_steps=3, save_every=0, lr=1e-3)
    return dataclasses.replace(resolve_config("toy"), **{**base, **changes})


@pytest.mark.slow
def test_a_run_stopped_before_its_first_checkpoint_restarts_without_duplicate_rows(tmp_path):
    config = _tiny()
    straight = train(config, tmp_path / "a", progress=False)
    run = tmp_path / "b"
    train(config, run, progress=False, max_steps=2)  # steps 1-2 logged, no checkpoint (save_every=0)
    assert [r["step"] for r in _rows(run)] == [1, 2] and not (run / "checkpoints").exists()
    with pytest.raises(TrainError, match="already holds a run"):
        train(config, run, progress=False)
    assert [r["step"] for r in _rows(run)] == [1, 2]  # the refusal touched nothing
    train(config, run, progress=False, resume=True)  # no checkpoint: starts over, the old rows go
    strip = [{k: v for k, v in r.items() if not k.startswith(TIMING)} for r in straight]
    assert _rows(run) == strip


def test_the_cli_refuses_a_fresh_run_into_a_used_folder_with_one_line(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.jsonl").write_text('{"step": 1}\n')
    proc = subprocess.run([sys.executable, "-m", "justrl.train.cli", "--preset", "toy", "--output-dir", str(run),
                           "--quiet", "--no-plot"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "already holds a run" in lines[0] and "--resume" in lines[0]
    assert (run / "metrics.jsonl").read_text() == '{"step": 1}\n'
