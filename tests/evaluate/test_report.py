"""report.md in the JustRL README's layout, the terminal summary, and atomic writers."""

from __future__ import annotations

import json

import pytest
from rich.console import Console

from justrl.benchmarks import BENCHMARKS
from justrl.evaluate.grading import grade_run
from justrl.evaluate.published import PUBLISHED, find_published
from justrl.evaluate.report import print_summary, render_report, write_json_atomic, write_text_atomic

README_HEADER = ("| Model | AIME24 (@2) | AIME25 (@32) | AMC23 (@32) | MATH-500 (@4) | Minerva (@4) | OlympiadBench (@4) "
                 "| HMMT25 (@32) | BRUMO25 (@32) | CMIMC25 (@32) | Avg |")


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
    assert lines[header + 2] == ("| hbx/JustRL-Nemotron-1.5B (ours) | 50.00 ± 0.00 | — | — | — | — | — | — | — | — "
                                 "| 50.00 ± 0.00 (1/9) |")
    assert lines[header + 3] == ("| JustRL-Nemotron-1.5B (published) | 69.69 | 62.92 | 96.02 | 94.15 | 30.24 | 76.59 "
                                 "| 40.63 | 66.88 | 41.72 | 64.32 |")
    assert lines[header + 4] == ("| difference [95% CI] | -19.69 [-19.69, -19.69]* | — | — | — | — | — | — | — | — "
                                 "| -14.32 [-14.32, -14.32]* |")
    assert any(line.startswith("* not comparable") for line in lines)


def test_report_without_a_known_model_has_no_published_rows(results):
    results = {**results, "model": None, "published_source": None}
    text = render_report(results)
    assert "(published)" not in text and "difference" not in text and "| this run (ours) |" in text


def test_details_table_lists_pass_at_k_and_lengths(results):
    text = render_report(results)
    assert "| AIME24 | 2/30 | 2 | 50.00 | 50.00 – 50.00 | @1 50.0, @2 100.0 | 100.00 | 100.00 | 0 / 0 " \
           "| 2 (50.0%) | 0.0% | 10 (10 / 10) | 0.000 |" in text


def test_print_summary_shows_one_row_per_benchmark_and_the_average(results):
    console = Console(record=True, width=120)
    print_summary(results, console=console)
    text = console.export_text()
    assert "AIME24" in text and "2×2" in text and "69.69" in text and "-19.69*" in text
    assert "avg (1/9)" in text and "not comparable" in text


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
