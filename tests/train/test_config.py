"""Recipe config: defaults = the paper's recipe, presets, TOML/YAML files, typed per-key overrides."""

from __future__ import annotations

import pytest

from justrl.train.config import RecipeConfig, TrainError
from justrl.train.presets import PRESETS, coerce, from_dict, load_file, resolve_config, to_dict


def test_defaults_are_the_justrl_recipe():
    c = RecipeConfig()
    assert (c.prompts_per_step, c.rollouts_per_prompt, c.mini_batch_prompts, c.ppo_epochs) == (256, 8, 64, 1)
    assert c.prompts_per_step // c.mini_batch_prompts == 4  # optimizer steps per rollout step
    assert (c.lr, c.warmup_steps, c.weight_decay, c.adam_betas, c.grad_clip) == (1e-6, 10, 0.1, (0.9, 0.999), 1.0)
    assert (c.clip_low, c.clip_high, c.dual_clip, c.adv_eps) == (0.2, 0.28, 10.0, 1e-6)
    assert (c.kl_coef, c.entropy_coef, c.loss_aggregation, c.reward_mode) == (0.0, 0.0, "token-mean", "strict")
    assert (c.max_prompt_tokens, c.max_response_tokens, c.temperature, c.top_p) == (1024, 15360, 1.0, 1.0)
    assert (c.val_benchmarks, c.val_samples, c.val_temperature, c.val_every, c.save_every) == (
        ("AIME24", "AIME25", "AMC23"), 32, 0.7, 50, 50)
    assert not c.overlong_penalty and c.overlong_buffer == 4096 and c.overlong_factor == 1.0


@pytest.mark.parametrize("preset, model", [
    ("justrl-deepseek-1.5b", "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B"),
    ("justrl-nemotron-1.5b", "nvidia/OpenMath-Nemotron-1.5B"),
    ("toy", "toy"),
], ids=["deepseek", "nemotron", "toy"])
def test_presets_set_the_base_model(preset, model):
    assert resolve_config(preset).model == model


def test_paper_presets_share_every_hyperparameter_but_the_model():
    a, b = to_dict(resolve_config("justrl-deepseek-1.5b")), to_dict(resolve_config("justrl-nemotron-1.5b"))
    assert {k for k in a if a[k] != b[k]} == {"model"}


@pytest.mark.parametrize("key, text, value", [
    ("lr", "2e-6", 2e-6),
    ("total_steps", "100", 100),
    ("total_steps", "1e3", 1000),
    ("overlong_penalty", "true", True),
    ("overlong_penalty", "off", False),
    ("adam_betas", "0.9,0.95", (0.9, 0.95)),
    ("val_benchmarks", "AIME24,MATH500", ("AIME24", "MATH500")),
    ("val_benchmarks", "", ()),
    ("reward_mode", "lenient", "lenient"),
    ("extra", '{"note": "x"}', {"note": "x"}),
], ids=["float", "int", "int-in-e-notation", "bool-true", "bool-off", "tuple-pair", "tuple-var", "empty-tuple",
        "str", "dict-json"])
def test_overrides_are_coerced_to_the_field_type(key, text, value):
    assert coerce(key, text) == value


@pytest.mark.parametrize("key, text, message", [
    ("learning_rate", "1", "unknown config key"),
    ("total_steps", "ten", "expects int"),
    ("total_steps", "1.5", "expects int"),
    ("overlong_penalty", "maybe", "expects bool"),
    ("adam_betas", "0.9", "expects"),
], ids=["unknown-key", "not-a-number", "fractional-int", "bad-bool", "wrong-arity"])
def test_bad_overrides_are_one_line_errors(key, text, message):
    with pytest.raises(TrainError, match=message):
        coerce(key, text)


@pytest.mark.parametrize("changes, message", [
    ({"prompts_per_step": 100}, "multiple"),
    ({"rollouts_per_prompt": 1}, "at least 2"),
    ({"loss_aggregation": "seq-mean"}, "loss_aggregation"),
    ({"reward_mode": "judge"}, "reward_mode"),
    ({"overlong_penalty": True, "overlong_buffer": 0}, "overlong_buffer"),
], ids=["mini-batch-divides", "group-of-two", "aggregation", "reward-mode", "overlong-buffer"])
def test_invalid_combinations_are_rejected(changes, message):
    with pytest.raises(TrainError, match=message):
        resolve_config(overrides=changes)


