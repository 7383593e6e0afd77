"""The built-in DEMO set: shipped in the package, pinned by sha256, never part of 'all', works offline."""

from __future__ import annotations

from justrl.benchmarks.fetch import benchmark_file, file_sha256
from justrl.benchmarks.loaders import load_benchmark
from justrl.benchmarks.registry import EXTRA_BENCHMARKS, resolve_benchmarks


def test_demo_file_matches_its_pinned_checksum_and_count():
    spec = EXTRA_BENCHMARKS["DEMO"]
    path = benchmark_file("DEMO", offline=True)
    assert file_sha256(path) == spec.sha256
    assert len(load_benchmark("DEMO", offline=True)) == spec.problems


def test_demo_is_found_by_name_but_never_part_of_all():
    assert [s.name for s in resolve_benchmarks("demo")] == ["DEMO"]
    assert "DEMO" not in [s.name for s in resolve_benchmarks("all")]


def test_demo_ignores_data_dir_and_cache(tmp_path):
    """A built-in set needs no folder: --data-dir pointing elsewhere must not make it fail."""
    problems = load_benchmark("DEMO", data_dir=tmp_path, cache_dir=tmp_path, offline=True)
    assert problems[0].question and problems[0].gold and problems[0].id == "0"


def test_every_demo_gold_verifies_against_itself():
    from justrl.verify import verify

    for problem in load_benchmark("DEMO", offline=True):
        assert verify(f"\\boxed{{{problem.gold}}}", problem.gold).correct, problem.gold
