"""The veRL hand-off: every recipe knob mapped to a veRL 0.9.1 override, data in veRL's schema, launch."""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import stat
import textwrap
from dataclasses import fields, replace
from pathlib import Path

import pytest

from justrl.train.config import RecipeConfig
from justrl.train.verl import (
    COMMAND_FILE,
    CONSOLE_LOG,
    NOT_OVERRIDES,
    VERL_BUILT_IN,
    VERL_VERSION,
    Override,
    VerlError,
    build_command,
    check_supported,
    format_command,
    hydra_value,
    launch,
    recipe_overrides,
)

# The config keys of veRL 0.9.1 (verl/trainer/config/_generated_ppo_trainer.yaml), for the sections the
# hand-off touches: "<parent>": "<leaf> <leaf> ...". Transcribed from the released wheel.
VERL_0_9_1_KEYS = {
    "actor_rollout_ref.actor.optim": (
        "optimizer optimizer_impl lr lr_warmup_steps_ratio total_training_steps weight_decay "
        "lr_warmup_steps betas clip_grad min_lr_ratio num_cycles lr_scheduler_type "
        "zero_indexed_step warmup_style override_optimizer_config"
    ),
    "actor_rollout_ref.actor": (
        "rollout_n strategy ppo_mini_batch_size ppo_micro_batch_size "
        "ppo_micro_batch_size_per_gpu use_dynamic_bsz ppo_max_token_len_per_gpu clip_ratio "
        "clip_ratio_low clip_ratio_high tau_pos tau_neg freeze_vision_tower clip_ratio_c "
        "loss_agg_mode loss_scale_factor entropy_coeff calculate_entropy "
        "calculate_sum_pi_squared use_kl_loss use_prefix_grouper use_torch_compile "
        "kl_loss_coef kl_loss_type ppo_epochs shuffle data_loader_seed grad_clip "
        "ulysses_sequence_parallel_size entropy_from_logits_with_chunking "
        "entropy_from_logits_chunk_size entropy_checkpointing pad_to_length use_remove_padding"
    ),
    "actor_rollout_ref.actor.policy_loss": "loss_mode clip_cov_ratio clip_cov_lb clip_cov_ub kl_cov_ratio "
                                           "ppo_kl_coef dro_beta",
    "actor_rollout_ref.rollout": (
        "name mode nnodes n_gpus_per_node temperature top_k top_p full_determinism seed "
        "prompt_length response_length dtype gpu_memory_utilization ignore_eos enforce_eager "
        "cudagraph_capture_sizes free_cache_engine tensor_model_parallel_size "
        "data_parallel_size expert_parallel_size pipeline_model_parallel_size "
        "max_num_batched_tokens max_model_len max_num_seqs enable_chunked_prefill "
        "enable_prefix_caching logprobs_mode scheduling_policy load_format layered_summon "
        "log_prob_micro_batch_size log_prob_micro_batch_size_per_gpu log_prob_use_dynamic_bsz "
        "log_prob_max_token_len_per_gpu disable_log_stats do_sample n over_sample_rate "
        "multi_stage_wake_up router_config_path calculate_log_probs skip_tokenizer_init "
        "enable_rollout_routing_replay moe_load_balance_metrics_interval quantization "
        "quantization_config_file"
    ),
    "actor_rollout_ref.rollout.val_kwargs": "top_k top_p temperature n do_sample",
    "actor_rollout_ref.model": (
        "path hf_config_path tokenizer_path use_shm trust_remote_code custom_chat_template "
        "external_lib override_config enable_gradient_checkpointing enable_activation_offload "
        "use_remove_padding lora_rank lora_alpha target_modules exclude_modules "
        "lora_adapter_path use_liger"
    ),
    "data": (
        "tokenizer use_shm train_files val_files train_max_samples val_max_samples prompt_key "
        "reward_fn_key max_prompt_length max_response_length train_batch_size gen_batch_size "
        "val_batch_size tool_config_path function_tool_path return_raw_input_ids "
        "return_raw_chat return_full_prompt shuffle seed dataloader_num_workers "
        "image_patch_size validation_shuffle filter_overlong_prompts "
        "filter_overlong_prompts_workers truncation image_key video_key audio_key "
        "trust_remote_code return_multi_modal_inputs apply_chat_template_kwargs mm_processor_kwargs"
    ),
    "reward.custom_reward_function": "path name",
    "reward.reward_manager": "source name",
    "algorithm": "gamma lam adv_estimator norm_adv_by_std_in_grpo use_kl_in_reward kl_penalty",
    "algorithm.kl_ctrl": "type kl_coef horizon target_kl",
    "trainer": (
        "balance_batch total_epochs total_training_steps project_name experiment_name logger "
        "log_val_generations rollout_data_dir validation_data_dir nnodes n_gpus_per_node "
        "save_freq esi_redundant_time resume_mode resume_from_path checkpoint_callback_class "
        "val_before_train val_only test_freq critic_warmup default_hdfs_dir "
        "del_local_ckpt_after_load default_local_dir max_actor_ckpt_to_keep "
        "max_critic_ckpt_to_keep ray_wait_register_center_timeout device use_v1"
    ),
}
SNAPSHOT_KEYS = {f"{parent}.{leaf}" for parent, leaves in VERL_0_9_1_KEYS.items() for leaf in leaves.split()}

