"""Hand the JustRL recipe to veRL (``python3 -m verl.trainer.main_ppo``) for multi-node runs.

Three jobs, each a small function:

* :func:`export_data` writes the training prompts and the validation benchmarks as parquet in veRL's
  RLHF schema (``data_source``, ``prompt`` as chat messages ending in the boxed suffix, ``ability``,
  ``reward_model`` = {"ground_truth", "style": "rule"}, ``extra_info`` = {"index", "split"}).
* :func:`recipe_overrides` maps every :class:`RecipeConfig` field to the Hydra overrides of the veRL
  version in :data:`VERL_VERSION` (or says, in :data:`NOT_OVERRIDES`, why a field needs no override),
  with justrl's verifier as ``reward.custom_reward_function`` (file path + function name).
* :func:`launch` prints the command and writes it to ``RUN/verl_command.sh`` (``dry_run``), or checks
  that veRL and a Ray cluster are there, runs the command, streams its output into
  ``RUN/verl_console.log`` and finally imports the logged metrics into ``RUN/metrics.jsonl``.

Key names are those of veRL 0.9.1's ``verl/trainer/config/_generated_ppo_trainer.yaml``; the golden test
``tests/train/test_verl.py`` checks them against that schema. Older veRL versions name some keys
differently (``docs/train-verl.md`` lists them).
"""

from __future__ import annotations

import importlib.util
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from justrl.train.config import RecipeConfig, TrainError

VERL_VERSION = "0.9.1"
ENTRYPOINT = ("python3", "-m", "verl.trainer.main_ppo")
COMMAND_FILE = "verl_command.sh"
CONSOLE_LOG = "verl_console.log"
TRAIN_FILE = "verl_train.parquet"
VAL_FILE = "verl_val.parquet"

# veRL packs micro-batches by tokens (JustRL's own settings): this many tokens per GPU per forward.
TOKENS_PER_GPU = 32768
GPU_MEMORY_UTILIZATION = 0.85

# Values veRL hard-codes: a RecipeConfig that differs cannot be reproduced by veRL and is refused.
VERL_BUILT_IN = {
    "adv_eps": 1e-6,  # compute_grpo_outcome_advantage(epsilon=1e-6), unbiased torch.std
    "kl_coef": 0.0,  # the hand-off covers the recipe's "no KL, no reference model" only
    "loss_aggregation": "token-mean",  # global token-mean; veRL 0.4's micro-batch weighting is gone
    "use_chat_template": True,  # veRL always applies the model's chat template to `prompt`
    "warm_start_steps": 0,  # veRL has no supervised warm start (the toy preset's)
}

# RecipeConfig fields that map to no override, with the reason (the golden test requires one or the other).
NOT_OVERRIDES: dict[str, str] = {
    "prompt_suffix": "export: appended to every question in the exported train/val parquet prompts",
    "use_chat_template": "export: prompts are chat messages and veRL always applies the chat template",
    "micro_batch_responses": "native-only: veRL packs micro-batches by tokens "
                             "(use_dynamic_bsz, max_tokens_per_micro_batch per GPU), memory only",
    "deduplicate": "export: the exported train parquet is deduplicated or kept as it is",
    "prompt_format": "export: decides the prompt text written to the exported train parquet",
    "val_max_tokens": "veRL 0.9.1's rollout.val_kwargs has no max_new_tokens (JustRL's fork added it); veRL "
                      "validates up to data.max_response_length",
    "vllm_sleep_level": "native-only: how the colocated engine sleeps between rollouts; veRL manages its own",
    "vllm_gpu_memory_utilization": "native-only: the colocated engine beside a resident trainer; veRL's hybrid "
                                   f"engine offloads the trainer and uses {GPU_MEMORY_UTILIZATION}",
    "adv_eps": "veRL built-in: GRPO advantage epsilon is fixed at 1e-6 (other values refused)",
    "warm_start_steps": "native-only: supervised warm start of the toy preset; veRL has none (refused when > 0)",
    "warm_start_lr": "native-only: learning rate of that warm start",
    "engine": "native-only: selects this hand-off",
    "extra": "native-only: free-form notes saved with the run",
}


class VerlError(TrainError):
    """The recipe cannot be handed to veRL, or veRL/Ray is not usable here. One line: what, and what to do."""


@dataclass(frozen=True)
class Override:
    """One Hydra override ``key=value``; ``add`` renders ``+key=value`` (a key veRL's schema lacks)."""

    key: str
    value: Any
    source: str  # the RecipeConfig field it encodes, or "fixed"/"launch" for settings of the hand-off itself
    add: bool = False

    def render(self) -> str:
        return f"{'+' if self.add else ''}{self.key}={hydra_value(self.value)}"


