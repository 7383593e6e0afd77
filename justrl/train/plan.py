"""What a run would do, without loading a model: ``justrl-train --dry-run`` for the native engine.

Everything here is read from the resolved config, the training file's metadata and the model's
``config.json`` when it is available offline (a local folder, the Hugging Face cache, or the
architectures of the presets' models written below). Nothing is downloaded and no torch is imported.

The memory figure is an estimate per GPU of the trainer's own state (float32 parameters, gradients and
AdamW moments, the way the native trainer keeps them), activations of one micro-batch with gradient
checkpointing, and the one logits chunk of :func:`justrl.train.grpo.sequence_logprobs`; a colocated vLLM
engine takes its own ``gpu_memory_utilization`` share on top. It is a planning figure, not a measurement.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path

from justrl.train.config import RecipeConfig

GIB = 1024 ** 3

# Architectures of the presets' base models (facts from their published config.json files), so a dry
# run can estimate memory before anything is downloaded.
KNOWN_ARCHITECTURES: dict[str, dict] = {
    "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B": {
        "hidden_size": 1536, "num_hidden_layers": 28, "num_attention_heads": 12, "num_key_value_heads": 2,
        "intermediate_size": 8960, "vocab_size": 151936, "tie_word_embeddings": False},
    # the toy preset's model (justrl.train.toy.build_toy_model: justrl.evaluate.tiny, hidden 64, 2 layers)
    # (vocab_size is an upper bound: the tiny tokenizer's length)
    "toy": {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
            "intermediate_size": 128, "vocab_size": 512, "tie_word_embeddings": True},
}
LOGITS_CHUNK_TOKENS = 1024  # the order of sequence_logprobs' chunk; used only for the estimate


@dataclass(frozen=True)
class Architecture:
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int
    vocab: int
    tied: bool

    @property
    def parameters(self) -> int:
        """Qwen2-style decoder: embeddings, per-layer attention (q/k/v with bias, o) + gated MLP + 2 norms."""
        h, kv_dim = self.hidden, self.hidden // self.heads * self.kv_heads
        attention = h * h + h + 2 * (h * kv_dim + kv_dim) + h * h
        layer = attention + 3 * h * self.intermediate + 2 * h
        head = 0 if self.tied else self.vocab * h
        return self.vocab * h + self.layers * layer + h + head


def architecture(model: str) -> tuple[Architecture | None, str]:
    """(architecture, where it came from) for ``model``, or (None, why not), without any download."""
    data, source = None, ""
    path = Path(model).expanduser()
    if (path / "config.json").is_file():
        data, source = _read_json(path / "config.json"), f"{path / 'config.json'}"
    elif model in KNOWN_ARCHITECTURES:
        data = KNOWN_ARCHITECTURES[model]
        source = "justrl.train.toy" if model == "toy" else "the model's published config.json"
    else:
        cached = _hub_cache_config(model)
        if cached is not None:
            data, source = _read_json(cached), f"the Hugging Face cache ({cached})"
    if not data:
        return None, "model config not available offline"
    try:
        heads = int(data["num_attention_heads"])
        arch = Architecture(int(data["hidden_size"]), int(data["num_hidden_layers"]), heads,
                            int(data.get("num_key_value_heads") or heads), int(data["intermediate_size"]),
                            int(data["vocab_size"]), bool(data.get("tie_word_embeddings", False)))
    except (KeyError, TypeError, ValueError):
        return None, f"{source} lacks a decoder's sizes"
    return arch, source


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _hub_cache_config(model: str) -> Path | None:
    if model.count("/") != 1:
        return None
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    try:
        found = try_to_load_from_cache(model, "config.json")
    except Exception:  # noqa: BLE001 -- a malformed id is simply "not cached"
        return None
    return Path(found) if isinstance(found, str) else None


def micro_batch_tokens(config: RecipeConfig) -> int:
    """Tokens one micro-batch holds at most: the token budget when set, else rows x full length."""
    budget = getattr(config, "max_tokens_per_micro_batch", None)
    if budget:
        return int(budget)
    return config.micro_batch_responses * (config.max_prompt_tokens + config.max_response_tokens)


def memory_estimate(arch: Architecture, config: RecipeConfig, world_size: int = 1) -> dict[str, float]:
    """GiB per GPU by component (see the module docstring); ``world_size`` shards the state (FSDP2)."""
    tokens = micro_batch_tokens(config)
    state = arch.parameters * 16 / max(1, world_size)  # fp32 weights + grads + AdamW m and v
    compute_bytes = 2  # bf16 activations on GPU
    if config.gradient_checkpointing:
        # each layer keeps its input; one layer's full activations are recomputed at a time
        kept = tokens * arch.hidden * arch.layers * compute_bytes
        live = tokens * (10 * arch.hidden + 3 * arch.intermediate) * compute_bytes
    else:
        kept = tokens * (10 * arch.hidden + 3 * arch.intermediate) * compute_bytes * arch.layers
        live = 0
    logits = min(tokens, LOGITS_CHUNK_TOKENS) * arch.vocab * 4 * 3  # one fp32 chunk, its softmax, its grad
    return {"model_state": state / GIB, "activations": (kept + live) / GIB, "logits_chunk": logits / GIB,
            "total": (state + kept + live + logits) / GIB}


def count_prompts(config: RecipeConfig) -> tuple[int | None, str]:
    """(number of training rows, note) from the toy task or a local parquet file's metadata only."""
    source = config.train_data
    if source.startswith("toy:"):
        from justrl.train.toy import toy_records

        return len(toy_records(source.removeprefix("toy:"))), source
    path = Path(source).expanduser()
    if path.is_file():
        try:
            import pyarrow.parquet as pq

            return pq.ParquetFile(path).metadata.num_rows, str(path)
        except Exception as exc:  # noqa: BLE001 -- an unreadable file is reported, not raised, in a plan
            return None, f"{path} is not a readable parquet file ({type(exc).__name__})"
    return None, f"{source} (hub dataset: not read in a dry run)"


