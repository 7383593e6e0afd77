"""Checkpoints: RUN/checkpoints/step_<N>.pt holding model, optimizer, scheduler, RNG states and data position.

Written to a temporary file then renamed, then ``RUN/checkpoints/latest`` (the step number) is replaced
atomically, so a run killed at any moment resumes from the last complete checkpoint. The two most
recent checkpoints are kept.
"""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path

from justrl.train.config import TrainError

KEEP = 2


def rng_state() -> dict:
    """Python, numpy and torch (CPU and, when present, CUDA) generator states."""
    import numpy as np
    import torch

    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    import numpy as np
    import torch

    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _atomic_torch_save(obj, path: Path) -> None:
    import torch

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save(run_dir: Path, model, optimizer, scheduler, state: dict, *, world=None) -> Path | None:
    """Write step ``state["step"]``'s checkpoint (rank 0 only; model state gathered first) and prune old ones."""
    model_state = model.state_dict()
    model_state = {k: (v.full_tensor() if hasattr(v, "full_tensor") else v) for k, v in model_state.items()}
    if world is not None and not world.main:
        return None
    folder = Path(run_dir) / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"step_{state['step']}.pt"
    _atomic_torch_save({"model": model_state, "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                        "rng": rng_state(), "state": dict(state)}, path)
    pointer = folder / "latest"
    tmp = folder / "latest.tmp"
    tmp.write_text(str(state["step"]))
    os.replace(tmp, pointer)
    for old in sorted(folder.glob("step_*.pt"), key=lambda p: int(p.stem.split("_")[1]))[:-KEEP]:
        old.unlink(missing_ok=True)
    return path


def latest_path(run_dir: Path) -> Path:
    """The newest complete checkpoint of a run; TrainError when there is none."""
    pointer = Path(run_dir) / "checkpoints" / "latest"
    if not pointer.exists():
        raise TrainError(f"{run_dir} has no checkpoint to resume from (none saved yet; see save_every)")
    path = pointer.parent / f"step_{pointer.read_text().strip()}.pt"
    if not path.exists():
        raise TrainError(f"{path} is missing; the run folder was modified")
    return path


def load_latest(run_dir: Path, model, optimizer, scheduler, *, device: str = "cpu") -> dict:
    """Restore model, optimizer, scheduler and RNG from the latest checkpoint; return its state (step, cursor)."""
    import torch

    blob = torch.load(latest_path(run_dir), map_location=device, weights_only=False)
    model.load_state_dict(blob["model"])
    optimizer.load_state_dict(blob["optimizer"])
    scheduler.load_state_dict(blob["scheduler"])
    set_rng_state(blob["rng"])
    return dict(blob["state"])
