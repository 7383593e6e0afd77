"""Run files a JustRL user can read: JustRL's file names and fields, legacy justrl runs adopted on resume,
N extended in place, and runs with other settings never mixed. A fake backend stands in for a model."""

from __future__ import annotations

import json
import re

import pytest
from fake_store_backend import FakeBackend, problems, rows

from justrl.evaluate.protocol import JUSTRL_SUFFIX, Protocol
from justrl.evaluate.runner import EvalError, run_eval
from justrl.evaluate.store import ROW_FIELDS, run_file_name

# JustRL evals/grade.py, parse_hyperparameters_from_filename (the pattern, as a fact about its reader)
JUSTRL_NAME = re.compile(r"_t(?P<temperature>[\d.]+)_p(?P<top_p>[\d.]+)_n(?P<n>\d+)-MNT(?P<max_tokens>\d+)")


def run(out, protocol, probs=None, **kw):
    return run_eval(FakeBackend(), "AIME24", output_dir=out, protocol=protocol, problems=probs or problems(),
                    progress=False, grade=False, **kw)


def test_rows_carry_justrls_fields_under_justrls_file_name(tmp_path):
    run(tmp_path, Protocol(n=2, max_tokens=8))
    files = [p.name for p in tmp_path.glob("*.jsonl")]
    assert files == ["aime24_t0.7_p0.9_n2-MNT8.jsonl"]
    match = JUSTRL_NAME.search(files[0])
    assert match.groupdict() == {"temperature": "0.7", "top_p": "0.9", "n": "2", "max_tokens": "8"}
    assert files[0].split("_")[0] == "aime24"  # JustRL's task name: the stem before the first "_"
    stored = rows(tmp_path / files[0])
    assert list(stored[0]) == list(ROW_FIELDS)
    first = next(r for r in stored if r["example_id"] == 0)
    assert first["prompt"] == "What is 0+1?" + JUSTRL_SUFFIX  # JustRL's prompt: the plain user message
    assert first["rendered_prompt"] == f"<user>{first['prompt']}<assistant>"
    assert isinstance(first["example_id"], int) and first["answer"] == "1"
    plan = json.loads((tmp_path / "run.json").read_text())["plan"]["AIME24"]
    assert plan["file"] == files[0]


def _legacy_run(out, protocol, count):
    """A folder as justrl wrote it before JustRL naming: <slug>.jsonl, prompt = rendered template."""
    run(out, protocol)
    name = run_file_name("AIME24", protocol.temperature, protocol.top_p, protocol.n, protocol.max_tokens)
    old = rows(out / name)[:count]
    for r in old:
        r["prompt"] = r.pop("rendered_prompt")
        r["example_id"] = str(r["example_id"])
    (out / name).unlink()
    (out / "aime24.jsonl").write_text("".join(json.dumps(r) + "\n" for r in old))
    meta = json.loads((out / "run.json").read_text())
    for entry in meta["plan"].values():
        entry.pop("file")
    (out / "run.json").write_text(json.dumps(meta))
    return old


def test_legacy_run_is_adopted_on_resume(tmp_path, capsys):
    protocol = Protocol(n=2, max_tokens=8)
    old = _legacy_run(tmp_path, protocol, 4)
    again = run(tmp_path, protocol)
    assert (again.reused, again.generated) == (4, 2)
    assert not (tmp_path / "aime24.jsonl").exists()
    assert "aime24.jsonl renamed to aime24_t0.7_p0.9_n2-MNT8.jsonl" in capsys.readouterr().err
    stored = rows(tmp_path / "aime24_t0.7_p0.9_n2-MNT8.jsonl")
    assert len(stored) == 6
    migrated = stored[0]
    assert migrated["prompt"] == "What is 0+1?" + JUSTRL_SUFFIX and migrated["rendered_prompt"] == old[0]["prompt"]


def test_legacy_run_with_a_foreign_file_is_refused_untouched(tmp_path):
    protocol = Protocol(n=2, max_tokens=8)
    _legacy_run(tmp_path, protocol, 4)
    (tmp_path / "aime24.jsonl").write_text('{"other": 1}\n{"other": 2')
    with pytest.raises(EvalError, match="no samples of this run"):
        run(tmp_path, protocol)
    assert (tmp_path / "aime24.jsonl").read_text() == '{"other": 1}\n{"other": 2'


def test_extending_n_moves_the_file_to_the_new_name(tmp_path):
    run(tmp_path, Protocol(n=1, max_tokens=8))
    again = run(tmp_path, Protocol(n=2, max_tokens=8))
    assert (again.reused, again.generated) == (3, 3)
    assert [p.name for p in tmp_path.glob("*.jsonl")] == ["aime24_t0.7_p0.9_n2-MNT8.jsonl"]


def test_fewer_samples_than_stored_is_refused(tmp_path):
    run(tmp_path, Protocol(n=2, max_tokens=8))
    with pytest.raises(EvalError, match=r"holds 2 samples per problem of AIME24, more than the 1 asked"):
        run(tmp_path, Protocol(n=1, max_tokens=8))
    assert [p.name for p in tmp_path.glob("*.jsonl")] == ["aime24_t0.7_p0.9_n2-MNT8.jsonl"]


@pytest.mark.parametrize("other", [Protocol(n=2, max_tokens=8, temperature=0.6),
                                   Protocol(n=2, max_tokens=8, top_p=0.95), Protocol(n=2, max_tokens=16)],
                         ids=["temperature", "top_p", "max_tokens"])
def test_a_run_with_other_sampling_settings_never_mixes_into_the_folder(tmp_path, other):
    run(tmp_path, Protocol(n=2, max_tokens=8))
    before = {p.name: p.read_bytes() for p in tmp_path.glob("*.jsonl")}
    with pytest.raises(EvalError, match="different sampling"):
        run(tmp_path, other)
    assert {p.name: p.read_bytes() for p in tmp_path.glob("*.jsonl")} == before
    run(tmp_path / "other", other)  # in its own folder it gets its own file name
    assert [p.name for p in (tmp_path / "other").glob("*.jsonl")] != list(before)


def test_default_run_writes_the_names_justrls_gen_vllm_writes():
    # thunlp/JustRL evals/gen_vllm.py: f"{task_name.lower()}_t{TEMPERATURE}_p{TOP_P}_n{N}-MNT{MAX_TOKENS}.jsonl"
    # with TEMPERATURE = 0.7, TOP_P = 0.9, MAX_TOKENS = 31744 and its TASKS table's names and N
    expected = {
        "AIME24": "aime24_t0.7_p0.9_n32-MNT31744.jsonl", "AIME25": "aime25_t0.7_p0.9_n32-MNT31744.jsonl",
        "AMC23": "amc23_t0.7_p0.9_n32-MNT31744.jsonl", "MATH-500": "math-500_t0.7_p0.9_n4-MNT31744.jsonl",
        "Minerva": "minerva_t0.7_p0.9_n4-MNT31744.jsonl",
        "Olympiad-Bench": "olympiad-bench_t0.7_p0.9_n4-MNT31744.jsonl",
        "BRUMO25": "brumo25_t0.7_p0.9_n32-MNT31744.jsonl", "CMIMC25": "cmimc25_t0.7_p0.9_n32-MNT31744.jsonl",
        "HMMT25": "hmmt25_t0.7_p0.9_n32-MNT31744.jsonl",
    }
    from justrl.benchmarks import BENCHMARKS

    p = Protocol()
    assert {name: run_file_name(name, p.temperature, p.top_p, p.samples(spec), p.max_tokens)
            for name, spec in BENCHMARKS.items()} == expected
