"""Validation the JustRL way: through the rollout engine, on every rank, JustRL's schedule and lengths."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from justrl.train.presets import resolve_config
from justrl.train.rollout import Rollouts
from justrl.train.validation import EngineBackend, due, protocol_of

PROBLEMS = [(1, 1), (2, 1), (0, 2)]


def write_benchmark(root: Path, name: str = "AMC23") -> Path:
    """A JustRL-layout benchmark folder (data/<NAME>/test.parquet) holding three easy sums."""
    pd = pytest.importorskip("pandas")
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    rows = [{"prompt": [{"role": "user", "content": f"What is {a} + {b}?"}], "data_source": name, "ability": "math",
             "reward_model": {"ground_truth": str(a + b), "style": "rule"},
             "extra_info": {"index": f"{name}-{i}", "split": "test"}} for i, (a, b) in enumerate(PROBLEMS)]
    pd.DataFrame(rows).to_parquet(folder / "test.parquet")
    return root


@pytest.mark.parametrize("changes, steps, expected", [
    ({}, [0, 1, 49, 50, 100], [True, False, False, True, True]),
    ({"val_before_train": False}, [0, 50], [False, True]),
    ({"val_every": 0}, [0, 50], [True, False]),
    ({"val_benchmarks": ()}, [0, 50], [False, False]),
], ids=["justrl-schedule", "no-pre-training-validation", "only-before-training", "no-benchmarks"])
def test_validation_schedule(changes, steps, expected):
    config = dataclasses.replace(resolve_config("justrl-deepseek-1.5b"), **changes)
    assert [due(config, s) for s in steps] == expected


def test_protocol_is_justrls_val_kwargs():
    p = protocol_of(resolve_config("justrl-deepseek-1.5b"))
    assert (p.n, p.temperature, p.top_p, p.max_tokens) == (32, 0.7, 0.9, 31744)


class _RecordingEngine:
    """Stands in for a rollout engine: answers '\\boxed{7}' + EOS, records what it was asked."""

    name = "fake"

    def __init__(self):
        self.calls = []

    def generate(self, prompts, n, *, max_new_tokens, temperature, top_p, seeds=None):
        self.calls.append({"prompts": prompts, "n": n, "max_new_tokens": max_new_tokens, "temperature": temperature,
                           "top_p": top_p, "seeds": seeds})
        return Rollouts([p for p in prompts for _ in range(n)], [[7, 99] for _ in prompts for _ in range(n)],
                        [i % 2 == 1 for i in range(len(prompts) * n)])

    def sync_weights(self):
        pass


class _Tokenizer:
    chat_template = None

    def __call__(self, text, add_special_tokens=False):
        return {"input_ids": [len(text)]}

    def decode(self, ids, skip_special_tokens=True):
        return "\\boxed{7}" if ids else ""


def test_engine_backend_samples_each_request_once_with_its_own_seed():
    from justrl.evaluate.backends.base import GenerationRequest, SamplingParams

    engine = _RecordingEngine()
    backend = EngineBackend(engine, _Tokenizer(), "m", use_chat_template=True)
    requests = [GenerationRequest(f"k{i}", [{"role": "user", "content": "q" * (i + 1)}],
                                  SamplingParams(0.7, 0.9, 31744, seed=100 + i)) for i in range(3)]
    results = []
    backend.generate(requests, results.append)
    (call,) = engine.calls
    assert call["n"] == 1 and call["seeds"] == [100, 101, 102]
    assert (call["max_new_tokens"], call["temperature"], call["top_p"]) == (31744, 0.7, 0.9)
    assert [r.key for r in results] == ["k0", "k1", "k2"]
    assert [r.finish_reason for r in results] == ["stop", "length", "stop"]
    assert results[0].text == "\\boxed{7}" and results[0].completion_tokens == 2


def test_single_process_validation_through_the_hf_engine(tmp_path, tiny_model):
    from justrl.train.dist import World
    from justrl.train.loop import load_policy
    from justrl.train.rollout import make_engine
    from justrl.train.validation import validate

    config = dataclasses.replace(resolve_config("toy"), model=str(tiny_model), val_benchmarks=("AMC23",),
                                 val_samples=2, val_max_tokens=4)
    model, tokenizer = load_policy(config, tmp_path, "cpu")
    engine = make_engine(config, model, tokenizer, "cpu")
    metrics = validate(engine, tokenizer, config, tmp_path, 0, World(), data_dir=write_benchmark(tmp_path / "data"))
    assert list(metrics) == ["val/AMC23/avg@2"] and 0.0 <= metrics["val/AMC23/avg@2"] <= 1.0
    rows = [json.loads(line) for f in (tmp_path / "val" / "step_0").glob("amc23_*-MNT4.jsonl")
            for line in f.read_text().splitlines()]
    assert len(rows) == len(PROBLEMS) * 2 and all(r["completion_tokens"] <= 4 for r in rows)


# ----------------------------------------------------------------------------- two gloo ranks
WORKER = textwrap.dedent("""
    import dataclasses, json, sys
    from pathlib import Path
    import torch, torch.distributed as dist
    rank, mode, model_path, data, out = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], Path(sys.argv[5])
    dist.init_process_group("gloo", init_method=f"file://{out}/rendezvous", rank=rank, world_size=2)
    from justrl.train.dist import World, all_sum, wrap_model
    from justrl.train.loop import load_policy
    from justrl.train.presets import resolve_config
    from justrl.train.rollout import make_engine
    from justrl.train.validation import validate
    world = World(rank, 2, "cpu")
    config = dataclasses.replace(resolve_config("toy"), model=model_path, val_benchmarks=("AMC23",),
                                 val_samples=3, val_max_tokens=6)
    model, tokenizer = load_policy(config, out, "cpu")
    policy = wrap_model(model, world, fsdp=mode == "fsdp2")
    engine = make_engine(config, policy, tokenizer, "cpu")
    engine.sync_weights()
    got = [validate(engine, tokenizer, config, out, step, world, data_dir=data) for step in (0, 50)]
    # the ranks are still in step: a collective after validation completes on both
    after = all_sum(1.0, world)
    if rank == 0:
        (out / "result.json").write_text(json.dumps({"metrics": got, "after": after,
                                                     "sharded": engine.replica is not None}))
    dist.barrier()
    dist.destroy_process_group()
