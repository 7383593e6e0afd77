"""justrl.train.microbatch: token-budget packing, the right-aligned micro-batch layout, exact token-mean.

Specification: every row lands in exactly one micro-batch; rows x longest row <= budget (a longer row goes
alone); ``max_rows`` and ``min_count`` hold; the tokens computed stay within 1.1x the real tokens on batches
of mixed lengths; a micro-batch's tensors hold each row's real tokens right-aligned; gradients from packed
micro-batches equal those of one big batch.
"""

from __future__ import annotations

import random

import pytest

from justrl.train.microbatch import MicroBatch, pack_micro_batches, padding_ratio

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def _rows(mbs):
    return sorted(i for m in mbs for i in m.rows)


@pytest.mark.parametrize("prompts, responses, budget, kwargs, expected", [
    ([2, 2, 2, 2], [2, 2, 2, 2], 16, {}, [(0, 1, 2, 3)]),                      # all fit in one
    ([2, 2, 2, 2], [2, 2, 2, 2], 8, {}, [(0, 1), (2, 3)]),                     # two per micro-batch
    ([1, 1, 1], [30, 2, 2], 12, {}, [(0,), (1, 2)]),                           # a row over the budget goes alone
    ([1, 1, 1, 1], [9, 1, 9, 1], 20, {"overhead_tokens": 0}, [(0, 2), (1, 3)]),  # long rows together, short together
    ([2, 2, 2, 2], [2, 2, 2, 2], 100, {"max_rows": 3}, [(0, 1, 2), (3,)]),
    ([2, 2, 2, 2], [2, 2, 2, 2], 100, {"min_count": 3}, [(0,), (1,), (2, 3)]),
    ([3], [0], 8, {}, [(0,)]),                                                  # empty response
    ([], [], 8, {}, []),
], ids=["one-micro-batch", "budget-splits", "too-long-row-alone", "similar-lengths-share", "max-rows",
        "min-count-splits", "empty-response", "empty-batch"])
def test_packing(prompts, responses, budget, kwargs, expected):
    mbs = pack_micro_batches(prompts, responses, budget, **kwargs)
    assert [m.rows for m in mbs] == expected


@pytest.mark.parametrize("args, kwargs", [
    (([1, 2], [1], 8), {}),
    (([1], [1], 0), {}),
    (([1], [1], 8), {"max_rows": 0}),
    (([1, 1], [1, 1], 8), {"min_count": 3}),
    (([-1], [1], 8), {}),
], ids=["length-mismatch", "zero-budget", "zero-max-rows", "min-count-above-rows", "negative-length"])
def test_bad_arguments_are_rejected(args, kwargs):
    with pytest.raises(ValueError):
        pack_micro_batches(*args, **kwargs)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 200)), max_size=40), st.integers(1, 600),
       st.one_of(st.none(), st.integers(1, 8)), st.integers(1, 5))
def test_packing_invariants(lengths, budget, max_rows, min_count):
    prompts = [p for p, _ in lengths]
    responses = [r for _, r in lengths]
    min_count = min(min_count, max(len(lengths), 1))
    mbs = pack_micro_batches(prompts, responses, budget, max_rows=max_rows, min_count=min_count)
    assert _rows(mbs) == list(range(len(lengths)))
    assert len(mbs) >= (min_count if lengths else 0)
    for m in mbs:
        assert list(m.rows) == sorted(m.rows)
        assert m.cost <= budget or len(m.rows) == 1
        assert max_rows is None or len(m.rows) <= max_rows
        assert m.width == max(prompts[i] + max(responses[i], 1) for i in m.rows)
        assert m.response_width == max(1, max(responses[i] for i in m.rows))


def _justrl_like(n: int, kind: str, seed: int):
    """Prompt and response lengths like a JustRL step: prompts 60-400 tokens, responses up to 15,360."""
    rng = random.Random(seed)
    prompts = [rng.randint(60, 400) for _ in range(n)]
    if kind == "uniform":
        responses = [rng.randint(50, 15_360) for _ in range(n)]
    elif kind == "lognormal":
        responses = [min(15_360, int(rng.lognormvariate(8, 0.8))) for _ in range(n)]
    elif kind == "truncated-tail":  # a fifth of the responses cut at the maximum length
        responses = [15_360 if rng.random() < 0.2 else rng.randint(300, 3_000) for _ in range(n)]
    else:  # short responses, as long as the prompts
        responses = [rng.randint(20, 600) for _ in range(n)]
    return prompts, responses


