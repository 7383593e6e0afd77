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
    (["--jsonl", "{missing}"], "not found"),
    (["{file}", "--jsonl", "{file}"], "not both"),
    (["--jsonl", "{file}", "--workers", "0"], "--workers must be at least 1"),
], ids=["missing-file", "empty-gold", "blank-gold", "no-gold", "bad-mode", "directory", "no-file",
        "output-without-jsonl", "zero-timeout", "missing-jsonl", "file-and-jsonl", "zero-workers"])
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
    assert [json.loads(line)["correct"] for line in target.read_text().splitlines()] == [c for c, _ in EXPECTED]


@pytest.mark.parametrize("bad_line,message", [
    ("{not json", "line 6: not valid JSON"),
    ('["response", "gold"]', "line 6: expected a JSON object"),
    ('{"response": "x"}', "line 6: field(s) gold missing"),
    ('{"response": 5, "gold": "5"}', "line 6: field(s) response missing or not a string"),
    ('{"response": "x", "gold": "5", "mode": "exact"}', "line 6: mode 'exact'"),
], ids=["invalid-json", "not-an-object", "missing-gold", "non-string-response", "bad-mode"])
def test_jsonl_malformed_line_exits_2_keeping_earlier_verdicts(tmp_path, capsys, bad_line, message):
    source = write_jsonl(tmp_path / "in.jsonl", RECORDS, [bad_line, json.dumps(RECORDS[0])])
    target = tmp_path / "out.jsonl"
    assert main(["--jsonl", source, "--output", str(target)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert len(target.read_text().splitlines()) == len(RECORDS), "verdicts before the bad line were written"


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
