"""The native loop: rewards, data order, exact resume, data-parallel equivalence, the toy demo."""

from __future__ import annotations

import dataclasses
import json

import pytest

torch = pytest.importorskip("torch")

from justrl.train.dist import World  # noqa: E402
from justrl.train.loop import (  # noqa: E402
    collate,
    lr_factor,
    overlong_penalty,
    rank_prompts,
    score_responses,
    take_prompts,
    train,
    update,
)
from justrl.train.presets import resolve_config  # noqa: E402


@pytest.mark.parametrize("length, expected", [
    (100, 0.0), (11_264, 0.0), (11_265, -1 / 4096), (13_312, -0.5), (15_360, -1.0),
], ids=["short", "at-threshold", "one-over", "half-buffer", "at-max"])
def test_dapo_overlong_penalty(length, expected):
    assert overlong_penalty(length, 15_360, 4096, 1.0) == pytest.approx(expected)


@pytest.mark.parametrize("mode, overlong, expected", [
    ("strict", False, [1.0, -1.0, -1.0]),
    ("strict", True, [1.0, -1.0, -1.5]),
], ids=["strict", "strict-with-overlong"])
def test_score_responses(mode, overlong, expected):
    config = dataclasses.replace(resolve_config("toy"), reward_mode=mode, overlong_penalty=overlong,
                                 max_response_tokens=8, overlong_buffer=4)
    texts = ["so \\boxed{3}", "\\boxed{4}", "\\boxed{3"]
    assert score_responses(texts, ["3", "3", "3"], [3, 4, 6], config) == expected


def _verl_constant_with_warmup(optimizer, num_warmup_steps):
    """veRL's ``get_constant_schedule_with_warmup`` (volcengine/verl @ b178a3c, verl/utils/torch_functional.py),
    its lr_lambda restated from the source."""

    def lr_lambda(current_step):
        if current_step < num_warmup_steps:
            return float(current_step) / float(max(1.0, num_warmup_steps))
        return 1.0

    return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda, -1)


def test_warmup_is_linear_from_zero_then_constant():
    assert [lr_factor(s, 10) for s in (0, 1, 5, 10, 50)] == [0.0, 0.1, 0.5, 1.0, 1.0]
    assert [lr_factor(s, 0) for s in (0, 1, 2)] == [1.0, 1.0, 1.0]  # veRL: no warm-up, full lr from step 1


@pytest.mark.parametrize("warmup", [0, 1, 3, 10])
def test_lr_schedule_matches_verl_rollout_step_by_rollout_step(warmup):
    """The lr each rollout step trains with (veRL steps its scheduler once per rollout step, after the update)."""
    from justrl.train.loop import make_optimizer

    config = dataclasses.replace(resolve_config("toy"), lr=1e-6, warmup_steps=warmup)
    ours, scheduler = make_optimizer(torch.nn.Linear(2, 2), config)
    theirs = torch.optim.AdamW(torch.nn.Linear(2, 2).parameters(), lr=1e-6)
    reference = _verl_constant_with_warmup(theirs, warmup)
    got, want = [], []
    for _ in range(warmup + 5):
        got.append(ours.param_groups[0]["lr"])
        want.append(theirs.param_groups[0]["lr"])
        ours.step()  # no gradients: a no-op that keeps the optimizer-then-scheduler order
        theirs.step()
        scheduler.step()
        reference.step()
    assert got == pytest.approx(want, rel=1e-12, abs=0.0)
    assert got[0] == (0.0 if warmup else 1e-6) and got[-1] == 1e-6
    if warmup == 10:  # DESIGN §5: lr 1e-6 after 10 linear warm-up rollout steps from 0
        assert got[:11] == pytest.approx([i * 1e-7 for i in range(11)], rel=1e-12, abs=0.0)


def test_data_order_is_a_seeded_shuffle_per_epoch():
    first = take_prompts(5, 0, 5, seed=1)
    assert sorted(first) == list(range(5))
    assert take_prompts(5, 0, 7, seed=1)[:5] == first
    assert take_prompts(5, 3, 4, seed=1) == take_prompts(5, 0, 7, seed=1)[3:]
    assert sorted(take_prompts(5, 5, 5, seed=1)) == list(range(5))


def test_ranks_get_their_slice_of_every_mini_batch():
    items = list(range(8))
    assert rank_prompts(items, 4, World(0, 2)) == [0, 1, 4, 5]
    assert rank_prompts(items, 4, World(1, 2)) == [2, 3, 6, 7]
    assert rank_prompts(items, 4, World()) == items


TIMING = ("timing_s/", "perf/")


