"""Checkpoints that resume exactly and can carry no code: ``RUN/checkpoints/step_<N>/``.

One folder per checkpoint, every file in a format that cannot execute anything when read:

* ``tensors_rank<r>.pt`` -- model and optimizer tensors keyed by parameter name, read back with
  ``torch.load(weights_only=True)`` (a restricted unpickler: tensors, dicts, lists, numbers only; a planted
  pickle payload is refused, never run). Unsharded models (one process, DDP): rank 0 writes the full state.
  Sharded models (FSDP2): every rank writes its own shards (``DTensor.to_local``); the state dicts come
  from and go back through ``torch.distributed.checkpoint.state_dict.get_state_dict`` / ``set_state_dict``
  (veRL's FSDP checkpoint manager also saves per-rank shards). Resuming sharded state needs the same
  number of processes.
* ``rng_rank<r>.json`` -- this rank's Python, numpy, torch (and CUDA) generator states, one file per rank.
* ``meta.json`` -- written last by rank 0: step, data cursor, scheduler state, optimizer hyperparameters
  (``param_groups``), world size, and the size of every file (a truncated file is caught before loading).

A checkpoint is written into ``step_<N>.tmp/`` and renamed to ``step_<N>/`` once complete (rename is
atomic), then ``latest`` (the step number) is replaced; the two newest are kept. Loading takes the newest
complete checkpoint; one that cannot be read (truncated, corrupt, unsafe) is skipped with a one-line
warning and the previous one is used. :func:`remove_stale` deletes ``*.tmp`` leftovers of a killed write.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sys
from pathlib import Path

from justrl.train.config import TrainError

KEEP = 2
META = "meta.json"


class CorruptCheckpoint(Exception):
    """A checkpoint folder that cannot be used (missing, truncated or unreadable file); the reason is one line."""


# ----------------------------------------------------------------------------- RNG states as JSON
def rng_state() -> dict:
    """Python, numpy and torch (CPU and, when present, CUDA) generator states, as JSON-ready lists."""
    import numpy as np
    import torch

    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    state = {"python": [version, list(internal), gauss], "numpy": [kind, keys.tolist(), int(pos), int(has_gauss),
                                                                    float(cached)],
             "torch": torch.get_rng_state().tolist()}
    if torch.cuda.is_available():
        state["cuda"] = [s.tolist() for s in torch.cuda.get_rng_state_all()]
    return state


def set_rng_state(state: dict) -> None:
    """Inverse of :func:`rng_state`."""
    import numpy as np
    import torch

    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(torch.tensor(state["torch"], dtype=torch.uint8))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([torch.tensor(s, dtype=torch.uint8) for s in state["cuda"]])


# ----------------------------------------------------------------------------- state dicts
def _is_dtensor(value) -> bool:
    return hasattr(value, "to_local") and hasattr(value, "placements")


def _state_dicts(model, optimizer) -> tuple[dict, dict, bool]:
    """(model state, optimizer state, sharded) by parameter name, via torch.distributed.checkpoint."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_state_dict

    model_sd, optim_sd = get_state_dict(model, optimizer, options=StateDictOptions(full_state_dict=False))
    sharded = any(_is_dtensor(v) for v in model_sd.values())
    return model_sd, optim_sd, sharded


def _local(value):
    return value.to_local() if _is_dtensor(value) else value


def _json_ready(value):
    return json.loads(json.dumps(value, default=lambda o: list(o) if isinstance(o, tuple) else str(o)))


# ----------------------------------------------------------------------------- save
def _barrier(world) -> None:
    if world is not None and world.size > 1:
        import torch.distributed as dist

        dist.barrier()


def _write_json(path: Path, data) -> None:
    from justrl.evaluate.files import atomic_write_json

    atomic_write_json(path, data)