PATHS = dict(train_file="/runs/r1/verl_train.parquet", val_file="/runs/r1/verl_val.parquet",
             output_dir="/runs/r1", reward_path="/site/justrl/verify/verl_reward.py")


def overrides_of(config: RecipeConfig, **kw) -> list[Override]:
    return recipe_overrides(config, **{**PATHS, "nnodes": 4, "gpus_per_node": 8, **kw})


def rendered(config: RecipeConfig, **kw) -> list[str]:
    return [o.render() for o in overrides_of(config, **kw)]


# The JustRL recipe (DESIGN.md §5, JustRL's train/run_training.sh) as veRL 0.9.1 overrides.
GOLDEN_DEFAULT = [
    "algorithm.adv_estimator=grpo",
    "algorithm.norm_adv_by_std_in_grpo=True",
    "algorithm.use_kl_in_reward=False",
    "algorithm.kl_ctrl.kl_coef=0.0",
    "actor_rollout_ref.actor.use_kl_loss=False",
    "actor_rollout_ref.actor.kl_loss_coef=0.0",
    "actor_rollout_ref.actor.entropy_coeff=0.0",
    "data.train_files=/runs/r1/verl_train.parquet",
    "data.val_files=/runs/r1/verl_val.parquet",
    "data.prompt_key=prompt",
    "data.train_batch_size=256",
    "data.max_prompt_length=1024",
    "data.filter_overlong_prompts=True",
    "data.truncation=error",
    "data.max_response_length=15360",
    "data.seed=1",
    "actor_rollout_ref.model.path=deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B",
    "actor_rollout_ref.model.use_remove_padding=True",
    "actor_rollout_ref.model.enable_gradient_checkpointing=True",
    "actor_rollout_ref.actor.ppo_mini_batch_size=64",
    "actor_rollout_ref.actor.ppo_epochs=1",
    "actor_rollout_ref.actor.use_dynamic_bsz=True",
    "actor_rollout_ref.actor.ppo_max_token_len_per_gpu=32768",
    "actor_rollout_ref.actor.clip_ratio_low=0.2",
    "actor_rollout_ref.actor.clip_ratio_high=0.28",
    "actor_rollout_ref.actor.clip_ratio_c=10.0",
    "actor_rollout_ref.actor.policy_loss.loss_mode=vanilla",
    "actor_rollout_ref.actor.loss_agg_mode=token-mean",
    "actor_rollout_ref.actor.optim.lr=1e-06",
    "actor_rollout_ref.actor.optim.lr_warmup_steps=10",
    "actor_rollout_ref.actor.optim.lr_scheduler_type=constant",
    "actor_rollout_ref.actor.optim.weight_decay=0.1",
    "actor_rollout_ref.actor.optim.betas=[0.9,0.999]",
    "actor_rollout_ref.actor.optim.clip_grad=1.0",
    "actor_rollout_ref.rollout.name=vllm",
    "actor_rollout_ref.rollout.dtype=bfloat16",
    "actor_rollout_ref.rollout.n=8",
    "actor_rollout_ref.rollout.temperature=1.0",
    "actor_rollout_ref.rollout.top_p=1.0",
    "actor_rollout_ref.rollout.top_k=-1",
    "actor_rollout_ref.rollout.seed=1",
    "actor_rollout_ref.rollout.tensor_model_parallel_size=1",
    "actor_rollout_ref.rollout.gpu_memory_utilization=0.85",
    "actor_rollout_ref.rollout.max_num_batched_tokens=32768",
    "actor_rollout_ref.rollout.val_kwargs.n=32",
    "actor_rollout_ref.rollout.val_kwargs.temperature=0.7",
    "actor_rollout_ref.rollout.val_kwargs.top_p=0.9",
    "actor_rollout_ref.rollout.val_kwargs.top_k=-1",
    "actor_rollout_ref.rollout.val_kwargs.do_sample=True",
    "reward.custom_reward_function.path=/site/justrl/verify/verl_reward.py",
    "reward.custom_reward_function.name=compute_score",
    "reward.reward_manager.name=dapo",
    "+reward.reward_kwargs.overlong_buffer_cfg.enable=False",
    "+reward.reward_kwargs.overlong_buffer_cfg.len=4096",
    "+reward.reward_kwargs.overlong_buffer_cfg.penalty_factor=1.0",
    "+reward.reward_kwargs.overlong_buffer_cfg.log=False",
    "+reward.reward_kwargs.max_resp_len=15360",
    "trainer.total_training_steps=4000",
    "trainer.total_epochs=4000",
    "trainer.save_freq=50",
    "trainer.test_freq=50",
    "trainer.val_before_train=True",
    "trainer.critic_warmup=0",
    "trainer.logger=[console]",
    "trainer.project_name=justrl",
    "trainer.experiment_name=r1",
    "trainer.default_local_dir=/runs/r1/checkpoints",
    "trainer.nnodes=4",
    "trainer.n_gpus_per_node=8",
]


