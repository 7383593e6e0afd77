"""The run store: one append-only JSONL file per benchmark, ``OUT/<slug>.jsonl``.

Each line is one sample (problem x sample index), written and flushed as soon as it is generated::

    {"benchmark", "example_id", "sample_index", "prompt", "answer", "seed", "response",
     "finish_reason", "prompt_tokens", "completion_tokens"}

``answer`` is the gold answer and ``prompt`` the rendered prompt (chat template applied) when the
backend renders it, else the user message, as JustRL's outputs keep them. A killed run loses at most the
in-flight samples and may leave a torn last line; :meth:`RunStore.open` drops such a line (truncating
the file) and reports which keys are present, so a restart generates only the missing ones.

Sharding: ``--shard i/n`` keeps the keys whose stable hash is ``i`` mod ``n`` (a partition that does not
depend on which other keys exist) and writes to ``OUT/shard-i-of-n/``; :func:`merge_runs` joins shard
folders into one run (deduplicated, checked complete).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

ROW_FIELDS = ("benchmark", "example_id", "sample_index", "prompt", "answer", "seed", "response",
              "finish_reason", "prompt_tokens", "completion_tokens")
RUN_FILE = "run.json"


class StoreError(Exception):
    """A run store cannot be read, resumed or merged. One line: what is wrong, what to do."""


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (0-based)."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"0/4"`` -> Shard(0, 4); anything else raises :class:`StoreError`."""
        try:
            left, right = str(text).split("/")
            shard = cls(int(left), int(right))
        except ValueError:
            raise StoreError(f"--shard {text!r} is not i/n; write e.g. --shard 0/4 (shards are 0-based)") from None
        if shard.count < 1 or not 0 <= shard.index < shard.count:
            raise StoreError(f"--shard {text!r}: need 0 <= i < n, e.g. --shard 0/4 ... --shard 3/4")
        return shard

    @property
    def dirname(self) -> str:
        return f"shard-{self.index}-of-{self.count}"

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def owns(self, benchmark: str, example_id: str, sample_index: int) -> bool:
        """Whether this shard generates the sample: sha256 of the key, mod ``count``."""
        if self.count == 1:
            return True
        digest = hashlib.sha256(f"{benchmark}|{example_id}|{sample_index}".encode()).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.index


def repair_and_read(path: Path) -> tuple[list[dict], int]:
    """Rows of one JSONL file, dropping a torn last line (no newline, or not JSON) by truncating the file.

    Returns (rows, dropped) where ``dropped`` counts unreadable lines (at most the last one is removed
    from the file; an unreadable line in the middle is left for inspection and ignored).
    """
    if not path.exists():
        return [], 0
    data = path.read_bytes()
    keep = data.rfind(b"\n") + 1  # bytes after the last newline are a torn write
    dropped = 0 if keep == len(data) else 1
    lines = data[:keep].split(b"\n")[:-1]
    rows: list[dict] = []
    offset = 0
    for i, raw in enumerate(lines):
        if not raw.strip():
            offset += len(raw) + 1
            continue
        try:
            row = json.loads(raw)
            if not isinstance(row, dict):
                raise ValueError("not an object")
            rows.append(row)
        except ValueError:
            dropped += 1
            if i == len(lines) - 1:  # a partial write that still got its newline
                keep = offset
        offset += len(raw) + 1
    if keep != len(data):
        with path.open("r+b") as fh:
            fh.truncate(keep)
    return rows, dropped


def row_key(row: dict) -> tuple[str, int]:
    return str(row["example_id"]), int(row["sample_index"])


