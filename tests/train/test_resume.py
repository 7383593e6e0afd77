"""Checkpoints and the run folder: exact state round trip, no code in checkpoints, fallback, clean restarts."""

from __future__ import annotations

import json
import os
import random
import sys

import pytest

torch = pytest.importorskip("torch")

from justrl.train import checkpoint as ckpt  # noqa: E402
from justrl.train.config import TrainError  # noqa: E402
from justrl.train.runlog import MetricsLog, claim  # noqa: E402


def _trio(lr=1e-2):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 1))
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, s / 3))
    return model, optimizer, scheduler


def _train_steps(model, optimizer, scheduler, k, seed=0):
    gen = torch.Generator().manual_seed(seed)
    for _ in range(k):
        model(torch.randn(2, 3, generator=gen)).sum().backward()
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()


def _saved_run(tmp_path, steps=(2, 3)):
    trio = _trio()
    for s in steps:
        _train_steps(*trio, 1, seed=s)
        ckpt.save(tmp_path, *trio, {"step": s, "cursor": 4 * s})
    return trio


def test_round_trip_restores_model_optimizer_scheduler_rng_and_cursor(tmp_path):
    model, optimizer, scheduler = _saved_run(tmp_path)
    random.seed(11)
    torch.manual_seed(12)
    ckpt.save(tmp_path, model, optimizer, scheduler, {"step": 4, "cursor": 16})
    expected_draws = (random.random(), torch.rand(3))
    restored = _trio(lr=5.0)  # different hyperparameters: the checkpoint's must win
    assert ckpt.load_latest(tmp_path, *restored) == {"step": 4, "cursor": 16}
    draws = (random.random(), torch.rand(3))
    assert draws[0] == expected_draws[0] and torch.equal(draws[1], expected_draws[1])
    _train_steps(model, optimizer, scheduler, 2, seed=9)
    _train_steps(*restored, 2, seed=9)
    for a, b in zip(model.parameters(), restored[0].parameters(), strict=True):
        assert torch.equal(a, b)
    assert restored[1].param_groups[0]["lr"] == optimizer.param_groups[0]["lr"]
    assert restored[1].param_groups[0]["betas"] == (0.9, 0.95)


def test_layout_every_file_is_tensors_or_json_and_two_are_kept(tmp_path):
    _saved_run(tmp_path, steps=(1, 2, 3))
    folder = tmp_path / "checkpoints"
    assert sorted(p.name for p in folder.iterdir()) == ["latest", "step_2", "step_3"]
    assert (folder / "latest").read_text() == "3"
    assert sorted(p.name for p in (folder / "step_3").iterdir()) == ["meta.json", "rng_rank0.json",
                                                                     "tensors_rank0.pt"]
    meta = json.loads((folder / "step_3" / "meta.json").read_text())
    assert meta["state"] == {"step": 3, "cursor": 12} and meta["world_size"] == 1 and not meta["sharded"]