def test_default_recipe_renders_the_golden_override_list():
    assert rendered(RecipeConfig()) == GOLDEN_DEFAULT


def test_every_recipe_field_is_mapped_or_explained_and_nothing_is_stale():
    names = {f.name for f in fields(RecipeConfig)}
    sources = {o.source for o in overrides_of(RecipeConfig())}
    unexplained = names - sources - set(NOT_OVERRIDES)
    assert not unexplained, f"RecipeConfig fields with no veRL override and no reason: {sorted(unexplained)}"
    assert set(NOT_OVERRIDES) <= names, "NOT_OVERRIDES names fields RecipeConfig no longer has"
    assert not set(NOT_OVERRIDES) & sources, "a field is both mapped and listed as not mapped"
    assert sources - names <= {"fixed", "launch"}, "an override claims a field RecipeConfig lacks"
    assert set(VERL_BUILT_IN) <= names


def test_override_keys_are_unique():
    keys = [o.key for o in overrides_of(RecipeConfig())]
    assert len(keys) == len(set(keys))


def test_every_override_key_exists_in_verl_0_9_1_and_added_keys_do_not():
    for o in overrides_of(RecipeConfig(overlong_penalty=True)):
        if o.add:  # "+key=": Hydra adds it; only reward_kwargs (read by veRL's DAPO reward manager) is added
            assert o.key not in SNAPSHOT_KEYS and o.key.startswith("reward.reward_kwargs."), o.key
        else:
            assert o.key in SNAPSHOT_KEYS, f"{o.key} is not a veRL {VERL_VERSION} config key"


def _installed_verl_keys() -> set[str]:
    spec = importlib.util.find_spec("verl")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("veRL is not installed here (it pins older torch/transformers); the snapshot test covers it")
    yaml = pytest.importorskip("yaml")
    schema = Path(list(spec.submodule_search_locations)[0]) / "trainer" / "config" / "_generated_ppo_trainer.yaml"
    keys: set[str] = set()

    def walk(node: dict, prefix: str) -> None:
        for key, value in node.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            walk(value, path) if isinstance(value, dict) and value else keys.add(path)

    walk(yaml.safe_load(schema.read_text()), "")
    return keys


