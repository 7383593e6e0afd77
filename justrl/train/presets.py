"""Named recipes, config files and per-key overrides -> one resolved :class:`RecipeConfig`.

Resolution order: dataclass defaults (the JustRL recipe) < preset < config file (TOML or YAML) <
command-line overrides (``--set key=value``). Values given as strings are coerced to the field's type.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path
from typing import Any

import tomllib

from justrl.train.config import PROMPT_FORMATS, RecipeConfig, TrainError

# The paper trains both models with the same hyperparameters ("transfer without tuning"); only the base
# model differs. JustRL-Nemotron-1.5B starts from nvidia/OpenMath-Nemotron-1.5B.
PRESETS: dict[str, dict[str, Any]] = {
    "justrl-deepseek-1.5b": {"model": "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B"},
    "justrl-nemotron-1.5b": {"model": "nvidia/OpenMath-Nemotron-1.5B"},
    # A tiny local model on a synthetic addition task: the offline CPU demo and the end-to-end test.
    "toy": {
        "model": "toy", "train_data": "toy:addition", "prompt_suffix": " Answer in \\boxed{}.",
        "max_prompt_tokens": 64, "max_response_tokens": 8,
        "prompts_per_step": 16, "rollouts_per_prompt": 8, "mini_batch_prompts": 4, "micro_batch_responses": 32,
        "max_tokens_per_micro_batch": 2048,
        "lr": 2e-3, "warmup_steps": 0, "weight_decay": 0.0, "total_steps": 30,
        "val_benchmarks": (), "val_every": 0, "save_every": 10,
        "rollout_engine": "hf", "dtype": "float32", "gradient_checkpointing": False,
        "warm_start_steps": 200, "warm_start_lr": 3e-3, "overlong_buffer": 4,
    },
}


def field_types() -> dict[str, Any]:
    """RecipeConfig field name -> resolved type annotation."""
    return typing.get_type_hints(RecipeConfig)


def coerce(name: str, value: Any) -> Any:
    """Convert ``value`` (often a command-line string) to the type of field ``name``; TrainError if impossible."""
    types = field_types()
    if name not in types:
        import difflib

        close = difflib.get_close_matches(name, list(types), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise TrainError(f"unknown config key {name!r}; {hint}justrl-train --help lists every key")
    kind = types[name]
    origin = typing.get_origin(kind)
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        if kind is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(value)
            return int(float(value)) if isinstance(value, str) and "e" in value.lower() else int(value)
        if kind is float:
            return float(value)
        if kind is str:
            return str(value)
        if origin is tuple:
            items = _as_list(value)
            args = typing.get_args(kind)
            if len(args) == 2 and args[1] is Ellipsis:
                return tuple(args[0](v) for v in items)
            if len(items) != len(args):
                raise ValueError(value)
            return tuple(t(v) for t, v in zip(args, items, strict=True))
        if origin is dict:
            parsed = json.loads(value) if isinstance(value, str) else value
            if not isinstance(parsed, dict):
                raise ValueError(value)
            return {str(k): str(v) for k, v in parsed.items()}
    except (TypeError, ValueError, json.JSONDecodeError):
        raise TrainError(f"config key {name!r} expects {_type_name(kind)}, got {value!r}") from None
    return value


def _as_list(value: Any) -> list:
    if isinstance(value, (list, tuple)):
        return list(value)
    text = str(value).strip()
    if text.startswith("["):
        return list(json.loads(text))
    return [part.strip() for part in text.split(",") if part.strip()]


def _type_name(kind: Any) -> str:
    return getattr(kind, "__name__", None) or str(kind).replace("typing.", "")


def load_file(path: str | Path) -> dict[str, Any]:
    """Read a TOML (.toml) or YAML (.yaml/.yml) file of config keys (flat, or under a [train] table)."""
    path = Path(path)
    if not path.is_file():
        raise TrainError(f"config file {path} not found; pass an existing .toml or .yaml file")
    text = path.read_text()
    try:
        if path.suffix == ".toml":
            data = tomllib.loads(text)
        elif path.suffix in (".yaml", ".yml"):
            try:
                import yaml
            except ImportError:
                raise TrainError(f"{path}: reading YAML needs PyYAML (pip install pyyaml); or use TOML") from None
            try:
                data = yaml.safe_load(text) or {}
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                where = f"line {mark.line + 1}: " if mark is not None else ""
                problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
                raise TrainError(f"{path}: invalid YAML ({where}{problem})") from None
        else:
            raise TrainError(f"{path}: unknown config format {path.suffix!r}; use .toml or .yaml")
    except tomllib.TOMLDecodeError as exc:
        raise TrainError(f"{path}: invalid TOML ({exc})") from None
    if not isinstance(data, dict):
        raise TrainError(f"{path}: expected a table of config keys")
    if set(data) == {"train"} and isinstance(data["train"], dict):
        data = data["train"]
    return data


def parse_override(text: str) -> tuple[str, str]:
    """``"key=value"`` -> (key, value); TrainError when there is no '='."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise TrainError(f"override {text!r} must look like key=value (e.g. --set lr=2e-6)")
    return key.strip().replace("-", "_"), value


