"""The GRPO core (justrl.train.grpo): golden values computed by hand from DESIGN.md §5's formulas."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from justrl.train.grpo import (  # noqa: E402
    AGGREGATIONS,
    backward_scale,
    group_advantages,
    policy_loss,
    token_entropy_from_logits,
)

S = math.sqrt(4 / 3)  # unbiased std of [1, -1, 1, -1]


@pytest.mark.parametrize("scores, size, expected", [
    ([1, 1, 1, 1], 4, [0, 0, 0, 0]),
    ([-1, -1, -1, -1, 1, 1, 1, 1], 4, [0] * 8),
    ([1, -1, 1, -1], 4, [1 / S, -1 / S, 1 / S, -1 / S]),
    ([1, -1, -1, -1], 4, [1.5 / 1.0, -0.5, -0.5, -0.5]),  # mean -0.5, unbiased std 1
    ([1, -1, 0.5, 0.5], 2, [1 / math.sqrt(2), -1 / math.sqrt(2), 0, 0]),
], ids=["all-correct-group-zero", "all-equal-groups-zero", "balanced-group", "one-right-of-four",
        "groups-are-consecutive"])
def test_group_advantages(scores, size, expected):
    adv = group_advantages(torch.tensor(scores, dtype=torch.float32), size)
    assert adv.tolist() == pytest.approx(expected, abs=1e-5)


def test_group_advantages_eps_is_added_to_the_std():
    adv = group_advantages(torch.tensor([1.0, -1.0]), 2, eps=1.0)
    std = math.sqrt(2)
    assert adv.tolist() == pytest.approx([1 / (std + 1), -1 / (std + 1)])


def test_group_advantages_rejects_a_ragged_batch():
    with pytest.raises(ValueError):
        group_advantages(torch.zeros(5), 4)


def _one_token(adv: float, ratio: float):
    logp = torch.tensor([[math.log(ratio)]], dtype=torch.float64, requires_grad=True)
    old = torch.zeros(1, 1, dtype=torch.float64)
    loss, metrics = policy_loss(logp, old, torch.tensor([adv], dtype=torch.float64), torch.ones(1, 1))
    loss.backward()
    return float(loss.detach()), float(logp.grad), metrics


# (A, r) -> loss, d loss / d logp, clipfrac, clipfrac_lower
@pytest.mark.parametrize("adv, ratio, loss, grad, clipfrac, lower", [
    (1.0, 1.0, -1.0, -1.0, 0, 0),
    (1.0, 1.25, -1.25, -1.25, 0, 0),      # clip-higher: 1.25 < 1.28 still moves (0.2 symmetric would not)
    (1.0, 1.5, -1.28, 0.0, 1, 0),         # above 1 + clip_high: clipped, no gradient
    (1.0, 0.5, -0.5, -0.5, 0, 0),         # A > 0 and r small: the unclipped term is the max
    (-1.0, 0.5, 0.8, 0.0, 1, 0),          # A < 0 and r below 1 - clip_low: clipped
    (-1.0, 1.1, 1.1, 1.1, 0, 0),
    (-1.0, 5.0, 5.0, 5.0, 0, 0),          # A < 0, r large but below the dual clip: unclipped
    (-1.0, 20.0, 10.0, 0.0, 0, 1),        # dual clip: loss capped at -A c = 10, no gradient
    (-2.0, 20.0, 20.0, 0.0, 0, 1),
], ids=["on-policy", "clip-higher-keeps-1.25", "clip-high", "positive-small-ratio", "clip-low",
        "negative-inside", "negative-large-ratio-unclipped", "dual-clip", "dual-clip-scales-with-A"])
def test_policy_loss_single_token(adv, ratio, loss, grad, clipfrac, lower):
    value, g, metrics = _one_token(adv, ratio)
    assert value == pytest.approx(loss, rel=1e-9)
    assert g == pytest.approx(grad, abs=1e-9)
    assert metrics["actor/pg_clipfrac"] == clipfrac
    assert metrics["actor/pg_clipfrac_lower"] == lower


def _batch():
    # sequence 0: one token, sequence 1: three tokens (padding in between)
    logp = torch.tensor([[0.1, 9.0, 9.0], [0.0, 0.2, -0.1]], dtype=torch.float64)
    old = torch.zeros_like(logp)
    mask = torch.tensor([[1.0, 0, 0], [1, 1, 1]], dtype=torch.float64)
    adv = torch.tensor([1.0, -1.0], dtype=torch.float64)
    return logp, old, adv, mask


def test_token_mean_is_over_all_tokens_of_the_mini_batch():
    logp, old, adv, mask = _batch()
    loss, metrics = policy_loss(logp, old, adv, mask)
    per_token = [-math.exp(0.1), 1.0, math.exp(0.2), max(math.exp(-0.1), 0.8)]
    assert float(loss) == pytest.approx(sum(per_token) / 4)  # not the mean of per-sequence means
    assert metrics["tokens"] == 4
    assert metrics["actor/ppo_kl"] == pytest.approx((-0.1 - 0.0 - 0.2 + 0.1) / 4)


def test_micro_batches_with_the_mini_batch_normalizer_add_up_to_the_full_loss_and_gradient():
    logp, old, adv, mask = _batch()
    full = logp.clone().requires_grad_(True)
    policy_loss(full, old, adv, mask)[0].backward()
    parts = logp.clone().requires_grad_(True)
    total = sum(policy_loss(parts[i:i + 1], old[i:i + 1], adv[i:i + 1], mask[i:i + 1], normalizer=4.0)[0]
                for i in range(2))
    total.backward()
    assert float(total.detach()) == pytest.approx(float(policy_loss(logp, old, adv, mask)[0]))
    assert torch.allclose(parts.grad, full.grad)


def test_verl_04_micro_weighting_averages_micro_batch_means():
    logp, old, adv, mask = _batch()
    per_seq = [float(policy_loss(logp[i:i + 1], old[i:i + 1], adv[i:i + 1], mask[i:i + 1])[0]) for i in range(2)]
    micro = [float(policy_loss(logp[i:i + 1], old[i:i + 1], adv[i:i + 1], mask[i:i + 1],
                               aggregation="verl-0.4-micro", num_micro_batches=2)[0]) for i in range(2)]
    assert sum(micro) == pytest.approx(sum(per_seq) / 2)
    assert sum(micro) != pytest.approx(float(policy_loss(logp, old, adv, mask)[0]))


def test_unknown_aggregation_is_rejected():
    logp, old, adv, mask = _batch()
    with pytest.raises(ValueError):
        policy_loss(logp, old, adv, mask, aggregation="seq-mean")


@pytest.mark.parametrize("chunk", [1, 3, 1000], ids=["row-by-row", "ragged-chunks", "one-chunk"])
@pytest.mark.parametrize("temperature", [1.0, 0.7], ids=["t1", "t0.7"])
def test_entropy_matches_the_direct_formula(chunk, temperature):
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 5, 11, generator=gen) * 3
    logsoft = torch.log_softmax(logits / temperature, dim=-1)
    expected_entropy = -(logsoft.exp() * logsoft).sum(-1)
    assert torch.allclose(token_entropy_from_logits(logits, temperature=temperature, chunk_rows=chunk),
                          expected_entropy, atol=1e-5)


def test_entropy_of_uniform_logits_is_log_vocab():
    assert token_entropy_from_logits(torch.zeros(1, 2, 8))[0].tolist() == pytest.approx([math.log(8)] * 2)


# log-ratio clamp: veRL core_algos.compute_policy_loss clamps logp - old_logp to [-20, 20] before exp
@pytest.mark.parametrize("log_ratio, adv", [(100.0, 0.0), (100.0, 1.0), (100.0, -1.0), (-100.0, 1.0), (-100.0, -1.0)],
                         ids=["huge-ratio-zero-adv", "huge-ratio-positive", "huge-ratio-negative",
                              "tiny-ratio-positive", "tiny-ratio-negative"])
def test_extreme_log_ratios_give_a_finite_loss_and_gradient(log_ratio, adv):
    logp = torch.tensor([[log_ratio, 0.1]], dtype=torch.float32, requires_grad=True)
    old = torch.zeros(1, 2)
    loss, metrics = policy_loss(logp, old, torch.tensor([adv]), torch.ones(1, 2))
    loss.backward()
    assert math.isfinite(float(loss.detach())) and torch.isfinite(logp.grad).all()
    assert float(logp.grad[0, 0]) == 0.0  # clamped (and clipped) token: no gradient
    assert math.isfinite(metrics["actor/ppo_kl"])


def test_ratio_uses_the_clamped_log_ratio():
    """A < 0, log-ratio 30, dual clip out of the way: the loss is -A r with r = e^20 (the clamp), not e^30."""
    logp = torch.tensor([[30.0]], dtype=torch.float64)
    loss, metrics = policy_loss(logp, torch.zeros(1, 1, dtype=torch.float64), torch.tensor([-1.0]),
                                torch.ones(1, 1), dual_clip=1e12)
    assert float(loss) == pytest.approx(math.exp(20.0))  # -A r with r = e^20, not e^30
    assert metrics["actor/ppo_kl"] == pytest.approx(-20.0)


def test_verl_04_micro_weight_scales_the_micro_batch_token_mean():
    """veRL 0.4 with use_dynamic_bsz weighs each micro-batch by rows / mini-batch rows (dp_actor.update_policy)."""
    logp, old, adv, mask = _batch()
    whole = float(policy_loss(logp, old, adv, mask)[0])  # token-mean of all 4 tokens
    weighted = float(policy_loss(logp, old, adv, mask, aggregation="verl-0.4-micro", micro_weight=0.25)[0])
    assert weighted == pytest.approx(whole * 0.25)
    default = float(policy_loss(logp, old, adv, mask, aggregation="verl-0.4-micro", num_micro_batches=4)[0])
    assert default == pytest.approx(weighted)


@pytest.mark.parametrize("aggregation, world, scale", [("token-mean", 1, 1.0), ("token-mean", 8, 8.0),
                                                       ("verl-0.4-micro", 1, 1.0), ("verl-0.4-micro", 8, 1.0)])
def test_backward_scale_undoes_the_rank_average_only_for_the_global_token_mean(aggregation, world, scale):
    assert backward_scale(aggregation, world) == scale


def test_data_parallel_token_mean_with_backward_scale_equals_one_process():
    """Two simulated ranks: gradients averaged over ranks (what DDP/FSDP do) of scale x loss equal the
    one-process gradient of the global token-mean; veRL 0.4's weighting averages the ranks' own means."""
    logp, old, adv, mask = _batch()
    full = logp.clone().requires_grad_(True)
    policy_loss(full, old, adv, mask)[0].backward()
    total = float(mask.sum())
    rank_grads = []
    for r in range(2):
        part = logp[r:r + 1].clone().requires_grad_(True)
        loss = policy_loss(part, old[r:r + 1], adv[r:r + 1], mask[r:r + 1], normalizer=total)[0]
        (loss * backward_scale("token-mean", 2)).backward()
        rank_grads.append(part.grad)
    averaged = torch.cat(rank_grads) / 2  # the all-reduce average
    assert torch.allclose(averaged, full.grad)
    verl = []
    for r in range(2):
        part = logp[r:r + 1].clone().requires_grad_(True)
        loss = policy_loss(part, old[r:r + 1], adv[r:r + 1], mask[r:r + 1], aggregation="verl-0.4-micro",
                           micro_weight=1.0)[0]
        (loss * backward_scale("verl-0.4-micro", 2)).backward()
        verl.append(part.grad / 2)
    # veRL: mean over ranks of each rank's token-mean -- rank 0 has 1 token, rank 1 has 3
    expected = torch.cat([full.grad[0:1] * 4 / 1, full.grad[1:2] * 4 / 3]) / 2
    assert torch.allclose(torch.cat(verl), expected)


def test_backward_scale_rejects_an_unknown_aggregation():
    with pytest.raises(ValueError):
        backward_scale("seq-mean", 2)
    assert set(AGGREGATIONS) == {"token-mean", "verl-0.4-micro"}
