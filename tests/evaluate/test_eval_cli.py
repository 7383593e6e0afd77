"""The justrl-eval command-line contract (scripts rely on it) and its one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from justrl.benchmarks import BENCHMARKS
from justrl.evaluate.cli import main
from justrl.evaluate.store import run_file_name

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
    aime, math500 = (run_file_name(b, 0.7, 0.9, 2, 24) for b in ("AIME24", "MATH-500"))
    assert aime == "aime24_t0.7_p0.9_n2-MNT24.jsonl"
    for name in (aime, math500, "results.json", "grading_results.json", "report.md", "run.json"):
        assert (out / name).is_file(), name
    rows = [json.loads(x) for x in (out / aime).read_text().splitlines()]
    assert sorted((int(r["example_id"]), r["sample_index"]) for r in rows) == [(p, k) for p in range(3) for k in range(2)]
    assert set(rows[0]) == {"benchmark", "example_id", "sample_index", "prompt", "rendered_prompt", "answer", "seed",
                            "response", "finish_reason", "prompt_tokens", "completion_tokens"}
    assert rows[0]["prompt"].endswith("within \\boxed{}.") and not rows[0]["prompt"].startswith("<|im_start|>")
    assert rows[0]["rendered_prompt"].startswith("<|im_start|>user\n") and rows[0]["answer"].startswith("\\boxed{")
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
    assert json.loads((out / "results.strict.json").read_text())["grading"]["mode"] == "strict"
    assert json.loads((out / "results.json").read_text())["grading"]["mode"] == "lenient"  # kept, not replaced
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
    (["--engine-arg", "enforce_eager=true"], "--engine-arg and --enforce-eager apply to the vllm backend only"),
    (["--enforce-eager"], "apply to the vllm backend only"),
], ids=["unknown-benchmark", "bad-n-syntax", "bad-n-benchmark", "bad-shard", "bad-temperature", "missing-model-dir",
        "offline-hub-id", "missing-extra", "bad-base-url", "engine-arg-without-vllm", "enforce-eager-without-vllm"])
def test_bad_input_is_one_line_and_exit_2(tiny_model, benchmarks_dir, tmp_path, capsys, monkeypatch, args, message):
    if "vllm" in args:
        monkeypatch.setitem(sys.modules, "vllm", None)  # as if the extra were not installed
    base = ["--model", str(tiny_model), "--benchmarks", "AIME24", "--limit", "1", "--n", "1", "--max-tokens", "2",
            "--backend", "hf", "--data-dir", str(benchmarks_dir), "--output-dir", str(tmp_path / "out"), "--quiet"]
    assert main(base + args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_prompt_plus_max_tokens_beyond_the_context_is_refused_before_generating(tiny_model, benchmarks_dir,
                                                                                tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["--model", str(tiny_model), "--benchmarks", "AIME24", "--limit", "1", "--n", "1", "--max-tokens",
                 "3000", "--backend", "hf", "--data-dir", str(benchmarks_dir), "--output-dir", str(out),
                 "--quiet"]) == 2
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]  # transformers' own "Loading weights" bar may precede it
    assert last.startswith("justrl-eval: error: model ") and "Traceback" not in err
    assert "has a context of 2048 tokens (max_position_embeddings=2048)" in last and "--max-tokens 3000" in last
    assert not list(out.glob("aime24*.jsonl")) or not any(p.read_text() for p in out.glob("aime24*.jsonl"))


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
    stored_file = out / run_file_name("AIME24", 0.7, 0.9, 1, 3)
    stored = stored_file.read_text()
    assert main(base + ["--temperature", "0.6"]) == 2
    assert "different sampling" in capsys.readouterr().err
    assert stored_file.read_text() == stored


def _benchmark_setup(kind: str, tmp_path, benchmarks_dir, monkeypatch) -> list[str]:
    """Arguments that point justrl-eval at benchmark data that is absent, corrupt or malformed."""
    cache = tmp_path / "cache"
    if kind == "offline-no-cache":
        return ["--offline", "--cache-dir", str(cache)]
    if kind == "corrupt-cache-offline":
        (cache / "benchmarks" / "AIME24").mkdir(parents=True)
        (cache / "benchmarks" / "AIME24" / "test.parquet").write_bytes(b"not the pinned file")
        return ["--offline", "--cache-dir", str(cache)]
    if kind == "download-wrong-checksum":
        mirror = tmp_path / "mirror" / "AIME24"
        mirror.mkdir(parents=True)
        (mirror / "test.parquet").write_bytes((benchmarks_dir / "AIME25" / "test.parquet").read_bytes())
        monkeypatch.setenv("JUSTRL_DATA_URL", (tmp_path / "mirror").as_uri())
        return ["--cache-dir", str(cache)]
    data = tmp_path / "data" / "AIME24"
    data.mkdir(parents=True)
    if kind == "not-parquet":
        (data / "test.parquet").write_bytes(b"this is not parquet")
    else:  # a parquet file of the other schema: HMMT25's columns under AIME24's name
        (data / "test.parquet").write_bytes((benchmarks_dir / "HMMT25" / "test.parquet").read_bytes())
    return ["--data-dir", str(tmp_path / "data")]


@pytest.mark.parametrize("kind, message", [
    ("offline-no-cache", "AIME24 is not cached at"),
    ("corrupt-cache-offline", "is corrupt"),
    ("download-wrong-checksum", "has sha256"),
    ("not-parquet", "is not a readable parquet file"),
    ("wrong-schema", "lacks column(s) prompt, reward_model"),
], ids=["offline-no-cache", "corrupt-cache-offline", "download-wrong-checksum", "not-parquet", "wrong-schema"])
def test_benchmark_data_errors_are_one_line_and_exit_2(tiny_model, benchmarks_dir, tmp_path, capsys, monkeypatch,
                                                       kind, message):
    monkeypatch.delenv("JUSTRL_DATA_URL", raising=False)
    args = _benchmark_setup(kind, tmp_path, benchmarks_dir, monkeypatch)
    base = ["--model", str(tiny_model), "--backend", "hf", "--benchmarks", "AIME24", "--limit", "1", "--n", "1",
            "--max-tokens", "2", "--output-dir", str(tmp_path / "out"), "--quiet"]
    assert main(base + args) == 2
    err = capsys.readouterr().err
    assert err.startswith("justrl-eval: error: ") and message in err, err
    assert err.count("\n") == 1 and "Traceback" not in err
    if kind == "offline-no-cache":
        assert "--data-dir" in err and BENCHMARKS["AIME24"].url in err
    if kind == "download-wrong-checksum":
        assert not (tmp_path / "cache" / "benchmarks" / "AIME24" / "test.parquet").exists()


def test_missing_model_is_one_line_and_exit_2(benchmarks_dir, tmp_path, capsys):
    assert main(["--benchmarks", "AIME24", "--data-dir", str(benchmarks_dir), "--output-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no model given; pass --model" in err and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.slow
def test_errors_in_a_real_process_have_no_traceback(tmp_path):
    """The console script path: a separate interpreter, stderr exactly one line, exit status 2."""
    data = tmp_path / "data" / "AIME24"
    data.mkdir(parents=True)
    (data / "test.parquet").write_bytes(b"this is not parquet")
    for args, message in ((["--benchmarks", "AIME24"], "no model given"),
                          (["--model", "x/y", "--benchmarks", "GSM8K"], "unknown benchmark 'GSM8K'"),
                          (["--model", "x/y", "--backend", "hf", "--benchmarks", "AIME24", "--data-dir",
                            str(tmp_path / "data")], "is not a readable parquet file")):
        done = run_cli(*args, "--output-dir", str(tmp_path / "out"))
        assert done.returncode == 2 and message in done.stderr and done.stderr.count("\n") == 1, done.stderr


def test_a_local_file_that_differs_is_one_warning_line(tiny_model, benchmarks_dir, tmp_path, capsys):
    data = tmp_path / "data" / "AIME24"
    data.mkdir(parents=True)
    (data / "test.parquet").write_bytes((benchmarks_dir / "AIME25" / "test.parquet").read_bytes())
    assert main(["--model", str(tiny_model), "--backend", "hf", "--benchmarks", "AIME24", "--limit", "1", "--n", "1",
                 "--max-tokens", "2", "--data-dir", str(tmp_path / "data"), "--output-dir", str(tmp_path / "out"),
                 "--quiet", "--no-grade"]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if "differs from the pinned" in line]
    assert len(warnings) == 1 and warnings[0].startswith("justrl-eval: warning: ")
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["datasets"]["AIME24"]["matches_pinned"] is False


def test_run_names_where_its_results_went(tiny_model, benchmarks_dir, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["--model", str(tiny_model), "--backend", "hf", "--benchmarks", "AIME24", "--limit", "1", "--n", "1",
                 "--max-tokens", "2", "--data-dir", str(benchmarks_dir), "--output-dir", str(out), "--quiet",
                 "--grader", "strict"]) == 0
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.endswith(f"results in {out / 'results.strict.json'}") and (out / "results.strict.json").is_file()
