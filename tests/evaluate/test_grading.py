"""grade_run end to end on run directories written by hand (known answers, strict rule unless stated)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from justrl.benchmarks import BENCHMARKS, load_benchmark
from justrl.evaluate.grading import GradingError, grade_run

JUSTRL_KEYS = ["hyperparameters", "mean_score", "distinct_4gram", "best_score", "solve_none", "solve_all",
               "avg_output_length", "format_error_rollouts"]


def boxed(answer: str) -> str:
    return f"Let me think step by step about it. So the answer is \\boxed{{{answer}}}"


def write_jsonl(path: Path, rows: list[dict], tail: str = "") -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + tail, encoding="utf-8")


def store_row(eid: int, k: int, gold: str, response: str, *, finish="stop", tokens=100, bench="AIME24") -> dict:
    return {"benchmark": bench, "example_id": str(eid), "sample_index": k, "prompt": f"Problem {eid}?",
            "answer": gold, "seed": 1000 * eid + k, "response": response, "finish_reason": finish,
            "prompt_tokens": 20, "completion_tokens": tokens}


@pytest.fixture
def run_dir(tmp_path) -> Path:
    """AIME24 (ours, 3 problems x 4) + MATH-500 in JustRL's own format (2 problems x 2) + run.json."""
    out = tmp_path / "out"
    out.mkdir()
    aime = [
        # problem 0 (gold wrapped like AIME24's): 3 of 4 correct; sample 3 truncated without an answer
        store_row(0, 0, "\\boxed{204}", boxed("204"), tokens=100),
        store_row(0, 1, "\\boxed{204}", boxed("204"), tokens=200),
        store_row(0, 2, "\\boxed{204}", boxed("204"), tokens=300),
        store_row(0, 3, "\\boxed{204}", "I keep thinking and thinking", finish="length", tokens=1000),
        # problem 1: 1 of 4 correct; wrong answers agree on 7
        store_row(1, 0, "5", boxed("7"), tokens=50),
        store_row(1, 1, "5", boxed("7"), tokens=50),
        store_row(1, 2, "5", boxed("5"), tokens=60),
        store_row(1, 3, "5", boxed("8"), tokens=50),
        # problem 2: none correct
        *[store_row(2, k, "11", boxed("12"), tokens=40) for k in range(4)],
    ]
    aime.append(store_row(1, 2, "5", boxed("999"), tokens=1))  # a shard's duplicate: the first row wins
    write_jsonl(out / "aime24.jsonl", aime, tail='{"benchmark": "AIME24", "example_id": "2", "samp')  # cut by a crash
    justrl = [  # JustRL's gen_vllm.py rows: no sample_index, finish reason or token counts
        {"example_id": 0, "prompt": "1+1?", "answer": "2", "seed": 11, "response": boxed("2")},
        {"example_id": 1, "prompt": "2+2?", "answer": "4", "seed": 11, "response": "four"},
        {"example_id": 0, "prompt": "1+1?", "answer": "2", "seed": 22, "response": boxed("3")},
        {"example_id": 1, "prompt": "2+2?", "answer": "4", "seed": 22, "response": boxed("4")},
    ]
    write_jsonl(out / "math-500_t0.7_p0.9_n2-MNT31744.jsonl", justrl)
    (out / "run.json").write_text(json.dumps({
        "model": {"id": "hbx/JustRL-DeepSeek-1.5B", "revision": "abc"},
        "sampling": {"temperature": 0.7, "top_p": 0.9, "max_tokens": 31744},
        "datasets": {"AIME24": {"sha256": BENCHMARKS["AIME24"].sha256}, "MATH-500": {"sha256": "0" * 64}},
        "plan": {"AIME24": {"slug": "aime24", "example_ids": ["0", "1", "2", "3"], "n": 4}},  # problem 3 never ran
    }))
    return out


def test_metrics_per_benchmark(run_dir):
    results = grade_run(run_dir, mode="strict", progress=False)
    aime = results["benchmarks"]["AIME24"]
    assert (aime["problems"], aime["n"], aime["samples"], aime["complete"]) == (3, 4, 12, False)
    assert aime["avg_at_n"] == pytest.approx(100 * (0.75 + 0.25 + 0) / 3)
    assert aime["pass_at_k"] == pytest.approx({"1": 100 / 3, "2": 100 * (1 + 0.5 + 0) / 3, "4": 200 / 3})
    assert aime["best_of_n"] == pytest.approx(200 / 3)
    assert aime["maj_at_k"]["4"] == pytest.approx(100 / 3)  # problem 1: "7" outvotes the gold
    assert (aime["solve_none"], aime["solve_all"]) == (1, 0)
    assert (aime["format_errors"], aime["no_boxed"]) == (1, 1)
    assert aime["format_error_rate"] == pytest.approx(100 / 12)
    assert aime["truncation_rate"] == pytest.approx(100 / 12)
    tokens = aime["response_tokens"]
    assert tokens["all"] == {"mean": pytest.approx(1970 / 12), "median": 50.0, "max": 1000, "count": 12}
    assert tokens["correct"]["mean"] == pytest.approx((100 + 200 + 300 + 60) / 4)
    assert (aime["duplicates_dropped"], aime["skipped_lines"], aime["seeds_recorded"]) == (1, 1, True)
    assert aime["reasons"] == {"match": 4, "mismatch": 7, "no_answer": 1}
    assert aime["dataset"]["matches_pinned"] is True
    assert (aime["planned_samples"], aime["missing_samples"]) == (16, 4)
    se = aime["se"]
    assert aime["ci95"] == pytest.approx([aime["avg_at_n"] - 1.959964 * se, aime["avg_at_n"] + 1.959964 * se])