class _Payload:
    """Unpickling this runs ``os.mkdir(marker)``: what a hostile checkpoint would do."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def _plant(step_dir, marker):
    path = step_dir / "tensors_rank0.pt"
    torch.save({"model": _Payload(marker), "optim": {}}, path)
    meta = json.loads((step_dir / "meta.json").read_text())
    meta["files"]["tensors_rank0.pt"] = path.stat().st_size  # the attacker fixes the recorded size too
    (step_dir / "meta.json").write_text(json.dumps(meta))
    return path


def test_the_planted_payload_would_run_if_unpickled(tmp_path):
    """Control: the payload is live (so the next test's refusal means something)."""
    _saved_run(tmp_path, steps=(1,))
    marker = tmp_path / "pwned"
    path = _plant(tmp_path / "checkpoints" / "step_1", marker)
    torch.load(path, weights_only=False)
    assert marker.exists()


@pytest.mark.parametrize("keep_good_previous", [True, False], ids=["falls-back", "only-checkpoint"])
def test_a_planted_pickle_payload_never_executes(tmp_path, capsys, keep_good_previous):
    _saved_run(tmp_path, steps=(1, 2) if keep_good_previous else (2,))
    marker = tmp_path / "pwned"
    _plant(tmp_path / "checkpoints" / "step_2", marker)
    if keep_good_previous:
        assert ckpt.load_latest(tmp_path, *_trio())["step"] == 1
        warning = capsys.readouterr().err.strip()
        assert "skipping checkpoint step_2" in warning and "\n" not in warning
    else:
        with pytest.raises(TrainError, match="no checkpoint .* can be read"):
            ckpt.load_latest(tmp_path, *_trio())
    assert not marker.exists()


@pytest.mark.parametrize("damage", ["truncate-tensors", "corrupt-meta", "drop-rng", "empty-tensors"])
def test_a_damaged_latest_checkpoint_falls_back_to_the_previous_one(tmp_path, capsys, damage):
    _saved_run(tmp_path)
    latest = tmp_path / "checkpoints" / "step_3"
    if damage == "truncate-tensors":
        data = (latest / "tensors_rank0.pt").read_bytes()
        (latest / "tensors_rank0.pt").write_bytes(data[: len(data) // 2])
    elif damage == "corrupt-meta":
        (latest / "meta.json").write_text('{"state": {"step": 3')
    elif damage == "drop-rng":
        (latest / "rng_rank0.json").unlink()
    else:
        (latest / "tensors_rank0.pt").write_bytes(b"")
    assert ckpt.load_latest(tmp_path, *_trio()) == {"step": 2, "cursor": 8}
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "step_3" in err[0] and "previous" in err[0]


def test_no_checkpoint_means_none(tmp_path):
    assert ckpt.load_latest(tmp_path, *_trio()) is None


# ----------------------------------------------------------------------------- the run folder
def _used_folder(tmp_path, rows=(1, 2, 3)):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"config": {}}))
    (run / "metrics.jsonl").write_text("".join(json.dumps({"step": s, "x": s}) + "\n" for s in rows))
    return run


def test_a_fresh_run_into_a_used_folder_refuses(tmp_path):
    run = _used_folder(tmp_path)
    before = (run / "metrics.jsonl").read_bytes()
    with pytest.raises(TrainError, match="already holds a run.*--resume") as info:
        claim(run, resume=False)
    assert "\n" not in str(info.value)
    assert (run / "metrics.jsonl").read_bytes() == before


def test_resume_of_a_folder_without_a_run_refuses(tmp_path):
    with pytest.raises(TrainError, match="holds no run"):
        claim(tmp_path / "empty", resume=True)


