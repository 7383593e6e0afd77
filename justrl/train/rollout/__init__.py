"""Rollout engines: sample responses for prompts with the current policy.

``hf`` (transformers generate; CPU and the GPU fallback) and ``vllm`` (colocated on GPU). Both return
:class:`Rollouts`: response token ids (up to and including EOS, at most max_new_tokens) per request.
"""

from __future__ import annotations

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


def make_engine(config, model, tokenizer, device: str):
    """The rollout engine named by ``config.rollout_engine`` ("auto": vllm on GPU when installed, else hf)."""
    name = config.rollout_engine
    if name == "auto":
        import importlib.util

        name = "vllm" if device.startswith("cuda") and importlib.util.find_spec("vllm") else "hf"
    if name == "vllm":
        from justrl.train.rollout.vllm import VLLMEngine

        return VLLMEngine(config, model, tokenizer)
    from justrl.train.rollout.hf import HFEngine

    return HFEngine(model, tokenizer, device=device)
