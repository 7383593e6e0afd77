"""grade_run end to end on run directories written by hand (known answers, strict rule unless stated)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from justrl.benchmarks import BENCHMARKS, load_benchmark
from justrl.evaluate.grading import GradingError, grade_run
from justrl.evaluate.metrics import wilson_interval

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
    lo, hi = wilson_interval(aime["avg_at_n"] / 100, 3)  # over the 3 problems
    assert aime["ci95"] == pytest.approx([100 * lo, 100 * hi])
    assert aime["ci95"][0] > 0  # the normal interval (mean -+ 1.96 SE) would reach below zero here


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
    # the difference uses the paper's grader (its rule here, no judge ran), never the primary strict one
    paper = aime["graders"]["justrl-rule"]["avg_at_n"]
    assert aime["published"]["grader"] == "justrl-rule" and aime["published"]["like_for_like"] is False
    assert aime["published"]["diff"] == pytest.approx(paper - 52.60)
    assert aime["published"]["comparable"] is False  # 3 of 30 problems
    avg = results["average"]
    assert avg["benchmarks"] == ["AIME24", "MATH-500"] and avg["complete"] is False
    assert (avg["count"], avg["of"]) == (2, 9) and "2 of 9" in avg["note"]
    assert avg["avg_at_n"] == pytest.approx((aime["avg_at_n"] + math["avg_at_n"]) / 2)
    assert avg["published"] is None  # 2 of 9 benchmarks: no difference to the nine-benchmark average


def test_grading_results_json_has_justrl_keys_and_meanings(run_dir):
    grade_run(run_dir, mode="strict", progress=False)
    entries = json.loads((run_dir / "grading_results.strict.json").read_text())  # strict: its own names
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
    assert json.loads((run_dir / "results.strict.json").read_text()) == json.loads(json.dumps(results))
    report = (run_dir / "report.strict.md").read_text()
    assert "| Model | AIME24 (@4) | MATH-500 (@2) | Avg (2 of 9) |" in report  # only what ran
    assert "- AIME24: 4 of 16 planned samples are missing" in report
    assert "- MATH-500: the data file differs from the pinned JustRL file" in report
    assert "- AIME24: 1 duplicate rows dropped, 1 unreadable lines skipped." in report
    graded = [json.loads(line) for line in (run_dir / "graded.strict" / "aime24.jsonl").read_text().splitlines()]
    assert len(graded) == 12
    assert graded[6] == {"example_id": "1", "sample_index": 2, "correct": True, "rule_correct": True, "judge": None,
                         "extracted": "5", "reason": "match", "gold": "5", "finish_reason": "stop",
                         "completion_tokens": 60, "graders": {"strict": True, "lenient": True, "justrl-rule": True}}
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
    lo, hi = wilson_interval(0.5, 30)
    cmp = aime["published"]
    assert (cmp["model"], cmp["avg_at_n"], cmp["grader"], cmp["comparable"]) == ("JustRL-DeepSeek-1.5B", 52.60,
                                                                                 "justrl-rule", True)
    assert cmp["diff"] == pytest.approx(-2.6) and cmp["diff_ci95"] == pytest.approx([100 * lo - 52.6, 100 * hi - 52.6])
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
    (lambda d: write_jsonl(d / "aime24.jsonl", [store_row(0, 0, "1", "x"), store_row(0, 1, "2", "x")]),
     "example_id 0 has gold '2' but earlier rows say '1'"),
    (lambda d: (d / "aime24.jsonl").write_text("\n\n"), "hold no samples"),
    (lambda d: (write_jsonl(d / "aime24.jsonl", [store_row(0, 0, "1", "x")]), (d / "run.json").write_text("{")),
     "run.json is not valid JSON"),
    (lambda d: (d / "aime24.jsonl").write_text('{"example_id": 0, "response": "x"}\n'), "hold no samples"),
], ids=["missing-dir", "no-run-files", "conflicting-golds", "empty-file", "broken-run-json", "only-stray-rows"])
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
    assert seen and seen[-1] == 16  # 12 AIME24 samples (the duplicate dropped) + 4 MATH-500 (per grader)


def test_no_progress_means_no_callback(run_dir, monkeypatch):
    import justrl.verify

    calls = []
    real = justrl.verify.verify_many

    def spy(pairs, *args, progress=None, **kwargs):
        calls.append(progress)
        return real(pairs, *args, **kwargs)

    monkeypatch.setattr(justrl.verify, "verify_many", spy)
    grade_run(run_dir, mode="strict", progress=False)
    assert calls == [None, None]  # strict (the primary grader), then lenient for the comparison


def _justrl_rows(gold: str, answers: list[str]) -> list[dict]:
    return [{"example_id": 0, "prompt": "q? Please reason step by step, and put your final answer within \\boxed{}.",
             "answer": gold, "seed": i, "response": boxed(a)} for i, a in enumerate(answers)]


def test_two_sampling_settings_of_one_benchmark_stay_separate(tmp_path):
    write_jsonl(tmp_path / "aime24_t0.7_p0.9_n2-MNT100.jsonl", _justrl_rows("5", ["5", "5"]))
    write_jsonl(tmp_path / "aime24_t1.0_p1.0_n2-MNT100.jsonl", _justrl_rows("5", ["5", "6"]))
    results = grade_run(tmp_path, mode="strict", progress=False)
    keys = list(results["benchmarks"])
    assert keys == ["AIME24 [t0.7 p0.9 n2 MNT100]", "AIME24 [t1 p1 n2 MNT100]"]
    assert [results["benchmarks"][k]["avg_at_n"] for k in keys] == [100.0, 50.0]
    assert all(results["benchmarks"][k]["duplicates_dropped"] == 0 for k in keys)  # nothing merged away
    assert results["average"]["avg_at_n"] is None and "several sampling settings" in results["average"]["note"]


def test_stray_and_out_of_plan_rows_are_reported_and_left_out_of_the_scores(tmp_path):
    rows = [store_row(0, k, "5", boxed("5")) for k in range(2)]
    rows += [{"example_id": 0, "note": "not a sample"},  # stray: no answer/response
             {**store_row(0, 1, "5", boxed("5")), "sample_index": "two"},  # stray: malformed sample_index
             store_row(0, 99, "5", boxed("6")),  # outside the plan: sample_index >= N
             store_row(7, 0, "5", boxed("6"))]  # outside the plan: unknown example_id
    write_jsonl(tmp_path / "aime24_t0.7_p0.9_n2-MNT100.jsonl", rows)
    (tmp_path / "run.json").write_text(json.dumps({"plan": {"AIME24": {"example_ids": [0], "n": 2,
                                                                       "file": "aime24_t0.7_p0.9_n2-MNT100.jsonl"}}}))
    results = grade_run(tmp_path, mode="strict", progress=False)
    aime = results["benchmarks"]["AIME24"]
    assert (aime["samples"], aime["avg_at_n"], aime["stray_rows"], aime["out_of_plan_rows"]) == (2, 100.0, 2, 2)
    assert len(results["warnings"]) == 2 and all("not graded" in w for w in results["warnings"])
    assert "lines 3, 4" in results["warnings"][0] and "lines 5, 6" in results["warnings"][1]


def test_every_report_compares_the_graders_and_counts_disagreements(tmp_path):
    # gold 1/2: "\frac{1}{2}" strict rejects (not the gold string), lenient and justrl-rule accept;
    # "0.5" likewise; "The answer is 1/2" has no box: only lenient reads it
    write_jsonl(tmp_path / "math-500_t0.7_p0.9_n4-MNT100.jsonl", [
        {"example_id": 0, "prompt": "p", "answer": "\\frac{1}{2}", "seed": 0, "response": boxed("\\frac{1}{2}")},
        {"example_id": 0, "prompt": "p", "answer": "\\frac{1}{2}", "seed": 1, "response": boxed("0.5")},
        {"example_id": 0, "prompt": "p", "answer": "\\frac{1}{2}", "seed": 2, "response": "The answer is 1/2."},
        {"example_id": 0, "prompt": "p", "answer": "\\frac{1}{2}", "seed": 3, "response": boxed("2")},
    ])
    results = grade_run(tmp_path, progress=False, compare=True)
    math = results["benchmarks"]["MATH-500"]
    assert {k: v["avg_at_n"] for k, v in math["graders"].items()} == {"lenient": 75.0, "strict": 25.0,
                                                                      "justrl-rule": 50.0}
    assert math["disagreements"] == {"any": 2, "lenient_vs_strict": 2, "lenient_vs_justrl_rule": 1,
                                     "strict_vs_justrl_rule": 1, "strict_rejects_lenient_accepts": 2}
    rows = [json.loads(x) for x in (tmp_path / "graded" / "disagreements.jsonl").read_text().splitlines()]
    assert [(r["example_id"], r["sample_index"]) for r in rows] == [("0", 1), ("0", 2)]
    assert rows[0]["verdicts"] == {"lenient": True, "strict": False, "justrl-rule": True}
    assert rows[0]["extracted"]["justrl-rule"] == "0.5" and rows[0]["gold"] == "\\frac{1}{2}"
    assert rows[1]["extracted"]["justrl-rule"] is None and rows[1]["benchmark"] == "MATH-500"
    report = (tmp_path / "report.md").read_text()
    assert "| MATH-500 [" not in report and "| MATH-500 | 75.00 | 25.00 | 50.00 | 4 | 2 | 2 |" in report


def test_other_graders_never_overwrite_the_default_results(tmp_path):
    write_jsonl(tmp_path / "aime25.jsonl", [store_row(0, 0, "3", boxed("3"), bench="AIME25")])
    grade_run(tmp_path, progress=False)
    before = {p: (tmp_path / p).read_bytes() for p in ("results.json", "report.md", "grading_results.json")}
    strict = grade_run(tmp_path, mode="strict", progress=False)
    assert {p: (tmp_path / p).read_bytes() for p in before} == before
    assert strict["outputs"]["report"].endswith("report.strict.md") and (tmp_path / "results.strict.json").is_file()
    justrl = grade_run(tmp_path, grader="justrl", progress=False)
    assert justrl["outputs"]["results"].endswith("results.justrl.json") and justrl["grading"]["grader"] == "justrl"
    assert {p: (tmp_path / p).read_bytes() for p in before} == before
    again = grade_run(tmp_path, progress=False)  # the default grading rewrites its own files
    assert again["outputs"]["results"] == str(tmp_path / "results.json") and not again["kept_foreign_files"]


def test_a_justrl_folders_own_grading_results_are_kept(tmp_path):
    write_jsonl(tmp_path / "aime24_t0.7_p0.9_n1-MNT31744.jsonl", _justrl_rows("\\boxed{5}", ["5"]))
    theirs = b'[{"hyperparameters": {"task_name": "aime24"}, "mean_score": 0.61}]\n'  # JustRL's rule+judge result
    (tmp_path / "grading_results.json").write_bytes(theirs)
    results = grade_run(tmp_path, progress=False)
    assert (tmp_path / "grading_results.json").read_bytes() == theirs
    assert results["kept_foreign_files"] == ["grading_results.json"]
    assert json.loads((tmp_path / "grading_results.lenient.json").read_text())[0]["mean_score"] == 1.0
    assert results["foreign_grading_results"] == {"AIME24": 61.0}  # shown beside ours in the report
    assert "JustRL's own grading, its judge included) says avg@N: AIME24 61.00" in (tmp_path / "report.md").read_text()
    grade_run(tmp_path, progress=False)  # a regrade still keeps it and reuses its own name
    assert (tmp_path / "grading_results.json").read_bytes() == theirs


def test_a_file_edited_after_grading_is_foreign_and_kept(tmp_path):
    write_jsonl(tmp_path / "aime25.jsonl", [store_row(0, 0, "3", boxed("3"), bench="AIME25")])
    grade_run(tmp_path, progress=False)
    (tmp_path / "report.md").write_text("my notes\n")
    results = grade_run(tmp_path, progress=False)
    assert (tmp_path / "report.md").read_text() == "my notes\n"
    assert results["outputs"]["report"].endswith("report.lenient.md")


def test_output_dir_leaves_the_run_folder_untouched(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    write_jsonl(run / "aime25.jsonl", [store_row(0, 0, "3", boxed("3"), bench="AIME25")])
    before = sorted(p.name for p in run.iterdir())
    results = grade_run(run, progress=False, output_dir=tmp_path / "elsewhere")
    assert sorted(p.name for p in run.iterdir()) == before
    assert (tmp_path / "elsewhere" / "results.json").is_file() and results["benchmarks"]["AIME25"]["avg_at_n"] == 100


def test_an_unwritable_folder_is_a_one_line_error_naming_output_dir(tmp_path, monkeypatch):
    write_jsonl(tmp_path / "aime25.jsonl", [store_row(0, 0, "3", boxed("3"), bench="AIME25")])
    from justrl.evaluate import files

    def read_only(*_a, **_k):
        raise PermissionError(13, "Permission denied", str(tmp_path / "x"))

    monkeypatch.setattr(files, "atomic_write_bytes", read_only)
    with pytest.raises(GradingError) as info:
        grade_run(tmp_path, progress=False)
    assert "--output-dir" in str(info.value) and "\n" not in str(info.value)


def test_the_nine_benchmark_average_is_compared_only_when_all_nine_ran(benchmarks_dir, tmp_path):
    for name in BENCHMARKS:
        problems = load_benchmark(name, data_dir=benchmarks_dir)[:2]
        write_jsonl(tmp_path / f"{BENCHMARKS[name].slug}.jsonl",
                    [store_row(int(p.id), 0, p.gold, "no answer", bench=name) for p in problems])
    results = grade_run(tmp_path, mode="strict", progress=False, published_model="JustRL-DeepSeek-1.5B")
    avg = results["average"]
    assert (avg["count"], avg["avg_at_n"], avg["note"]) == (9, 0.0, None)
    assert avg["ci95"][0] == 0.0 and avg["ci95"][1] > 10  # honest at 0%: 2 problems each
    assert avg["published"]["diff"] == pytest.approx(-54.87) and avg["published"]["comparable"] is False
    report = (tmp_path / "report.strict.md").read_text()
    assert "| Avg |" in report and "(9 of 9)" not in report


def test_planted_symlinks_are_never_written_through(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    write_jsonl(run / "aime25.jsonl", [store_row(0, 0, "3", boxed("3"), bench="AIME25")])
    victim, elsewhere = tmp_path / "victim.txt", tmp_path / "elsewhere"
    victim.write_text("precious\n")
    elsewhere.mkdir()
    (run / "results.json").symlink_to(victim)
    (run / "graded").symlink_to(elsewhere, target_is_directory=True)
    results = grade_run(run, progress=False)
    assert victim.read_text() == "precious\n" and list(elsewhere.iterdir()) == []
    assert results["outputs"]["results"].endswith("results.lenient.json")
    assert results["outputs"]["graded"].endswith("graded.lenient")
    assert (run / "results.json").is_symlink() and set(results["kept_foreign_files"]) >= {"results.json", "graded"}