def test_resolution_order_preset_then_file_then_overrides(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('lr = 5e-6\ntotal_steps = 7\nval_benchmarks = ["AIME24"]\n')
    config = resolve_config("toy", path, {"total_steps": "9"})
    assert (config.model, config.lr, config.total_steps, config.val_benchmarks) == ("toy", 5e-6, 9, ("AIME24",))


def test_toml_train_table_and_yaml(tmp_path):
    toml = tmp_path / "a.toml"
    toml.write_text("[train]\nseed = 3\n")
    assert load_file(toml) == {"seed": 3}
    yaml = pytest.importorskip("yaml")
    path = tmp_path / "a.yaml"
    path.write_text(yaml.safe_dump({"seed": 4, "adam_betas": [0.9, 0.9]}))
    assert resolve_config(config_file=path).adam_betas == (0.9, 0.9)


@pytest.mark.parametrize("name, text, message", [
    ("missing.toml", None, "not found"),
    ("a.ini", "x=1", "unknown config format"),
    ("bad.toml", "lr = = 1", "invalid TOML"),
], ids=["missing", "unknown-format", "invalid-toml"])
def test_bad_config_files(tmp_path, name, text, message):
    path = tmp_path / name
    if text is not None:
        path.write_text(text)
    with pytest.raises(TrainError, match=message):
        load_file(path)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_config_round_trips_through_json(preset):
    config = resolve_config(preset)
    assert from_dict(to_dict(config)) == config


def test_every_field_has_a_one_line_help():
    from dataclasses import fields

    for f in fields(RecipeConfig):
        text = f.metadata.get("help", "")
        assert text and "\n" not in text, f.name


@pytest.mark.parametrize("changes, message", [
    ({"kl_coef": 0.01}, "kl_coef=0.01 is not implemented"),
    ({"entropy_coef": 0.001}, "entropy_coef=0.001 is not implemented"),
    ({"prompt_format": "raw"}, "prompt_format"),
    ({"vllm_gpu_memory_utilization": 1.5}, "vllm_gpu_memory_utilization"),
    ({"max_tokens_per_micro_batch": -1}, "max_tokens_per_micro_batch"),
    ({"val_max_tokens": 0}, "val_max_tokens"),
    ({"dtype": "fp8"}, "dtype"),
    ({"vllm_sleep_level": 3}, "vllm_sleep_level"),
], ids=["kl-refused", "entropy-bonus-refused", "prompt-format", "memory-fraction", "token-budget", "val-tokens",
        "dtype", "sleep-level"])
def test_knobs_the_native_trainer_cannot_honour_are_refused(changes, message):
    with pytest.raises(TrainError, match=message):
        resolve_config(overrides=changes)


def test_entropy_bonus_is_left_to_verl_which_implements_it():
    assert resolve_config(overrides={"engine": "verl", "entropy_coef": 0.001}).entropy_coef == 0.001


def test_paper_presets_follow_justrl_scale_settings():
    c = resolve_config("justrl-deepseek-1.5b")
    assert (c.max_tokens_per_micro_batch, c.gradient_checkpointing, c.prompt_format) == (32768, True, "justrl")
    assert (c.val_max_tokens, c.val_before_train, c.val_every) == (31744, True, 50)


@pytest.mark.parametrize("key, hint", [("warmup_step", "'warmup_steps'"), ("max_respose_tokens", "'max_response_tokens'"),
                                       ("val_sample", "'val_samples'")], ids=["missing-s", "typo", "plural"])
def test_unknown_key_suggests_the_closest(key, hint):
    with pytest.raises(TrainError, match=f"did you mean {hint}"):
        coerce(key, "1")


def test_bad_yaml_is_one_line_with_the_line_number(tmp_path):
    pytest.importorskip("yaml")
    path = tmp_path / "bad.yaml"
    path.write_text("lr: 1e-6\nseed: [1, 2\ntotal_steps: 3\n")
    with pytest.raises(TrainError, match=r"invalid YAML \(line \d+") as info:
        load_file(path)
    assert "\n" not in str(info.value)
