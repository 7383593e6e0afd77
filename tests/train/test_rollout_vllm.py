"""The colocated vLLM rollout engine against tests/fakes/vllm, a STAND-IN for the real vLLM library (which
needs a GPU). The fake reproduces what the engine must get right, each cited to vLLM's source in
tests/fakes/vllm/_fake.py: device placement by the executor (uni-process: local rank 0; external_launcher:
LOCAL_RANK), sleep/wake pools (wake_up without tags re-allocates the KV cache too; tags from 0.8.5 on;
level 2 forgets the weights), apply_model only in-process, raw vs processed log-probs."""

from __future__ import annotations

import math
import sys
import weakref
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from justrl.train.config import RecipeConfig, TrainError  # noqa: E402
from justrl.train.rollout import rollout_seeds  # noqa: E402

FAKES = Path(__file__).resolve().parents[1] / "fakes"


@pytest.fixture
def fake_vllm(monkeypatch):
    """Make ``import vllm`` load the stand-in; yields its core module (events, memory ledger)."""
    for name in [n for n in sys.modules if n == "vllm" or n.startswith("vllm.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.syspath_prepend(str(FAKES))
    for var in ("VLLM_ENABLE_V1_MULTIPROCESSING", "RANK", "LOCAL_RANK", "WORLD_SIZE"):
        monkeypatch.setenv(var, "")  # recorded, so whatever the engine sets is undone after the test
        monkeypatch.delenv(var)
    from vllm import _fake

    _fake.EVENTS.clear()
    _fake.GPU_USED.clear()
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: _fake.EVENTS.append(("empty_cache",)))
    yield _fake
    for name in [n for n in sys.modules if n == "vllm" or n.startswith("vllm.")]:
        del sys.modules[name]


@pytest.fixture(scope="module")
def policy(tiny_model):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(str(tiny_model)), AutoTokenizer.from_pretrained(str(tiny_model))


def config_for(model_dir, **overrides) -> RecipeConfig:
    settings = {"max_prompt_tokens": 64, "max_response_tokens": 16, "val_benchmarks": (), **overrides}
    return RecipeConfig(model=str(model_dir), **settings)


def make(fake, tiny_model, policy, **kwargs):
    from justrl.train.rollout.vllm import VLLMEngine

    model, tokenizer = policy
    return VLLMEngine(config_for(tiny_model), model, tokenizer, **kwargs)


def events(fake, *kinds):
    return [e for e in fake.EVENTS if e[0] in kinds]


PROMPTS = [[5, 6, 7], [8, 9]]


@pytest.mark.parametrize(("env", "device", "backend"), [
    ({}, "cuda:0", None),
    ({"WORLD_SIZE": "4", "RANK": "2", "LOCAL_RANK": "2"}, "cuda:2", "external_launcher"),
    ({"WORLD_SIZE": "8", "RANK": "13", "LOCAL_RANK": "5"}, "cuda:5", "external_launcher"),
], ids=["one-process", "torchrun-rank-2", "second-node-rank"])
def test_each_rank_engine_lands_on_its_own_gpu(fake_vllm, tiny_model, policy, monkeypatch, env, device, backend):
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    engine = make(fake_vllm, tiny_model, policy)
    assert engine.llm.device == device
    assert engine.llm.args.distributed_executor_backend == backend


def test_an_inherited_v1_multiprocessing_setting_is_forced_off(fake_vllm, tiny_model, policy, monkeypatch):
    monkeypatch.setenv("VLLM_ENABLE_V1_MULTIPROCESSING", "1")
    engine = make(fake_vllm, tiny_model, policy)
    engine.sync_weights()  # apply_model reaches the model only in-process
    assert events(fake_vllm, "LLM")[0][3] is False and events(fake_vllm, "load")


def test_sync_order_is_empty_cache_wake_weights_push_and_kv_only_before_generating(fake_vllm, tiny_model, policy):
    engine = make(fake_vllm, tiny_model, policy)
    fake_vllm.EVENTS.clear()
    engine.sync_weights()
    kinds = [e[0] for e in fake_vllm.EVENTS]
    assert kinds[:2] == ["empty_cache", "wake_up"] and fake_vllm.EVENTS[1] == ("wake_up", ("weights",))
    assert set(kinds[2:]) == {"load"}
    assert engine.llm.pools == {"weights": True, "kv_cache": False}
    fake_vllm.EVENTS.clear()
    engine.generate(PROMPTS, 2, max_new_tokens=4, temperature=1.0, top_p=1.0)
    assert [e for e in fake_vllm.EVENTS if e[0] in ("wake_up", "sleep")] == [("wake_up", ("kv_cache",)), ("sleep", 1)]
    assert engine.llm.pools == {"weights": False, "kv_cache": False}


def test_pushed_weights_are_the_trainers_and_named_as_vllm_expects(fake_vllm, tiny_model, policy):
    model, tokenizer = policy

    class Wrapped(torch.nn.Module):  # stands for DDP: parameters named "module.<name>"
        def __init__(self, inner):
            super().__init__()
            self.module = inner

    engine = make(fake_vllm, tiny_model, (Wrapped(model), tokenizer))
    engine.sync_weights()
    pushed = engine.llm.model.params
    assert set(pushed) == engine.llm.model.names
    for name, tensor in pushed.items():
        assert torch.equal(tensor, model.state_dict()[name])


def test_sharded_weights_are_gathered_and_pushed_one_at_a_time(fake_vllm, tiny_model, policy):
    """Each full tensor must be gone before the next is gathered (under FSDP2 a full_tensor() per entry)."""
    model, tokenizer = policy
    alive: list[weakref.ref] = []
    peak = [0]

    class Shard:  # a DTensor-like state-dict entry: full_tensor() materialises a new full tensor
        def __init__(self, tensor):
            self.tensor = tensor

        def full_tensor(self):
            full = self.tensor.detach().clone()
            alive.append(weakref.ref(full))
            peak[0] = max(peak[0], sum(r() is not None for r in alive))
            return full

    class Sharded(torch.nn.Module):
        def state_dict(self, *args, **kwargs):
            return {name: Shard(t) for name, t in model.state_dict().items()}

    engine = make(fake_vllm, tiny_model, (Sharded(), tokenizer))
    engine.sync_weights()
    assert len(alive) == len(model.state_dict()) and peak[0] == 1

    alive.clear()
    peak[0] = 0
    engine.sync_weights((name, Shard(t).full_tensor()) for name, t in model.state_dict().items())
    assert peak[0] == 1  # a caller's generator is consumed lazily too


@pytest.mark.parametrize("level", [1, 2])
def test_first_generate_without_a_sync_pushes_the_weights_itself(fake_vllm, tiny_model, policy, level):
    """The engine holds the checkpoint's weights from disk, not the trainer's (level 2: not even those
    after its first sleep; generating on discarded weights is silent garbage with a real engine, the
    stand-in refuses)."""
    engine = make(fake_vllm, tiny_model, policy, sleep_level=level)
    out = engine.generate(PROMPTS, 1, max_new_tokens=3, temperature=1.0, top_p=1.0)
    assert len(out.response_ids) == 2 and events(fake_vllm, "load")


@pytest.mark.parametrize(("level", "pushes_again"), [(1, False), (2, True)], ids=["level-1-default", "level-2"])
def test_repeated_generate_calls_push_weights_only_at_sleep_level_2(fake_vllm, tiny_model, policy, level,
                                                                     pushes_again):
    """Validation calls generate once per chunk and ranks hold different numbers of chunks: a push inside
    generate (a collective under FSDP2) would hang them, so the default level keeps the weights."""
    engine = make(fake_vllm, tiny_model, policy, **({} if level == 1 else {"sleep_level": 2}))
    engine.sync_weights()
    engine.generate(PROMPTS, 1, max_new_tokens=3, temperature=1.0, top_p=1.0)
    fake_vllm.EVENTS.clear()
    engine.generate(PROMPTS, 1, max_new_tokens=3, temperature=1.0, top_p=1.0)  # the next chunk, no update between
    assert bool(events(fake_vllm, "load")) is pushes_again and ("sleep", level) in fake_vllm.EVENTS


def _expected_logprobs(llm, prompt, response, temperature, processed):
    out, prev_seq = [], list(prompt)
    for j, token in enumerate(response):
        logits = llm._logits(prev_seq[-1], j)
        scaled = [x / temperature for x in logits] if processed else logits
        top = max(scaled)
        norm = math.log(sum(math.exp(v - top) for v in scaled)) + top
        out.append(scaled[token] - norm)
        prev_seq.append(token)
    return out


@pytest.mark.parametrize(("version", "temperature", "top_p", "kind"), [
    ("0.33.0", 0.7, 1.0, "processed"),
    ("0.33.0", 1.0, 1.0, "processed"),
    ("0.8.5", 1.0, 1.0, "raw"),
    ("0.8.5", 0.7, 1.0, None),
    ("0.33.0", 1.0, 0.9, None),
], ids=["processed-mode-T0.7", "processed-mode-T1", "raw-mode-T1-equal", "raw-mode-T0.7-withheld", "top-p-withheld"])
def test_engine_logprobs_match_the_trainers_distribution_or_are_withheld(fake_vllm, tiny_model, policy, version,
                                                                         temperature, top_p, kind):
    fake_vllm.set_version(version)
    engine = make(fake_vllm, tiny_model, policy)
    out = engine.generate(PROMPTS, 2, max_new_tokens=5, temperature=temperature, top_p=top_p)
    if kind is None:
        assert out.engine_logprobs is None
        return
    assert engine.llm.logprobs_mode == ("processed_logprobs" if version == "0.33.0" else "raw_logprobs")
    for prompt, response, got in zip(out.prompt_ids, out.response_ids, out.engine_logprobs, strict=True):
        want = _expected_logprobs(engine.llm, prompt, response, temperature, processed=True)
        assert got == pytest.approx(want, abs=1e-9)


def test_per_response_seeds_reproduce_samples_whatever_else_is_in_the_batch(fake_vllm, tiny_model, policy):
    engine = make(fake_vllm, tiny_model, policy)
    seeds = rollout_seeds(1, 7, [40, 41], 2)
    first = engine.generate(PROMPTS, 2, max_new_tokens=6, temperature=1.0, top_p=1.0, seeds=seeds)
    alone = engine.generate(PROMPTS[1:], 2, max_new_tokens=6, temperature=1.0, top_p=1.0, seeds=seeds[2:])
    assert first.response_ids[2:] == alone.response_ids
    assert first.prompt_ids == [PROMPTS[0], PROMPTS[0], PROMPTS[1], PROMPTS[1]]
    with pytest.raises(ValueError, match="3 seeds for 4 responses"):
        engine.generate(PROMPTS, 2, max_new_tokens=2, temperature=1.0, top_p=1.0, seeds=seeds[:3])


@pytest.mark.parametrize(("config_value", "argument", "expected"), [
    (0.35, None, 0.35), (0.5, None, 0.5), (0.5, 0.2, 0.2)], ids=["default", "config-key", "constructor-wins"])
def test_memory_share_is_configurable(fake_vllm, tiny_model, policy, config_value, argument, expected):
    from justrl.train.rollout.vllm import VLLMEngine

    model, tokenizer = policy
    engine = VLLMEngine(config_for(tiny_model, vllm_gpu_memory_utilization=config_value), model, tokenizer,
                        gpu_memory_utilization=argument)
    assert engine.llm.args.gpu_memory_utilization == expected


def test_max_model_len_covers_validation_and_stays_within_the_model(fake_vllm, tiny_model, policy):
    from justrl.train.rollout.vllm import _max_model_len

    assert _max_model_len(config_for(tiny_model)) == 64 + 16
    assert _max_model_len(config_for(tiny_model, val_benchmarks=("AIME24",), val_max_tokens=31744)) == 2048


def test_vllm_older_than_0_8_5_is_refused_with_one_line(fake_vllm, tiny_model, policy):
    fake_vllm.set_version("0.8.4")
    with pytest.raises(TrainError, match=r"vLLM 0.8.4 is too old .* needs vLLM >= 0.8.5"):
        make(fake_vllm, tiny_model, policy)


def test_close_gives_the_gpu_back(fake_vllm, tiny_model, policy):
    engine = make(fake_vllm, tiny_model, policy)
    assert fake_vllm.GPU_USED["cuda:0"] == pytest.approx(0.35)
    engine.close()
    assert fake_vllm.GPU_USED["cuda:0"] == pytest.approx(0.0) and engine.llm is None
    assert ("cleanup_dist_env_and_memory",) not in fake_vllm.EVENTS  # the trainer's process group stays


@pytest.mark.parametrize(("name", "expected"), [
    ("model.layers.0.mlp.up_proj.weight", "model.layers.0.mlp.up_proj.weight"),
    ("module.model.norm.weight", "model.norm.weight"),
    ("_orig_mod.model.norm.weight", "model.norm.weight"),
    ("model.layers.3._checkpoint_wrapped_module.self_attn.q_proj.bias", "model.layers.3.self_attn.q_proj.bias"),
], ids=["plain", "ddp", "compiled", "checkpoint-wrapper"])
def test_wrapper_prefixes_are_stripped_from_weight_names(name, expected):
    from justrl.train.rollout.vllm import vllm_param_name

    assert vllm_param_name(name) == expected


def test_a_process_group_without_launcher_env_still_places_each_engine(fake_vllm, tiny_model, policy, monkeypatch):
    """A trainer that joined its process group without torchrun's variables (e.g. mp.spawn + init_method)."""
    monkeypatch.setattr(torch.distributed, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.distributed, "get_rank", lambda: 3)
    monkeypatch.setattr(torch.distributed, "get_world_size", lambda: 4)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    engine = make(fake_vllm, tiny_model, policy)
    assert engine.llm.device == "cuda:3" and engine.llm.args.distributed_executor_backend == "external_launcher"