def resolve_config(preset: str | None = None, config_file: str | Path | None = None,
                   overrides: dict[str, Any] | None = None, base: RecipeConfig | None = None) -> RecipeConfig:
    """Defaults (or ``base``) < preset < file < overrides, each value coerced to its field type."""
    values: dict[str, Any] = {}
    if preset is not None:
        if preset not in PRESETS:
            raise TrainError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
        values.update(PRESETS[preset])
    if config_file is not None:
        values.update(load_file(config_file))
    values.update(overrides or {})
    changes = {key: coerce(key, value) for key, value in values.items()}
    config = dataclasses.replace(base or RecipeConfig(), **changes)
    validate(config)
    return config


def validate(config: RecipeConfig) -> None:
    """Reject settings the native trainer cannot honour, with what to change."""
    from justrl.train.grpo import AGGREGATIONS

    if config.prompts_per_step % config.mini_batch_prompts:
        raise TrainError(f"prompts_per_step={config.prompts_per_step} must be a multiple of "
                         f"mini_batch_prompts={config.mini_batch_prompts}")
    if config.rollouts_per_prompt < 2:
        raise TrainError("rollouts_per_prompt must be at least 2 (GRPO needs a group to compare)")
    if config.loss_aggregation not in AGGREGATIONS:
        raise TrainError(f"loss_aggregation must be one of {', '.join(AGGREGATIONS)}")
    if config.reward_mode not in ("strict", "lenient"):
        raise TrainError("reward_mode must be strict or lenient")
    if config.rollout_engine not in ("auto", "hf", "vllm"):
        raise TrainError("rollout_engine must be auto, hf or vllm")
    if config.engine not in ("native", "verl"):
        raise TrainError("engine must be native or verl")
    if config.prompt_format not in PROMPT_FORMATS:
        raise TrainError(f"prompt_format must be one of {', '.join(PROMPT_FORMATS)}")
    if config.dtype not in ("auto", "bfloat16", "float32"):
        raise TrainError("dtype must be auto, bfloat16 or float32")
    if not 0.0 < config.vllm_gpu_memory_utilization < 1.0:
        raise TrainError("vllm_gpu_memory_utilization must be a fraction between 0 and 1 (e.g. 0.35)")
    if config.vllm_sleep_level not in (1, 2):
        raise TrainError("vllm_sleep_level must be 1 (weights kept in CPU RAM) or 2 (weights dropped)")
    if config.engine == "native":
        # never accept a knob and ignore it: the native trainer has no reference model and no entropy bonus
        for name in ("kl_coef", "entropy_coef"):
            if getattr(config, name) != 0.0:
                raise TrainError(f"{name}={getattr(config, name)} is not implemented by the native trainer "
                                 f"(JustRL uses 0); set {name}=0")
    if config.overlong_penalty and not 0 < config.overlong_buffer <= config.max_response_tokens:
        raise TrainError(f"overlong_buffer={config.overlong_buffer} must be in 1..max_response_tokens")
    for name in ("micro_batch_responses", "total_steps", "max_response_tokens", "max_prompt_tokens", "ppo_epochs",
                 "val_max_tokens", "val_samples"):
        if getattr(config, name) < 1:
            raise TrainError(f"{name} must be at least 1")
    for name in ("max_tokens_per_micro_batch", "warmup_steps", "val_every", "save_every", "warm_start_steps"):
        if getattr(config, name) < 0:
            raise TrainError(f"{name} must be 0 or more")


def to_dict(config: RecipeConfig) -> dict[str, Any]:
    """JSON-ready dict of every field (tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(config)))


def from_dict(data: dict[str, Any]) -> RecipeConfig:
    """Inverse of :func:`to_dict` (RUN/config.json -> RecipeConfig), values coerced to field types."""
    return dataclasses.replace(RecipeConfig(), **{k: coerce(k, v) for k, v in data.items()})


def load_json_config(run_dir: str | Path) -> dict[str, Any]:
    """The ``config`` table of RUN/config.json; TrainError when the folder holds no run."""
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise TrainError(f"{run_dir} holds no run (no config.json); start one with --output-dir")
    return dict(json.loads(path.read_text())["config"])
