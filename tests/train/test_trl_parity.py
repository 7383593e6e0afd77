"""justrl's GRPO loss against TRL 1.16 GRPOTrainer's loss on identical inputs (development-only check).

TRL reproduces the recipe with loss_type="dapo", epsilon=0.2, epsilon_high=0.28, delta=10, beta=0.
TRL's ``delta`` clamps the unclipped ratio from above (min(r, delta)) before taking
min(r A, clip(r) A); veRL's dual clip caps the loss at -A c for A < 0. Worked through:
  A > 0, r > delta: both give -A (1 + clip_high) with zero gradient;
  A < 0, r > delta: TRL gives -A delta, veRL -A c -- equal when delta = c, both with zero gradient.
So value and gradient agree for every ratio; only TRL's normaliser differs in general (DAPO's
num_items_in_batch spans the whole generation batch and is rescaled per accumulation window), which is
the exact mini-batch token count when one mini-batch is one optimizer step (the setting used here).
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("trl")


@pytest.fixture(scope="module")
def trl_setup(tiny_model, tmp_path_factory):
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32)
    args = GRPOConfig(output_dir=str(tmp_path_factory.mktemp("trl")), loss_type="dapo", epsilon=0.2,
                      epsilon_high=0.28, delta=10.0, beta=0.0, num_generations=4, per_device_train_batch_size=8,
                      gradient_accumulation_steps=1, steps_per_generation=1, max_completion_length=6,
                      report_to=[], use_cpu=True, logging_steps=1, bf16=False)
    trainer = GRPOTrainer(model=model, reward_funcs=lambda completions, **kw: [0.0] * len(completions),
                          args=args, train_dataset=Dataset.from_dict({"prompt": ["1 + 1"] * 8}),
                          processing_class=tokenizer)
    trainer.current_gradient_accumulation_steps = 1  # set by the Trainer loop; one mini-batch per step
    return trainer, model


def _inputs(seed: int, spread: float):
    gen = torch.Generator().manual_seed(seed)
    b, p, t = 8, 5, 6
    prompt_ids = torch.randint(10, 400, (b, p), generator=gen)
    completion_ids = torch.randint(10, 400, (b, t), generator=gen)
    lengths = torch.tensor([6, 1, 3, 6, 2, 5, 4, 6])
    completion_mask = (torch.arange(t).unsqueeze(0) < lengths.unsqueeze(1)).long()
    advantages = torch.tensor([1.2, -0.4, -1.5, 0.7, 0.9, -0.8, 0.1, -1.1])
    shift = torch.randn(b, t, generator=gen) * spread
    return prompt_ids, completion_ids, completion_mask, advantages, shift


def _justrl_loss(model, prompt_ids, completion_ids, completion_mask, advantages, old):
    """justrl's trainer path: sequence_logprobs (chunked LM head, recomputed in backward) + policy_loss."""
    from justrl.train.grpo import policy_loss, sequence_logprobs

    ids = torch.cat([prompt_ids, completion_ids], 1)
    attn = torch.cat([torch.ones_like(prompt_ids), completion_mask], 1)
    logp, _ = sequence_logprobs(model, ids, attn, completion_ids.shape[1], temperature=1.0, chunk_tokens=7)
    return logp, policy_loss(logp, old, advantages, completion_mask.float())[0]


@pytest.mark.parametrize("spread", [0.0, 0.1, 0.5, 3.0],
                         ids=["on-policy", "inside-clip-range", "clip-high-and-low", "dual-clip-and-delta"])
def test_loss_and_gradients_match_trl(trl_setup, spread):
    trainer, model = trl_setup
    prompt_ids, completion_ids, completion_mask, advantages, shift = _inputs(0, spread)
    model.train()
    model.zero_grad(set_to_none=True)
    with torch.no_grad():
        logp0, _ = _justrl_loss(model, prompt_ids, completion_ids, completion_mask, advantages,
                                torch.zeros(completion_ids.shape))
    old = (logp0 + shift) * completion_mask
    _, ours = _justrl_loss(model, prompt_ids, completion_ids, completion_mask, advantages, old)
    ours.backward()
    our_grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad(set_to_none=True)
    inputs = {"prompt_ids": prompt_ids, "prompt_mask": torch.ones_like(prompt_ids), "completion_ids": completion_ids,
              "completion_mask": completion_mask, "advantages": advantages, "old_per_token_logps": old,
              "num_items_in_batch": completion_mask.sum()}
    theirs = trainer._compute_loss(model, inputs)
    theirs.backward()
    assert float(ours.detach()) == pytest.approx(float(theirs.detach()), rel=1e-5, abs=1e-7)
    for name, grad in our_grads.items():
        assert torch.allclose(grad, model.get_parameter(name).grad, rtol=1e-4, atol=1e-7), name


def test_trl_without_delta_differs_from_the_dual_clip(trl_setup):
    """Control: without delta TRL has no dual clip, so large ratios with A < 0 give a different loss."""
    trainer, model = trl_setup
    prompt_ids, completion_ids, completion_mask, advantages, shift = _inputs(1, 0.0)
    with torch.no_grad():
        logp0, _ = _justrl_loss(model, prompt_ids, completion_ids, completion_mask, advantages,
                                torch.zeros(completion_ids.shape))
        old = (logp0 - 4.0) * completion_mask  # every ratio e^4 ~ 55 > 10
        _, ours = _justrl_loss(model, prompt_ids, completion_ids, completion_mask, advantages, old)
        inputs = {"prompt_ids": prompt_ids, "prompt_mask": torch.ones_like(prompt_ids),
                  "completion_ids": completion_ids, "completion_mask": completion_mask, "advantages": advantages,
                  "old_per_token_logps": old, "num_items_in_batch": completion_mask.sum()}
        trainer.args.delta = None
        try:
            no_delta = trainer._compute_loss(model, inputs)
        finally:
            trainer.args.delta = 10.0
        with_delta = trainer._compute_loss(model, inputs)
    assert float(with_delta) == pytest.approx(float(ours), rel=1e-5)
    assert float(no_delta) > float(ours) + 1.0