_PLAIN = re.compile(r"[A-Za-z0-9_./~@+-]+")
_NUMBER_LIKE = re.compile(r"[-+]?(\d[\d_]*\.?\d*|\.\d+)([eE][-+]?\d+)?|[-+]?(inf|nan)", re.IGNORECASE)
_KEYWORDS = {"true", "false", "null", "none"}


def hydra_value(value: Any) -> str:
    """Render a Python value in Hydra's override grammar (strings quoted only when needed)."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise VerlError(f"cannot pass the non-finite value {value} to veRL")
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(hydra_value(v) for v in value) + "]"
    text = str(value)
    if _PLAIN.fullmatch(text) and not _NUMBER_LIKE.fullmatch(text) and text.lower() not in _KEYWORDS:
        return text
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def reward_file() -> Path:
    """Installed path of justrl's veRL reward adapter (loaded by veRL by file path)."""
    spec = importlib.util.find_spec("justrl.verify.verl_reward")
    if spec is None or spec.origin is None:
        raise VerlError("justrl.verify.verl_reward is missing from this installation; reinstall justrl")
    return Path(spec.origin).resolve()


def reward_function(config: RecipeConfig) -> str:
    """Name of the function in :func:`reward_file` that implements ``config.reward_mode``."""
    names = {"strict": "compute_score", "lenient": "compute_score_lenient"}
    if config.reward_mode not in names:
        raise VerlError(f"reward_mode {config.reward_mode!r} has no veRL reward function; use strict or lenient")
    return names[config.reward_mode]


def check_supported(config: RecipeConfig) -> None:
    """Refuse settings veRL cannot reproduce (each message names the field and the supported value)."""
    for name, value in VERL_BUILT_IN.items():
        if getattr(config, name) != value:
            raise VerlError(f"{name}={getattr(config, name)!r} cannot be handed to veRL {VERL_VERSION} "
                            f"(it supports {value!r} only); use --engine native or set {name}={value!r}")
    reward_function(config)
    if config.model == "toy":
        raise VerlError("model=toy is built locally by the native trainer; veRL needs a hub id or a model folder")
    if config.rollout_engine not in ("auto", "vllm"):
        raise VerlError(f"rollout_engine={config.rollout_engine!r}: veRL rolls out with vLLM; "
                        "set rollout_engine=vllm (or auto)")
    if config.prompts_per_step % config.mini_batch_prompts:
        raise VerlError(f"prompts_per_step={config.prompts_per_step} is not a multiple of "
                        f"mini_batch_prompts={config.mini_batch_prompts}, which veRL requires")
    if config.overlong_penalty and not 0 < config.overlong_buffer <= config.max_response_tokens:
        raise VerlError(f"overlong_buffer={config.overlong_buffer} must be in 1..max_response_tokens "
                        f"({config.max_response_tokens}) for veRL's DAPO reward manager")


def check_topology(nnodes: int, gpus_per_node: int) -> None:
    if nnodes < 1 or gpus_per_node < 1:
        raise VerlError(f"--nnodes ({nnodes}) and --gpus-per-node ({gpus_per_node}) must be at least 1")