def test_override_keys_exist_in_the_installed_verl_schema():
    keys = _installed_verl_keys()
    missing = [o.key for o in overrides_of(RecipeConfig()) if not o.add and o.key not in keys]
    assert not missing, f"keys unknown to the installed veRL: {missing}"


def test_snapshot_matches_the_installed_verl_when_it_is_0_9_1():
    keys = _installed_verl_keys()
    from importlib.metadata import version

    if version("verl") != VERL_VERSION:
        pytest.skip(f"installed veRL is {version('verl')}, the snapshot is {VERL_VERSION}")
    assert SNAPSHOT_KEYS <= keys


CUSTOM = RecipeConfig(
    model="org/model-7b", prompts_per_step=128, rollouts_per_prompt=4, temperature=0.9, top_p=0.95,
    mini_batch_prompts=32, ppo_epochs=2, lr=3e-6, warmup_steps=5, weight_decay=0.05, adam_betas=(0.9, 0.95),
    grad_clip=0.5, total_steps=123, clip_low=0.1, clip_high=0.3, dual_clip=5.0, entropy_coef=0.001,
    max_prompt_tokens=512, max_response_tokens=4096, val_samples=8, val_temperature=0.6, val_top_p=0.95,
    val_every=10, save_every=20, overlong_penalty=True, overlong_buffer=1024, overlong_factor=0.5,
    reward_mode="lenient", seed=7, gradient_checkpointing=False, dtype="float16", val_benchmarks=("AMC23",),
)


@pytest.mark.parametrize("expected", [
    "actor_rollout_ref.model.path=org/model-7b",
    "data.train_batch_size=128",
    "actor_rollout_ref.rollout.n=4",
    "actor_rollout_ref.rollout.temperature=0.9",
    "actor_rollout_ref.rollout.top_p=0.95",
    "actor_rollout_ref.actor.ppo_mini_batch_size=32",
    "actor_rollout_ref.actor.ppo_epochs=2",
    "actor_rollout_ref.actor.optim.lr=3e-06",
    "actor_rollout_ref.actor.optim.lr_warmup_steps=5",
    "actor_rollout_ref.actor.optim.weight_decay=0.05",
    "actor_rollout_ref.actor.optim.betas=[0.9,0.95]",
    "actor_rollout_ref.actor.optim.clip_grad=0.5",
    "trainer.total_training_steps=123",
    "actor_rollout_ref.actor.clip_ratio_low=0.1",
    "actor_rollout_ref.actor.clip_ratio_high=0.3",
    "actor_rollout_ref.actor.clip_ratio_c=5.0",
    "actor_rollout_ref.actor.entropy_coeff=0.001",
    "data.max_prompt_length=512",
    "data.max_response_length=4096",
    "+reward.reward_kwargs.max_resp_len=4096",
    "actor_rollout_ref.rollout.val_kwargs.n=8",
    "actor_rollout_ref.rollout.val_kwargs.temperature=0.6",
    "actor_rollout_ref.rollout.val_kwargs.top_p=0.95",
    "trainer.test_freq=10",
    "trainer.save_freq=20",
    "+reward.reward_kwargs.overlong_buffer_cfg.enable=True",
    "+reward.reward_kwargs.overlong_buffer_cfg.len=1024",
    "+reward.reward_kwargs.overlong_buffer_cfg.penalty_factor=0.5",
    "reward.custom_reward_function.name=compute_score_lenient",
    "data.seed=7",
    "actor_rollout_ref.rollout.seed=7",
    "actor_rollout_ref.model.enable_gradient_checkpointing=False",
    "actor_rollout_ref.rollout.dtype=float16",
], ids=lambda s: s.split("=")[0].rsplit(".", 1)[-1])
def test_override_values_follow_the_config(expected):
    assert expected in rendered(CUSTOM)


def test_every_mapped_field_changes_its_overrides_when_the_field_changes():
    default = {o.source: [] for o in overrides_of(RecipeConfig())}
    for o in overrides_of(RecipeConfig()):
        default[o.source].append(o.render())
    custom: dict[str, list[str]] = {}
    for o in overrides_of(CUSTOM):
        custom.setdefault(o.source, []).append(o.render())
    changed = {f.name for f in fields(RecipeConfig) if getattr(CUSTOM, f.name) != getattr(RecipeConfig(), f.name)}
    changed.discard("val_benchmarks")  # selects the exported validation rows (test_export_writes_verl_schema)
    for source in set(default) & changed:
        assert default[source] != custom[source], f"overrides of {source} ignore its value"


