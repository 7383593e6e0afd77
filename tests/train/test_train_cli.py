"""justrl-train's command line: one-line errors with exit 2, overrides, dispatch to T2's commands."""

from __future__ import annotations

import pytest

from justrl.train.cli import main, split_overrides


@pytest.mark.parametrize("argv, message", [
    (["--preset", "nope", "--output-dir", "x"], "unknown preset"),
    (["--preset", "toy", "--set", "learning_rate=1", "--output-dir", "x"], "unknown config key"),
    (["--preset", "toy", "--set", "lr", "--output-dir", "x"], "key=value"),
    (["--preset", "toy", "--total-steps", "many", "--output-dir", "x"], "expects int"),
    (["--preset", "toy"], "--output-dir"),
    (["--preset", "toy", "--bogus", "--output-dir", "x"], "unknown option"),
    (["--resume", "no-such-run"], "holds no run"),
    (["--config", "missing.toml", "--output-dir", "x"], "not found"),
], ids=["unknown-preset", "unknown-key", "override-without-value", "bad-type", "no-output-dir",
        "unknown-option", "resume-missing", "missing-config-file"])
def test_user_errors_print_one_line_and_exit_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and err.startswith("justrl-train: ")


def test_field_flags_become_overrides():
    rest, overrides = split_overrides(["--lr", "2e-6", "--preset", "toy", "--max-response-tokens=64"],
                                      {"lr", "max_response_tokens"})
    assert rest == ["--preset", "toy"] and overrides == {"lr": "2e-6", "max_response_tokens": "64"}


def test_plot_is_dispatched(tmp_path, capsys):
    assert main(["plot", str(tmp_path / "missing")]) == 2
    assert "justrl-train plot" in capsys.readouterr().err


def test_verl_dry_run_is_dispatched(tmp_path, monkeypatch):
    calls = {}

    def fake_launch(config, output_dir, *, nnodes, gpus_per_node, dry_run, data_dir=None, offline=None):
        calls.update(model=config.model, out=output_dir, nnodes=nnodes, gpus=gpus_per_node, dry=dry_run,
                     data_dir=data_dir, offline=offline)
        return 0

    monkeypatch.setattr("justrl.train.verl.launch", fake_launch)
    assert main(["--engine", "verl", "--nnodes", "2", "--gpus-per-node", "8", "--dry-run",
                 "--output-dir", str(tmp_path / "r"), "--preset", "justrl-nemotron-1.5b"]) == 0
    assert calls == {"model": "nvidia/OpenMath-Nemotron-1.5B", "out": tmp_path / "r", "nnodes": 2, "gpus": 8,
                     "dry": True, "data_dir": None, "offline": None}


def test_verl_engine_gets_data_dir_and_offline(tmp_path, monkeypatch):
    """--data-dir and --offline reach justrl.train.verl.launch (which accepts both), and veRL's environment."""
    import os

    calls = {}
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")  # restored after the test; the CLI sets it for the run

    def fake_launch(config, output_dir, *, nnodes, gpus_per_node, dry_run, data_dir=None, offline=None):
        calls.update(data_dir=data_dir, offline=offline, env=os.environ.get("HF_HUB_OFFLINE"))
        return 0

    monkeypatch.setattr("justrl.train.verl.launch", fake_launch)
    (tmp_path / "bench").mkdir()
    assert main(["--engine", "verl", "--dry-run", "--gpus-per-node", "8", "--output-dir", str(tmp_path / "r"),
                 "--data-dir", str(tmp_path / "bench"), "--offline"]) == 0
    assert calls == {"data_dir": tmp_path / "bench", "offline": True, "env": "1"}


def test_missing_data_dir_is_a_one_line_error(tmp_path, capsys):
    assert main(["--engine", "verl", "--dry-run", "--gpus-per-node", "8", "--output-dir", str(tmp_path / "r"),
                 "--data-dir", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip()
    assert "--data-dir" in err and len(err.splitlines()) == 1


def test_help_lists_every_config_key_with_its_default(capsys):
    from dataclasses import fields

    from justrl.train.config import RecipeConfig

    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    for f in fields(RecipeConfig):
        assert f"\n  {f.name} = " in out, f.name
    assert "  lr = 1e-06" in out and '  reward_mode = "strict"' in out


@pytest.mark.parametrize("preset, expected", [
    ("justrl-deepseek-1.5b", ["1.777 B parameters", "2048 responses per step", "memory per GPU"]),
    ("toy", ["training rows      9 (toy:addition)", "30 rollout steps x 16 prompts x 8 rollouts"]),
], ids=["paper-preset", "toy"])
def test_native_dry_run_prints_config_and_plan_and_loads_no_model(preset, expected, capsys, tmp_path, monkeypatch):
    """--dry-run without --engine verl must never start a run (it used to be ignored and start downloading)."""
    import sys

    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "justrl.train.loop", raising=False)

    def no_training(*args, **kwargs):  # pragma: no cover - reaching it is the failure
        raise AssertionError("a dry run started training")

    monkeypatch.setattr("justrl.train.loop.train", no_training, raising=False)
    assert main(["--preset", preset, "--dry-run", "--output-dir", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "resolved config:" in out and "plan:" in out and "dry run: nothing loaded" in out
    for text in expected:
        assert text in out
    assert not (tmp_path / "run").exists()


def test_dry_run_counts_rows_of_a_local_parquet_without_reading_it_all(tmp_path, capsys):
    pd = pytest.importorskip("pandas")
    rows = [{"prompt": [{"role": "user", "content": f"q{i}"}], "reward_model": {"ground_truth": "1"}}
            for i in range(7)]
    pd.DataFrame(rows).to_parquet(tmp_path / "d.parquet")
    assert main(["--preset", "toy", "--train-data", str(tmp_path / "d.parquet"), "--dry-run"]) == 0
    assert f"training rows      7 ({tmp_path / 'd.parquet'})" in capsys.readouterr().out


def test_memory_estimate_scales_with_the_token_budget_and_shards_with_world_size():
    import dataclasses

    from justrl.train.config import RecipeConfig
    from justrl.train.plan import KNOWN_ARCHITECTURES, architecture, memory_estimate

    arch, _ = architecture("deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B")
    assert arch is not None and KNOWN_ARCHITECTURES
    base = RecipeConfig()
    one = memory_estimate(arch, base, world_size=1)
    eight = memory_estimate(arch, base, world_size=8)
    assert eight["model_state"] == pytest.approx(one["model_state"] / 8)
    assert 26 < one["model_state"] < 27  # 1.777e9 parameters x 16 bytes
    if hasattr(base, "max_tokens_per_micro_batch"):
        double = memory_estimate(arch, dataclasses.replace(base, max_tokens_per_micro_batch=65536))
        assert double["activations"] == pytest.approx(2 * one["activations"])


def test_without_torch_training_names_the_extra_and_dry_run_still_works(tmp_path, capsys, monkeypatch):
    """A core install (no torch): one line naming the train extra; a dry run needs no torch at all."""
    import sys

    for name in [m for m in sys.modules if m == "torch" or m.startswith("torch.")
                 or m in ("justrl.train.loop", "justrl.train.grpo", "justrl.train.dist", "justrl.train.toy")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` raise ImportError
    assert main(["--preset", "toy", "--dry-run"]) == 0
    capsys.readouterr()
    assert main(["--preset", "toy", "--output-dir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "pip install 'justrl[train]'" in err