def test_justrl_format_rows_are_graded_with_unknowns_left_null(run_dir):
    results = grade_run(run_dir, mode="strict", progress=False)
    math = results["benchmarks"]["MATH-500"]
    assert math["files"] == ["math-500_t0.7_p0.9_n2-MNT31744.jsonl"]
    assert (math["problems"], math["n"], math["avg_at_n"]) == (2, 2, 50.0)
    assert math["truncation_rate"] is None and math["response_tokens"] is None
    assert math["format_errors"] == 1
    assert math["dataset"]["matches_pinned"] is False
    assert (math["planned_samples"], math["missing_samples"]) == (None, None)


def test_published_comparison_and_average(run_dir):
    results = grade_run(run_dir, mode="strict", progress=False)
    aime, math = results["benchmarks"]["AIME24"], results["benchmarks"]["MATH-500"]
    assert results["model"] == "hbx/JustRL-DeepSeek-1.5B"
    assert aime["published"]["avg_at_n"] == 52.60
    assert aime["published"]["diff"] == pytest.approx(aime["avg_at_n"] - 52.60)
    assert aime["published"]["comparable"] is False  # 3 of 30 problems
    avg = results["average"]
    assert avg["benchmarks"] == ["AIME24", "MATH-500"] and avg["complete"] is False
    assert avg["avg_at_n"] == pytest.approx((aime["avg_at_n"] + math["avg_at_n"]) / 2)
    assert avg["se"] == pytest.approx((aime["se"] ** 2 + math["se"] ** 2) ** 0.5 / 2)
    assert avg["published"]["diff"] == pytest.approx(avg["avg_at_n"] - 54.87)


def test_grading_results_json_has_justrl_keys_and_meanings(run_dir):
    grade_run(run_dir, mode="strict", progress=False)
    entries = json.loads((run_dir / "grading_results.json").read_text())
    assert [list(e) for e in entries] == [JUSTRL_KEYS, JUSTRL_KEYS]
    aime, math = entries  # sorted by file name, as JustRL's glob
    assert aime["hyperparameters"] == {"temperature": "0.7", "top_p": "0.9", "max_tokens": "31744", "n": "4",
                                       "task_name": "aime24"}
    assert math["hyperparameters"] == {"temperature": "0.7", "top_p": "0.9", "n": "2", "max_tokens": "31744",
                                       "task_name": "math-500"}
    assert aime["mean_score"] == pytest.approx(1 / 3) and aime["best_score"] == pytest.approx(2 / 3)
    assert (aime["solve_none"], aime["solve_all"], aime["format_error_rollouts"]) == (1, 0, 1)
    assert aime["avg_output_length"] == pytest.approx(1970 / 12)
    assert math["avg_output_length"] is None and math["format_error_rollouts"] == 1


def test_outputs_are_written_and_per_sample_verdicts_kept(run_dir):
    results = grade_run(run_dir, mode="strict", progress=False)
    assert json.loads((run_dir / "results.json").read_text()) == json.loads(json.dumps(results))
    report = (run_dir / "report.md").read_text()
    assert "| Model | AIME24 (@4) |" in report
    assert "- AIME24: 4 of 16 planned samples are missing" in report
    assert "- MATH-500: the data file differs from the pinned JustRL file" in report
    assert "- AIME24: 1 duplicate rows dropped, 1 unreadable lines skipped." in report
    graded = [json.loads(line) for line in (run_dir / "graded" / "aime24.jsonl").read_text().splitlines()]
    assert len(graded) == 12
    assert graded[6] == {"example_id": "1", "sample_index": 2, "correct": True, "rule_correct": True, "judge": None,
                         "extracted": "5", "reason": "match", "gold": "5", "finish_reason": "stop",
                         "completion_tokens": 60}
    assert results["grading"]["mode"] == "strict" and results["grading"]["verifier_version"]
    assert results["provenance"]["model"]["revision"] == "abc"
    assert not [p for p in run_dir.rglob("*.tmp")]


def test_regrading_gives_the_same_numbers(run_dir):
    first = grade_run(run_dir, mode="strict", progress=False)
    second = grade_run(run_dir, mode="strict", progress=False)
    first["grading"]["seconds"] = second["grading"]["seconds"] = 0
    assert first == second