@pytest.mark.parametrize("change, expected", [
    ({"val_benchmarks": ()}, ["trainer.test_freq=-1", "trainer.val_before_train=False"]),
    ({"val_every": 0}, ["trainer.test_freq=-1", "trainer.val_before_train=False"]),
    ({"save_every": 0}, ["trainer.save_freq=-1"]),
], ids=["no-benchmarks-no-validation", "val-every-0-no-validation", "save-every-0-no-checkpoints"])
def test_switched_off_validation_and_checkpoints(change, expected):
    out = rendered(replace(RecipeConfig(), **change))
    assert all(item in out for item in expected)


@pytest.mark.parametrize("change, message", [
    ({"kl_coef": 0.01}, "kl_coef"),
    ({"adv_eps": 1e-8}, "adv_eps"),
    ({"loss_aggregation": "verl-0.4-micro"}, "loss_aggregation"),
    ({"use_chat_template": False}, "use_chat_template"),
    ({"rollout_engine": "hf"}, "rollout_engine"),
    ({"reward_mode": "judge"}, "reward_mode"),
    ({"prompts_per_step": 100, "mini_batch_prompts": 64}, "multiple"),
    ({"overlong_penalty": True, "overlong_buffer": 20000}, "overlong_buffer"),
    ({"warm_start_steps": 20}, "warm_start_steps"),
    ({"model": "toy"}, "model=toy"),
], ids=["kl", "adv-eps", "verl-0.4-weighting", "no-chat-template", "hf-rollout", "unknown-reward",
        "ragged-mini-batches", "buffer-longer-than-response", "warm-start", "toy-model"])
def test_settings_veRL_cannot_reproduce_are_refused(change, message):
    config = replace(RecipeConfig(), **change)
    with pytest.raises(VerlError, match=message):
        check_supported(config)


@pytest.mark.parametrize("value, text", [
    (True, "True"), (False, "False"), (None, "null"), (8, "8"), (1e-6, "1e-06"), (0.28, "0.28"),
    ([0.9, 0.999], "[0.9,0.999]"), ("grpo", "grpo"), ("/a/b-c_d.parquet", "/a/b-c_d.parquet"),
    ("my run", "'my run'"), ("it's", "'it\\'s'"), ("1.5", "'1.5'"), ("null", "'null'"), ("a=b", "'a=b'"),
], ids=["true", "false", "null", "int", "small-float", "float", "list", "word", "path", "space-quoted",
        "quote-escaped", "number-like-string-quoted", "keyword-string-quoted", "equals-quoted"])
def test_hydra_values(value, text):
    assert hydra_value(value) == text


def test_printed_command_is_shell_safe_and_round_trips():
    argv = build_command(overrides_of(RecipeConfig(), output_dir="/runs/my run"))
    text = format_command(argv)
    assert shlex.split(text.replace("\\\n", " ")) == argv
    assert argv[:3] == ["python3", "-m", "verl.trainer.main_ppo"]


# ------------------------------------------------------------------------ reward file, called as veRL does

