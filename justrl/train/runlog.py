"""The run folder of a training run: its lock, its metrics log, and what a start must clean or refuse.

Rules (DESIGN.md §6, issue 11): one process group owns a folder at a time (``RUN/.justrl.lock``, an
flock that dies with its holder); a fresh run never starts in a folder that already holds a run (it
would mix two runs' metrics); ``metrics.jsonl`` is never read or written through a symlink and is
only appended to by the run that created it; a resumed run cuts it back to the checkpoint's step so
redone steps are not logged twice; ``*.tmp`` leftovers of a killed checkpoint write are removed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from justrl.train.config import TrainError

METRICS = "metrics.jsonl"
RUN_FILES = ("config.json", METRICS, "checkpoints")


def _files():
    from justrl.evaluate import files

    return files


def used(run_dir: Path) -> list[str]:
    """The names in ``run_dir`` that show it already holds a run."""
    return [n for n in RUN_FILES if (run_dir / n).exists() or (run_dir / n).is_symlink()]


def claim(run_dir: Path, *, resume: bool, command: list[str] | None = None):
    """Create/lock ``run_dir`` for this run (rank 0 only); return the held lock.

    A fresh run into a folder that holds a run, or a resume of a folder that holds none, is a TrainError.
    """
    files = _files()
    try:
        files.ensure_dir(run_dir)
        lock = files.DirLock(run_dir, command=command).acquire()
    except files.UnsafeFileError as exc:
        raise TrainError(str(exc)) from None
    except OSError as exc:
        raise TrainError(files.describe_os_error(exc, "use the run folder", run_dir)) from None
    found = used(run_dir)
    links = [n for n in RUN_FILES if (run_dir / n).is_symlink()]
    if links:
        lock.release()
        raise TrainError(f"{run_dir / links[0]} is a symbolic link; a run never writes through one: remove it or "
                         f"choose another --output-dir")
    if not resume and found:
        lock.release()
        raise TrainError(f"{run_dir} already holds a run ({', '.join(found)}); continue it with --resume {run_dir} "
                         f"or choose another --output-dir")
    if resume and "config.json" not in found:
        lock.release()
        raise TrainError(f"{run_dir} holds no run (no config.json); start one with --output-dir")
    from justrl.train.checkpoint import remove_stale

    for path in remove_stale(run_dir):
        print(f"justrl-train: removed {path.name}, left by a checkpoint write that was interrupted", file=sys.stderr)
    return lock


class MetricsLog:
    """``RUN/metrics.jsonl`` (one JSON row per step, appended and handed to the OS at once) and, when
    installed and asked, TensorBoard scalars."""

    def __init__(self, run_dir: Path, *, keep_through: int | None, tensorboard: bool = False):
        """Open the log: a new file when ``keep_through`` is None, else the run's own file cut back to the rows
        with ``step <= keep_through`` (a torn or unreadable tail goes with them)."""
        files = _files()
        self.path = Path(run_dir) / METRICS
        try:
            if keep_through is None or not (self.path.exists() or self.path.is_symlink()):
                self.file = files.AppendFile.create(self.path)
            else:
                data, file_id = files.read_regular(self.path)
                self.file = files.AppendFile.reopen(self.path, file_id, truncate_to=_prefix(data, keep_through))
        except files.UnsafeFileError as exc:
            raise TrainError(str(exc)) from None
        except OSError as exc:
            raise TrainError(files.describe_os_error(exc, "open", self.path)) from None
        self.writer = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(str(Path(run_dir) / "tensorboard"))
            except ImportError:
                self.writer = None

    def append(self, row: dict) -> None:
        files = _files()
        try:
            self.file.write((json.dumps(row) + "\n").encode("utf-8"))
        except OSError as exc:
            raise TrainError(files.describe_os_error(exc, "append to", self.path)) from None
        if self.writer is not None:
            for key, value in row.items():
                if key != "step" and isinstance(value, (int, float)):
                    self.writer.add_scalar(key, value, row["step"])
            self.writer.flush()

    def close(self) -> None:
        self.file.close()
        if self.writer is not None:
            self.writer.close()


def _prefix(data: bytes, step: int) -> int:
    """Byte length of the leading rows whose step is at most ``step`` (rows are logged in step order)."""
    end = 0
    for line in data.splitlines(keepends=True):
        if not line.endswith(b"\n"):
            break
        try:
            row = json.loads(line)
        except ValueError:
            break
        if not isinstance(row, dict) or not isinstance(row.get("step"), int) or row["step"] > step:
            break
        end += len(line)
    return end
