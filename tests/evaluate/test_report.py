"""report.md in the JustRL README's layout, the terminal summary, and atomic writers."""

from __future__ import annotations

import json

import pytest
from rich.console import Console

from justrl.benchmarks import BENCHMARKS
from justrl.evaluate.grading import grade_run
from justrl.evaluate.published import PUBLISHED, find_published
from justrl.evaluate.report import print_summary, render_report, write_json_atomic, write_text_atomic

README_HEADER = "| Model | AIME24 (@2) | Avg (1 of 9) |"  # only the benchmarks that ran


@pytest.fixture
def results(tmp_path):
    rows = [{"example_id": e, "sample_index": k, "answer": "3", "prompt": "p", "response": "\\boxed{3}" if k else "x",
             "finish_reason": "stop", "completion_tokens": 10} for e in range(2) for k in range(2)]
    (tmp_path / "aime24.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "run.json").write_text(json.dumps({"model": "hbx/JustRL-Nemotron-1.5B"}))
    return grade_run(tmp_path, mode="strict", progress=False)


def test_report_table_has_the_readme_layout_with_published_row_and_difference(results):
    lines = render_report(results).splitlines()
    header = lines.index(README_HEADER)
    # Wilson interval over 2 problems at 50%: honest width, never "± 0.00"
    assert lines[header + 2] == "| hbx/JustRL-Nemotron-1.5B (ours, strict) | 50.00 [9.5, 90.5] | 50.00 [9.5, 90.5] |"
    assert lines[header + 3] == "| hbx/JustRL-Nemotron-1.5B (ours, justrl-rule) | 50.00 [9.5, 90.5] | — |"
    assert lines[header + 4] == "| JustRL-Nemotron-1.5B (published) | 69.69 | — |"  # no 9-benchmark mean for 1 of 9
    assert lines[header + 5] == "| difference (justrl-rule) [95% CI] | -19.69 [-60.24, +20.86]*† | — |"
    assert any(line.startswith("* not comparable") for line in lines)
    assert any(line.startswith("† not like for like") for line in lines)


def test_report_without_a_known_model_has_no_published_rows(results):
    results = {**results, "model": None, "model_short": None, "published_source": None}
    text = render_report(results)
    assert "(published)" not in text and "difference" not in text and "| this run (ours, strict) |" in text


def test_details_table_lists_pass_at_k_and_lengths(results):
    text = render_report(results)
    assert "| AIME24 | 2/30 | 2 | 50.00 | 9.45 – 90.55 | @1 50.0, @2 100.0 | 100.00 | 100.00 | 0 / 0 " \
           "| 2 (50.0%) | 0.0% | 10 (10 / 10) | 0.000 |" in text


def test_print_summary_shows_one_row_per_benchmark_and_the_average(results):
    console = Console(record=True, width=120)
    print_summary(results, console=console)
    text = console.export_text()
    assert "AIME24" in text and "2×2" in text and "69.69" in text and "-19.69*†" in text
    assert "avg (1 of 9)" in text and "not comparable" in text and "not like for like" in text


def test_atomic_writes_replace_whole_files_and_leave_no_temporaries(tmp_path):
    target = tmp_path / "sub" / "results.json"
    write_json_atomic(target, {"a": 1})
    write_json_atomic(target, {"b": [1, 2]})
    assert json.loads(target.read_text()) == {"b": [1, 2]}
    with pytest.raises(TypeError):
        write_json_atomic(target, {"bad": object()})  # fails before touching the file
    assert json.loads(target.read_text()) == {"b": [1, 2]}
    write_text_atomic(tmp_path / "report.md", "# hi\n")
    assert (tmp_path / "report.md").read_text() == "# hi\n"
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["report.md", "results.json"]


@pytest.mark.parametrize(("model", "row"), [
    ("hbx/JustRL-DeepSeek-1.5B", "JustRL-DeepSeek-1.5B"),
    ("/checkpoints/JustRL-Nemotron-1.5B/", "JustRL-Nemotron-1.5B"),
    ("deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B", "DeepSeek-R1-Distill-1.5B"),
    ("ProRL-V2", "ProRL-V2"),
    ("someone/tiny-model", None),
    (None, None),
], ids=["hub-id", "local-path-by-last-component", "baseline-hub-id", "row-name", "unknown", "none"])
def test_find_published(model, row):
    found = find_published(model)
    assert (found.model if found else None) == row


def test_published_rows_are_consistent_with_their_averages():
    for row in PUBLISHED.values():
        assert set(row.scores) <= set(BENCHMARKS)
        if len(row.scores) == 9 and row.average is not None:
            # the README's Avg is the unweighted mean of the nine, up to its rounding (DeepScaleR: 44.90 vs 44.88)
            assert sum(row.scores.values()) / 9 == pytest.approx(row.average, abs=0.025)
    assert PUBLISHED["BroRL"].average is None and "AMC23" not in PUBLISHED["BroRL"].scores


@pytest.mark.parametrize(("model", "short"), [
    ("hbx/JustRL-DeepSeek-1.5B", "hbx/JustRL-DeepSeek-1.5B"),  # a short hub id stays whole
    ("/scratch/users/someone/checkpoints/experiments/run-17/global_step_300/JustRL-DeepSeek-1.5B/",
     "JustRL-DeepSeek-1.5B"),
    ("./ckpt/model", "model"),
    ("organisation-with-a-very-long-name/and-a-very-long-model-name-too", "and-a-very-long-model-name-too"),
    (None, None),
], ids=["hub-id", "long-path", "relative", "long-hub-id", "none"])
def test_tables_use_short_model_names(model, short):
    from justrl.evaluate.grading import short_model_name

    assert short_model_name(model) == short


def test_report_names_the_short_model_and_keeps_the_full_one_in_the_header(results):
    long = "/scratch/users/someone/checkpoints/experiments/run-17/global_step_300/JustRL-Nemotron-1.5B"
    text = render_report({**results, "model": long, "model_short": "JustRL-Nemotron-1.5B"})
    assert f"Model: `{long}`" in text and "| JustRL-Nemotron-1.5B (ours, strict) |" in text
    assert f"| {long} (ours" not in text
