"""Two CPU ranks over gloo (DDP and FSDP2): killed with SIGKILL mid-run and resumed, the metrics equal an
uninterrupted run's, step for step (per-rank RNG files, sharded state, data cursor, sampling seeds)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytest.importorskip("torch")

WORKER = textwrap.dedent("""
    import dataclasses, sys
    import torch.distributed as dist
    rank, mode, run, rendezvous, resume = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5] == "1"
    dist.init_process_group("gloo", init_method=f"file://{rendezvous}", rank=rank, world_size=2)
    from justrl.train.dist import World
    from justrl.train.loop import train
    from justrl.train.presets import resolve_config
    config = dataclasses.replace(resolve_config("toy"), prompts_per_step=4, rollouts_per_prompt=4,
                                 mini_batch_prompts=2, max_tokens_per_micro_batch=96, warm_start_steps=5,
                                 total_steps=4, save_every=1, lr=1e-3)
    train(config, run, resume=resume, world=World(rank, 2, "cpu"), progress=False, fsdp=mode == "fsdp2")
    dist.barrier()
    dist.destroy_process_group()
""")

TIMING = ("timing_s/", "perf/")


def launch(tmp_path: Path, mode: str, run: Path, *, resume: bool) -> list[subprocess.Popen]:
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    rendezvous = tmp_path / f"rendezvous-{time.monotonic_ns()}"
    return [subprocess.Popen([sys.executable, str(script), str(r), mode, str(run), str(rendezvous),
                              "1" if resume else "0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             start_new_session=True) for r in range(2)]


def finish(procs: list[subprocess.Popen], timeout: float = 400) -> None:
    try:
        outputs = [p.communicate(timeout=timeout)[0] for p in procs]
    except subprocess.TimeoutExpired:
        for p in procs:
            os.killpg(p.pid, signal.SIGKILL)
        pytest.fail("two-rank training hung")
    assert [p.returncode for p in procs] == [0, 0], outputs[0][-3000:] + outputs[1][-3000:]


def kill_after_step(procs: list[subprocess.Popen], run: Path, step: int, timeout: float = 400) -> None:
    """SIGKILL both ranks (and anything they started) once ``step`` has been logged."""
    deadline = time.monotonic() + timeout
    metrics = run / "metrics.jsonl"
    while time.monotonic() < deadline:
        if metrics.exists() and any(json.loads(line).get("step", 0) >= step
                                    for line in metrics.read_text().splitlines() if line.endswith("}")):
            break
        if any(p.poll() is not None for p in procs):
            break
        time.sleep(0.05)
    for p in procs:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.communicate()


def rows_of(run: Path) -> list[dict]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if not k.startswith(TIMING)} for r in rows]


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["ddp", "fsdp2"])
def test_two_ranks_killed_and_resumed_log_what_an_uninterrupted_run_logs(tmp_path, mode):
    straight, broken = tmp_path / "straight", tmp_path / "broken"
    finish(launch(tmp_path, mode, straight, resume=False))
    kill_after_step(launch(tmp_path, mode, broken, resume=False), broken, 2)
    finish(launch(tmp_path, mode, broken, resume=True))
    want, got = rows_of(straight), rows_of(broken)
    assert [r["step"] for r in got] == [1, 2, 3, 4]
    assert got == want
    meta = json.loads((broken / "checkpoints" / "step_4" / "meta.json").read_text())
    assert meta["world_size"] == 2 and meta["sharded"] == (mode == "fsdp2")
    names = sorted(p.name for p in (broken / "checkpoints" / "step_4").iterdir())
    tensors = ["tensors_rank0.pt", "tensors_rank1.pt"] if mode == "fsdp2" else ["tensors_rank0.pt"]
    assert names == sorted(["meta.json", "rng_rank0.json", "rng_rank1.json", *tensors])