def _small_toy(**changes):
    base = dict(prompts_per_step=4, rollouts_per_prompt=4, mini_batch_prompts=2, micro_batch_responses=3,
                max_tokens_per_micro_batch=0,
                warm_start_steps=5, total_steps=5, save_every=1, lr=1e-3)
    return dataclasses.replace(resolve_config("toy"), **{**base, **changes})


def _strip(rows):
    return [{k: v for k, v in r.items() if not k.startswith(TIMING)} for r in rows]


@pytest.mark.slow
def test_resume_continues_exactly(tmp_path):
    config = _small_toy()
    straight = train(config, tmp_path / "a", progress=False)
    first = train(config, tmp_path / "b", progress=False, max_steps=3)
    rest = train(config, tmp_path / "b", progress=False, resume=True)
    assert [r["step"] for r in rest] == [4, 5]
    assert _strip(first + rest) == _strip(straight)
    logged = [json.loads(line) for line in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert _strip(logged) == _strip(straight)
    saved = json.loads((tmp_path / "b" / "config.json").read_text())
    assert saved["config"]["total_steps"] == 5 and len(saved["resumed"]) == 1
    assert sorted(p.name for p in (tmp_path / "b" / "checkpoints").glob("step_*")) == ["step_4", "step_5"]
    assert saved["first_prompt"].startswith("<|im_start|>") and "Answer in \\boxed{}." in saved["first_prompt"]


def test_metrics_rows_have_the_verl_names(tmp_path):
    rows = train(_small_toy(total_steps=1, warm_start_steps=0), tmp_path / "r", progress=False)
    for key in ("critic/score/mean", "actor/entropy", "response_length/mean", "response_length/clip_ratio",
                "actor/pg_loss", "actor/pg_clipfrac", "actor/pg_clipfrac_lower", "actor/ppo_kl", "actor/grad_norm",
                "actor/lr", "timing_s/step", "timing_s/gen", "timing_s/update", "perf/tokens_per_s_per_gpu"):
        assert key in rows[0], key
    assert rows[0]["step"] == 1 and -1.0 <= rows[0]["critic/score/mean"] <= 1.0


def test_a_non_finite_gradient_skips_the_optimizer_step(tiny_model):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32)
    config = _small_toy(prompts_per_step=2, rollouts_per_prompt=2, mini_batch_prompts=2, micro_batch_responses=4)
    batch = collate([[5, 6, 7]] * 4, [[8, 9], [10], [11, 12, 13], [14]], [1.0, -1.0, 0.5, -0.5], 0, "cpu")
    batch.old_logp = torch.zeros(4, 3)
    batch.advantages[0] = float("nan")
    before = [p.detach().clone() for p in model.parameters()]
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    metrics = update(model, optimizer, batch, config, World())
    assert metrics["actor/skipped_steps"] == 1.0
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


# ----------------------------------------------------------------------------- data parallel (gloo, 2 CPU ranks)
def _fixed_batch(world: World):
    gen = torch.Generator().manual_seed(0)
    prompts, responses = [], []
    for i in range(16):
        prompts.append(torch.randint(10, 300, (3 + i % 3,), generator=gen).tolist())
        responses.append(torch.randint(10, 300, (1 + (i * 5) % 7,), generator=gen).tolist())
    adv = torch.randn(16, generator=gen).tolist()
    # 4 prompts x 4 rollouts; this rank's share of every mini-batch of 2 prompts (8 responses)
    groups = [list(range(g * 4, g * 4 + 4)) for g in range(4)]
    mine = [i for g in rank_prompts(groups, 2, world) for i in g]
    return ([prompts[i] for i in mine], [responses[i] for i in mine], [adv[i] for i in mine])


def _run_update(model_path, world: World):
    from transformers import AutoModelForCausalLM

    from justrl.train.dist import wrap_model
    from justrl.train.loop import recompute_old_logp

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32)
    config = _small_toy(prompts_per_step=4, rollouts_per_prompt=4, mini_batch_prompts=2, micro_batch_responses=3,
                        lr=1e-2, warmup_steps=0)
    policy = wrap_model(model, world)
    # plain SGD: parameter changes are the (clipped) gradients themselves; Adam would magnify float noise
    # in near-zero gradients into visible differences
    optimizer = torch.optim.SGD(policy.parameters(), lr=1.0)
    prompts, responses, adv = _fixed_batch(world)
    batch = collate(prompts, responses, adv, 0, "cpu")
    with torch.no_grad():  # perturb old log-probs so clipping is exercised
        recompute_old_logp(policy, batch, config, world)
        # a function of the response token, so the perturbation does not depend on the batch layout
        batch.old_logp += 0.3 * torch.sin(batch.input_ids[:, -batch.response_width:].float())
    metrics = update(policy, optimizer, batch, config, world)
    return metrics, {n: p.detach().clone() for n, p in model.named_parameters()}