def _load_by_path(path: str, name: str):
    """What verl.utils.import_utils.load_extern_object does with a file path."""
    spec = importlib.util.spec_from_file_location(f"custom_module_{hash(os.path.abspath(path))}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


@pytest.mark.parametrize("mode, response, gold, score", [
    ("strict", "so the answer is \\boxed{42}", "42", 1.0),
    ("strict", "so the answer is \\boxed{41}", "42", -1.0),
    ("strict", "so the answer is \\boxed{\\frac{1}{2}}", "0.5", -1.0),
    ("lenient", "so the answer is \\boxed{\\frac{1}{2}}", "0.5", 1.0),
], ids=["strict-correct", "strict-wrong", "strict-needs-exact-string", "lenient-accepts-equivalent"])
def test_reward_file_loaded_by_path_and_called_with_verl_keywords(mode, response, gold, score):
    if importlib.util.find_spec("justrl.verify.verl_reward") is None:
        pytest.skip("justrl.verify.verl_reward (the veRL reward adapter) is not in this tree yet")
    overrides = {o.key: o.value for o in recipe_overrides(
        replace(RecipeConfig(), reward_mode=mode), train_file="t", val_file="v", output_dir="r", nnodes=1,
        gpus_per_node=1)}
    path = overrides["reward.custom_reward_function.path"]
    assert Path(path).is_absolute() and Path(path).is_file()
    fn = _load_by_path(path, overrides["reward.custom_reward_function.name"])
    result = fn(data_source="math_dapo", solution_str=response, ground_truth=gold,
                extra_info={"index": 0, "split": "train"})
    assert isinstance(result, dict) and result["score"] == score


# ------------------------------------------------------------------------------- export and launch

def _train_parquet(path: Path) -> Path:
    """A small training file in veRL's schema (the format of DAPO-Math-17k, repeats included)."""
    import pandas as pd

    rows = [{"data_source": "math_dapo", "prompt": [{"role": "user", "content": q}], "ability": "MATH",
             "reward_model": {"ground_truth": g, "style": "rule"}, "extra_info": {"index": str(i)}}
            for i, (q, g) in enumerate([("What is 2+3?", "5"), ("What is 7*6?", "42"), ("What is 2+3?", "5"),
                                        ("What is 10-9?", "1")])]  # DAPO-Math-17k repeats problems
    pd.DataFrame(rows).to_parquet(path)
    return path


@pytest.fixture
def train_file(tmp_path) -> Path:
    return _train_parquet(tmp_path / "train.parquet")


@pytest.fixture
def reward_adapter() -> Path:
    """The installed reward file the command points veRL at."""
    spec = importlib.util.find_spec("justrl.verify.verl_reward")
    if spec is None:
        pytest.skip("justrl.verify.verl_reward (the veRL reward adapter) is not in this tree yet")
    return Path(spec.origin).resolve()


def _read(path: Path) -> list[dict]:
    import pandas as pd

    return pd.read_parquet(path).to_dict("records")


@pytest.mark.parametrize("dedup, golds", [(False, ["5", "42", "5", "1"]), (True, ["5", "42", "1"])],
                         ids=["file-order-as-justrl", "deduplicated"])
def test_export_writes_verl_schema(train_file, tmp_path, benchmarks_dir, dedup, golds):
    from justrl.train.config import BOXED_SUFFIX
    from justrl.train.verl import export_data

    config = replace(RecipeConfig(), train_data=str(train_file), val_benchmarks=("AIME24", "AMC23"),
                     deduplicate=dedup)
    train_path, val_path = export_data(config, tmp_path / "run", data_dir=benchmarks_dir, offline=True)
    train, val = _read(train_path), _read(val_path)
    assert [r["reward_model"]["ground_truth"] for r in train] == golds  # as the native trainer reads them
    for split, rows in (("train", train), ("test", val)):
        assert set(rows[0]) == {"data_source", "prompt", "ability", "reward_model", "extra_info"}
        for i, row in enumerate(rows):
            messages = list(row["prompt"])
            assert messages[-1]["role"] == "user" and messages[-1]["content"].endswith(BOXED_SUFFIX)
            assert row["reward_model"]["style"] == "rule" and row["reward_model"]["ground_truth"]
            assert row["extra_info"]["index"] == i and row["extra_info"]["split"] == split
    assert {r["data_source"] for r in val} == {"AIME24", "AMC23"}
    assert len(val) == 30 + 40


def test_dry_run_prints_and_writes_the_command(train_file, reward_adapter, tmp_path, capsys):
    run = tmp_path / "run"
    config = replace(RecipeConfig(), train_data=str(train_file), val_benchmarks=())
    assert launch(config, run, nnodes=2, gpus_per_node=8, dry_run=True) == 0
    out = capsys.readouterr().out
    for needle in ["actor_rollout_ref.actor.clip_ratio_high=0.28", "custom_reward_function.name=compute_score",
                   f"custom_reward_function.path={reward_adapter}",
                   f"data.train_files={run.resolve() / 'verl_train.parquet'}", "trainer.nnodes=2"]:
        assert needle in out
    script = run / COMMAND_FILE
    assert script.stat().st_mode & stat.S_IXUSR
    assert "verl.trainer.main_ppo" in script.read_text() and (run / "verl_train.parquet").is_file()


def test_launch_without_verl_fails_with_one_line(train_file, tmp_path, capsys):
    if importlib.util.find_spec("verl") is not None:
        pytest.skip("veRL is installed here")
    config = replace(RecipeConfig(), train_data=str(train_file), val_benchmarks=())
    assert launch(config, tmp_path / "run", nnodes=1, gpus_per_node=1, dry_run=False) == 2
    err = capsys.readouterr().err.strip()
    assert "veRL is not installed" in err and "\n" not in err


def test_refused_config_fails_with_one_line_before_touching_files(tmp_path, capsys):
    config = replace(RecipeConfig(), kl_coef=0.1)
    assert launch(config, tmp_path / "run", nnodes=1, gpus_per_node=1, dry_run=True) == 2
    err = capsys.readouterr().err.strip()
    assert "kl_coef" in err and "\n" not in err and not (tmp_path / "run").exists()


FAKE_MAIN_PPO = """\
import sys
args = dict(a.lstrip("+").split("=", 1) for a in sys.argv[1:])
print("ray init kwargs: {}", flush=True)
print("(TaskRunner pid=7) step:0 - val-core/AMC23/acc/mean@32:np.float64(0.625)", flush=True)
for step in (1, 2):
    print(f"(TaskRunner pid=7) step:{step} - critic/score/mean:{-0.5 + step / 10} - actor/entropy:0.6"
          f" - response_length/mean:{1000 * step} - actor/lr:{args['actor_rollout_ref.actor.optim.lr']}",
          flush=True)
sys.exit(3)
"""


@pytest.fixture
def fake_verl(tmp_path, monkeypatch):
    """A stand-in `verl` package whose main_ppo prints veRL-style console lines, and a `ray` that answers."""
    site = tmp_path / "site"
    (site / "verl" / "trainer").mkdir(parents=True)
    (site / "verl" / "__init__.py").write_text("")
    (site / "verl" / "trainer" / "__init__.py").write_text("")
    (site / "verl" / "trainer" / "main_ppo.py").write_text(FAKE_MAIN_PPO)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    ray = bin_dir / "ray"
    ray.write_text(textwrap.dedent("""\
        #!/bin/sh
        echo "Active: 1 node"
        """))
    ray.chmod(0o755)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("PATH", os.pathsep.join([str(bin_dir), os.environ["PATH"]]))
    return site


def test_launch_streams_output_keeps_exit_code_and_imports_metrics(train_file, reward_adapter, tmp_path, fake_verl,
                                                                    capfd):
    run = tmp_path / "run"
    config = replace(RecipeConfig(), train_data=str(train_file), val_benchmarks=())
    assert launch(config, run, nnodes=1, gpus_per_node=1, dry_run=False) == 3
    assert "step:2 - critic/score/mean" in capfd.readouterr().out
    assert "step:1 - " in (run / CONSOLE_LOG).read_text()
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [0, 1, 2]
    assert rows[0]["val/AMC23/avg@32"] == 0.625
    assert rows[2]["critic/score/mean"] == pytest.approx(-0.3) and rows[2]["actor/lr"] == 1e-6


def test_ray_not_reachable_fails_with_one_line(train_file, reward_adapter, tmp_path, fake_verl, capsys):
    (tmp_path / "bin" / "ray").write_text("#!/bin/sh\nexit 1\n")
    config = replace(RecipeConfig(), train_data=str(train_file), val_benchmarks=())
    assert launch(config, tmp_path / "run", nnodes=1, gpus_per_node=1, dry_run=False) == 2
    err = capsys.readouterr().err.strip()
    assert "Ray" in err and "ray start --head" in err and "\n" not in err



def test_overrides_compose_with_the_installed_verl_hydra_config():
    """Hydra itself parses every override against veRL's real config (values arrive with the right types)."""
    _installed_verl_keys()
    hydra = pytest.importorskip("hydra")
    from omegaconf import OmegaConf

    spec = importlib.util.find_spec("verl")
    config_dir = Path(list(spec.submodule_search_locations)[0]) / "trainer" / "config"
    overrides = overrides_of(replace(RecipeConfig(), overlong_penalty=True), output_dir="/runs/my run")
    with hydra.initialize_config_dir(config_dir=str(config_dir), version_base=None):
        composed = hydra.compose(config_name="ppo_trainer", overrides=[o.render() for o in overrides])
    for o in overrides:
        value = list(o.value) if isinstance(o.value, tuple) else o.value
        got = OmegaConf.select(composed, o.key)
        assert (OmegaConf.to_object(got) if OmegaConf.is_config(got) else got) == value, o.key


@pytest.mark.parametrize("nnodes, gpus", [(0, 8), (4, 0)], ids=["no-nodes", "no-gpus"])
def test_impossible_cluster_shape_fails_with_one_line(tmp_path, capsys, nnodes, gpus):
    assert launch(RecipeConfig(), tmp_path / "run", nnodes=nnodes, gpus_per_node=gpus, dry_run=True) == 2
    err = capsys.readouterr().err.strip()
    assert "--nnodes" in err and "\n" not in err and not (tmp_path / "run").exists()


@pytest.fixture
def cached_val_benchmarks(benchmarks_dir, tmp_path, monkeypatch) -> Path:
    """The default validation sets placed in a fresh justrl cache ($JUSTRL_CACHE), so nothing is downloaded."""
    import shutil

    cache = tmp_path / "cache"
    for name in RecipeConfig().val_benchmarks:
        (cache / "benchmarks" / name).mkdir(parents=True)
        shutil.copy(benchmarks_dir / name / "test.parquet", cache / "benchmarks" / name / "test.parquet")
    monkeypatch.setenv("JUSTRL_CACHE", str(cache))
    return cache


def test_cli_contract_dry_run(train_file, reward_adapter, cached_val_benchmarks, tmp_path, capsys):
    """`justrl-train --engine verl --dry-run --train-data FILE.parquet --output-dir RUN` (scripts rely on it)."""
    cli = pytest.importorskip("justrl.train.cli", reason="justrl.train.cli is not in this tree yet")
    run = tmp_path / "run"
    assert cli.main(["--engine", "verl", "--dry-run", "--train-data", str(train_file), "--output-dir", str(run)]) == 0
    out = capsys.readouterr().out
    assert "actor_rollout_ref.actor.clip_ratio_high=0.28" in out
    assert f"custom_reward_function.path={reward_adapter}" in out
    assert "custom_reward_function.name=compute_score" in out
    assert {r["data_source"] for r in _read(run / "verl_val.parquet")} == {"AIME24", "AIME25", "AMC23"}


def test_dry_run_with_the_default_validation_sets_from_the_cache(train_file, reward_adapter, cached_val_benchmarks,
                                                                 tmp_path, capsys):
    run = tmp_path / "run"
    config = replace(RecipeConfig(), train_data=str(train_file))
    assert launch(config, run, nnodes=4, gpus_per_node=8, dry_run=True, offline=True) == 0
    out = capsys.readouterr().out
    assert f"data.val_files={run.resolve() / 'verl_val.parquet'}" in out and "trainer.test_freq=50" in out
    assert len(_read(run / "verl_val.parquet")) == 30 + 30 + 40


def test_cli_dry_run_reads_validation_sets_from_data_dir_offline(train_file, reward_adapter, benchmarks_dir, tmp_path,
                                                                  monkeypatch, capsys):
    """`--data-dir DIR --offline` reach the export: the validation parquet comes from DIR, nothing is downloaded."""
    cli = pytest.importorskip("justrl.train.cli", reason="justrl.train.cli is not in this tree yet")
    monkeypatch.setenv("JUSTRL_CACHE", str(tmp_path / "empty-cache"))  # nothing cached: DIR is the only source
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")  # restored afterwards; --offline sets it for the run
    run = tmp_path / "run"
    assert cli.main(["--engine", "verl", "--dry-run", "--gpus-per-node", "8", "--train-data", str(train_file),
                     "--output-dir", str(run), "--data-dir", str(benchmarks_dir), "--offline"]) == 0
    assert {r["data_source"] for r in _read(run / "verl_val.parquet")} == {"AIME24", "AIME25", "AMC23"}
    assert "data.val_files=" in capsys.readouterr().out