def test_a_second_process_cannot_claim_a_claimed_folder(tmp_path):
    run = tmp_path / "run"
    lock = claim(run, resume=False)
    try:
        code = ("import sys; from justrl.train.runlog import claim; from justrl.train.config import TrainError\n"
                "try:\n    claim(sys.argv[1], resume=True)\nexcept TrainError as e:\n    print(e); sys.exit(2)\n")
        import subprocess

        (run / "config.json").write_text("{}")
        proc = subprocess.run([sys.executable, "-c", code, str(run)], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2 and "in use by" in proc.stdout
    finally:
        lock.release()


def test_stale_tmp_leftovers_of_a_killed_checkpoint_write_are_removed_at_start(tmp_path, capsys):
    run = _used_folder(tmp_path)
    folder = run / "checkpoints"
    (folder / "step_4.tmp").mkdir(parents=True)
    (folder / "step_4.tmp" / "tensors_rank0.pt").write_bytes(b"x" * 100)
    (folder / ".latest.123.456.tmp").write_text("4")
    outside = tmp_path / "keep.tmp"
    outside.write_text("not the run's")
    (folder / "step_5.tmp").symlink_to(outside)
    claim(run, resume=True).release()
    assert sorted(p.name for p in folder.iterdir()) == []
    assert outside.read_text() == "not the run's"  # a link is removed, never what it points to
    assert capsys.readouterr().err.count("interrupted") == 3


@pytest.mark.parametrize("keep, text, expected", [
    (2, None, [1, 2]),
    (-1, None, []),
    (5, None, [1, 2, 3]),
    (3, '{"step": 4, "x"', [1, 2, 3]),  # a torn last line goes too
    (0, '{"step": 0, "val/AIME24/avg@32": 0.1}\n', []),
], ids=["cut-to-checkpoint", "no-checkpoint-keeps-nothing", "nothing-after", "torn-tail", "rows-in-order-only"])
def test_a_resumed_log_keeps_only_the_rows_up_to_the_checkpoint(tmp_path, keep, text, expected):
    run = _used_folder(tmp_path)
    if text is not None:
        with open(run / "metrics.jsonl", "a") as fh:
            fh.write(text)
    log = MetricsLog(run, keep_through=keep)
    log.append({"step": 99})
    log.close()
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == [*expected, 99]


@pytest.mark.parametrize("keep", [None, 3], ids=["fresh", "resume"])
def test_the_log_is_never_written_through_a_symlink(tmp_path, keep):
    run = tmp_path / "run"
    run.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (run / "metrics.jsonl").symlink_to(victim)
    with pytest.raises(TrainError, match="symbolic link|exists"):
        MetricsLog(run, keep_through=keep)
    assert victim.read_text() == "precious\n"


def test_a_checkpoint_of_another_world_size_is_refused_with_one_line(tmp_path):
    _saved_run(tmp_path, steps=(1,))
    meta_path = tmp_path / "checkpoints" / "step_1" / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["world_size"] = 8
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(TrainError, match="written by 8 processes; resume it with --nproc-per-node 8") as info:
        ckpt.load_latest(tmp_path, *_trio())
    assert "\n" not in str(info.value)


def test_seeded_hf_rollouts_do_not_depend_on_the_global_generator(tiny_model):
    """What makes a resumed run draw the same samples: each generate chunk is seeded from the samples' own
    seeds, whatever state torch's global generator is in, and the global generator is left untouched."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from justrl.train.rollout.hf import HFEngine

    model = AutoModelForCausalLM.from_pretrained(str(tiny_model), dtype=torch.float32)
    engine = HFEngine(model, AutoTokenizer.from_pretrained(str(tiny_model)), batch_size=4)
    prompts = [[5, 6, 7], [8, 9]]
    seeds = [11, 12, 13, 14, 15, 16]

    def draw(global_seed, sample_seeds):
        torch.manual_seed(global_seed)
        before = torch.get_rng_state()
        out = engine.generate(prompts, 3, max_new_tokens=6, temperature=1.0, top_p=1.0, seeds=sample_seeds)
        assert torch.equal(torch.get_rng_state(), before)
        return out.response_ids

    assert draw(0, seeds) == draw(123, seeds)
    assert draw(0, seeds) != draw(0, [s + 1000 for s in seeds])


@pytest.mark.parametrize("name", ["checkpoints", "config.json"])
def test_a_run_folder_with_a_planted_link_is_refused(tmp_path, name):
    run = _used_folder(tmp_path)
    target = tmp_path / "elsewhere"
    target.mkdir()
    if name == "config.json":
        (run / name).unlink()
        (target / name).write_text("{}")
        (run / name).symlink_to(target / name)
    else:
        (run / name).symlink_to(target)
    with pytest.raises(TrainError, match="symbolic link"):
        claim(run, resume=True)
    assert sorted(p.name for p in target.iterdir()) == ([] if name == "checkpoints" else ["config.json"])


def test_checkpoints_are_never_written_through_a_linked_folder(tmp_path):
    target = tmp_path / "elsewhere"
    target.mkdir()
    (tmp_path / "checkpoints").symlink_to(target)
    with pytest.raises(TrainError, match="symbolic link"):
        ckpt.save(tmp_path, *_trio(), {"step": 1, "cursor": 0})
    assert list(target.iterdir()) == []


def test_a_full_disk_during_a_checkpoint_is_one_line_and_keeps_the_previous_one(tmp_path, monkeypatch):
    import errno

    trio = _saved_run(tmp_path, steps=(1,))

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", full)
    with pytest.raises(TrainError, match="No space left on device.*previous checkpoint is kept") as info:
        ckpt.save(tmp_path, *trio, {"step": 2, "cursor": 8})
    assert "\n" not in str(info.value)
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["latest", "step_1"]
    monkeypatch.undo()
    assert ckpt.load_latest(tmp_path, *_trio())["step"] == 1


@pytest.mark.parametrize("layout", ["folder-is-a-file", "parent-is-a-file"])
def test_an_output_folder_that_cannot_be_one_is_a_one_line_error(tmp_path, layout):
    blocker = tmp_path / "run"
    blocker.write_text("a file")
    target = blocker if layout == "folder-is-a-file" else blocker / "sub"
    with pytest.raises(TrainError, match="not a folder|is a file") as info:
        claim(target, resume=False)
    assert "\n" not in str(info.value) and blocker.read_text() == "a file"
