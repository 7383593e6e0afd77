"""The justrl-eval command-line contract (scripts rely on it) and its one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from justrl.evaluate.cli import main

pytest.importorskip("torch")


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "justrl.evaluate.cli", *args], capture_output=True, text=True,
                          timeout=300)


def contract_args(model, data, out, *extra) -> list[str]:
    return ["--model", str(model), "--backend", "hf", "--benchmarks", "AIME24,MATH-500", "--n", "2", "--limit", "3",
            "--max-tokens", "24", "--data-dir", str(data), "--output-dir", str(out), *extra]


@pytest.mark.slow
def test_contract_run_resume_and_regrade(tiny_model, benchmarks_dir, tmp_path):
    out = tmp_path / "out"
    first = run_cli(*contract_args(tiny_model, benchmarks_dir, out))
    assert first.returncode == 0, first.stderr
    for name in ("aime24.jsonl", "math-500.jsonl", "results.json", "grading_results.json", "report.md", "run.json"):
        assert (out / name).is_file(), name
    rows = [json.loads(x) for x in (out / "aime24.jsonl").read_text().splitlines()]
    assert sorted((r["example_id"], r["sample_index"]) for r in rows) == [(str(p), k) for p in range(3) for k in range(2)]
    assert set(rows[0]) == {"benchmark", "example_id", "sample_index", "prompt", "answer", "seed", "response",
                            "finish_reason", "prompt_tokens", "completion_tokens"}
    assert rows[0]["prompt"].startswith("<|im_start|>user\n") and rows[0]["answer"].startswith("\\boxed{")
    run = json.loads((out / "run.json").read_text())
    assert run["sampling"] == {"temperature": 0.7, "top_p": 0.9, "max_tokens": 24}
    assert run["n"] == {"AIME24": 2, "MATH-500": 2} and run["status"] == "complete"
    assert run["datasets"]["AIME24"]["matches_pinned"] is True and len(run["chat_template_sha256"]) == 64
    assert run["first_prompt"].endswith("<|im_start|>assistant\n") and run["generation"]["completion_tokens"] > 0
    assert run["command"][:3] == ["justrl-eval", "--model", str(tiny_model)]
    results = json.loads((out / "results.json").read_text())
    assert results["provenance"]["model"] == str(tiny_model)
    assert results["benchmarks"]["AIME24"]["samples"] == 6 and results["benchmarks"]["AIME24"]["seeds_recorded"]

    before = {p.name: p.read_text() for p in out.glob("*.jsonl")}
    second = run_cli(*contract_args(tiny_model, benchmarks_dir, out))
    assert second.returncode == 0, second.stderr
    assert "12 already stored, 0 generated" in second.stderr
    assert {p.name: p.read_text() for p in out.glob("*.jsonl")} == before

    regrade = run_cli("grade", str(out), "--mode", "strict", "--quiet")
    assert regrade.returncode == 0, regrade.stderr
    assert json.loads((out / "results.json").read_text())["grading"]["mode"] == "strict"
    assert {p.name: p.read_text() for p in out.glob("*.jsonl")} == before


@pytest.mark.parametrize("argv, expected", [
    (["--model", "m"], ["--model", "m"]),
    (["--api-key", "sk-secret", "--n", "2"], ["--api-key", "***", "--n", "2"]),
    (["--api-key=sk-secret"], ["--api-key=***"]),
], ids=["nothing-secret", "separate-value", "equals-form"])
def test_recorded_command_masks_the_api_key(argv, expected):
    from justrl.evaluate.runner import redact_command

    assert redact_command(argv) == expected


def test_list_shows_the_nine_benchmarks(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("AIME24", "AIME25", "AMC23", "MATH-500", "Minerva", "Olympiad-Bench", "HMMT25", "BRUMO25", "CMIMC25"):
        assert name in out


@pytest.mark.parametrize("args, message", [
    (["--benchmarks", "FOO"], "unknown benchmark 'FOO'"),
    (["--n", "AIME24=x"], "--n"),
    (["--n", "NOPE=3"], "unknown benchmark 'NOPE'"),
    (["--shard", "2/2"], "--shard"),
    (["--temperature", "-1"], "--temperature"),
    (["--model", "/nonexistent/justrl-model"], "model path /nonexistent/justrl-model not found"),
    (["--model", "justrl-test-nobody/no-such-model", "--offline"], "offline"),
    (["--backend", "vllm"], "pip install 'justrl[vllm]'"),
    (["--backend", "openai", "--base-url", "ftp://x"], "not an http"),
], ids=["unknown-benchmark", "bad-n-syntax", "bad-n-benchmark", "bad-shard", "bad-temperature", "missing-model-dir",
        "offline-hub-id", "missing-extra", "bad-base-url"])
def test_bad_input_is_one_line_and_exit_2(tiny_model, benchmarks_dir, tmp_path, capsys, monkeypatch, args, message):
    if "vllm" in args:
        monkeypatch.setitem(sys.modules, "vllm", None)  # as if the extra were not installed
    base = ["--model", str(tiny_model), "--benchmarks", "AIME24", "--limit", "1", "--n", "1", "--max-tokens", "2",
            "--backend", "hf", "--data-dir", str(benchmarks_dir), "--output-dir", str(tmp_path / "out"), "--quiet"]
    assert main(base + args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("args, message", [
    (["grade", "/nonexistent/run"], "is not a directory"),
    (["merge", "/nonexistent/shard", "--output-dir", "/tmp/x"], "is not a directory"),
], ids=["grade-missing-dir", "merge-missing-dir"])
def test_subcommand_errors(capsys, args, message):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_mismatched_settings_keep_the_stored_run(tiny_model, benchmarks_dir, tmp_path, capsys):
    out = tmp_path / "out"
    base = ["--model", str(tiny_model), "--backend", "hf", "--benchmarks", "AIME24", "--limit", "1", "--n", "1",
            "--max-tokens", "3", "--data-dir", str(benchmarks_dir), "--output-dir", str(out), "--quiet", "--no-grade"]
    assert main(base) == 0
    stored = (out / "aime24.jsonl").read_text()
    assert main(base + ["--temperature", "0.6"]) == 2
    assert "different sampling" in capsys.readouterr().err
    assert (out / "aime24.jsonl").read_text() == stored
