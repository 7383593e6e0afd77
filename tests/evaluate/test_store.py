"""The run store: JustRL file names, read-only scans, repair on append, row classification, shards, merge."""

from __future__ import annotations

import json

import pytest

from justrl.evaluate.store import (
    RunStore,
    Shard,
    StoreError,
    classify_rows,
    format_setting,
    merge_runs,
    parse_run_file_name,
    run_file_name,
    scan_file,
)

AIME = "aime24_t0.7_p0.9_n2-MNT8.jsonl"


def row(eid: int, k: int, *, seed: int | None = None, answer: str = "1") -> dict:
    return {"benchmark": "AIME24", "example_id": str(eid), "sample_index": k, "prompt": "p", "answer": answer,
            "seed": 100 * eid + k if seed is None else seed, "response": f"r{eid}.{k}", "finish_reason": "stop",
            "prompt_tokens": 3, "completion_tokens": 4}


def lines(*rows: dict) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


@pytest.mark.parametrize("tail, kept_rows, torn", [
    ("", 2, False),
    ('{"example_id": "9", "sample', 2, True),
    ('{"example_id": "9", "sample\n', 2, True),
    ("\n", 2, False),
], ids=["clean", "torn-without-newline", "torn-with-newline", "trailing-blank-line"])
def test_scan_finds_a_torn_last_line_without_writing_and_append_repairs_it(tmp_path, tail, kept_rows, torn):
    path = tmp_path / AIME
    body = lines(row(0, 0), row(0, 1))
    path.write_text(body + tail)
    store = RunStore(tmp_path)
    scan = store.scan(AIME)
    assert (len(scan.rows), scan.torn) == (kept_rows, torn)
    assert path.read_text() == body + tail  # scanning never writes
    store.append(AIME, row(1, 0))  # the first append cuts the torn line, then appends
    store.close()
    assert [json.loads(x)["example_id"] for x in path.read_text().splitlines() if x.strip()] == ["0", "0", "1"]


def test_only_a_torn_row(tmp_path):
    path = tmp_path / AIME
    path.write_text('{"exa')
    scan = scan_file(path)
    assert (scan.rows, scan.torn, scan.keep) == ([], True, 0)


def test_append_is_on_disk_before_close(tmp_path):
    store = RunStore(tmp_path / "out")
    (tmp_path / "out").mkdir()
    store.append(AIME, row(0, 0))
    # another reader sees the row while the store is still open (a killed process would leave it there)
    assert [r for _, r in scan_file(tmp_path / "out" / AIME).rows] == [row(0, 0)]
    store.close()


def test_append_never_creates_through_a_dangling_symlink(tmp_path):
    (tmp_path / AIME).symlink_to(tmp_path / "victim")
    with pytest.raises(StoreError, match="appeared|symbolic"):
        RunStore(tmp_path).append(AIME, row(0, 0))
    assert not (tmp_path / "victim").exists()


def test_append_refuses_a_file_swapped_after_the_scan(tmp_path):
    (tmp_path / AIME).write_text(lines(row(0, 0)))
    store = RunStore(tmp_path)
    store.scan(AIME)
    (tmp_path / AIME).write_text(lines(row(0, 0), row(0, 1)))  # changed behind the store's back
    with pytest.raises(StoreError, match="changed while"):
        store.append(AIME, row(1, 0))


@pytest.mark.parametrize("extra, kept, stray, out_of_plan, duplicates", [
    ([], 2, 0, 0, 0),
    ([{"example_id": "0", "note": "no sample_index"}], 2, 1, 0, 0),
    ([{**row(0, 0), "sample_index": "first"}], 2, 1, 0, 0),
    ([{**row(0, 0), "response": None}], 2, 1, 0, 0),
    ([{**row(0, 0), "sample_index": True}], 2, 1, 0, 0),
    ([row(0, 99)], 2, 0, 1, 0),
    ([row(7, 0)], 2, 0, 1, 0),
    ([{**row(0, 0), "response": "later"}], 2, 0, 0, 1),
], ids=["clean", "missing-field", "text-index", "null-response", "bool-index", "index-beyond-n", "unknown-problem",
        "duplicate"])