def save(run_dir: Path, model, optimizer, scheduler, state: dict, *, world=None) -> Path | None:
    """Write the checkpoint of step ``state["step"]`` (a collective: every rank calls it); return its folder."""
    import torch

    rank = world.rank if world is not None else 0
    size = world.size if world is not None else 1
    folder = Path(run_dir) / "checkpoints"
    final = folder / f"step_{state['step']}"
    tmp = folder / f"step_{state['step']}.tmp"
    model_sd, optim_sd, sharded = _state_dicts(model, optimizer)
    if folder.is_symlink():
        raise TrainError(f"{folder} is a symbolic link; checkpoints are never written through one")
    with _DiskErrors(tmp):
        if rank == 0:
            folder.mkdir(parents=True, exist_ok=True)
            _remove(tmp)
            tmp.mkdir()
        _barrier(world)
        if sharded or rank == 0:
            tensors = {"model": {k: _local(v) for k, v in model_sd.items()},
                       "optim": {k: {n: _local(t) for n, t in s.items() if isinstance(t, torch.Tensor)}
                                 for k, s in optim_sd["state"].items()}}
            with open(tmp / f"tensors_rank{rank}.pt", "wb") as fh:
                torch.save(tensors, fh)
                fh.flush()
                os.fsync(fh.fileno())
        _write_json(tmp / f"rng_rank{rank}.json", rng_state())
    _barrier(world)
    if rank == 0:
        with _DiskErrors(tmp):
            _finish(run_dir, folder, tmp, final, state, size, sharded, scheduler, optim_sd)
    _barrier(world)
    return final


class _DiskErrors:
    """A failed write (full disk, read-only mount) -> the half-written folder removed, one-line TrainError;
    the checkpoints already on disk are untouched."""

    def __init__(self, tmp: Path):
        self.tmp = tmp

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if isinstance(exc, OSError):
            from justrl.evaluate.files import describe_os_error

            _remove(self.tmp)
            raise TrainError(describe_os_error(exc, "write the checkpoint", self.tmp)
                             + " (the previous checkpoint is kept; resume from it with --resume)") from None
        return False


def _finish(run_dir, folder, tmp, final, state, size, sharded, scheduler, optim_sd) -> None:
    """Rank 0: meta.json last, then the atomic rename, the ``latest`` pointer and pruning."""
    import torch

    extra = {k: {n: v for n, v in s.items() if not isinstance(v, torch.Tensor)}
             for k, s in optim_sd["state"].items()}
    files = {p.name: p.stat().st_size for p in sorted(tmp.iterdir())}
    _write_json(tmp / META, {"state": dict(state), "world_size": size, "sharded": sharded,
                             "scheduler": _json_ready(scheduler.state_dict()),
                             "param_groups": _json_ready(optim_sd["param_groups"]),
                             "optim_extra": _json_ready({k: v for k, v in extra.items() if v}), "files": files})
    _remove(final)
    os.replace(tmp, final)
    _write_text_atomic(folder / "latest", str(state["step"]))
    for old in complete_checkpoints(run_dir)[KEEP:]:
        _remove(old)


def _write_text_atomic(path: Path, text: str) -> None:
    from justrl.evaluate.files import atomic_write_text

    atomic_write_text(path, text)


def _remove(path: Path) -> None:
    """Delete a file, a symlink (never what it points to) or a folder tree of this run."""
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.is_dir():
        shutil.rmtree(path, ignore_errors=True)


def remove_stale(run_dir: Path) -> list[Path]:
    """Delete ``*.tmp`` leftovers of checkpoint writes that were killed (rank 0, at start); return them."""
    folder = Path(run_dir) / "checkpoints"
    if not folder.is_dir() or folder.is_symlink():
        return []
    stale = sorted(p for p in folder.iterdir() if p.name.endswith(".tmp"))
    for path in stale:
        _remove(path)
    return stale


# ----------------------------------------------------------------------------- load
def _step_of(path: Path) -> int | None:
    head, _, number = path.name.partition("_")
    return int(number) if head == "step" and number.isdigit() else None


def complete_checkpoints(run_dir: Path) -> list[Path]:
    """Checkpoint folders that hold a ``meta.json`` (written last), newest first."""
    folder = Path(run_dir) / "checkpoints"
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if _step_of(p) is not None and p.is_dir() and not p.is_symlink()
             and (p / META).is_file()]
    return sorted(found, key=_step_of, reverse=True)


def has_checkpoint(run_dir: Path) -> bool:
    return bool(complete_checkpoints(run_dir))


def _read_json(path: Path):
    from justrl.evaluate.files import UnsafeFileError, read_regular

    try:
        data, _ = read_regular(path)
        return json.loads(data.decode("utf-8"))
    except FileNotFoundError:
        raise CorruptCheckpoint(f"{path.name} is missing") from None
    except (UnsafeFileError, OSError, ValueError) as exc:
        raise CorruptCheckpoint(f"{path.name} is unreadable ({str(exc).splitlines()[0][:120]})") from None


