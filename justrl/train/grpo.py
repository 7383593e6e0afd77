"""The GRPO core of the JustRL recipe as pure torch functions (DESIGN.md §5).

Per-token loss with ratio r = exp(logp - old_logp) and advantage A::

    L1 = -A r,  L2 = -A clip(r, 1 - clip_low, 1 + clip_high),  L = max(L1, L2)
    for A < 0:  L = min(L, -A c)                      (dual clip, c = dual_clip)

Aggregation ``"token-mean"``: sum(L * mask) / N where N is the number of response tokens of the whole
mini-batch (``normalizer``; default: the tokens of the tensors passed in). ``"verl-0.4-micro"``: veRL
0.4's weighting, the token-mean of each micro-batch divided by the number of micro-batches (each
micro-batch weighs the same whatever its token count) -- only for exact comparisons with veRL 0.4.

The log-ratio ``logp - old_logp`` is clamped to [-20, 20] before ``exp`` (as veRL's
``verl/trainer/ppo/core_algos.py::compute_policy_loss``, "Clamp negative_approx_kl for stability"), so an
extreme ratio gives a finite loss (and zero gradient through the clamp) instead of inf/NaN.

Per-token log-probs come from :func:`sequence_logprobs`, which never holds more than one chunk of
[tokens x vocabulary] logits (see its docstring).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from torch import Tensor

AGGREGATIONS = ("token-mean", "verl-0.4-micro")
LOG_RATIO_CLAMP = 20.0  # veRL core_algos.compute_policy_loss: torch.clamp(negative_approx_kl, min=-20.0, max=20.0)
CHUNK_ELEMENTS = 1 << 25  # logits per chunk in sequence_logprobs: 32M floats = 128 MiB in float32
# config attributes of HF models whose logits are more than ``lm_head(last_hidden_state)`` (soft-capping, scaling):
# for them the head is not split off and sequence_logprobs falls back to the model's own logits
_LOGIT_TRANSFORMS = ("final_logit_softcapping", "logit_scale", "logits_scaling", "output_multiplier",
                     "lm_head_multiplier")


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
                normalizer: float | None = None, num_micro_batches: int = 1,
                micro_weight: float | None = None) -> tuple[Tensor, dict[str, float]]:
    """The clipped GRPO surrogate (clip-higher + dual clip) and veRL-named metrics.

    ``logp``/``old_logp``/``mask`` are [B, T] (mask 1 on response tokens), ``advantages`` [B].
    ``normalizer`` is the token count of the whole mini-batch when this call sees one micro-batch of it
    (token-mean stays exact under gradient accumulation).

    ``"verl-0.4-micro"``: this micro-batch's own token-mean times ``micro_weight`` (default
    ``1 / num_micro_batches``). veRL 0.4 (``verl/workers/actor/dp_actor.py::DataParallelPPOActor.update_policy``)
    scales ``policy_loss / gradient_accumulation`` with fixed-size micro-batches and
    ``policy_loss * (len(data) / ppo_mini_batch_size)`` with ``use_dynamic_bsz`` (token-budget micro-batches, as
    JustRL ran): pass ``micro_weight = rows in this micro-batch / rows of this rank's mini-batch`` for the latter.
    Either way veRL leaves the average over ranks to FSDP's gradient reduction and never multiplies by the world
    size; see :func:`backward_scale` for what the caller multiplies the loss by before ``backward``.

    Metrics are token-means over the tokens passed in, plus ``tokens``; ``actor/ppo_kl`` uses the clamped
    log-ratio (as veRL).
    """
    import torch

    if aggregation not in AGGREGATIONS:
        raise ValueError(f"aggregation must be one of {AGGREGATIONS}, got {aggregation!r}")
    mask = mask.to(logp.dtype)
    adv = advantages.to(logp.dtype).unsqueeze(-1)
    log_ratio = torch.clamp(logp - old_logp, min=-LOG_RATIO_CLAMP, max=LOG_RATIO_CLAMP)
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
        weight = micro_weight if micro_weight is not None else 1.0 / num_micro_batches
        loss = total / tokens.clamp(min=1.0) * weight

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


def backward_scale(aggregation: str, world_size: int) -> float:
    """The factor each micro-batch's :func:`policy_loss` is multiplied by before ``backward`` under data parallelism.

    DDP and FSDP average gradients over ranks. ``"token-mean"`` divides by the token count of the *global*
    mini-batch, so the wanted gradient is the *sum* over ranks: multiply by ``world_size``. ``"verl-0.4-micro"``
    reproduces veRL 0.4, whose per-rank loss is a mean over that rank's micro-batches and whose gradient is
    FSDP's average over ranks with no rescaling (``dp_actor.update_policy`` calls ``loss.backward()`` on
    ``policy_loss * (len(data) / ppo_mini_batch_size)`` or ``policy_loss / gradient_accumulation``; the FSDP
    reduce-scatter averages): multiply by 1.
    """
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"aggregation must be one of {AGGREGATIONS}, got {aggregation!r}")
    return float(world_size) if aggregation == "token-mean" else 1.0


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


# ----------------------------------------------------------------------------- memory-bounded log-probs
def sequence_logprobs(model, input_ids: Tensor, attention_mask: Tensor, response_width: int, *,
                      temperature: float = 1.0, entropy: bool = False,
                      chunk_tokens: int | None = None) -> tuple[Tensor, Tensor | None]:
    """Log-probs [B, T] of ``input_ids[:, -T:]`` (T = ``response_width``) given everything before them.

    ``input_ids``/``attention_mask`` [B, L]: left-padded prompts followed by right-padded responses. Position
    ids are counted from each row's first real token (``cumsum(mask) - 1``, as ``generate`` does). Returns
    ``(logp, entropy)``: log softmax(logits / ``temperature``) at the target token, in float32 (float64 for a
    float64 model), and with ``entropy=True`` the entropy (nats) of the same distributions, without gradient,
    else None. Positions whose target has attention mask 0 (response padding) are not computed: both are 0.

    Memory: the model (or its DDP wrapper) is called through its own forward with ``logits_to_keep=1`` and the
    final hidden states are taken from its body (``base_model``, by a forward hook); the LM head, the
    log-softmax and the gather then run per chunk of ``chunk_tokens`` tokens (default: ``CHUNK_ELEMENTS //
    vocabulary``) under ``torch.utils.checkpoint``, recomputed in backward, so at most one chunk of
    [tokens x vocabulary] logits (upcast to float32) is alive in forward or backward. Under ``no_grad`` nothing
    is checkpointed and one pass gives log-probs and entropies. A model whose logits are not
    ``head(body(x))`` (soft-capping, logit scaling, no separable head; checked against the model's own logits
    at the last position on every call) falls back to the model's full logits over the response, chunked the
    same way but not memory-bounded (a warning says so).
    """
    import torch
    from torch.utils.checkpoint import checkpoint

    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    if input_ids.dim() != 2 or attention_mask.shape != input_ids.shape:
        raise ValueError(f"input_ids and attention_mask must both be [B, L], got {tuple(input_ids.shape)} and "
                         f"{tuple(attention_mask.shape)}")
    t = int(response_width)
    if not 1 <= t < input_ids.shape[1]:
        raise ValueError(f"response_width must be in [1, {input_ids.shape[1] - 1}], got {response_width}")
    position_ids = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
    targets = input_ids[:, -t:]
    valid = attention_mask[:, -t:].bool()

    split = _split_head(model)
    hidden = head = None
    if split is not None:
        hidden, head = _final_hidden(model, split, input_ids, attention_mask, position_ids)
    if hidden is not None:
        rows = hidden[:, -t - 1:-1][valid]  # [N, H]: the states that predict each real response token
        vocab = _vocab_size(head, split)
        project = head
    else:
        logits = _full_logits(model, input_ids, attention_mask, position_ids, t)
        rows = logits[valid]  # [N, V] (fallback: the model's own logits are already materialised)
        vocab = rows.shape[-1]
        project = None
    per_chunk = max(1, int(chunk_tokens) if chunk_tokens else CHUNK_ELEMENTS // max(1, vocab))

    out_dtype = torch.float64 if rows.dtype == torch.float64 else torch.float32
    logp_pieces, ent_pieces = [], []
    track = torch.is_grad_enabled() and rows.requires_grad
    flat_targets = targets[valid]
    for start in range(0, rows.shape[0], per_chunk):
        chunk = rows[start:start + per_chunk]
        tgt = flat_targets[start:start + per_chunk]
        if track:
            holder: list = [] if entropy else None
            logp = checkpoint(_chunk_logp, project, chunk, tgt, temperature, holder, use_reentrant=False,
                              preserve_rng_state=False)
            if entropy:
                ent_pieces.append(holder[0])
        else:
            with torch.no_grad():
                holder = [] if entropy else None
                logp = _chunk_logp(project, chunk, tgt, temperature, holder)
                if entropy:
                    ent_pieces.append(holder[0])
        logp_pieces.append(logp)

    if logp_pieces:
        flat = torch.cat(logp_pieces).to(out_dtype)
        logp = flat.new_zeros(valid.shape).masked_scatter(valid, flat)
    else:  # no real response token: zeros that still reach every parameter (backward and DDP's reducer work)
        anchor = rows.sum() if project is None else project(hidden[:, -1:]).sum()
        logp = (anchor * 0).to(out_dtype).expand(valid.shape).clone()
    ent = None
    if entropy:
        with torch.no_grad():
            ent = torch.zeros(valid.shape, dtype=out_dtype, device=valid.device)
            if ent_pieces:
                ent.masked_scatter_(valid, torch.cat(ent_pieces).to(out_dtype))
    return logp, ent


def _chunk_logp(project, chunk: Tensor, targets: Tensor, temperature: float, entropy_out: list | None) -> Tensor:
    """log softmax(head(chunk) / temperature)[targets] for one chunk, at least float32.

    ``project`` is the LM head (None: ``chunk`` already holds logits). With ``entropy_out`` a list, the entropy
    of the chunk's distributions (no gradient) is appended on the first call only, not in the checkpoint's
    recomputation during backward.
    """
    import torch

    logits = chunk if project is None else project(chunk)
    # a plain Linear does not keep its output for backward, so that buffer may be reused for the gradient
    private = project is not None and type(project) is torch.nn.Linear
    logp, z, lse = _TokenLogSoftmax.apply(logits, targets, float(temperature), private)
    if entropy_out is not None and not entropy_out:
        with torch.no_grad():
            entropy_out.append(_entropy_rows(z, lse))
    return logp


def _entropy_rows(z: Tensor, lse: Tensor, parts: int = 8) -> Tensor:
    """H = lse - sum(softmax(z) z) per row, a few rows at a time (temporaries of 1/``parts`` of ``z``)."""
    import torch

    out = torch.empty_like(lse)
    step = max(1, -(-z.shape[0] // parts))
    for start in range(0, z.shape[0], step):
        block = z[start:start + step]
        probs = (block - lse[start:start + step].unsqueeze(-1)).exp_()
        out[start:start + step] = lse[start:start + step] - probs.mul_(block).sum(-1)
    return out


def _token_log_softmax_class():
    import torch

    class TokenLogSoftmax(torch.autograd.Function):
        """logp = z[target] - logsumexp(z), z = logits / T upcast to >= float32; memory-lean backward.

        Forward keeps z (one [n, V] buffer) and lse; backward turns that same buffer into the gradient in place,
        ``(onehot(target) - softmax(z)) * g / T``, so no second [n, V] float32 buffer is made (``torch.log_softmax``
        + ``gather`` would keep the log-softmax and build two more). Returns (logp, z, lse); z and lse carry no
        gradient and are only for the entropy, read before backward. Backward may run once (no retain_graph).
        """

        @staticmethod
        def forward(ctx, logits, targets, temperature, private):
            z = logits.float() if logits.dtype in (torch.float16, torch.bfloat16) else logits
            owned = z is not logits or private
            if temperature != 1.0:
                z, owned = z / temperature, True
            lse = _lean_logsumexp(z)
            logp = z.gather(-1, targets.unsqueeze(-1)).squeeze(-1) - lse
            ctx.save_for_backward(z, lse, targets)
            ctx.temperature, ctx.owned, ctx.in_dtype = temperature, owned, logits.dtype
            ctx.mark_non_differentiable(z, lse)
            return logp, z, lse

        @staticmethod
        def backward(ctx, grad_logp, _grad_z, _grad_lse):
            z, lse, targets = ctx.saved_tensors
            grad = z if ctx.owned else z.clone()
            g = grad_logp.to(grad.dtype).unsqueeze(-1)
            grad.sub_(lse.unsqueeze(-1)).exp_().mul_(-g)
            grad.scatter_add_(-1, targets.unsqueeze(-1), g)
            if ctx.temperature != 1.0:
                grad.div_(ctx.temperature)
            return grad.to(ctx.in_dtype), None, None, None

    return TokenLogSoftmax


def _lean_logsumexp(z: Tensor, parts: int = 8) -> Tensor:
    """logsumexp over the last dim of a 2-D ``z``, a few rows at a time (``torch.logsumexp`` makes two temporaries
    of the full size; here the temporary is at most 1/``parts`` of ``z``)."""
    import torch

    out = torch.empty(z.shape[0], dtype=z.dtype, device=z.device)
    step = max(1, -(-z.shape[0] // parts))
    for start in range(0, z.shape[0], step):
        block = z[start:start + step]
        peak = block.amax(dim=-1, keepdim=True)
        peak = torch.where(torch.isfinite(peak), peak, torch.zeros_like(peak))
        out[start:start + step] = (block - peak).exp_().sum(-1).log_().add_(peak.squeeze(-1))
    return out


class _LazyFunction:
    """Builds the autograd Function on first use (torch is imported lazily in this module)."""

    def __init__(self, factory):
        self.factory, self.cls = factory, None

    def apply(self, *args):
        if self.cls is None:
            self.cls = self.factory()
        return self.cls.apply(*args)


_TokenLogSoftmax = _LazyFunction(_token_log_softmax_class)


def _unwrapped(model):
    """The module inside DDP / DataParallel wrappers (FSDP2 modifies modules in place and needs nothing)."""
    import torch

    inner = model
    while isinstance(getattr(inner, "module", None), torch.nn.Module):
        inner = inner.module
    return inner


def _split_head(model):
    """(body, head) of an HF causal LM whose logits are ``head(body(...).last_hidden_state)``, else None."""
    inner = _unwrapped(model)
    get_head = getattr(inner, "get_output_embeddings", None)
    head = get_head() if callable(get_head) else None
    body = getattr(inner, "base_model", None)
    if head is None or body is None or body is inner:
        return None
    config = getattr(inner, "config", None)
    if config is not None and hasattr(config, "get_text_config"):
        config = config.get_text_config()
    for name in _LOGIT_TRANSFORMS:
        value = getattr(config, name, None)
        if value is not None and value != 1:
            return None
    return body, head


def _final_hidden(model, split, input_ids, attention_mask, position_ids):
    """(final hidden states [B, L, H], head), or (None, None) when the head cannot be split off this model.

    The model is called through its own (possibly wrapped) forward so DDP / FSDP hooks run; only the last
    position's logits are computed (``logits_to_keep=1``) and compared with ``head`` applied to the captured
    state there, which proves that the model's logits are exactly ``head(hidden)``.
    """
    import torch

    body, head = split
    captured: dict = {}

    def grab(_module, _args, output):
        state = getattr(output, "last_hidden_state", None)
        captured["h"] = state if state is not None else output[0]

    handle = body.register_forward_hook(grab)
    try:
        try:
            out = model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                        use_cache=False, logits_to_keep=1)
        except TypeError:  # an older or custom forward without logits_to_keep
            out = model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                        use_cache=False)
    finally:
        handle.remove()
    hidden = captured.get("h")
    logits = getattr(out, "logits", None)
    if hidden is None or logits is None or hidden.shape[:2] != input_ids.shape:
        _warn_fallback(model)
        return None, None
    with torch.no_grad():
        mine = head(hidden[:, -1:]).float()
        theirs = logits[:, -1:].float()
        loose = hidden.dtype in (torch.float16, torch.bfloat16) or theirs.dtype in (torch.float16, torch.bfloat16)
        tol = 1e-2 if loose else 1e-5
        same = mine.shape == theirs.shape and torch.allclose(mine, theirs, rtol=tol, atol=tol * (1 + float(theirs.abs().max())))
    del out, logits
    if not same:
        _warn_fallback(model)
        return None, None
    return hidden, head


def _full_logits(model, input_ids, attention_mask, position_ids, t: int):
    """The model's own logits predicting the last ``t`` tokens, [B, t, V] (the fallback path)."""
    try:
        out = model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids, use_cache=False,
                    logits_to_keep=t + 1)
    except TypeError:
        out = model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids, use_cache=False)
    logits = out.logits if hasattr(out, "logits") else out[0]
    return logits[:, -t - 1:-1]


def _vocab_size(head, split) -> int:
    size = getattr(head, "out_features", None)
    if size is None:
        weight = getattr(head, "weight", None)
        size = weight.shape[0] if weight is not None else getattr(getattr(_unwrapped(split[0]), "config", None),
                                                                  "vocab_size", 1 << 17)
    return int(size)


_WARNED: set = set()


def _warn_fallback(model) -> None:
    import warnings

    name = type(_unwrapped(model)).__name__
    if name not in _WARNED:
        _WARNED.add(name)
        warnings.warn(f"sequence_logprobs: the LM head of {name} could not be split from its body; using the "
                      f"model's full logits (memory grows with tokens x vocabulary)", RuntimeWarning, stacklevel=3)
