"""``justrl-eval grade`` with --grader, --compare, --output-dir and --judge-question (in-process main())."""

from __future__ import annotations

import json

import pytest

from justrl.evaluate.cli import main


def _run_folder(path):
    rows = [  # JustRL's own rows; gold 1/2 written as a fraction
        {"example_id": 0, "prompt": "half?", "answer": "\\frac{1}{2}", "seed": 0, "response": "so \\boxed{\\frac{1}{2}}"},
        {"example_id": 0, "prompt": "half?", "answer": "\\frac{1}{2}", "seed": 1, "response": "so \\boxed{0.5}"},
        {"example_id": 1, "prompt": "tiny?", "answer": "1.2e-30", "seed": 0, "response": "so \\boxed{0}"},
        {"example_id": 1, "prompt": "tiny?", "answer": "1.2e-30", "seed": 1, "response": "so \\boxed{1.2e-30}"},
    ]
    path.mkdir()
    (path / "minerva_t0.7_p0.9_n2-MNT31744.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_grade_with_the_justrl_grader_compare_and_output_dir(tmp_path, capsys):
    run = _run_folder(tmp_path / "run")
    out = tmp_path / "grades"
    assert main(["grade", str(run), "--grader", "justrl", "--compare", "--output-dir", str(out), "--quiet"]) == 0
    assert sorted(p.name for p in run.iterdir()) == ["minerva_t0.7_p0.9_n2-MNT31744.jsonl"]  # untouched
    results = json.loads((out / "results.justrl.json").read_text())
    minerva = results["benchmarks"]["Minerva"]
    assert minerva["avg_at_n"] == 100.0  # the paper's rule accepts \boxed{0} for 1.2e-30 and 0.5 for 1/2
    assert (minerva["graders"]["lenient"]["avg_at_n"], minerva["graders"]["strict"]["avg_at_n"]) == (75.0, 50.0)
    lines = (out / "graded.justrl" / "disagreements.jsonl").read_text().splitlines()
    assert len(lines) == 2 and json.loads(lines[1])["verdicts"] == {"justrl-rule": True, "lenient": False,
                                                                     "strict": False}
    err = capsys.readouterr().err
    assert "2 disagreements in" in err and "results.justrl.json" in err


def test_mode_is_case_insensitive_and_an_alias_of_grader(tmp_path):
    run = _run_folder(tmp_path / "run")
    assert main(["grade", str(run), "--mode", "STRICT", "--quiet"]) == 0
    assert json.loads((run / "results.strict.json").read_text())["grading"]["grader"] == "strict"


def test_a_folder_whose_output_names_are_all_foreign_is_a_one_line_error(tmp_path, capsys):
    run = _run_folder(tmp_path / "run")
    (run / "grading_results.json").write_text("[]\n")  # JustRL's
    (run / "grading_results.lenient.json").write_text("[]\n")  # someone else's too
    assert main(["grade", str(run), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("justrl-eval: error:") and "--output-dir" in err and "\n" not in err
    assert (run / "grading_results.json").read_text() == "[]\n"


@pytest.mark.parametrize("flag", [["--grader", "math-verify"], ["--judge-question", "maybe"]])
def test_bad_grading_flags_exit_2(tmp_path, flag):
    run = _run_folder(tmp_path / "run")
    with pytest.raises(SystemExit) as info:
        main(["grade", str(run), *flag])
    assert info.value.code == 2
