"""Loading the nine files into Problems, and the one-line errors for files that are wrong."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

from justrl.benchmarks import (
    BENCHMARKS,
    BenchmarkDataWarning,
    BenchmarkError,
    benchmark_file,
    file_sha256,
    load_benchmark,
)


@pytest.mark.parametrize("name", list(BENCHMARKS))
def test_each_shared_file_loads_with_the_readme_count_and_pinned_checksum(benchmarks_dir, name):
    spec = BENCHMARKS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a pinned file must not warn
        problems = load_benchmark(name, data_dir=benchmarks_dir)
    assert file_sha256(benchmarks_dir / name / "test.parquet") == spec.sha256
    assert len(problems) == spec.problems
    assert [p.id for p in problems] == [str(i) for i in range(spec.problems)]  # JustRL's example_id
    assert all(p.question and p.gold and p.question == p.question.strip() for p in problems)
    assert all(p.meta["benchmark"] == name and p.meta["source_id"] for p in problems)


def test_aime24_golds_stay_wrapped_and_are_marked(benchmarks_dir):
    problems = load_benchmark("aime24", data_dir=benchmarks_dir)
    assert problems[0].gold == "\\boxed{204}"
    assert all(p.meta["gold_wrapped"] for p in problems)
    assert not any(p.meta["gold_wrapped"] for p in load_benchmark("AIME25", data_dir=benchmarks_dir))


def test_dataset_ids_are_kept_in_meta(benchmarks_dir):
    math = load_benchmark("MATH-500", data_dir=benchmarks_dir)[0]
    hmmt = load_benchmark("HMMT25", data_dir=benchmarks_dir)[0]
    assert (math.meta["source_id"], math.meta["unique_id"]) == ("MATH-500-0", "test/precalculus/807.json")
    assert (hmmt.meta["source_id"], hmmt.meta["problem_type"]) == ("1", ["Number Theory"])


def _verl_frame(rows: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame({
        "prompt": [[{"content": q, "role": "user"}] for q, _ in rows],
        "data_source": ["AIME24"] * len(rows), "ability": ["math"] * len(rows),
        "reward_model": [{"ground_truth": g, "style": "rule"} for _, g in rows],
        "extra_info": [{"index": f"AIME24-{i}", "split": "test"} for i in range(len(rows))],
    })


def _write(data_dir: Path, name: str, content: pd.DataFrame | bytes) -> Path:
    path = data_dir / name / "test.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        content.to_parquet(path)
    return path


def test_a_local_file_that_differs_from_the_pinned_one_is_used_with_a_warning(tmp_path):
    _write(tmp_path, "AIME24", _verl_frame([("  What is 1+1? ", " 2 "), ("Half of 1?", "$\\frac12$")]))
    with pytest.warns(BenchmarkDataWarning, match="differs from the pinned AIME24 file"):
        problems = load_benchmark("AIME24", data_dir=tmp_path)
    assert [(p.id, p.question, p.gold) for p in problems] == [("0", "What is 1+1?", "2"),
                                                              ("1", "Half of 1?", "$\\frac12$")]
    assert [p.meta["gold_wrapped"] for p in problems] == [False, True]


def test_matharena_schema_reads_problem_and_answer(tmp_path):
    frame = pd.DataFrame({"problem_idx": [7], "problem": ["Compute 3!."], "answer": ["6"],
                          "problem_type": [["Combinatorics"]]})
    _write(tmp_path, "HMMT25", frame)
    with pytest.warns(BenchmarkDataWarning):
        (problem,) = load_benchmark("HMMT25", data_dir=tmp_path)
    assert (problem.id, problem.question, problem.gold, problem.meta["source_id"]) == ("0", "Compute 3!.", "6", "7")


@pytest.mark.parametrize(("name", "content", "message"), [
    ("AIME24", b"this is not parquet", "is not a readable parquet file"),
    ("AIME24", pd.DataFrame({"question": ["q"], "answer": ["1"]}),
     "lacks column(s) prompt, reward_model required by the verl schema of AIME24"),
    ("HMMT25", _verl_frame([("q", "1")]), "lacks column(s) problem, answer required by the matharena schema"),
    ("AIME24", _verl_frame([("q", "1")]).assign(prompt=[[]]), "row 0: malformed verl record"),
    ("AIME24", _verl_frame([("q", "1"), ("q2", "   ")]), "row 1: empty gold answer"),
    ("AIME24", _verl_frame([]).astype(object), "has no rows"),
], ids=["not-parquet", "verl-missing-columns", "matharena-missing-columns", "empty-message-list", "empty-gold",
        "no-rows"])
def test_malformed_files_raise_one_line_errors(tmp_path, name, content, message):
    _write(tmp_path, name, content)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BenchmarkDataWarning)
        with pytest.raises(BenchmarkError) as info:
            load_benchmark(name, data_dir=tmp_path)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_missing_file_in_data_dir_names_the_path_and_layout(tmp_path):
    with pytest.raises(BenchmarkError) as info:
        benchmark_file("AMC23", data_dir=tmp_path)
    text = str(info.value)
    assert str(tmp_path / "AMC23" / "test.parquet") in text and "data/<NAME>/test.parquet" in text


def test_unknown_name_is_a_benchmark_error(tmp_path):
    with pytest.raises(BenchmarkError, match="unknown benchmark 'GSM8K'"):
        load_benchmark("GSM8K", data_dir=tmp_path)