""")


def _fsdp2_available() -> str | None:
    torch = pytest.importorskip("torch")
    try:
        from torch.distributed.fsdp import fully_shard  # noqa: F401
    except ImportError:
        return f"torch {torch.__version__} has no FSDP2 fully_shard"
    return None


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["ddp", "fsdp2"])
def test_two_gloo_ranks_validate_without_hanging(tmp_path, tiny_model, mode):
    if mode == "fsdp2" and (reason := _fsdp2_available()):
        pytest.skip(reason)
    data = write_benchmark(tmp_path / "data")
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    procs = [subprocess.Popen([sys.executable, str(script), str(r), mode, str(tiny_model), str(data), str(tmp_path)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for r in range(2)]
    try:
        outputs = [p.communicate(timeout=300)[0] for p in procs]
    except subprocess.TimeoutExpired:
        for p in procs:
            p.kill()
        pytest.fail(f"{mode}: validation on two ranks hung (killed after 300 s)")
    assert [p.returncode for p in procs] == [0, 0], outputs
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["after"] == 2.0 and result["sharded"] == (mode == "fsdp2")
    for metrics in result["metrics"]:
        assert list(metrics) == ["val/AMC23/avg@3"]
    for step in (0, 50):  # every planned sample stored once, drawn by one of the two ranks
        merged = [json.loads(line) for f in (tmp_path / "val" / f"step_{step}").glob("amc23_*.jsonl")
                  for line in f.read_text().splitlines()]
        assert sorted((r["example_id"], r["sample_index"]) for r in merged) == [
            (i, s) for i in range(len(PROBLEMS)) for s in range(3)]
        shards = [sum(1 for f in (tmp_path / "val" / f"step_{step}" / f"shard-{r}-of-2").glob("*.jsonl")
                      for _ in f.read_text().splitlines()) for r in range(2)]
        assert sum(shards) == 9 and all(shards), shards  # both ranks drew a share