def describe_plan(config: RecipeConfig, *, world_size: int = 1) -> list[str]:
    """The lines ``--dry-run`` prints: every resolved key, then the run's shape and a memory estimate."""
    from justrl.train.presets import to_dict

    values = to_dict(config)
    width = max(len(f.name) for f in fields(RecipeConfig))
    lines = ["resolved config:"]
    lines += [f"  {name:<{width}} = {json.dumps(values[name])}" for name in values]
    responses = config.prompts_per_step * config.rollouts_per_prompt
    updates = config.prompts_per_step // config.mini_batch_prompts * config.ppo_epochs
    rows, source = count_prompts(config)
    lines.append("plan:")
    lines.append(f"  training rows      {rows if rows is not None else 'unknown'} ({source})")
    lines.append(f"  steps              {config.total_steps} rollout steps x {config.prompts_per_step} prompts x "
                 f"{config.rollouts_per_prompt} rollouts = {responses} responses per step")
    lines.append(f"  optimizer updates  {updates} per rollout step ({config.mini_batch_prompts} prompts per "
                 f"mini-batch), {updates * config.total_steps} in all")
    if rows:
        lines.append(f"  epochs             {config.total_steps * config.prompts_per_step / rows:.2f} over the rows")
    lines.append(f"  responses          up to {config.max_response_tokens} tokens; prompts over "
                 f"{config.max_prompt_tokens} tokens are dropped")
    lines.append(f"  micro-batch        up to {micro_batch_tokens(config)} tokens")
    arch, where = architecture(config.model)
    if arch is None:
        lines.append(f"  memory             unknown ({where})")
    else:
        est = memory_estimate(arch, config, world_size)
        size = f"{arch.parameters / 1e9:.3f} B" if arch.parameters >= 1e8 else f"{arch.parameters / 1e6:.2f} M"
        lines.append(f"  model              {size} parameters (from {where})")
        lines.append(f"  memory per GPU     ~{est['total']:.1f} GiB (model state {est['model_state']:.1f}, "
                     f"activations {est['activations']:.1f}, logits chunk {est['logits_chunk']:.2f}; "
                     f"world size {world_size}; a colocated vLLM engine adds its own share)")
    return lines


__all__ = ["Architecture", "architecture", "count_prompts", "describe_plan", "memory_estimate",
           "micro_batch_tokens"]