def test_classify_rows_sorts_stray_and_out_of_plan_rows(extra, kept, stray, out_of_plan, duplicates):
    numbered = list(enumerate([row(0, 0), row(0, 1), *extra], 1))
    check = classify_rows(numbered, {"n": 2, "example_ids": ["0", "1"]})
    assert (len(check.kept), len(check.stray), len(check.out_of_plan), check.duplicates) == \
        (kept, stray, out_of_plan, duplicates)
    assert check.kept[("0", 0)]["response"] == "r0.0"  # first of duplicates kept


@pytest.mark.parametrize("value, text", [(0.7, "0.7"), (0.9, "0.9"), (1, "1.0"), (0.0, "0.0"), (0.95, "0.95"),
                                         (1e-05, "0.00001"), (0.6, "0.6")])
def test_settings_are_written_as_justrl_writes_them(value, text):
    assert format_setting(value) == text


def test_run_file_name_is_justrls_and_parses_back():
    name = run_file_name("Olympiad-Bench", 0.7, 0.9, 4, 31744)
    assert name == "olympiad-bench_t0.7_p0.9_n4-MNT31744.jsonl"
    # JustRL's grade.py: task = stem before the first "_", settings from its filename regex
    assert parse_run_file_name(name) == ("olympiad-bench", {"temperature": 0.7, "top_p": 0.9, "n": 4,
                                                            "max_tokens": 31744})
    assert run_file_name("AIME24", 1e-05, 1.0, 1, 8) == "aime24_t0.00001_p1.0_n1-MNT8.jsonl"
    assert parse_run_file_name("aime24.jsonl") is None


def test_two_sampling_settings_get_two_files():
    assert run_file_name("AIME24", 0.7, 0.9, 32, 31744) != run_file_name("AIME24", 0.6, 0.9, 32, 31744)
    assert run_file_name("AIME24", 0.7, 0.9, 32, 31744) != run_file_name("AIME24", 0.7, 0.95, 32, 31744)


@pytest.mark.parametrize("text, expected", [("0/1", Shard(0, 1)), ("2/4", Shard(2, 4)), (" 1/2", Shard(1, 2))],
                         ids=["single", "middle", "spaces"])
def test_shard_parse(text, expected):
    assert Shard.parse(text) == expected


@pytest.mark.parametrize("text", ["2/2", "-1/2", "0/0", "1", "a/b", "1/2/3"],
                         ids=["index-too-big", "negative", "zero-shards", "no-slash", "not-numbers", "three-parts"])
def test_shard_parse_rejects(text):
    with pytest.raises(StoreError, match="--shard"):
        Shard.parse(text)


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_shards_partition_the_keys(count):
    keys = [(b, str(p), k) for b in ("AIME24", "MATH-500") for p in range(40) for k in range(4)]
    owners = [[i for i in range(count) if Shard(i, count).owns(*key)] for key in keys]
    assert all(len(o) == 1 for o in owners)
    if count > 1:  # roughly balanced
        sizes = [sum(o == [i] for o in owners) for i in range(count)]
        assert min(sizes) > len(keys) / count / 2


def _shard_dir(root, name, rows, plan_ids, n):
    d = root / name
    d.mkdir()
    (d / AIME).write_text(lines(*rows))
    (d / "run.json").write_text(json.dumps({"model": "m", "sampling": {"temperature": 0.7, "top_p": 0.9,
                                                                       "max_tokens": 8},
                                            "seed": 0, "suffix": "s", "status": "complete",
                                            "shard": name, "plan": {"AIME24": {"slug": "aime24", "n": n,
                                                                               "example_ids": plan_ids}},
                                            "generation": {"completion_tokens": 10 * len(rows),
                                                           "wall_seconds": 1.0, "samples": len(rows)}}))
    return d


