"""The run store: append + flush, torn-line repair, shard partition, merge."""

from __future__ import annotations

import json

import pytest

from justrl.evaluate.store import RunStore, Shard, StoreError, merge_runs, repair_and_read


def row(eid: int, k: int, *, seed: int | None = None, answer: str = "1") -> dict:
    return {"benchmark": "AIME24", "example_id": str(eid), "sample_index": k, "prompt": "p", "answer": answer,
            "seed": 100 * eid + k if seed is None else seed, "response": f"r{eid}.{k}", "finish_reason": "stop",
            "prompt_tokens": 3, "completion_tokens": 4}


def lines(*rows: dict) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


@pytest.mark.parametrize("tail, kept_rows, dropped", [
    ("", 2, 0),
    ('{"example_id": "9", "sample', 2, 1),
    ('{"example_id": "9", "sample\n', 2, 1),
    ("\n", 2, 0),
], ids=["clean", "torn-without-newline", "torn-with-newline", "trailing-blank-line"])
def test_repair_drops_and_truncates_a_torn_last_line(tmp_path, tail, kept_rows, dropped):
    path = tmp_path / "aime24.jsonl"
    body = lines(row(0, 0), row(0, 1))
    path.write_text(body + tail)
    rows, n_dropped = repair_and_read(path)
    assert (len(rows), n_dropped) == (kept_rows, dropped)
    if dropped:
        assert path.read_text() == body  # the file is truncated back to the last complete row
    # and appending afterwards yields a valid file
    store = RunStore(tmp_path)
    store.append("aime24", row(1, 0))
    store.close()
    assert [json.loads(x)["example_id"] for x in path.read_text().splitlines() if x.strip()] == ["0", "0", "1"]


def test_only_a_torn_row(tmp_path):
    path = tmp_path / "aime24.jsonl"
    path.write_text('{"exa')
    assert repair_and_read(path) == ([], 1)
    assert path.read_bytes() == b""


def test_append_is_flushed_before_close(tmp_path):
    store = RunStore(tmp_path / "out")
    store.append("aime24", row(0, 0))
    # another reader sees the row while the store is still open (a killed process would leave it there)
    assert RunStore(tmp_path / "out").existing("aime24") == {("0", 0): row(0, 0)}
    store.close()


def test_existing_keeps_first_of_duplicates_and_rejects_foreign_rows(tmp_path):
    (tmp_path / "aime24.jsonl").write_text(lines(row(0, 0), {**row(0, 0), "response": "later"}))
    assert RunStore(tmp_path).existing("aime24")[("0", 0)]["response"] == "r0.0"
    (tmp_path / "other.jsonl").write_text(lines({"text": "not a run store"}))
    with pytest.raises(StoreError, match="not a justrl-eval run store"):
        RunStore(tmp_path).existing("other")


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
    (d / "aime24.jsonl").write_text(lines(*rows))
    (d / "run.json").write_text(json.dumps({"model": "m", "sampling": {"temperature": 0.7}, "seed": 0, "suffix": "s",
                                            "shard": name, "plan": {"AIME24": {"slug": "aime24", "n": n,
                                                                               "example_ids": plan_ids}},
                                            "generation": {"completion_tokens": 10 * len(rows),
                                                           "wall_seconds": 1.0, "samples": len(rows)}}))
    return d


def test_merge_joins_dedups_and_sorts(tmp_path):
    a = _shard_dir(tmp_path, "a", [row(1, 1), row(0, 0), row(1, 0)], ["0", "1"], 2)
    b = _shard_dir(tmp_path, "b", [row(0, 1), row(1, 0)], ["0", "1"], 2)
    report = merge_runs([a, b], tmp_path / "out")
    assert (report.rows, report.duplicates, report.missing) == ({"aime24": 4}, 1, {"aime24": 0})
    merged = [json.loads(x) for x in (tmp_path / "out" / "aime24.jsonl").read_text().splitlines()]
    assert [(r["example_id"], r["sample_index"]) for r in merged] == [("0", 0), ("0", 1), ("1", 0), ("1", 1)]
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["shard"] is None and len(run["merged_from"]) == 2
    assert run["generation"]["completion_tokens"] == 50 and run["generation"]["wall_seconds"] == 2.0


def test_merge_refuses_incomplete_unless_allowed(tmp_path):
    a = _shard_dir(tmp_path, "a", [row(0, 0), row(0, 1)], ["0", "1"], 2)
    with pytest.raises(StoreError, match="aime24: 2 samples missing"):
        merge_runs([a], tmp_path / "out")
    assert not (tmp_path / "out" / "aime24.jsonl").exists()
    assert merge_runs([a], tmp_path / "out", allow_partial=True).missing == {"aime24": 2}


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