def recipe_overrides(config: RecipeConfig, *, train_file: str | Path, val_file: str | Path,
                     output_dir: str | Path, nnodes: int, gpus_per_node: int,
                     reward_path: str | Path | None = None) -> list[Override]:
    """The veRL overrides that run ``config``; paths are used as given (make them absolute for Ray)."""
    check_supported(config)
    check_topology(nnodes, gpus_per_node)
    c = config
    run = Path(output_dir)
    validate = bool(c.val_benchmarks) and c.val_every > 0  # val_every <= 0: no validation, as natively
    actor, rollout, optim = "actor_rollout_ref.actor", "actor_rollout_ref.rollout", "actor_rollout_ref.actor.optim"
    overlong = "reward.reward_kwargs.overlong_buffer_cfg"
    o = Override
    return [
        # algorithm: GRPO outcome advantages, no KL anywhere
        o("algorithm.adv_estimator", "grpo", "fixed"),
        o("algorithm.norm_adv_by_std_in_grpo", True, "fixed"),
        o("algorithm.use_kl_in_reward", False, "kl_coef"),
        o("algorithm.kl_ctrl.kl_coef", c.kl_coef, "kl_coef"),
        o(f"{actor}.use_kl_loss", False, "kl_coef"),
        o(f"{actor}.kl_loss_coef", c.kl_coef, "kl_coef"),
        o(f"{actor}.entropy_coeff", c.entropy_coef, "entropy_coef"),
        # data
        o("data.train_files", str(train_file), "train_data"),
        o("data.val_files", str(val_file), "val_benchmarks"),
        o("data.prompt_key", "prompt", "fixed"),
        o("data.train_batch_size", c.prompts_per_step, "prompts_per_step"),
        o("data.max_prompt_length", c.max_prompt_tokens, "max_prompt_tokens"),
        o("data.filter_overlong_prompts", True, "max_prompt_tokens"),
        o("data.truncation", "error", "max_prompt_tokens"),
        o("data.max_response_length", c.max_response_tokens, "max_response_tokens"),
        o("data.seed", c.seed, "seed"),
        # model
        o("actor_rollout_ref.model.path", c.model, "model"),
        o("actor_rollout_ref.model.use_remove_padding", True, "fixed"),
        o("actor_rollout_ref.model.enable_gradient_checkpointing", c.gradient_checkpointing,
          "gradient_checkpointing"),
        # policy update
        o(f"{actor}.ppo_mini_batch_size", c.mini_batch_prompts, "mini_batch_prompts"),
        o(f"{actor}.ppo_epochs", c.ppo_epochs, "ppo_epochs"),
        o(f"{actor}.use_dynamic_bsz", True, "fixed"),
        o(f"{actor}.ppo_max_token_len_per_gpu",
          max(c.max_tokens_per_micro_batch or TOKENS_PER_GPU, c.max_prompt_tokens + c.max_response_tokens),
          "max_tokens_per_micro_batch"),
        o(f"{actor}.clip_ratio_low", c.clip_low, "clip_low"),
        o(f"{actor}.clip_ratio_high", c.clip_high, "clip_high"),
        o(f"{actor}.clip_ratio_c", c.dual_clip, "dual_clip"),
        o(f"{actor}.policy_loss.loss_mode", "vanilla", "fixed"),
        o(f"{actor}.loss_agg_mode", c.loss_aggregation, "loss_aggregation"),
        o(f"{optim}.lr", c.lr, "lr"),
        o(f"{optim}.lr_warmup_steps", c.warmup_steps, "warmup_steps"),
        o(f"{optim}.lr_scheduler_type", "constant", "warmup_steps"),
        o(f"{optim}.weight_decay", c.weight_decay, "weight_decay"),
        o(f"{optim}.betas", list(c.adam_betas), "adam_betas"),
        o(f"{optim}.clip_grad", c.grad_clip, "grad_clip"),
        # rollout
        o(f"{rollout}.name", "vllm", "rollout_engine"),
        o(f"{rollout}.dtype", "bfloat16" if c.dtype == "auto" else c.dtype, "dtype"),
        o(f"{rollout}.n", c.rollouts_per_prompt, "rollouts_per_prompt"),
        o(f"{rollout}.temperature", c.temperature, "temperature"),
        o(f"{rollout}.top_p", c.top_p, "top_p"),
        o(f"{rollout}.top_k", -1, "fixed"),
        o(f"{rollout}.seed", c.seed, "seed"),
        o(f"{rollout}.tensor_model_parallel_size", 1, "fixed"),
        o(f"{rollout}.gpu_memory_utilization", GPU_MEMORY_UTILIZATION, "fixed"),
        o(f"{rollout}.max_num_batched_tokens", TOKENS_PER_GPU, "fixed"),
        o(f"{rollout}.val_kwargs.n", c.val_samples, "val_samples"),
        o(f"{rollout}.val_kwargs.temperature", c.val_temperature, "val_temperature"),
        o(f"{rollout}.val_kwargs.top_p", c.val_top_p, "val_top_p"),
        o(f"{rollout}.val_kwargs.top_k", -1, "fixed"),
        o(f"{rollout}.val_kwargs.do_sample", True, "fixed"),
        # reward: justrl's verifier through the DAPO reward manager (as JustRL ran it)
        o("reward.custom_reward_function.path", str(reward_path or reward_file()), "reward_mode"),
        o("reward.custom_reward_function.name", reward_function(c), "reward_mode"),
        o("reward.reward_manager.name", "dapo", "fixed"),
        o(f"{overlong}.enable", c.overlong_penalty, "overlong_penalty", add=True),
        o(f"{overlong}.len", c.overlong_buffer, "overlong_buffer", add=True),
        o(f"{overlong}.penalty_factor", c.overlong_factor, "overlong_factor", add=True),
        o(f"{overlong}.log", False, "fixed", add=True),
        o("reward.reward_kwargs.max_resp_len", c.max_response_tokens, "max_response_tokens", add=True),
        # trainer
        o("trainer.total_training_steps", c.total_steps, "total_steps"),
        # veRL stops at whichever comes first, epochs or steps: let the step count decide
        o("trainer.total_epochs", c.total_steps, "total_steps"),
        o("trainer.save_freq", c.save_every if c.save_every > 0 else -1, "save_every"),
        o("trainer.test_freq", c.val_every if validate else -1, "val_every"),
        o("trainer.val_before_train", validate and c.val_before_train, "val_before_train"),
        o("trainer.critic_warmup", 0, "fixed"),
        o("trainer.logger", ["console"], "launch"),
        o("trainer.project_name", "justrl", "launch"),
        o("trainer.experiment_name", run.name or "run", "launch"),
        o("trainer.default_local_dir", str(run / "checkpoints"), "launch"),
        o("trainer.nnodes", nnodes, "launch"),
        o("trainer.n_gpus_per_node", gpus_per_node, "launch"),
    ]


