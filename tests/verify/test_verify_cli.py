"""justrl-verify: exit codes, one-line errors, --json, --jsonl order and recovery, light imports."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from justrl.verify.cli import main


@pytest.fixture
def answer_file(tmp_path):
    def write(text: str):
        path = tmp_path / "answer.txt"
        path.write_text(text, encoding="utf-8")
        return str(path)

    return write


@pytest.mark.parametrize("text,argv,code,stdout", [
    ("... so \\boxed{42}", ["--gold", "42"], 0, "correct"),
    ("... so \\boxed{41}", ["--gold", "42"], 1, "incorrect (mismatch)"),
    ("... so \\boxed{0.5}", ["--gold", "\\frac{1}{2}"], 0, "correct"),
    ("... so \\boxed{0.5}", ["--gold", "\\frac{1}{2}", "--mode", "strict"], 1, "incorrect (mismatch)"),
    ("... so \\boxed{42}", ["--gold", "42", "--mode", "strict"], 0, "correct"),
    ("I give up", ["--gold", "42"], 1, "incorrect (no_answer)"),
], ids=["correct", "incorrect", "lenient-equivalent", "strict-rejects-equivalent", "strict-correct", "no-answer"])
def test_single_answer_exit_codes(answer_file, capsys, text, argv, code, stdout):
    assert main([answer_file(text), *argv]) == code
    assert capsys.readouterr().out.strip() == stdout


def test_json_output(answer_file, capsys):
    assert main([answer_file("so \\boxed{\\dfrac{6}{3}}"), "--gold", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"correct": True, "extracted": "\\dfrac{6}{3}",
                                                   "reason": "match", "mode": "lenient"}


def test_reads_the_response_from_stdin(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("so \\boxed{7}\n"))
    assert main(["-", "--gold", "7", "--mode", "strict"]) == 0


@pytest.mark.parametrize("argv,message", [
    (["{missing}", "--gold", "4"], "not found"),
    (["{file}", "--gold", ""], "gold answer is empty"),
    (["{file}", "--gold", "   "], "gold answer is empty"),
    (["{file}"], "gold answer is empty"),
    (["{file}", "--gold", "4", "--mode", "fuzzy"], "use one of: strict, lenient"),
    (["{dir}", "--gold", "4"], "is a directory"),
    (["--gold", "4"], "no response given"),
    (["{file}", "--gold", "4", "--output", "x.jsonl"], "--output applies to --jsonl only"),
    (["{file}", "--gold", "4", "--timeout", "0"], "--timeout must be a positive"),
    (["{file}", "--gold", "4", "--timeout", "inf"], "--timeout must be a positive, finite"),
    (["{file}", "--gold", "4", "--timeout", "nan"], "--timeout must be a positive, finite"),
    (["{file}", "--gold", "4", "--timeout", "-1"], "--timeout must be a positive, finite"),
    (["--jsonl", "{file}", "--timeout", "inf"], "--timeout must be a positive, finite"),
    (["{file}", "--gold", "4", "--skip-bad"], "--skip-bad applies to --jsonl only"),
    (["--jsonl", "{file}", "--gold", " "], "--gold is empty"),
    (["--jsonl", "{missing}"], "not found"),
    (["{file}", "--jsonl", "{file}"], "not both"),
    (["--jsonl", "{file}", "--workers", "0"], "--workers must be at least 1"),
], ids=["missing-file", "empty-gold", "blank-gold", "no-gold", "bad-mode", "directory", "no-file",
        "output-without-jsonl", "zero-timeout", "infinite-timeout", "nan-timeout", "negative-timeout",
        "jsonl-infinite-timeout", "skip-bad-without-jsonl", "blank-default-gold", "missing-jsonl",
        "file-and-jsonl", "zero-workers"])
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, argv, message):
    (tmp_path / "a.txt").write_text("\\boxed{4}")
    paths = {"missing": str(tmp_path / "nope.txt"), "file": str(tmp_path / "a.txt"), "dir": str(tmp_path)}
    assert main([a.format(**paths) for a in argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and err.startswith("justrl-verify: ")
    assert "Traceback" not in err


def test_unknown_option_exits_2(capsys):
    assert main(["--frobnicate"]) == 2
    assert "unrecognized arguments" in capsys.readouterr().err


RECORDS = [
    {"response": "so \\boxed{\\sin^2 x + \\cos^2 x}", "gold": "1"},
    {"response": "so \\boxed{3}", "gold": "3", "mode": "strict"},
    {"response": "so \\boxed{ 3}", "gold": "3", "mode": "strict"},
    {"response": "so \\boxed{4}", "gold": "3"},
    {"response": "so \\boxed{ 3}", "gold": "3"},
]
EXPECTED = [(True, "lenient"), (True, "strict"), (False, "strict"), (False, "lenient"), (True, "lenient")]


def write_jsonl(path, records, extra_lines=()):
    lines = [json.dumps(r) for r in records] + list(extra_lines)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def test_jsonl_writes_verdicts_in_input_order(tmp_path, capsys):
    source = write_jsonl(tmp_path / "in.jsonl", RECORDS * 20)
    assert main(["--jsonl", source, "--workers", "2"]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(v["correct"], v["mode"]) for v in out] == EXPECTED * 20
    assert set(out[0]) == {"correct", "extracted", "reason", "mode"}


def test_jsonl_mode_flag_is_the_default_for_records_without_one(tmp_path, capsys):
    source = write_jsonl(tmp_path / "in.jsonl", [{"response": "\\boxed{ 3}", "gold": "3"}])
    assert main(["--jsonl", source, "--mode", "strict"]) == 0
    assert json.loads(capsys.readouterr().out)["correct"] is False


def test_jsonl_from_stdin_to_output_file(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(json.dumps(r) for r in RECORDS) + "\n\n"))
    target = tmp_path / "out.jsonl"
    assert main(["--jsonl", "-", "--output", str(target)]) == 0
    out = [json.loads(line) for line in target.read_text().splitlines()]
    assert [v["correct"] for v in out[:-1]] == [c for c, _ in EXPECTED]
    assert out[-1]["reason"] == "blank_line", "the trailing blank line has its own output line"


BAD_LINES = [
    (b"{not json", "line 6: not valid JSON"),
    (b'["response", "gold"]', "line 6: expected a JSON object"),
    (b'{"response": "x"}', 'line 6: field "gold" missing'),
    (b'{"response": 5, "gold": "5"}', 'line 6: field "response" missing or not a string'),
    (b'{"response": "x", "gold": "5", "mode": "exact"}', "line 6: mode 'exact'"),
    (b'{"response": "x", "gold": true}', 'line 6: field "gold" must be a string or a finite number'),
    (b'{"response": "x", "gold": NaN}', 'line 6: field "gold" must be a string or a finite number'),
    (b'{"response": "x", "gold": 1e999}', 'line 6: field "gold" must be a string or a finite number'),
    (b'{"response": "x", "gold": "5", "question": 3}', 'line 6: field "question" must be a string'),
    (b'{"response": "\xff\xfe \\boxed{5}", "gold": "5"}', "line 6: not valid UTF-8 (byte 0xff"),
    (b'{"response": "\\ud800 \\boxed{5}", "gold": "5"}', "line 6: holds a lone surrogate"),
    (b'\xef\xbb\xbf{"response": "\\boxed{5}", "gold": "5"}', "line 6: not valid JSON"),
    (b'{"response": "x", "gold": ' + b"9" * 5000 + b"}", "line 6: not valid JSON (Exceeds the limit"),
]
BAD_IDS = ["invalid-json", "not-an-object", "missing-gold", "non-string-response", "bad-mode", "bool-gold",
           "nan-gold", "infinite-gold", "non-string-question", "invalid-utf8", "lone-surrogate", "bom-mid-file",
           "integer-past-the-conversion-limit"]


def write_lines(path, lines: list[bytes]) -> str:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return str(path)


@pytest.mark.parametrize("bad_line,message", BAD_LINES, ids=BAD_IDS)
def test_jsonl_malformed_line_exits_2_keeping_earlier_verdicts(tmp_path, capsys, bad_line, message):
    good = [json.dumps(r).encode() for r in RECORDS]
    source = write_lines(tmp_path / "in.jsonl", [*good, bad_line, good[0]])
    target = tmp_path / "out.jsonl"
    assert main(["--jsonl", source, "--output", str(target)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert len(target.read_text().splitlines()) == len(RECORDS), "verdicts before the bad line were written"


@pytest.mark.parametrize("bad_line,message", BAD_LINES, ids=BAD_IDS)
def test_skip_bad_writes_an_error_verdict_per_bad_line_and_goes_on(tmp_path, capsys, bad_line, message):
    good = [json.dumps(r).encode() for r in RECORDS]
    source = write_lines(tmp_path / "in.jsonl", [*good, bad_line, good[0]])
    assert main(["--jsonl", source, "--skip-bad"]) == 0
    captured = capsys.readouterr()
    out = [json.loads(line) for line in captured.out.splitlines()]
    assert len(out) == len(RECORDS) + 2
    assert [v["correct"] for v in out[:5]] == [c for c, _ in EXPECTED] and out[6]["correct"] is True
    bad = out[5]
    assert (bad["correct"], bad["extracted"], bad["reason"], bad["line"]) == (False, None, "bad_record", 6)
    assert message.removeprefix("line 6: ") in bad["error"]
    assert captured.err == "justrl-verify: 1 malformed line(s) written as bad_record verdicts\n"


def test_a_bad_record_keeps_its_id_in_the_error_verdict(tmp_path, capsys):
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": "p-7", "response": 5, "gold": "5"}])
    assert main(["--jsonl", source, "--skip-bad"]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == "p-7"


def test_blank_lines_give_a_blank_line_verdict_so_output_lines_match_input_lines(tmp_path, capsys):
    good = [json.dumps(r).encode() for r in RECORDS[:2]]
    source = write_lines(tmp_path / "in.jsonl", [good[0], b"", b"   \t", good[1], b""])
    assert main(["--jsonl", source]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [v["reason"] for v in out] == ["match", "blank_line", "blank_line", "match", "blank_line"]
    assert [v.get("line") for v in out] == [None, 2, 3, None, 5]
    assert out[1] == {"correct": False, "extracted": None, "reason": "blank_line", "mode": "lenient", "line": 2}


def test_a_utf8_bom_at_the_start_is_ignored(tmp_path, capsys):
    source = write_lines(tmp_path / "in.jsonl", [b"\xef\xbb\xbf" + json.dumps(RECORDS[1]).encode()])
    assert main(["--jsonl", source]) == 0
    assert json.loads(capsys.readouterr().out)["correct"] is True


def test_record_ids_pass_through_to_verdicts(tmp_path, capsys):
    records = [{**r, "id": i if i % 2 else {"problem": f"p{i}", "sample": 0}} for i, r in enumerate(RECORDS)]
    source = write_jsonl(tmp_path / "in.jsonl", records)
    assert main(["--jsonl", source, "--workers", "1"]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [v["id"] for v in out] == [r["id"] for r in records]
    assert [(v["correct"], v["mode"]) for v in out] == EXPECTED


def test_gold_flag_is_the_default_gold_for_records_without_one(tmp_path, capsys):
    records = [{"response": "\\boxed{42}"}, {"response": "\\boxed{42}", "gold": "41"},
               {"response": "\\boxed{42}", "gold": None}]
    source = write_jsonl(tmp_path / "in.jsonl", records)
    assert main(["--jsonl", source, "--gold", "42"]) == 0
    assert [json.loads(line)["correct"] for line in capsys.readouterr().out.splitlines()] == [True, False, True]


@pytest.mark.parametrize("mode", ["strict", "lenient"])
def test_numeric_golds_in_records_are_accepted(tmp_path, capsys, mode):
    records = [{"response": "\\boxed{1}", "gold": 1}, {"response": "\\boxed{0.5}", "gold": 0.5},
               {"response": "\\boxed{2}", "gold": 1}]
    source = write_jsonl(tmp_path / "in.jsonl", records)
    assert main(["--jsonl", source, "--mode", mode]) == 0
    assert [json.loads(line)["correct"] for line in capsys.readouterr().out.splitlines()] == [True, True, False]


@pytest.mark.parametrize("flag,record_mode", [("STRICT", None), ("lenient", "Strict"), ("Lenient", "LENIENT")])
def test_modes_are_case_insensitive(tmp_path, capsys, answer_file, flag, record_mode):
    record = {"response": "\\boxed{ 3}", "gold": "3", **({"mode": record_mode} if record_mode else {})}
    source = write_jsonl(tmp_path / "in.jsonl", [record])
    assert main(["--jsonl", source, "--mode", flag]) == 0
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["mode"] == (record_mode or flag).lower()
    assert verdict["correct"] is (verdict["mode"] == "lenient")
    assert main([answer_file("\\boxed{ 3}"), "--gold", "3", "--mode", flag]) == (0 if flag.lower() == "lenient" else 1)


def _fake_form_check(monkeypatch):
    """Stand in for justrl.verify.lenient.question: 'simplify' refuses an answer holding 75."""
    import types

    module = types.ModuleType("justrl.verify.lenient.question")
    module.form_violation = lambda question, answer, gold: "not_simplified" if (
        "simplify" in question.lower() and "75" in answer) else None
    monkeypatch.setitem(sys.modules, "justrl.verify.lenient.question", module)


def test_question_field_and_flag_reach_the_form_check(tmp_path, capsys, monkeypatch, answer_file):
    _fake_form_check(monkeypatch)
    records = [{"response": "\\boxed{\\sqrt{75}}", "gold": "5\\sqrt{3}", "question": "Simplify it."},
               {"response": "\\boxed{\\sqrt{75}}", "gold": "5\\sqrt{3}"},
               {"response": "\\boxed{\\sqrt{75}}", "gold": "5\\sqrt{3}", "question": None}]
    source = write_jsonl(tmp_path / "in.jsonl", records)
    assert main(["--jsonl", source]) == 0
    assert [json.loads(line)["reason"] for line in capsys.readouterr().out.splitlines()] == ["form", "match", "match"]
    path = answer_file("so \\boxed{\\sqrt{75}}")
    assert main([path, "--gold", "5\\sqrt{3}", "--question", "Simplify it."]) == 1
    assert capsys.readouterr().out.strip() == "incorrect (form)"
    assert main([path, "--gold", "5\\sqrt{3}"]) == 0


def test_question_flag_is_refused_with_jsonl(tmp_path, capsys):
    source = write_jsonl(tmp_path / "in.jsonl", RECORDS[:1])
    assert main(["--jsonl", source, "--question", "q"]) == 2
    assert '"question" field' in capsys.readouterr().err


def _links(tmp_path):
    source = tmp_path / "in.jsonl"
    write_jsonl(source, RECORDS)
    (tmp_path / "sym.jsonl").symlink_to(source)
    import os

    os.link(source, tmp_path / "hard.jsonl")
    return source


@pytest.mark.parametrize("output,message", [
    ("in.jsonl", "is the input file"),
    ("sym.jsonl", "is a symlink"),
    ("hard.jsonl", "is the input file"),
    ("./in.jsonl", "is the input file"),
], ids=["same-path", "symlink-to-input", "hard-link-to-input", "other-spelling"])
def test_output_that_is_the_input_is_refused_before_writing(tmp_path, capsys, monkeypatch, output, message):
    source = _links(tmp_path)
    monkeypatch.chdir(tmp_path)
    before = source.read_bytes()
    assert main(["--jsonl", "in.jsonl", "--output", output]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert source.read_bytes() == before, "the input was not touched"


def test_output_through_a_symlink_is_refused(tmp_path, capsys):
    source = write_jsonl(tmp_path / "in.jsonl", RECORDS)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (tmp_path / "out.jsonl").symlink_to(victim)
    assert main(["--jsonl", source, "--output", str(tmp_path / "out.jsonl")]) == 2
    assert "symlink" in capsys.readouterr().err
    assert victim.read_text() == "keep me"


def test_stdin_redirected_from_the_output_file_is_refused(tmp_path):
    source = tmp_path / "in.jsonl"
    write_jsonl(source, RECORDS)
    with open(source, "rb") as stdin:
        done = subprocess.run([sys.executable, "-m", "justrl.verify.cli", "--jsonl", "-", "--output", str(source)],
                              stdin=stdin, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "is the input file" in done.stderr
    assert len(source.read_text().splitlines()) == len(RECORDS)


def test_invalid_utf8_in_the_response_file_is_read_with_replacement(answer_file, tmp_path, capsys):
    path = tmp_path / "bytes.txt"
    path.write_bytes(b"\xef\xbb\xbfso \xff \\boxed{42}")
    assert main([str(path), "--gold", "42", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["extracted"] == "42"


def run_cli(args: list[str], stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "justrl.verify.cli", *args], input=stdin, capture_output=True,
                          text=True, timeout=60)


def test_entry_point_in_a_pipeline_no_progress_bar_off_terminal(tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", RECORDS)
    done = run_cli(["--jsonl", source])
    assert done.returncode == 0 and done.stderr == ""
    assert len(done.stdout.splitlines()) == len(RECORDS)
    assert run_cli(["-", "--gold", "5"], stdin="so \\boxed{5}").returncode == 0
    assert run_cli(["-", "--gold", "6"], stdin="so \\boxed{5}").returncode == 1


HEAVY = ("torch", "transformers", "vllm", "sympy", "latex2sympy2_extended", "numpy")


def test_a_simple_answer_imports_no_heavy_module():
    code = ("import sys; from justrl.verify.cli import main; rc = main(['-', '--gold', '42']); "
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({list(HEAVY)!r})))")
    done = subprocess.run([sys.executable, "-c", code], input="so \\boxed{42}", capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["correct", "[]"]


def test_a_symbolic_answer_loads_sympy_only_in_the_worker():
    code = ("import sys; from justrl.verify.cli import main; rc = main(['-', '--gold', '\\\\ln(1+\\\\sqrt{2})']); "
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({list(HEAVY)!r})))")
    done = subprocess.run([sys.executable, "-c", code], input="so \\boxed{\\operatorname{arcsinh}(1)}",
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["correct", "[]"]


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("terminal", [True, False], ids=["terminal-shows-progress", "pipe-shows-nothing"])
def test_jsonl_progress_bar_only_on_a_terminal(tmp_path, monkeypatch, capsys, terminal):
    source = write_jsonl(tmp_path / "in.jsonl", RECORDS)
    stderr = FakeTerminal() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    assert main(["--jsonl", source]) == 0
    assert len(capsys.readouterr().out.splitlines()) == len(RECORDS), "verdicts go to stdout only"
    assert ("verifying" in stderr.getvalue()) == terminal
