"""Crash safety and work splitting: a killed run resumes without duplicated or lost samples and ends
with the same rows as an uninterrupted run; shards merged equal the unsharded run."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

pytest.importorskip("torch")

from justrl.evaluate.backends.hf import HFBackend  # noqa: E402
from justrl.evaluate.protocol import Protocol  # noqa: E402
from justrl.evaluate.runner import run_eval  # noqa: E402
from justrl.evaluate.store import Shard, merge_runs  # noqa: E402

pytestmark = pytest.mark.slow

BENCHES = "AIME24,AMC23"
PROTOCOL = Protocol(n=2, limit=3, max_tokens=32, seed=3)


def rows_by_key(out_dir) -> dict:
    """All stored rows keyed by (benchmark, example_id, sample_index); fails on duplicates."""
    table = {}
    for path in sorted(out_dir.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            row = json.loads(line)
            key = (row["benchmark"], row["example_id"], row["sample_index"])
            assert key not in table, f"duplicated sample {key}"
            table[key] = row
    return table


@pytest.fixture(scope="module")
def backend(tiny_model):
    # batch size 1: every sample is computed alone, so results do not depend on which samples share a batch
    return HFBackend.load(str(tiny_model), batch_size=1)


@pytest.fixture(scope="module")
def reference(backend, benchmarks_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("reference")
    run = run_eval(backend, BENCHES, output_dir=out, protocol=PROTOCOL, data_dir=benchmarks_dir, progress=False)
    assert run.generated == run.planned == 12
    return rows_by_key(out), run.results


def test_killed_run_resumes_to_the_same_rows(tiny_model, benchmarks_dir, tmp_path, reference):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "justrl.evaluate.cli", "--model", str(tiny_model), "--backend", "hf",
           "--batch-size", "1", "--benchmarks", BENCHES, "--n", "2", "--limit", "3", "--max-tokens", "32", "--seed",
           "3", "--data-dir", str(benchmarks_dir), "--output-dir", str(out), "--quiet", "--no-grade"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    stored = 0
    while time.monotonic() < deadline and proc.poll() is None:
        stored = sum(len(p.read_text().splitlines()) for p in out.glob("*.jsonl"))
        if stored >= 3:
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the run finished before it could be killed; raise --max-tokens in this test"
    proc.kill()
    proc.wait()
    partial = rows_by_key(out)
    assert 3 <= len(partial) < 12
    # a crash in the middle of a write leaves a torn line behind
    with sorted(out.glob("*.jsonl"))[0].open("a") as fh:
        fh.write('{"benchmark": "AIME24", "example_id": 3, "sample_ind')
    assert json.loads((out / "run.json").read_text())["status"] == "running"

    resumed = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    final = rows_by_key(out)
    ref_rows, _ = reference
    assert final.keys() == ref_rows.keys()  # nothing lost, nothing duplicated
    assert all(final[k] == partial[k] for k in partial)  # stored rows are kept as they were
    assert final == ref_rows  # same seeds and, with batch size 1, the same text as an uninterrupted run
    run = json.loads((out / "run.json").read_text())
    # the killed session never reached its final bookkeeping: generation stats count finished sessions only
    assert run["status"] == "complete" and run["generation"]["samples"] == 12 - len(partial)


def test_shards_merged_equal_the_unsharded_run(backend, benchmarks_dir, tmp_path, reference):
    ref_rows, ref_results = reference
    shard_dirs = []
    for i in range(3):
        run = run_eval(backend, BENCHES, output_dir=tmp_path / "runs", protocol=PROTOCOL, data_dir=benchmarks_dir,
                       shard=Shard(i, 3), progress=False)
        assert run.results is None and run.out_dir.name == f"shard-{i}-of-3"
        shard_dirs.append(run.out_dir)
    sizes = [len(rows_by_key(d)) for d in shard_dirs]
    assert sum(sizes) == 12 and all(sizes)
    with pytest.raises(Exception, match="incomplete"):
        merge_runs(shard_dirs[:2], tmp_path / "partial")
    report = merge_runs(shard_dirs, tmp_path / "merged")
    assert sum(report.rows.values()) == 12 and not any(report.missing.values())
    assert rows_by_key(tmp_path / "merged") == ref_rows
    from justrl.evaluate.grading import grade_run

    merged = grade_run(tmp_path / "merged", progress=False)
    for name in ("AIME24", "AMC23"):
        assert merged["benchmarks"][name]["avg_at_n"] == ref_results["benchmarks"][name]["avg_at_n"]
        assert merged["benchmarks"][name]["samples"] == 6


def test_extending_n_generates_only_the_new_samples(backend, benchmarks_dir, tmp_path, reference):
    ref_rows, _ = reference
    small = Protocol(n=1, limit=3, max_tokens=32, seed=3)
    first = run_eval(backend, BENCHES, output_dir=tmp_path, protocol=small, data_dir=benchmarks_dir, grade=False,
                     progress=False)
    second = run_eval(backend, BENCHES, output_dir=tmp_path, protocol=PROTOCOL, data_dir=benchmarks_dir, grade=False,
                      progress=False)
    assert (first.generated, second.reused, second.generated) == (6, 6, 6)
    assert rows_by_key(tmp_path) == ref_rows


def test_complete_run_resumes_without_loading_the_model(backend, benchmarks_dir, tmp_path):
    from justrl.evaluate.backends import LazyBackend

    small = Protocol(n=1, limit=2, max_tokens=8, seed=3)
    run_eval(backend, "AIME24", output_dir=tmp_path, protocol=small, data_dir=benchmarks_dir, progress=False)

    def must_not_load():
        raise AssertionError("the model was loaded although nothing was missing")

    lazy = LazyBackend("hf", backend.model_id, must_not_load)
    again = run_eval(lazy, "AIME24", output_dir=tmp_path, protocol=small, data_dir=benchmarks_dir, progress=False)
    assert (again.reused, again.generated, lazy.loaded) == (2, 0, False)
    assert again.provenance["chat_template_sha256"] == backend.describe()["chat_template_sha256"]
