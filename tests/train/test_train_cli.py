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
