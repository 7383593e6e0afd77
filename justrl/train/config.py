"""The JustRL recipe as one dataclass. Defaults are the paper's recipe (DESIGN.md §5).

Owned by the trainer; the veRL hand-off (``justrl.train.verl``) maps every field here to a veRL
override, so a new knob must be added in both places (a golden test checks that).
"""

from __future__ import annotations

from dataclasses import dataclass, field


class TrainError(ValueError):
    """A user-caused training error (bad config, missing data, offline); the CLI prints it on one line."""


BOXED_SUFFIX = "\n\nPlease reason step by step, and put your final answer within \\boxed{}."


@dataclass
class RecipeConfig:
    """Every knob of a GRPO run. Units: lengths in tokens, lr per optimizer step, steps are rollout steps."""

    # model and data
    model: str = "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B"  # hub id, local folder, or "toy" (built locally)
    train_data: str = "BytedTsinghua-SIA/DAPO-Math-17k"  # parquet path, hub dataset id, or "toy:addition"
    prompt_suffix: str = BOXED_SUFFIX
    use_chat_template: bool = True
    max_prompt_tokens: int = 1024  # longer prompts are filtered out (count reported)
    max_response_tokens: int = 15360

    # rollout
    prompts_per_step: int = 256
    rollouts_per_prompt: int = 8
    temperature: float = 1.0
    top_p: float = 1.0

    # optimisation
    mini_batch_prompts: int = 64  # 64 prompts x 8 = 512 responses per optimizer step
    ppo_epochs: int = 1  # one pass over the rollout batch -> 256/64 = 4 optimizer steps
    micro_batch_responses: int = 8  # gradient accumulation unit (memory only, not semantics)
    lr: float = 1e-6
    warmup_steps: int = 10  # linear warm-up from 0 over this many rollout steps, then constant
    weight_decay: float = 0.1
    adam_betas: tuple[float, float] = (0.9, 0.999)
    grad_clip: float = 1.0
    total_steps: int = 4000

    # GRPO loss
    adv_eps: float = 1e-6
    clip_low: float = 0.2
    clip_high: float = 0.28
    dual_clip: float = 10.0
    loss_aggregation: str = "token-mean"  # or "verl-0.4-micro" for exact veRL 0.4 comparisons
    kl_coef: float = 0.0  # JustRL: no KL, no reference model
    entropy_coef: float = 0.0  # JustRL: no entropy bonus

    # reward and ablations
    reward_mode: str = "strict"  # "lenient" is the paper's ablation
    overlong_penalty: bool = False  # DAPO overlong shaping ablation
    overlong_buffer: int = 4096
    overlong_factor: float = 1.0

    # validation and checkpoints
    val_benchmarks: tuple[str, ...] = ("AIME24", "AIME25", "AMC23")
    val_samples: int = 32
    val_temperature: float = 0.7
    val_top_p: float = 0.9
    val_every: int = 50
    save_every: int = 50

    # runtime
    engine: str = "native"  # "native" or "verl"
    rollout_engine: str = "auto"  # "vllm", "hf" or "auto" (vllm on GPU when installed, else hf)
    dtype: str = "auto"  # "bfloat16" on GPU, "float32" on CPU when auto
    gradient_checkpointing: bool = True  # GPU only
    seed: int = 1
    warm_start_steps: int = 0  # supervised warm-up steps on the task's gold answers before GRPO (toy only)
    warm_start_lr: float = 1e-3
    extra: dict[str, str] = field(default_factory=dict)  # free-form notes, saved with the run
