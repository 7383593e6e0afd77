"""The offline demo: it must run for anyone (no benchmark files, no network) and print runnable commands."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from justrl import demo


def test_shown_commands_use_the_venv_path_when_the_venv_is_not_on_path(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    shown = demo._shown_tool("justrl-eval")
    script = Path(sys.executable).with_name("justrl-eval")
    if script.exists():
        assert shown.endswith("bin/justrl-eval") and shown != "justrl-eval"
    else:
        assert shown == "justrl-eval"


def test_shown_commands_are_bare_names_in_an_activated_venv(monkeypatch):
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))
    assert demo._shown_tool("justrl-eval") == "justrl-eval"


def test_local_benchmarks_finds_a_folder_or_the_cache_and_else_none(tmp_path, monkeypatch):
    monkeypatch.setenv("JUSTRL_CACHE", str(tmp_path / "cache"))
    assert demo.local_benchmarks(None) is None
    assert demo.local_benchmarks(tmp_path / "nothing") is None
    (tmp_path / "data" / "MATH-500").mkdir(parents=True)
    (tmp_path / "data" / "MATH-500" / "test.parquet").write_bytes(b"x")
    assert demo.local_benchmarks(tmp_path / "data") == tmp_path / "data"
    (tmp_path / "cache" / "benchmarks" / "MATH-500").mkdir(parents=True)
    (tmp_path / "cache" / "benchmarks" / "MATH-500" / "test.parquet").write_bytes(b"x")
    assert demo.local_benchmarks(None) == tmp_path / "cache" / "benchmarks"


@pytest.mark.slow
def test_demo_evaluates_the_builtin_set_without_benchmark_files_or_network(tmp_path, monkeypatch):
    """An outside user: no ../shared, empty cache, offline. The evaluation part must run and grade."""
    monkeypatch.setenv("JUSTRL_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(demo, "_repo_shared_benchmarks", lambda: None)
    monkeypatch.setattr("justrl.evaluate.runner.demo_model_path", lambda: None)  # the tiny local model
    code = demo.main(["--output-dir", str(tmp_path / "demo"), "--skip", "train", "--max-tokens", "16"])
    assert code == 0
    results = json.loads((tmp_path / "demo" / "eval" / "results.json").read_text())
    assert "DEMO" in json.dumps(results)
    assert (tmp_path / "demo" / "eval" / "report.md").is_file()