def test_a_complete_benchmark_is_comparable(benchmarks_dir, tmp_path):
    problems = load_benchmark("AIME24", data_dir=benchmarks_dir)
    rows = [store_row(int(p.id), k, p.gold, boxed(p.gold[len("\\boxed{"):-1]) if k == 0 else boxed("-1"))
            for p in problems for k in range(2)]
    write_jsonl(tmp_path / "aime24.jsonl", rows)
    results = grade_run(tmp_path, mode="strict", progress=False, published_model="JustRL-DeepSeek-1.5B")
    aime = results["benchmarks"]["AIME24"]
    assert (aime["complete"], aime["avg_at_n"], aime["se"]) == (True, 50.0, 0.0)
    assert aime["published"] == {"model": "JustRL-DeepSeek-1.5B", "avg_at_n": 52.60, "diff": pytest.approx(-2.6),
                                 "diff_ci95": [pytest.approx(-2.6), pytest.approx(-2.6)], "comparable": True}
    assert results["average"]["complete"] is False  # one of nine


def test_unknown_benchmark_files_are_graded_but_kept_out_of_the_average(tmp_path):
    write_jsonl(tmp_path / "gsm8k.jsonl", [store_row(0, 0, "3", boxed("3"), bench="GSM8K")])
    write_jsonl(tmp_path / "aime25.jsonl", [store_row(0, 0, "3", boxed("4"), bench="AIME25")])
    (tmp_path / "events.jsonl").write_text('{"event": "start"}\n')
    results = grade_run(tmp_path, mode="strict", progress=False)
    assert list(results["benchmarks"]) == ["AIME25", "GSM8K"]
    assert results["benchmarks"]["GSM8K"]["known"] is False
    assert results["average"]["benchmarks"] == ["AIME25"] and results["average"]["avg_at_n"] == 0.0
    assert results["ignored_files"] == ["events.jsonl"]
    assert results["model"] is None and results["benchmarks"]["AIME25"]["published"] is None


@pytest.mark.parametrize(("setup", "message"), [
    (lambda d: d.rmdir(), "is not a directory"),
    (lambda d: None, "no run-store files (*.jsonl)"),
    (lambda d: (d / "aime24.jsonl").write_text('{"example_id": 0, "response": "x"}\n'),
     "aime24.jsonl record 1 lacks answer"),
    (lambda d: write_jsonl(d / "aime24.jsonl", [store_row(0, 0, "1", "x"), store_row(0, 1, "2", "x")]),
     "example_id 0 has gold '2' but earlier rows say '1'"),
    (lambda d: write_jsonl(d / "aime24.jsonl", [{**store_row(0, 0, "1", "x"), "sample_index": "first"}]),
     "record 1: bad field value"),
    (lambda d: (d / "aime24.jsonl").write_text("\n\n"), "hold no samples"),
    (lambda d: (write_jsonl(d / "aime24.jsonl", [store_row(0, 0, "1", "x")]), (d / "run.json").write_text("{")),
     "run.json is not valid JSON"),
], ids=["missing-dir", "no-run-files", "missing-field", "conflicting-golds", "bad-sample-index", "empty-file",
        "broken-run-json"])
def test_run_directory_errors_are_one_line(tmp_path, setup, message):
    out = tmp_path / "out"
    out.mkdir()
    setup(out)
    with pytest.raises(GradingError) as info:
        grade_run(out, mode="strict", progress=False)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_unknown_mode_is_rejected(run_dir):
    with pytest.raises(GradingError, match="unknown grading mode 'fuzzy'"):
        grade_run(run_dir, mode="fuzzy", progress=False)


def test_lenient_is_the_default_mode(run_dir):
    pytest.importorskip("justrl.verify.lenient", reason="lenient verifier not installed in this tree")
    from justrl.verify import lenient

    if not hasattr(lenient, "lenient_verify"):
        pytest.skip("lenient verifier not finished in this tree")
    results = grade_run(run_dir, progress=False)
    assert results["grading"]["mode"] == "lenient"
    # lenient also reads "the answer is ..." statements; every boxed match above stays a match
    assert results["benchmarks"]["AIME24"]["layers"]["rule"]["correct"] >= 4


def test_grading_reports_progress_to_verify_many(run_dir, monkeypatch):
    import justrl.verify

    seen: list[int] = []
    real = justrl.verify.verify_many

    def spy(pairs, *args, progress=None, **kwargs):
        assert callable(progress)  # a live bar on the terminal: done / total, rate, ETA

        def record(done: int) -> None:
            seen.append(done)
            progress(done)

        return real(pairs, *args, progress=record, **kwargs)

    monkeypatch.setattr(justrl.verify, "verify_many", spy)
    grade_run(run_dir, mode="strict", progress=True)
    assert seen and seen[-1] == 16  # 12 AIME24 samples (the duplicate dropped) + 4 MATH-500


def test_no_progress_means_no_callback(run_dir, monkeypatch):
    import justrl.verify

    calls = []
    real = justrl.verify.verify_many

    def spy(pairs, *args, progress=None, **kwargs):
        calls.append(progress)
        return real(pairs, *args, **kwargs)

    monkeypatch.setattr(justrl.verify, "verify_many", spy)
    grade_run(run_dir, mode="strict", progress=False)
    assert calls == [None]
