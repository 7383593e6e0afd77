"""The model's context window, and the check that every request fits in it before anything is generated.

A sample needs ``prompt tokens + max_tokens`` positions. Past the model's window a transformers model
silently degrades and vLLM V1 stops the request at ``max_model_len`` with ``finish_reason == "length"``
(vllm 0.8.5 ``v1/engine/processor.py`` only rejects prompts that are themselves too long), so a run
against a short-context model would spend hours producing truncated samples. The check turns that into
one line and exit status 2 before any model is loaded onto a GPU.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from justrl.evaluate.backends import BackendError

# The keys vLLM reads, in its order, taking the smallest present (vllm 0.8.5 config.py
# ``_get_and_verify_max_len``; the same list in 0.33.0 config/model.py).
_LENGTH_KEYS = ("max_position_embeddings", "n_positions", "max_seq_len", "seq_length", "model_max_length",
                "max_target_positions", "max_sequence_length", "max_seq_length", "seq_len")


@dataclass(frozen=True)
class ContextLimit:
    """``tokens`` positions the model accepts; ``source`` names where the number came from."""

    tokens: int
    source: str


def model_context_limit(config, max_model_len: int | None = None) -> ContextLimit | None:
    """The context window of a Hugging Face ``config`` (object or dict) as vLLM derives it: the smallest
    of the length keys above (``model_max_length`` wins when present), times the RoPE scaling factor
    except for su/longrope/llama3 (yarn scales ``original_max_position_embeddings``). An explicit
    ``max_model_len`` (vLLM's ``--max-model-len``) replaces it. None when the config names no length."""
    if max_model_len:
        return ContextLimit(int(max_model_len), f"--max-model-len {int(max_model_len)}")

    def get(key):
        return config.get(key) if isinstance(config, dict) else getattr(config, key, None)

    best, best_key = None, None
    for key in _LENGTH_KEYS:
        value = get(key)
        if isinstance(value, int) and value > 0 and (best is None or value < best):
            best, best_key = value, key
    forced = get("model_max_length")
    if isinstance(forced, int) and forced > 0:
        best, best_key = forced, "model_max_length"
    if best is None:
        return None
    rope = get("rope_scaling") or get("rope_parameters")
    if isinstance(rope, dict):
        kind = rope.get("rope_type") or rope.get("type") or "default"
        factor = rope.get("factor") or 1.0
        if kind not in ("su", "longrope", "llama3", "default") and factor != 1.0:
            base = rope.get("original_max_position_embeddings", best) if kind == "yarn" else best
            return ContextLimit(int(base * factor), f"{best_key}={best} with {kind} RoPE scaling x{factor}")
    return ContextLimit(int(best), f"{best_key}={best}")


def check_context(lengths: Iterable[tuple[int, int]], limit: ContextLimit | None, *, model: str) -> None:
    """Raise :class:`BackendError` (one line) unless every ``(prompt tokens, max_tokens)`` pair fits in
    ``limit``. The message names the model's limit, the longest prompt and ``--max-tokens``."""
    if limit is None:
        return
    worst = None
    for prompt_tokens, max_tokens in lengths:
        if prompt_tokens + max_tokens > limit.tokens and (worst is None or prompt_tokens + max_tokens > sum(worst)):
            worst = (prompt_tokens, max_tokens)
    if worst is None:
        return
    prompt_tokens, max_tokens = worst
    room = limit.tokens - prompt_tokens
    fix = (f"pass --max-tokens {room} or less" if room > 0 else "the prompt alone does not fit; use a longer-context model")
    raise BackendError(f"model {model} has a context of {limit.tokens} tokens ({limit.source}) but a prompt of "
                       f"{prompt_tokens} tokens + --max-tokens {max_tokens} needs {prompt_tokens + max_tokens}; {fix}")
