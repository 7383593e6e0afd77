"""results.json carries the run's provenance, and run.json (writer) and grading (reader) agree on it."""

from __future__ import annotations

import hashlib
import json

import pytest

from justrl.benchmarks import BENCHMARKS, file_sha256
from justrl.evaluate.backends.base import GenerationResult
from justrl.evaluate.cli import main
from justrl.evaluate.protocol import Protocol
from justrl.evaluate.runner import run_eval

BENCHES = ("AIME24", "MATH-500")


def _empty(value) -> bool:
    return value is None or value == "" or value == {} or value == []


@pytest.mark.slow
def test_cli_run_records_every_provenance_field(tiny_model, benchmarks_dir, tmp_path):
    pytest.importorskip("torch")
    out = tmp_path / "out"
    assert main(["--model", str(tiny_model), "--backend", "hf", "--benchmarks", ",".join(BENCHES), "--n", "2",
                 "--limit", "2", "--max-tokens", "8", "--data-dir", str(benchmarks_dir), "--output-dir", str(out),
                 "--quiet"]) == 0
    results = json.loads((out / "results.json").read_text())
    prov = results["provenance"]
    required = {
        "versions": prov["versions"],
        "model": prov["model"],
        "model_revision": prov["model_revision"],
        "chat_template_sha256": prov["chat_template_sha256"],
        "first_prompt": prov["first_prompt"],
        "sampling": prov["sampling"],
        "wall_seconds": prov["generation"]["wall_seconds"],
        "tokens_per_second": prov["generation"]["tokens_per_second"],
        **{f"datasets.{name}.sha256": prov["datasets"][name]["sha256"] for name in BENCHES},
    }
    assert not [k for k, v in required.items() if _empty(v)], prov
    for package in ("python", "justrl", "torch", "transformers", "pyarrow", "sympy"):
        assert prov["versions"].get(package), package
    assert prov["model"] == str(tiny_model)
    assert prov["model_revision"].startswith("local-sha256:") and len(prov["model_revision"]) == 13 + 64
    tokenizer_config = json.loads((tiny_model / "tokenizer_config.json").read_text())
    template = tokenizer_config.get("chat_template")
    if isinstance(template, str):
        assert prov["chat_template_sha256"] == hashlib.sha256(template.encode()).hexdigest()
    assert prov["first_prompt"].startswith("<|im_start|>user\n")
    assert prov["first_prompt"].endswith("<|im_start|>assistant\n")
    assert set(prov["sampling"]) == {"temperature", "top_p", "max_tokens"} and prov["sampling"]["max_tokens"] == 8
    assert prov["generation"]["wall_seconds"] > 0 and prov["generation"]["tokens_per_second"] > 0
    for name in BENCHES:
        digest = file_sha256(benchmarks_dir / name / "test.parquet")
        assert prov["datasets"][name]["sha256"] == digest
        # the grading side reads the same place: each benchmark's block shows the checksum run.json recorded
        assert results["benchmarks"][name]["dataset"] == {"sha256": digest, "pinned_sha256": BENCHMARKS[name].sha256,
                                                          "matches_pinned": digest == BENCHMARKS[name].sha256}
    assert json.loads((out / "run.json").read_text()) == prov


class _NoUsageBackend:
    """Like an OpenAI-compatible server that sends no ``usage``: token counts unknown."""

    name = "fake"
    model_id = "fake/no-usage"

    def generate(self, requests, on_result):
        for r in requests:
            on_result(GenerationResult(r.key, "so \\boxed{1}", "stop", None, None))

    def describe(self):
        return {"backend": "fake", "model": self.model_id, "revision": None, "chat_template_sha256": None}

    def close(self):
        pass


def test_unknown_token_counts_stay_unknown(benchmarks_dir, tmp_path):
    run = run_eval(_NoUsageBackend(), "AIME24", output_dir=tmp_path, protocol=Protocol(n=2, limit=2, max_tokens=8),
                   data_dir=benchmarks_dir, progress=False)
    rows = [json.loads(x) for x in (tmp_path / "aime24_t0.7_p0.9_n2-MNT8.jsonl").read_text().splitlines()]
    assert len(rows) == 4 and all(r["completion_tokens"] is None and r["prompt_tokens"] is None for r in rows)
    gen = run.provenance["generation"]
    assert gen["samples_without_token_counts"] == 4 and gen["tokens_per_second"] is None
    bench = run.results["benchmarks"]["AIME24"]
    assert bench["response_tokens"] is None and bench["samples"] == 4
    grading_results = json.loads((tmp_path / "grading_results.json").read_text())
    assert grading_results[0]["avg_output_length"] is None