def build_command(overrides: list[Override], python: str = ENTRYPOINT[0]) -> list[str]:
    """argv of the veRL launch: ``python -m verl.trainer.main_ppo key=value ...``."""
    return [python, *ENTRYPOINT[1:], *(ov.render() for ov in overrides)]


def format_command(argv: list[str]) -> str:
    """Shell-quoted, one override per line (copy-pasteable into bash)."""
    head = " ".join(shlex.quote(a) for a in argv[:3])
    return " \\\n    ".join([head, *(shlex.quote(a) for a in argv[3:])])


# ----------------------------------------------------------------------------------------------- data

def _verl_row(index: int, split: str, data_source: str, messages: list[dict], gold: str) -> dict:
    return {
        "data_source": data_source,
        "prompt": [{"role": str(m["role"]), "content": str(m["content"])} for m in messages],
        "ability": "math",
        "reward_model": {"ground_truth": str(gold), "style": "rule"},
        "extra_info": {"index": index, "split": split},
    }


def _write_parquet(rows: list[dict], path: Path) -> None:
    """Write rows atomically (temp file beside ``path``, then rename)."""
    import pandas as pd

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        pd.DataFrame(rows).to_parquet(tmp, index=False)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; Ray workers of the same cluster read it
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def train_rows(config: RecipeConfig, *, offline: bool | None = None) -> list[dict]:
    """The training prompts in veRL's schema, in ``prompt_format``, deduplicated when ``deduplicate`` (DAPO-Math-17k repeats
    each problem; veRL reshuffles every epoch instead). ``offline`` None: HF_HUB_OFFLINE decides."""
    from justrl.train.data import build_messages, deduplicate, load_train_records

    records = load_train_records(config.train_data, offline=offline, prompt_format=config.prompt_format)
    records = deduplicate(records) if config.deduplicate else records
    default_source = Path(config.train_data).stem if Path(config.train_data).suffix else config.train_data
    return [_verl_row(i, "train", str(r.meta.get("data_source") or default_source),
                      build_messages(r.question, config.prompt_suffix), r.gold)
            for i, r in enumerate(records)]


def val_rows(config: RecipeConfig, *, data_dir: str | Path | None = None, offline: bool | None = None) -> list[dict]:
    """The validation benchmarks in veRL's schema; ``data_source`` is the benchmark name (veRL groups by it).

    ``offline`` None: HF_HUB_OFFLINE decides (as for the training data)."""
    from justrl.benchmarks import load_benchmark
    from justrl.train.data import _offline, build_messages

    rows: list[dict] = []
    for name in config.val_benchmarks:
        for problem in load_benchmark(name, data_dir=data_dir, offline=_offline() if offline is None else offline,
                                      progress=False):
            rows.append(_verl_row(len(rows), "test", name, build_messages(problem.question, config.prompt_suffix),
                                  problem.gold))
    return rows


def export_data(config: RecipeConfig, output_dir: str | Path, *, data_dir: str | Path | None = None,
                offline: bool | None = None) -> tuple[Path, Path]:
    """Write ``RUN/verl_train.parquet`` and ``RUN/verl_val.parquet``; returns their absolute paths.

    Without validation benchmarks the training file doubles as ``val_files`` (veRL needs one) and
    validation is switched off by the overrides.
    """
    run = Path(output_dir).resolve()
    train_path, val_path = run / TRAIN_FILE, run / VAL_FILE
    rows = train_rows(config, offline=offline)
    if not rows:
        raise VerlError(f"{config.train_data} holds no training prompts")
    _write_parquet(rows, train_path)
    if not config.val_benchmarks:
        return train_path, train_path
    _write_parquet(val_rows(config, data_dir=data_dir, offline=offline), val_path)
    return train_path, val_path


