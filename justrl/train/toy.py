"""The ``toy`` preset's pieces: a synthetic addition task and a short supervised warm start.

Task ``addition``: "What is a + b?" for a, b in 0..2, gold = a + b; the strict verifier checks the
response's ``\\boxed{N}``. The warm start teaches the answer format on a mix of correct answers and
near misses (gold +- 1), so the starting policy reads the question but is right only part of the time;
GRPO then has to raise the reward. (Wrong targets drawn independently of the question taught the policy
to ignore it, and GRPO then settled on always answering the commonest sum, a reward plateau.)
"""

from __future__ import annotations

import random

from justrl.train.config import TrainError
from justrl.train.data import TrainRecord

TASKS = ("addition",)
WARM_START_CORRECT = 0.3  # share of warm-start targets that are the right answer


def toy_records(task: str) -> list[TrainRecord]:
    """All problems of a toy task (in a fixed order)."""
    if task != "addition":
        raise TrainError(f"unknown toy task {task!r}; choose one of {', '.join(TASKS)}")
    return [TrainRecord(f"What is {a} + {b}?", str(a + b), {"data_source": "toy:addition", "index": i})
            for i, (a, b) in enumerate((a, b) for a in range(3) for b in range(3))]


def near_miss(gold: int, rng: random.Random) -> int:
    """A wrong answer next to ``gold``: gold - 1 or gold + 1 (never negative)."""
    return gold + 1 if gold == 0 else gold + rng.choice((-1, 1))


def answer_text(answer: str) -> str:
    return f"\\boxed{{{answer}}}"


def warm_start(model, tokenizer, prompts, *, steps: int, lr: float, seed: int, batch_size: int = 32) -> list[float]:
    """Supervised steps on prompt -> ``\\boxed{N}``<eos>, N correct with probability WARM_START_CORRECT, else a
    :func:`near_miss`.

    Loss on response tokens only. Returns the loss per step. Deterministic given ``seed``.
    """
    import torch

    rng = random.Random(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    eos = tokenizer.eos_token_id
    losses = []
    model.train()
    for _ in range(steps):
        batch = [rng.choice(prompts) for _ in range(batch_size)]
        seqs, starts = [], []
        for p in batch:
            answer = p.gold if rng.random() < WARM_START_CORRECT else str(near_miss(int(p.gold), rng))
            target = tokenizer(answer_text(answer), add_special_tokens=False)["input_ids"] + [eos]
            seqs.append(p.ids + target)
            starts.append(len(p.ids))
        width = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), width), tokenizer.pad_token_id, dtype=torch.long)
        labels = torch.full((len(seqs), width), -100, dtype=torch.long)
        attn = torch.zeros((len(seqs), width), dtype=torch.long)
        for i, (seq, start) in enumerate(zip(seqs, starts, strict=True)):
            ids[i, : len(seq)] = torch.tensor(seq)
            labels[i, start: len(seq)] = torch.tensor(seq[start:])
            attn[i, : len(seq)] = 1
        loss = model(input_ids=ids, attention_mask=attn, labels=labels).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return losses


def build_toy_model(path):
    """The toy policy: justrl.evaluate.tiny's random Qwen2 (hidden 64, 2 layers) written to ``path``."""
    from justrl.evaluate.tiny import build_tiny_model

    return build_tiny_model(path, hidden_size=64, num_layers=2, num_heads=4, seed=0)
