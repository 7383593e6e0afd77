"""Work splitting and extension with a real (tiny) model: shards merged equal the unsharded run, N can be
raised, a complete run resumes without loading the model. Kill -9 and resume: test_faults_e2e.py."""

from __future__ import annotations

import json

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