def _worker(rank, model_path, rendezvous, out):
    import torch.distributed as dist

    # a file rendezvous: no TCP port to race for with other processes on the machine
    dist.init_process_group("gloo", init_method=f"file://{rendezvous}", rank=rank, world_size=2)
    try:
        metrics, params = _run_update(model_path, World(rank, 2, "cpu"))
        if rank == 0:
            torch.save({"metrics": metrics, "params": params}, out)
        dist.barrier()  # neither rank tears gloo down while the other may still use it
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_two_gloo_ranks_update_like_one_process(tiny_model, tmp_path):
    import torch.multiprocessing as mp

    out = tmp_path / "ddp.pt"
    mp.spawn(_worker, args=(str(tiny_model), str(tmp_path / "rendezvous"), str(out)), nprocs=2, join=True)
    two = torch.load(out, weights_only=False)
    one_metrics, one_params = _run_update(str(tiny_model), World())
    for name, value in one_params.items():
        assert torch.allclose(two["params"][name], value, rtol=1e-5, atol=1e-6), name
    for key in ("actor/pg_loss", "actor/pg_clipfrac", "actor/ppo_kl", "actor/grad_norm"):
        assert two["metrics"][key] == pytest.approx(one_metrics[key], rel=1e-4, abs=1e-7), key
    assert one_metrics["actor/pg_clipfrac"] > 0


# ----------------------------------------------------------------------------- the toy demo, end to end
@pytest.mark.slow
def test_toy_preset_raises_the_mean_reward(tmp_path):
    from justrl.train.cli import main

    run = tmp_path / "toy"
    assert main(["--preset", "toy", "--output-dir", str(run), "--quiet"]) == 0
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(1, 31))
    scores = [r["critic/score/mean"] for r in rows]
    first, last = sum(scores[:5]) / 5, sum(scores[-10:]) / 10
    assert last > first + 0.4, (first, last)  # about -0.1 -> +0.7 here
    assert json.loads((run / "config.json").read_text())["config"]["model"] == "toy"
    assert (run / "checkpoints" / "latest").read_text() == "30"
    assert (run / "final" / "config.json").exists()


# ----------------------------------------------------------------------------- micro-batches and modes
def _one_update(model_path, **changes):
    from transformers import AutoModelForCausalLM

    from justrl.train.loop import recompute_old_logp

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32)
    config = _small_toy(prompts_per_step=4, rollouts_per_prompt=4, mini_batch_prompts=2, lr=1e-2, warmup_steps=0,
                        **changes)
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    prompts, responses, adv = _fixed_batch(World())
    batch = collate(prompts, responses, adv, 0, "cpu")
    recompute_old_logp(model, batch, config, World())
    batch.old_logp += 0.3 * torch.sin(batch.input_ids[:, -batch.response_width:].float())
    metrics = update(model, optimizer, batch, config, World())
    return metrics, {n: p.detach().clone() for n, p in model.named_parameters()}, batch


@pytest.mark.parametrize("budget", [12, 30, 0], ids=["tight-budget", "loose-budget", "row-count"])
def test_token_budget_micro_batches_give_the_one_batch_update(tiny_model, budget):
    """Packing (each micro-batch padded to its own longest row) changes memory, never the token-mean update."""
    from justrl.train.loop import micro_batches

    whole_metrics, whole, _ = _one_update(str(tiny_model), max_tokens_per_micro_batch=1 << 20)
    metrics, params, batch = _one_update(str(tiny_model), max_tokens_per_micro_batch=budget, micro_batch_responses=3)
    mini = batch.rows(0, 8)
    config = _small_toy(max_tokens_per_micro_batch=budget, micro_batch_responses=3)
    mbs = micro_batches(mini, config, World())
    assert len(mbs) > 1 and sorted(i for mb in mbs for i in mb.rows) == list(range(8))
    if budget:
        assert all(len(mb.rows) * mb.width <= budget or len(mb.rows) == 1 for mb in mbs)
    for name, value in whole.items():
        assert torch.allclose(params[name], value, rtol=1e-5, atol=1e-7), name
    for key in ("actor/pg_loss", "actor/pg_clipfrac", "actor/ppo_kl"):
        assert metrics[key] == pytest.approx(whole_metrics[key], rel=1e-5, abs=1e-8), key