# --------------------------------------------------------------------------------------------- launch

def write_command_file(argv: list[str], path: Path, nnodes: int) -> None:
    """Write the launch command as an executable bash script (atomically)."""
    text = (
        "#!/usr/bin/env bash\n"
        f"# JustRL recipe on veRL {VERL_VERSION}, written by `justrl-train --engine verl`.\n"
        f"# Run it on the Ray head node of a running cluster ({nnodes} node(s)); justrl must be installed\n"
        "# on every node (the reward function is loaded there by file path).\n"
        "set -euo pipefail\n"
        f"{format_command(argv)}\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(tmp, 0o755)
    os.replace(tmp, path)


def check_environment() -> None:
    """veRL must be importable and a Ray cluster reachable (``ray status``), else :class:`VerlError`."""
    if importlib.util.find_spec("verl") is None:
        raise VerlError(f"veRL is not installed in this environment: pip install 'verl[vllm]=={VERL_VERSION}' "
                        "(or use --dry-run and run the printed command where veRL is installed)")
    ray = shutil.which("ray")
    if ray is None:
        raise VerlError("the `ray` command is not on PATH: install veRL's requirements (pip install 'ray[default]')")
    try:
        status = subprocess.run([ray, "status"], capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        status = None
    if status is None or status.returncode != 0:
        raise VerlError("no Ray cluster is reachable (`ray status` failed): run `ray start --head` on the head "
                        "node and `ray start --address=HEAD_IP:6379` on the others, or set RAY_ADDRESS")


def installed_verl_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("verl")
    except PackageNotFoundError:
        return None


def stream(argv: list[str], log_path: Path) -> int:
    """Run ``argv``, copying its merged stdout/stderr to our stdout and to ``log_path`` (appended, flushed)."""
    with open(log_path, "a", encoding="utf-8") as log, subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
            errors="replace") as proc:
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                sys.stdout.write(line)
                sys.stdout.flush()
                log.write(line)
                log.flush()
        except KeyboardInterrupt:
            proc.terminate()
            proc.wait()
            return 130
        return proc.wait()


def launch(config: RecipeConfig, output_dir: Path, *, nnodes: int, gpus_per_node: int, dry_run: bool,
           data_dir: str | Path | None = None, offline: bool | None = None) -> int:
    """Export the data, then print the veRL command (``dry_run``) or run it; returns the exit code.

    ``data_dir`` is a JustRL-style benchmark folder for the validation sets (else justrl's cache).
    User errors print one line to stderr and return 2.
    """
    from justrl.benchmarks import BenchmarkError

    run = Path(output_dir).resolve()
    try:
        check_supported(config)
        check_topology(nnodes, gpus_per_node)
        if not dry_run:
            check_environment()
        train_path, val_path = export_data(config, run, data_dir=data_dir, offline=offline)
        overrides = recipe_overrides(config, train_file=train_path, val_file=val_path, output_dir=run,
                                     nnodes=nnodes, gpus_per_node=gpus_per_node)
    except (TrainError, BenchmarkError) as exc:
        print(f"justrl-train: {exc}", file=sys.stderr)
        return 2
    write_command_file(build_command(overrides), run / COMMAND_FILE, nnodes)
    if dry_run:
        print(format_command(build_command(overrides)))
        print(f"# written to {run / COMMAND_FILE}; data in {train_path.parent}", file=sys.stderr)
        return 0
    found = installed_verl_version()
    if found and found != VERL_VERSION:
        print(f"justrl-train: warning: veRL {found} is installed; these overrides target veRL {VERL_VERSION}",
              file=sys.stderr)
    code = stream(build_command(overrides, python=sys.executable), run / CONSOLE_LOG)
    _import_metrics(run)
    return code


def _import_metrics(run: Path) -> None:
    """Convert the streamed console log into ``RUN/metrics.jsonl`` so ``justrl-train plot RUN`` works."""
    from justrl.train.verl_import import VerlLogError, import_logs

    try:
        path = import_logs(run / CONSOLE_LOG, run)
    except VerlLogError as exc:
        print(f"justrl-train: no metrics imported ({exc})", file=sys.stderr)
        return
    print(f"justrl-train: metrics written to {path}", file=sys.stderr)

