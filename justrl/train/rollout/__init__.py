"""Rollout engines: sample responses for prompts with the current policy.

``hf`` (transformers generate; CPU and the GPU fallback) and ``vllm`` (colocated on GPU). Both return
:class:`Rollouts`: response token ids (up to and including EOS, at most max_new_tokens) per request.
Both take ``seeds`` (one per response, :func:`rollout_seeds`) so a resumed run draws the same samples.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass
class Rollouts:
    """Sampled responses, in request order (each prompt repeated ``n`` times, consecutively).

    ``truncated[i]`` is True when response i hit max_new_tokens without EOS. ``engine_logprobs`` are the
    engine's per-token log-probs of the sampled tokens when it reports them (vLLM), else None.
    """

    prompt_ids: list[list[int]]
    response_ids: list[list[int]]
    truncated: list[bool]
    engine_logprobs: list[list[float]] | None = None


def rollout_seeds(seed: int, step: int, prompt_indices: list[int], n: int) -> list[int]:
    """One sampling seed per response: sha256("seed|step|prompt|sample") mod 2**31, prompt-major.

    ``prompt_indices`` are the prompts' indices in the training set (not positions on a rank), so neither a
    resume nor the split over ranks changes which seed a sample gets.
    """
    out = []
    for index in prompt_indices:
        for sample in range(n):
            digest = hashlib.sha256(f"{int(seed)}|{int(step)}|{int(index)}|{sample}".encode()).digest()
            out.append(int.from_bytes(digest[:8], "big") % (1 << 31))
    return out


def resolve_engine_name(config, device: str) -> str:
    """``config.rollout_engine`` with "auto" decided: vllm on GPU when installed, else hf."""
    name = config.rollout_engine
    if name == "auto":
        import importlib.util

        name = "vllm" if device.startswith("cuda") and importlib.util.find_spec("vllm") else "hf"
    return name


def make_engine(config, model, tokenizer, device: str):
    """The rollout engine named by ``config.rollout_engine``; bf16 compute on GPU unless dtype=float32.

    Call ``engine.sync_weights()`` right after (every rank): the first rollout must see the current weights.
    """
    if resolve_engine_name(config, device) == "vllm":
        from justrl.train.rollout.vllm import VLLMEngine

        return VLLMEngine(config, model, tokenizer)
    from justrl.train.rollout.hf import HFEngine

    return HFEngine(model, tokenizer, device=device, bf16=config.dtype in ("auto", "bfloat16"))