def test_merge_joins_dedups_and_sorts(tmp_path):
    a = _shard_dir(tmp_path, "a", [row(1, 1), row(0, 0), row(1, 0)], ["0", "1"], 2)
    b = _shard_dir(tmp_path, "b", [row(0, 1), row(1, 0)], ["0", "1"], 2)
    report = merge_runs([a, b], tmp_path / "out")
    merged_name = "aime24_t0.7_p0.9_n2-MNT8.jsonl"
    assert (report.rows, report.duplicates, report.missing) == ({merged_name: 4}, 1, {"AIME24": 0})
    merged = [json.loads(x) for x in (tmp_path / "out" / merged_name).read_text().splitlines()]
    assert [(r["example_id"], r["sample_index"]) for r in merged] == [("0", 0), ("0", 1), ("1", 0), ("1", 1)]
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["shard"] is None and len(run["merged_from"]) == 2
    assert run["generation"]["completion_tokens"] == 50 and run["generation"]["wall_seconds"] == 2.0


def test_merge_refuses_incomplete_unless_allowed(tmp_path):
    a = _shard_dir(tmp_path, "a", [row(0, 0), row(0, 1)], ["0", "1"], 2)
    with pytest.raises(StoreError, match="AIME24: 2 samples missing"):
        merge_runs([a], tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert merge_runs([a], tmp_path / "out", allow_partial=True).missing == {"AIME24": 2}


@pytest.mark.parametrize("other", [row(0, 0, seed=5), row(0, 0, answer="2")], ids=["seed", "gold"])
def test_merge_refuses_conflicting_samples(tmp_path, other):
    a = _shard_dir(tmp_path, "a", [row(0, 0)], ["0"], 1)
    b = _shard_dir(tmp_path, "b", [other], ["0"], 1)
    with pytest.raises(StoreError, match="different runs"):
        merge_runs([a, b], tmp_path / "out")


def test_merge_refuses_shards_of_different_commands(tmp_path):
    a = _shard_dir(tmp_path, "a", [row(0, 0)], ["0"], 1)
    b = _shard_dir(tmp_path, "b", [row(0, 0)], ["0"], 1)
    run = json.loads((b / "run.json").read_text())
    (b / "run.json").write_text(json.dumps({**run, "seed": 1}))
    with pytest.raises(StoreError, match="disagree on seed"):
        merge_runs([a, b], tmp_path / "out")


def test_merge_leaves_stray_and_out_of_plan_rows_out(tmp_path, capsys):
    a = _shard_dir(tmp_path, "a", [row(0, 0), row(0, 1), row(0, 99), {"example_id": "0"}], ["0"], 2)
    report = merge_runs([a], tmp_path / "out")
    assert report.rows == {AIME: 2} and len(report.warnings) == 2
    err = capsys.readouterr().err
    assert "1 rows that are not samples" in err and "1 rows outside the run's plan" in err


def test_merge_never_writes_into_a_folder_holding_another_run(tmp_path):
    a = _shard_dir(tmp_path, "a", [row(0, 0)], ["0"], 1)
    out = tmp_path / "out"
    out.mkdir()
    (out / AIME).write_text("foreign\n")
    with pytest.raises(StoreError, match="holds files of another run"):
        merge_runs([a], out)
    assert (out / AIME).read_text() == "foreign\n"
    again = tmp_path / "again"
    merge_runs([a], again)
    merge_runs([a], again)  # an earlier merge is replaced (by rename, never written into)
    assert len((again / run_file_name("AIME24", 0.7, 0.9, 1, 8)).read_text().splitlines()) == 1


def test_merge_of_legacy_shards_writes_justrl_names(tmp_path):
    a = _shard_dir(tmp_path, "a", [row(0, 0), row(0, 1)], ["0"], 2)
    (a / AIME).rename(a / "aime24.jsonl")  # written by justrl before JustRL naming
    report = merge_runs([a], tmp_path / "out")
    assert report.rows == {AIME: 2} and [p.name for p in (tmp_path / "out").glob("*.jsonl")] == [AIME]
