"""The JustRL recipe as one dataclass. Defaults are the paper's recipe (DESIGN.md §5).

Owned by the trainer; the veRL hand-off (``justrl.train.verl``) maps every field here to a veRL
override, so a new knob must be added in both places (a golden test checks that). Every field carries
``metadata["help"]``: its one-line meaning (units included), listed by ``justrl-train --help``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class TrainError(ValueError):
    """A user-caused training error (bad config, missing data, offline); the CLI prints it on one line."""


BOXED_SUFFIX = "\n\nPlease reason step by step, and put your final answer within \\boxed{}."
PROMPT_FORMATS = ("justrl", "problem")


def knob(default: Any, help: str) -> Any:
    """A dataclass field with ``default`` (mutable defaults copied per instance) and its one-line help."""
    if isinstance(default, (dict, list)):
        return field(default_factory=lambda: type(default)(default), metadata={"help": help})
    return field(default=default, metadata={"help": help})


@dataclass
class RecipeConfig:
    """Every knob of a GRPO run. Units: lengths in tokens, lr per optimizer step, steps are rollout steps."""

    # model and data
    model: str = knob("deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B",
                      "policy to train: hub id, local folder, or 'toy' (a tiny model built locally)")
    train_data: str = knob("BytedTsinghua-SIA/DAPO-Math-17k",
                           "training prompts: parquet path (veRL schema), hub dataset id, or 'toy:addition'")
    prompt_format: str = knob("justrl", "'justrl': the dataset's prompt content as it is + prompt_suffix (JustRL's "
                              "use_boxed_suffix_prompt); 'problem': DAPO's 'Answer:' wrapper stripped first")
    deduplicate: bool = knob(False, "drop repeated problems and cycle epochs (False: JustRL's order, the file "
                             "read as it is, e.g. DAPO-Math-17k's 1.79M rows in one shuffled epoch)")
    prompt_suffix: str = knob(BOXED_SUFFIX, "text appended to every training prompt (the boxed instruction)")
    use_chat_template: bool = knob(True, "wrap each prompt in the model's chat template as one user message")
    max_prompt_tokens: int = knob(1024, "prompts longer than this many tokens are filtered out (count reported)")
    max_response_tokens: int = knob(15360, "most new tokens per rollout response")

    # rollout
    prompts_per_step: int = knob(256, "prompts per rollout step (the global batch)")
    rollouts_per_prompt: int = knob(8, "responses sampled per prompt (the GRPO group size)")
    temperature: float = knob(1.0, "rollout sampling temperature (also applied to the trainer's log-probs)")
    top_p: float = knob(1.0, "rollout nucleus sampling threshold")

    # optimisation
    mini_batch_prompts: int = knob(64, "prompts per optimizer step (64 x 8 = 512 responses)")
    ppo_epochs: int = knob(1, "passes over each rollout batch (1: 256/64 = 4 optimizer steps per rollout step)")
    micro_batch_responses: int = knob(8, "responses per forward/backward when max_tokens_per_micro_batch is 0 "
                                      "(memory only, not semantics)")
    max_tokens_per_micro_batch: int = knob(32768, "token budget per micro-batch per process (prompt + response, "
                                           "each micro-batch padded to its own longest row); 0: use "
                                           "micro_batch_responses rows instead")
    lr: float = knob(1e-6, "AdamW learning rate after warm-up")
    warmup_steps: int = knob(10, "linear lr warm-up from 0 over this many rollout steps, then constant "
                             "(0: the full lr from step 1)")
    weight_decay: float = knob(0.1, "AdamW decoupled weight decay")
    adam_betas: tuple[float, float] = knob((0.9, 0.999), "AdamW betas (beta1,beta2)")
    grad_clip: float = knob(1.0, "clip the global gradient norm to this value")
    total_steps: int = knob(4000, "rollout steps of the whole run")

    # GRPO loss
    adv_eps: float = knob(1e-6, "epsilon in (r - mean) / (unbiased std + eps)")
    clip_low: float = knob(0.2, "PPO ratio clip below: 1 - clip_low")
    clip_high: float = knob(0.28, "PPO ratio clip above: 1 + clip_high (clip-higher)")
    dual_clip: float = knob(10.0, "dual clip c: the loss of a token with A < 0 is capped at -A c")
    loss_aggregation: str = knob("token-mean", "'token-mean' over each mini-batch, or 'verl-0.4-micro' (veRL "
                                 "0.4's per-micro-batch weighting, for exact comparisons)")
    kl_coef: float = knob(0.0, "KL penalty against a reference model; JustRL uses none (only 0 is supported)")
    entropy_coef: float = knob(0.0, "entropy bonus; JustRL uses none (only 0 is supported natively)")

    # reward and ablations
    reward_mode: str = knob("strict", "verifier behind the reward: 'strict' (+1/-1) or 'lenient' (the ablation)")
    overlong_penalty: bool = knob(False, "add DAPO's soft overlong penalty (the ablation)")
    overlong_buffer: int = knob(4096, "overlong penalty ramp: the last this many tokens before max_response_tokens")
    overlong_factor: float = knob(1.0, "overlong penalty at max_response_tokens (-factor)")

    # validation and checkpoints
    val_benchmarks: tuple[str, ...] = knob(("AIME24", "AIME25", "AMC23"), "benchmarks validated on "
                                           "(comma-separated; empty: no validation)")
    val_samples: int = knob(32, "samples per validation problem (logged as val/<BENCH>/avg@<n>)")
    val_temperature: float = knob(0.7, "validation sampling temperature")
    val_top_p: float = knob(0.9, "validation nucleus sampling threshold")
    val_max_tokens: int = knob(31744, "most new tokens per validation response (JustRL: 31,744)")
    val_before_train: bool = knob(True, "validate once before the first step (logged as step 0)")
    val_every: int = knob(50, "validate every this many rollout steps (0: never during training)")
    save_every: int = knob(50, "checkpoint every this many rollout steps (0: only at the end)")

    # runtime
    engine: str = knob("native", "'native' (this trainer) or 'verl' (hand the recipe to veRL)")
    rollout_engine: str = knob("auto", "'vllm', 'hf' or 'auto' (vllm on GPU when installed, else hf)")
    vllm_gpu_memory_utilization: float = knob(0.35, "share of GPU memory the colocated vLLM engine may use "
                                              "(weights + KV cache; the trainer keeps the rest)")
    vllm_sleep_level: int = knob(1, "vLLM sleep level between rollouts: 1 = weights to CPU RAM, KV cache dropped "
                                 "(safe with uneven validation chunks); 2 = weights dropped too (TRL's; re-pushed "
                                 "inside generate, a collective under FSDP2)")
    dtype: str = knob("auto", "compute dtype: 'auto' (bfloat16 on GPU, float32 on CPU), 'bfloat16', 'float32'")
    gradient_checkpointing: bool = knob(True, "recompute activations in backward (GPU only)")
    seed: int = knob(1, "seed of the data order, the sampling seeds and the torch generators")
    warm_start_steps: int = knob(0, "supervised warm-up steps on the task's gold answers before GRPO (toy only)")
    warm_start_lr: float = knob(1e-3, "learning rate of that warm start")
    extra: dict[str, str] = knob({}, "free-form notes saved with the run (JSON object)")


def field_help() -> dict[str, str]:
    """RecipeConfig field name -> its one-line help."""
    from dataclasses import fields

    return {f.name: f.metadata["help"] for f in fields(RecipeConfig)}