def test_old_log_probs_are_computed_in_eval_mode_without_gradient(tiny_model):
    from transformers import AutoModelForCausalLM

    from justrl.train.loop import recompute_old_logp

    model = AutoModelForCausalLM.from_pretrained(str(tiny_model), dtype=torch.float32)
    model.train()
    seen = []
    model.register_forward_pre_hook(lambda module, args: seen.append((module.training, torch.is_grad_enabled())))
    prompts, responses, adv = _fixed_batch(World())
    batch = collate(prompts, responses, adv, 0, "cpu")
    recompute_old_logp(model, batch, _small_toy(), World())
    assert seen and set(seen) == {(False, False)}
    assert model.training  # back to train mode for the update
    assert batch.old_logp.shape == batch.response_mask.shape and not batch.old_logp.requires_grad


def _verl_micro_delta(model_path, world: World, group: int | None):
    """Parameter change of one SGD step (lr 1, no clipping) with veRL 0.4's weighting on ``world``; with
    ``group`` set, a single process trains on that one prompt group (what one veRL rank sees)."""
    from transformers import AutoModelForCausalLM

    from justrl.train.dist import wrap_model
    from justrl.train.loop import recompute_old_logp

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    prompts_per_step = 2 if group is None else 1
    config = _small_toy(prompts_per_step=prompts_per_step, mini_batch_prompts=prompts_per_step, rollouts_per_prompt=4,
                        micro_batch_responses=3, loss_aggregation="verl-0.4-micro", grad_clip=1e9, warmup_steps=0)
    policy = wrap_model(model, world)
    optimizer = torch.optim.SGD(policy.parameters(), lr=1.0)
    prompts, responses, adv = _fixed_batch(World())
    rows = range(4 * world.rank, 4 * world.rank + 4) if group is None else range(4 * group, 4 * group + 4)
    batch = collate([prompts[i] for i in rows], [responses[i] for i in rows], [adv[i] for i in rows], 0, "cpu")
    recompute_old_logp(policy, batch, config, world)
    batch.old_logp += 0.3 * torch.sin(batch.input_ids[:, -batch.response_width:].float())
    update(policy, optimizer, batch, config, world)
    return {n: p.detach() - before[n] for n, p in model.named_parameters()}


def _verl_worker(rank, model_path, rendezvous, out):
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{rendezvous}", rank=rank, world_size=2)
    try:
        delta = _verl_micro_delta(model_path, World(rank, 2, "cpu"), None)
        if rank == 0:
            torch.save(delta, out)
        dist.barrier()
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_verl_0_4_weighting_averages_ranks_without_the_world_size_factor(tiny_model, tmp_path):
    """veRL 0.4: each rank's loss is its micro-batch token-means; FSDP averages the ranks' gradients and nothing
    rescales them, so two ranks step by the mean of what each rank alone would step (not the sum)."""
    import torch.multiprocessing as mp

    out = tmp_path / "verl.pt"
    mp.spawn(_verl_worker, args=(str(tiny_model), str(tmp_path / "rendezvous"), str(out)), nprocs=2, join=True)
    two = torch.load(out, weights_only=True)
    alone = [_verl_micro_delta(str(tiny_model), World(), g) for g in (0, 1)]
    for name, value in two.items():
        mean = (alone[0][name] + alone[1][name]) / 2
        assert torch.allclose(value, mean, rtol=1e-4, atol=1e-7), name
    assert any(v.abs().max() > 1e-6 for v in two.values())


def test_the_engine_is_synced_before_the_first_rollout_and_every_sample_has_its_seed(tmp_path, monkeypatch):
    """The loop's contract with any rollout engine (vLLM's included): weights pushed right after it is built
    (so the first rollout samples the warm-started weights), after every update, and one seed per response
    from (seed, step, prompt, sample)."""
    import justrl.train.rollout as rollout
    from justrl.train.rollout import rollout_seeds

    events = []
    real = rollout.make_engine

    def recording(config, model, tokenizer, device):
        engine = real(config, model, tokenizer, device)
        sync, generate = engine.sync_weights, engine.generate

        def sync_weights(*a, **k):
            events.append(("sync",))
            return sync(*a, **k)

        def gen(prompts, n, **kw):
            events.append(("generate", len(prompts), n, tuple(kw["seeds"])))
            return generate(prompts, n, **kw)

        engine.sync_weights, engine.generate = sync_weights, gen
        return engine

    monkeypatch.setattr(rollout, "make_engine", recording)
    config = _small_toy(total_steps=2, warm_start_steps=2)
    train(config, tmp_path / "r", progress=False)
    assert [e[0] for e in events] == ["sync", "generate", "sync", "generate", "sync"]
    first, second = events[1], events[3]
    assert first[1:3] == (4, 4) and len(first[3]) == 16 and len(set(first[3] + second[3])) == 32
    from justrl.train.loop import take_prompts

    order = take_prompts(9, 0, 4, config.seed)
    assert list(first[3]) == rollout_seeds(config.seed, 1, order, 4)