def _read_tensors(path: Path, expected_size: int | None):
    import pickle

    import torch

    if path.is_symlink() or not path.is_file():
        raise CorruptCheckpoint(f"{path.name} is missing or not a regular file")
    if expected_size is not None and path.stat().st_size != expected_size:
        raise CorruptCheckpoint(f"{path.name} has {path.stat().st_size} bytes, {expected_size} were written")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CorruptCheckpoint(f"{path.name} holds something other than tensors, refused unread "
                                f"({str(exc).splitlines()[0][:120]})") from None
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        raise CorruptCheckpoint(f"{path.name} is unreadable ({str(exc).splitlines()[0][:120]})") from None


def _read_checkpoint(path: Path, rank: int, size: int) -> dict:
    """Everything this rank needs from checkpoint folder ``path``; CorruptCheckpoint when it cannot be used."""
    meta = _read_json(path / META)
    if not isinstance(meta, dict) or not {"state", "world_size", "sharded", "scheduler", "files"} <= set(meta):
        raise CorruptCheckpoint(f"{META} lacks required fields")
    if meta["world_size"] != size:
        raise TrainError(f"{path} was written by {meta['world_size']} processes; resume it with "
                         f"--nproc-per-node {meta['world_size']} (this run has {size})")
    source = rank if meta["sharded"] else 0
    name = f"tensors_rank{source}.pt"
    tensors = _read_tensors(path / name, meta["files"].get(name))
    if not isinstance(tensors, dict) or not {"model", "optim"} <= set(tensors):
        raise CorruptCheckpoint(f"{name} lacks the model or optimizer state")
    rng = _read_json(path / f"rng_rank{rank}.json")
    return {"meta": meta, "tensors": tensors, "rng": rng}


def _agree(ok: bool, world) -> bool:
    """True when every rank could read its part of a candidate checkpoint."""
    if world is None or world.size == 1:
        return ok
    import torch
    import torch.distributed as dist

    flag = torch.tensor([1 if ok else 0], dtype=torch.int64, device=world.device)
    dist.all_reduce(flag, op=dist.ReduceOp.MIN)
    return bool(flag.item())


def load_latest(run_dir: Path, model, optimizer, scheduler, *, world=None) -> dict | None:
    """Restore model, optimizer, scheduler and this rank's RNG from the newest readable checkpoint.

    Returns its run state (``step``, ``cursor``), or None when the run has no checkpoint at all. A checkpoint
    that cannot be read is skipped with a one-line warning on stderr; TrainError when none can be read.
    """
    rank = world.rank if world is not None else 0
    size = world.size if world is not None else 1
    candidates = complete_checkpoints(run_dir)
    if not candidates:
        return None
    for path in candidates:
        try:
            blob, reason = _read_checkpoint(path, rank, size), None
        except CorruptCheckpoint as exc:
            blob, reason = None, str(exc)
        if not _agree(blob is not None, world):
            if reason or rank == 0:
                why = reason or "another process could not read its part"
                print(f"justrl-train: warning: skipping checkpoint {path.name} ({why}); trying the previous one",
                      file=sys.stderr)
            continue
        _restore(blob, model, optimizer, scheduler, world)
        return dict(blob["meta"]["state"])
    raise TrainError(f"no checkpoint of {run_dir} can be read (see the warnings above); start a new run in another "
                     f"--output-dir")


def _restore(blob: dict, model, optimizer, scheduler, world) -> None:
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_state_dict

    device = world.device if world is not None else "cpu"
    template, _, _ = _state_dicts(model, optimizer)
    meta, tensors = blob["meta"], blob["tensors"]

    def place(name: str, value):
        target = template.get(name)
        value = value.to(device)
        if target is not None and _is_dtensor(target) and tuple(value.shape) == tuple(target.to_local().shape):
            from torch.distributed.tensor import DTensor

            return DTensor.from_local(value, target.device_mesh, target.placements, run_check=False,
                                      shape=target.shape, stride=target.stride())
        return value

    missing = set(template) - set(tensors["model"])
    if missing:
        raise TrainError(f"the checkpoint does not match the model (missing {sorted(missing)[:3]}); was the run "
                         f"folder's model changed?")
    model_sd = {k: place(k, v) for k, v in tensors["model"].items()}
    extra = meta.get("optim_extra", {})
    state = {k: {**{n: place(k, t) if t.dim() else t.to(device) for n, t in s.items()}, **extra.get(k, {})}
             for k, s in tensors["optim"].items()}
    groups = [dict(g, betas=tuple(g["betas"])) if "betas" in g else dict(g) for g in meta["param_groups"]]
    set_state_dict(model, optimizer, model_state_dict=model_sd, optim_state_dict={"state": state, "param_groups": groups},
                   options=StateDictOptions(full_state_dict=False))
    scheduler.load_state_dict(meta["scheduler"])
    set_rng_state(blob["rng"])