# Measured (seed 0, budget 32,768): computed / real tokens 1.004-1.073 over these cases, e.g. 64 rows
# lognormal 1.015 in 24 micro-batches, 512 rows uniform 1.004; padding every row to the step's longest instead
# gives 1.9-3.6x. The 1.1 bound is the target.
@pytest.mark.parametrize("n", [64, 512], ids=["rank-of-8-gpus", "one-gpu"])
@pytest.mark.parametrize("kind", ["uniform", "lognormal", "truncated-tail", "short"])
@pytest.mark.parametrize("seed", [0, 1])
def test_tokens_computed_stay_within_ten_percent_of_the_real_tokens(n, kind, seed):
    prompts, responses = _justrl_like(n, kind, seed)
    mbs = pack_micro_batches(prompts, responses, 32_768)
    assert padding_ratio(mbs) <= 1.1
    # and the packing does not degenerate into one row per micro-batch
    assert len(mbs) <= max(2, n // 2)


def test_padding_ratio_counts_computed_over_real_tokens():
    mbs = [MicroBatch((0, 1), (2, 1), (3, 1)), MicroBatch((2,), (4,), (4,))]
    # first: 2 rows x width 5 = 10 computed for 7 real; second: 8 for 8
    assert padding_ratio(mbs) == pytest.approx(18 / 15)


# ----------------------------------------------------------------------------- tensors
torch = pytest.importorskip("torch")


def _full_layout(prompts, responses, pad=0):
    """collate's layout: prompts left-padded to P, responses right-padded to T; token = 100*row + position."""
    p_width, t_width = max(len(p) for p in prompts), max(1, max(len(r) for r in responses))
    ids = torch.full((len(prompts), p_width + t_width), pad, dtype=torch.long)
    attn = torch.zeros_like(ids)
    rmask = torch.zeros(len(prompts), t_width)
    for i, (p, r) in enumerate(zip(prompts, responses, strict=True)):
        ids[i, p_width - len(p):p_width] = torch.tensor(p)
        attn[i, p_width - len(p):p_width] = 1
        if r:
            ids[i, p_width:p_width + len(r)] = torch.tensor(r)
            attn[i, p_width:p_width + len(r)] = 1
            rmask[i, :len(r)] = 1
    return ids, attn, rmask, t_width


def test_a_micro_batch_holds_each_row_right_aligned():
    from justrl.train.microbatch import put_response, take_response, take_rows, take_sequence

    prompts = [[11, 12], [21, 22, 23], [31]]
    responses = [[13, 14, 15], [24], []]
    ids, attn, rmask, t = _full_layout(prompts, responses)
    mb = MicroBatch((0, 1, 2), (2, 3, 1), (3, 1, 0))
    assert take_sequence(ids, mb, t).tolist() == [[11, 12, 13, 14, 15], [0, 21, 22, 23, 24], [0, 0, 0, 0, 31]]
    assert take_sequence(attn, mb, t).tolist() == [[1] * 5, [0, 1, 1, 1, 1], [0, 0, 0, 0, 1]]
    assert take_response(rmask, mb).tolist() == [[1, 1, 1], [0, 0, 1], [0, 0, 0]]
    assert take_rows(torch.tensor([5.0, 6.0, 7.0]), mb).tolist() == [5.0, 6.0, 7.0]
    sub = MicroBatch((1,), (3,), (1,))
    assert take_sequence(ids, sub, t).tolist() == [[21, 22, 23, 24]]
    full = torch.full((3, t), 9.0)
    put_response(full, mb, torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 4.0], [0.0, 0.0, 0.0]]))
    assert full.tolist() == [[1.0, 2.0, 3.0], [4.0, 0.0, 0.0], [0.0, 0.0, 0.0]]


def test_gradients_from_packed_micro_batches_equal_one_big_batch():
    """float64 tiny Qwen2: the token-mean loss over the mini-batch, once in one padded batch and once as
    token-budget micro-batches (each loss divided by the mini-batch's token count): same loss, same
    gradients, and the same per-token log-probs written back with put_response."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from justrl.train.grpo import policy_loss, sequence_logprobs
    from justrl.train.microbatch import put_response, take_response, take_rows, take_sequence

    torch.manual_seed(0)
    model = Qwen2ForCausalLM(Qwen2Config(vocab_size=61, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                         num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=False,
                                         max_position_embeddings=64)).double()
    gen = torch.Generator().manual_seed(1)
    shape = [(3, 9), (5, 2), (2, 7), (4, 1), (6, 8), (1, 3)]
    prompts = [torch.randint(1, 61, (p,), generator=gen).tolist() for p, _ in shape]
    responses = [torch.randint(1, 61, (r,), generator=gen).tolist() for _, r in shape]
    ids, attn, rmask, t = _full_layout(prompts, responses)
    rmask = rmask.double()
    adv = torch.randn(len(shape), generator=gen, dtype=torch.float64)
    old = torch.randn(len(shape), t, generator=gen, dtype=torch.float64) * 0.3 * rmask

    model.zero_grad(set_to_none=True)
    logp, _ = sequence_logprobs(model, ids, attn, t)
    loss, _ = policy_loss(logp, old, adv, rmask)
    loss.backward()
    one = {n: p.grad.clone() for n, p in model.named_parameters()}

    mbs = pack_micro_batches([len(p) for p in prompts], [len(r) for r in responses], 24, overhead_tokens=0)
    assert len(mbs) > 2 and padding_ratio(mbs) < (len(shape) * ids.shape[1]) / sum(map(sum, shape))
    model.zero_grad(set_to_none=True)
    total, back = 0.0, torch.zeros_like(old)
    for mb in mbs:
        part, _ = sequence_logprobs(model, take_sequence(ids, mb, t), take_sequence(attn, mb, t), mb.response_width)
        put_response(back, mb, part.detach())
        micro, _ = policy_loss(part, take_response(old, mb), take_rows(adv, mb), take_response(rmask, mb),
                               normalizer=float(rmask.sum()))
        micro.backward()
        total += float(micro.detach())
    assert total == pytest.approx(float(loss.detach()), rel=1e-12)
    assert torch.allclose(back, logp.detach() * rmask, atol=1e-12)
    for name, p in model.named_parameters():
        assert torch.allclose(p.grad, one[name], atol=1e-12), name
