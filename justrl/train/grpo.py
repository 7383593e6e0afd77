"""The GRPO core of the JustRL recipe as pure torch functions (DESIGN.md §5).

Per-token loss with ratio r = exp(logp - old_logp) and advantage A::

    L1 = -A r,  L2 = -A clip(r, 1 - clip_low, 1 + clip_high),  L = max(L1, L2)
    for A < 0:  L = min(L, -A c)                      (dual clip, c = dual_clip)

Aggregation ``"token-mean"``: sum(L * mask) / N where N is the number of response tokens of the whole
mini-batch (``normalizer``; default: the tokens of the tensors passed in). ``"verl-0.4-micro"``: veRL
0.4's weighting, the token-mean of each micro-batch divided by the number of micro-batches (each
micro-batch weighs the same whatever its token count) -- only for exact comparisons with veRL 0.4.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from torch import Tensor

AGGREGATIONS = ("token-mean", "verl-0.4-micro")


def group_advantages(scores: Tensor, group_size: int, eps: float = 1e-6) -> Tensor:
    """(s - group mean) / (unbiased group std + eps) for consecutive groups of ``group_size`` scores.

    A group whose scores are all equal gets zero advantage. ``group_size`` 1 gives zeros (no baseline).
    """
    import torch

    if scores.dim() != 1 or scores.numel() % group_size:
        raise ValueError(f"scores must be 1-D with a multiple of group_size={group_size} entries, got {tuple(scores.shape)}")
    groups = scores.float().view(-1, group_size)
    mean = groups.mean(dim=1, keepdim=True)
    if group_size == 1:
        return torch.zeros_like(scores, dtype=torch.float32)
    std = groups.std(dim=1, unbiased=True, keepdim=True)
    return ((groups - mean) / (std + eps)).view(-1)


def policy_loss(logp: Tensor, old_logp: Tensor, advantages: Tensor, mask: Tensor, *, clip_low: float = 0.2,
                clip_high: float = 0.28, dual_clip: float = 10.0, aggregation: str = "token-mean",
                normalizer: float | None = None, num_micro_batches: int = 1) -> tuple[Tensor, dict[str, float]]:
    """The clipped GRPO surrogate (clip-higher + dual clip) and veRL-named metrics.

    ``logp``/``old_logp``/``mask`` are [B, T] (mask 1 on response tokens), ``advantages`` [B].
    ``normalizer`` is the token count of the whole mini-batch when this call sees one micro-batch of it
    (token-mean stays exact under gradient accumulation); ``num_micro_batches`` is used by
    ``"verl-0.4-micro"``. Metrics are token-means over the tokens passed in, plus ``tokens``.
    """
    import torch

    if aggregation not in AGGREGATIONS:
        raise ValueError(f"aggregation must be one of {AGGREGATIONS}, got {aggregation!r}")
    mask = mask.to(logp.dtype)
    adv = advantages.to(logp.dtype).unsqueeze(-1)
    log_ratio = logp - old_logp
    ratio = torch.exp(log_ratio)
    loss1 = -adv * ratio
    loss2 = -adv * torch.clamp(ratio, 1.0 - clip_low, 1.0 + clip_high)
    clipped = torch.maximum(loss1, loss2)
    loss3 = -adv * dual_clip
    dual = torch.minimum(clipped, loss3)
    per_token = torch.where(adv < 0, dual, clipped)

    tokens = mask.sum()
    total = (per_token * mask).sum()
    if aggregation == "token-mean":
        loss = total / (normalizer if normalizer is not None else tokens.clamp(min=1.0))
    else:
        loss = total / tokens.clamp(min=1.0) / num_micro_batches

    with torch.no_grad():
        count = float(tokens.clamp(min=1.0))
        metrics = {
            "actor/pg_loss": float(total) / count,
            "actor/pg_clipfrac": float(((loss2 > loss1).to(mask.dtype) * mask).sum()) / count,
            "actor/pg_clipfrac_lower": float(((clipped > loss3) & (adv < 0)).to(mask.dtype).mul(mask).sum()) / count,
            "actor/ppo_kl": float((-log_ratio * mask).sum()) / count,
            "tokens": float(tokens),
        }
    return loss, metrics


def token_logprobs(logits: Tensor, tokens: Tensor, *, temperature: float = 1.0, chunk_rows: int = 1024) -> Tensor:
    """log softmax(logits / temperature)[tokens] per position, in float32, ``chunk_rows`` rows at a time.

    ``logits`` [B, T, V], ``tokens`` [B, T] -> [B, T]. Only one chunk of float32 log-softmax exists at once.
    """
    import torch

    flat = logits.reshape(-1, logits.size(-1))
    ids = tokens.reshape(-1)
    pieces = []
    for start in range(0, flat.size(0), chunk_rows):
        rows = flat[start:start + chunk_rows].float()
        rows = rows / temperature if temperature != 1.0 else rows
        picked = rows.gather(-1, ids[start:start + chunk_rows].unsqueeze(-1)).squeeze(-1)
        pieces.append(picked - torch.logsumexp(rows, dim=-1))
    if not pieces:
        return torch.empty(tokens.shape, dtype=torch.float32, device=logits.device)
    return torch.cat(pieces).view(tokens.shape)


def token_entropy_from_logits(logits: Tensor, *, temperature: float = 1.0, chunk_rows: int = 1024) -> Tensor:
    """Entropy (nats) of softmax(logits / temperature) per position: [B, T, V] -> [B, T], float32.

    H = logsumexp(z) - sum(softmax(z) z), computed ``chunk_rows`` rows at a time without gradients, so at
    most one chunk of float32 probabilities is alive.
    """
    import torch

    flat = logits.detach().reshape(-1, logits.size(-1))
    pieces = []
    with torch.no_grad():
        for start in range(0, flat.size(0), chunk_rows):
            z = flat[start:start + chunk_rows].float()
            z = z / temperature if temperature != 1.0 else z
            lse = torch.logsumexp(z, dim=-1)
            pieces.append(lse - (torch.softmax(z, dim=-1) * z).sum(-1))
    if not pieces:
        return torch.empty(logits.shape[:-1], dtype=torch.float32, device=logits.device)
    return torch.cat(pieces).view(logits.shape[:-1])


def masked_mean(values: Tensor, mask: Tensor) -> float:
    """sum(values * mask) / sum(mask) as a float (0.0 when the mask is empty)."""
    denom = float(mask.sum())
    return float((values * mask).sum()) / denom if denom else 0.0