class RunStore:
    """Append-only per-benchmark JSONL files in one folder; thread-safe appends, flushed per row."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self._handles: dict[str, object] = {}
        self._lock = threading.Lock()

    def path(self, slug: str) -> Path:
        return self.directory / f"{slug}.jsonl"

    def existing(self, slug: str) -> dict[tuple[str, int], dict]:
        """Rows already stored for ``slug`` by (example_id, sample_index); repairs a torn last line."""
        rows, _ = repair_and_read(self.path(slug))
        out: dict[tuple[str, int], dict] = {}
        for row in rows:
            try:
                out.setdefault(row_key(row), row)
            except (KeyError, TypeError, ValueError):
                raise StoreError(f"{self.path(slug)} holds a row without example_id/sample_index; it is not a "
                                 f"justrl-eval run store: use another --output-dir") from None
        return out

    def append(self, slug: str, row: dict) -> None:
        """Append one row and flush it to the OS (survives the process being killed)."""
        line = json.dumps(row, ensure_ascii=False) + "\n"
        with self._lock:
            fh = self._handles.get(slug)
            if fh is None:
                self.directory.mkdir(parents=True, exist_ok=True)
                fh = self._handles[slug] = self.path(slug).open("a", encoding="utf-8")
            fh.write(line)
            fh.flush()

    def close(self) -> None:
        with self._lock:
            for fh in self._handles.values():
                fh.close()
            self._handles.clear()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_run_json(directory: str | Path) -> dict | None:
    path = Path(directory) / RUN_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise StoreError(f"{path} is not valid JSON ({exc}); repair or delete it") from None
    return data if isinstance(data, dict) else None


def _sort_key(key: tuple[str, int]):
    eid, index = key
    return (0, int(eid), "", index) if eid.lstrip("-").isdigit() else (1, 0, eid, index)


@dataclass
class MergeReport:
    """What :func:`merge_runs` did: rows written per benchmark, duplicates dropped, samples missing."""

    rows: dict[str, int]
    duplicates: int
    missing: dict[str, int]


def merge_runs(shard_dirs: list[str | Path], output_dir: str | Path, *, allow_partial: bool = False) -> MergeReport:
    """Join shard folders into ``output_dir``: rows deduplicated by (benchmark, example_id, sample_index),
    sorted, written atomically per benchmark; ``run.json`` combined (shards' wall time and tokens summed).

    Completeness: each shard's run.json records its plan (problems and N per benchmark); a merge missing
    planned samples raises :class:`StoreError` unless ``allow_partial``. Two shards that disagree on a
    sample's seed or gold (different runs) raise :class:`StoreError`.
    """
    from justrl.evaluate.report import write_json_atomic, write_text_atomic

    output_dir = Path(output_dir)
    merged: dict[str, dict[tuple[str, int], dict]] = {}
    runs: list[dict] = []
    duplicates = 0
    for d in map(Path, shard_dirs):
        if not d.is_dir():
            raise StoreError(f"{d} is not a directory; pass the shard folders (e.g. OUT/shard-0-of-2 ...)")
        run = read_run_json(d)
        if run is not None:
            runs.append({**run, "_dir": str(d)})
        files = sorted(d.glob("*.jsonl"))
        if not files:
            raise StoreError(f"no run-store files (*.jsonl) in {d}; is it a justrl-eval shard folder?")
        for path in files:
            rows, _ = repair_and_read(path) if os.access(path, os.W_OK) else _read_only(path)
            table = merged.setdefault(path.stem, {})
            for row in rows:
                try:
                    key = row_key(row)
                except (KeyError, TypeError, ValueError):
                    raise StoreError(f"{path} holds a row without example_id/sample_index; not a shard of "
                                     f"justrl-eval") from None
                old = table.get(key)
                if old is None:
                    table[key] = row
                    continue
                duplicates += 1
                if old.get("seed") != row.get("seed") or old.get("answer") != row.get("answer"):
                    raise StoreError(f"{path}: sample {key} differs in seed or gold from another shard; the "
                                     f"folders come from different runs")
    _check_same_run(runs)
    missing = _missing(runs, merged)
    if any(missing.values()) and not allow_partial:
        detail = ", ".join(f"{k}: {v}" for k, v in missing.items() if v)
        raise StoreError(f"merge is incomplete ({detail} samples missing); finish the missing shards (rerun them "
                         f"to resume) or pass --allow-partial")
    counts = {}
    for slug, table in merged.items():
        lines = [json.dumps(table[k], ensure_ascii=False) for k in sorted(table, key=_sort_key)]
        write_text_atomic(output_dir / f"{slug}.jsonl", "\n".join(lines) + "\n")
        counts[slug] = len(lines)
    if runs:
        write_json_atomic(output_dir / RUN_FILE, _merge_run_json(runs))
    return MergeReport(rows=counts, duplicates=duplicates, missing=missing)


def _read_only(path: Path) -> tuple[list[dict], int]:
    rows, dropped = [], 0
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            dropped += 1
    return rows, dropped


_SAME_RUN_FIELDS = ("model", "sampling", "seed", "suffix")


def _check_same_run(runs: list[dict]) -> None:
    for run in runs[1:]:
        for name in _SAME_RUN_FIELDS:
            if run.get(name) != runs[0].get(name):
                raise StoreError(f"shards disagree on {name} ({runs[0].get(name)!r} vs {run.get(name)!r}); "
                                 f"merge only shards of one command")


def _missing(runs: list[dict], merged: dict[str, dict]) -> dict[str, int]:
    """Planned samples absent from the merge, per benchmark slug (plan from the shards' run.json)."""
    out: dict[str, int] = {}
    for run in runs[:1]:
        for name, plan in (run.get("plan") or {}).items():
            slug = plan.get("slug", name.lower())
            present = merged.get(slug, {})
            out[slug] = sum((str(eid), i) not in present for eid in plan["example_ids"] for i in range(plan["n"]))
    return out


def _merge_run_json(runs: list[dict]) -> dict:
    out = {k: v for k, v in runs[0].items() if k != "_dir"}
    out["shard"] = None
    out["merged_from"] = [{"dir": r["_dir"], "shard": r.get("shard")} for r in runs]
    for key in ("datasets", "n", "plan"):  # union over shards (each records the benchmarks it was given)
        tables = [r[key] for r in runs if isinstance(r.get(key), dict)]
        if tables:
            out[key] = {name: entry for table in reversed(tables) for name, entry in table.items()}
    for key in ("first_prompt", "model_revision", "chat_template_sha256", "backend"):
        if out.get(key) is None:  # e.g. shard 0 had nothing to generate
            out[key] = next((r[key] for r in runs if r.get(key) is not None), None)
    gens = [r.get("generation") or {} for r in runs]
    tokens = sum(g.get("completion_tokens") or 0 for g in gens)
    seconds = sum(g.get("wall_seconds") or 0.0 for g in gens)
    uncounted = sum(g.get("samples_without_token_counts") or 0 for g in gens)
    out["generation"] = {"completion_tokens": tokens, "wall_seconds": seconds, "samples": sum(g.get("samples") or 0
                                                                                              for g in gens),
                         "samples_without_token_counts": uncounted,
                         "tokens_per_second": tokens / seconds if seconds and not uncounted else None,
                         "note": "summed over shards (machine-seconds)"}
    return out
