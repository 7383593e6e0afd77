"""The run store: one append-only JSONL file per benchmark and sampling setting, under JustRL's names.

File names are those of JustRL's ``evals/gen_vllm.py`` (thunlp/JustRL), so its ``evals/grade.py``
reads a justrl run unchanged and two runs with different settings never share a file::

    OUT/<task>_t<temperature>_p<top_p>_n<N>-MNT<max_tokens>.jsonl     e.g. aime24_t0.7_p0.9_n32-MNT31744.jsonl

``task`` is the registry name lowercased (JustRL's ``task_name.lower()``); temperature and top_p are
Python's ``str(float)`` as JustRL's f-string prints them (positional, never an exponent, so JustRL's
file-name regex still matches). Each line is one sample, appended and flushed as soon as it is
generated, with JustRL's fields (``example_id``, ``prompt``, ``answer``, ``seed``, ``response``) and
justrl's (:data:`ROW_FIELDS`)::

    prompt           the plain user message (problem + suffix), as JustRL stores it
    rendered_prompt  the chat-template text actually submitted (null when the backend did not render)
    answer           the gold answer; example_id the problem's row in the benchmark file (an int)

Reading never writes: :func:`scan_file` reads a file without following symlinks, and the caller
decides (:func:`classify_rows`) whether it is this run's before anything is repaired; only then may
:class:`RunStore` cut a torn last line (a killed writer) and append. Stray rows (valid JSON that is
not a sample) and rows outside the run's plan are counted and left out, never fatal.

Legacy runs (``OUT/<slug>.jsonl``, justrl before JustRL naming): :func:`adopt_file` rewrites them
under the new name when the run resumes (their ``prompt`` field held the rendered template).

Sharding: ``--shard i/n`` keeps the keys whose stable hash is ``i`` mod ``n`` (a partition that does not
depend on which other keys exist) and writes to ``OUT/shard-i-of-n/``; :func:`merge_runs` joins shard
folders into one run (deduplicated, checked complete).
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from justrl.evaluate.files import (
    AppendFile,
    DirLock,
    FileId,
    UnsafeFileError,
    atomic_write_json,
    atomic_write_text,
    ensure_dir,
    read_regular,
)

ROW_FIELDS = ("benchmark", "example_id", "sample_index", "prompt", "rendered_prompt", "answer", "seed", "response",
              "finish_reason", "prompt_tokens", "completion_tokens")
RUN_FILE = "run.json"
# JustRL's evals/grade.py parse_hyperparameters_from_filename, the same pattern
FILE_NAME_RE = re.compile(r"_t(?P<temperature>[\d.]+)_p(?P<top_p>[\d.]+)_n(?P<n>\d+)-MNT(?P<max_tokens>\d+)")


class StoreError(Exception):
    """A run store cannot be read, resumed or merged. One line: what is wrong, what to do."""


def warn(message: str) -> None:
    """One warning line on stderr (the CLIs' format)."""
    print(f"justrl-eval: warning: {message}", file=sys.stderr)


# ----------------------------------------------------------------------------- names
def format_setting(value: float) -> str:
    """A float as JustRL's f-string writes it (``0.7``, ``1.0``), but never in exponent notation."""
    text = str(float(value))
    if "e" in text or "E" in text:
        text = format(Decimal(text), "f")
        if "." not in text:
            text += ".0"
    return text


def run_file_name(benchmark: str, temperature: float, top_p: float, n: int, max_tokens: int) -> str:
    """JustRL's run-file name: ``<benchmark lowercased>_t<T>_p<P>_n<N>-MNT<max_tokens>.jsonl``."""
    return (f"{benchmark.lower()}_t{format_setting(temperature)}_p{format_setting(top_p)}_n{int(n)}"
            f"-MNT{int(max_tokens)}.jsonl")


def parse_run_file_name(name: str) -> tuple[str, dict] | None:
    """``(task, {"temperature", "top_p", "n", "max_tokens"})`` from a JustRL-style name, else None.
    The task is the part before the first ``_`` (as JustRL's grade.py reads it)."""
    match = FILE_NAME_RE.search(name)
    if not match or not name.endswith(".jsonl"):
        return None
    try:
        settings = {"temperature": float(match["temperature"]), "top_p": float(match["top_p"]),
                    "n": int(match["n"]), "max_tokens": int(match["max_tokens"])}
    except ValueError:
        return None
    return name.split("_")[0], settings


def legacy_file_name(slug: str) -> str:
    """The store name justrl used before JustRL naming: ``<slug>.jsonl``."""
    return f"{slug}.jsonl"


# ----------------------------------------------------------------------------- shards
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


# ----------------------------------------------------------------------------- reading
@dataclass
class FileScan:
    """What a read-only pass over one JSONL file found.

    ``rows``: (line number, object) for every line that is a JSON object; ``bad_lines``: lines before the
    last that are not (left in place, ignored); ``torn``: the last line is incomplete (no newline, or not
    JSON), and ``keep`` is the file length without it; ``file_id`` is None when the file does not exist.
    """

    path: Path
    rows: list[tuple[int, dict]] = field(default_factory=list)
    bad_lines: int = 0
    torn: bool = False
    keep: int = 0
    file_id: FileId | None = None

    @property
    def exists(self) -> bool:
        return self.file_id is not None


def scan_file(path: str | Path) -> FileScan:
    """Read ``path`` without writing anything (and without following a symlink)."""
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        return FileScan(path)
    try:
        data, file_id = read_regular(path)
    except UnsafeFileError as exc:
        raise StoreError(str(exc)) from None
    keep = data.rfind(b"\n") + 1  # bytes after the last newline are a torn write
    scan = FileScan(path, torn=keep != len(data), keep=keep, file_id=file_id)
    lines = data[:keep].split(b"\n")[:-1]
    offset = 0
    for number, raw in enumerate(lines, 1):
        if raw.strip():
            try:
                row = json.loads(raw)
            except ValueError:  # includes invalid UTF-8
                row = None
            if isinstance(row, dict):
                scan.rows.append((number, row))
            elif number == len(lines):  # a partial write that still got its newline
                scan.torn, scan.keep = True, offset
            else:
                scan.bad_lines += 1
        offset += len(raw) + 1
    return scan


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_sample_row(row: dict) -> bool:
    """Whether ``row`` is a usable stored sample: an example_id (int or str), an integer sample_index >= 0,
    a gold ``answer`` and a string ``response``; ``seed`` an int when present."""
    eid = row.get("example_id")
    return ((_is_int(eid) or (isinstance(eid, str) and eid != "")) and _is_int(row.get("sample_index"))
            and row["sample_index"] >= 0 and isinstance(row.get("answer"), (str, int, float))
            and not isinstance(row.get("answer"), bool) and isinstance(row.get("response"), str)
            and (row.get("seed") is None or _is_int(row.get("seed"))))


def row_key(row: dict) -> tuple[str, int]:
    return str(row["example_id"]), int(row["sample_index"])


@dataclass
class RowCheck:
    """Rows of one file sorted into usable samples (first of duplicates kept), stray rows (valid JSON that
    is not a sample) and rows outside the plan (unknown example_id or sample_index >= N); line numbers."""

    kept: dict[tuple[str, int], dict] = field(default_factory=dict)
    lines: dict[tuple[str, int], int] = field(default_factory=dict)
    stray: list[int] = field(default_factory=list)
    out_of_plan: list[int] = field(default_factory=list)
    duplicates: int = 0

    def warnings(self, path: Path, bad_lines: int = 0) -> list[str]:
        """One line per kind of skipped row, naming the file, the count and the first line numbers."""
        out = []
        for count, lines, what in ((bad_lines, [], "lines that are not JSON objects"),
                                   (len(self.stray), self.stray, "rows that are not samples (missing or malformed "
                                                                 "example_id/sample_index/answer/response)"),
                                   (len(self.out_of_plan), self.out_of_plan,
                                    "rows outside the run's plan (unknown example_id or sample_index >= N)")):
            if count:
                where = f" (lines {', '.join(map(str, lines[:5]))}{', ...' if len(lines) > 5 else ''})" if lines else ""
                out.append(f"{path}: {count} {what} skipped{where}; they are not graded")
        return out


def classify_rows(rows: list[tuple[int, dict]], plan: dict | None = None) -> RowCheck:
    """Sort ``rows`` ((line, object) pairs) by :func:`is_sample_row` and, when ``plan`` (a run.json plan
    entry: ``{"n": N, "example_ids": [...]}``) is given, by whether the sample belongs to it."""
    check = RowCheck()
    ids = {str(i) for i in plan["example_ids"]} if plan and plan.get("example_ids") is not None else None
    n = int(plan["n"]) if plan and plan.get("n") is not None else None
    for number, row in rows:
        if not is_sample_row(row):
            check.stray.append(number)
            continue
        key = row_key(row)
        if (ids is not None and key[0] not in ids) or (n is not None and key[1] >= n):
            check.out_of_plan.append(number)
        elif key in check.kept:
            check.duplicates += 1
        else:
            check.kept[key] = row
            check.lines[key] = number
    return check


def read_run_json(directory: str | Path) -> dict | None:
    """``DIR/run.json`` as a dict (None when absent); a symlink or bad JSON raises StoreError."""
    path = Path(directory) / RUN_FILE
    if not path.exists() and not path.is_symlink():
        return None
    try:
        raw, _ = read_regular(path)
        data = json.loads(raw.decode("utf-8"))
    except UnsafeFileError as exc:
        raise StoreError(str(exc)) from None
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise StoreError(f"{path} is not valid JSON ({exc}); repair or delete it") from None
    if not isinstance(data, dict):
        raise StoreError(f"{path} is not a justrl-eval run.json (a JSON {type(data).__name__}, not an object); use "
                         f"another --output-dir")
    return data


# ----------------------------------------------------------------------------- writing
class RunStore:
    """Append-only JSONL files in one folder, by file name; thread-safe appends, each row reaching the OS
    before :meth:`append` returns. Files are created new (never through a symlink) or reopened only after
    :meth:`scan` showed them to the caller, and only if unchanged since."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self._handles: dict[str, AppendFile] = {}
        self._scans: dict[str, FileScan] = {}
        self._lock = threading.Lock()

    def path(self, name: str) -> Path:
        return self.directory / name

    def scan(self, name: str) -> FileScan:
        """Read-only scan of ``name``; remembered so that :meth:`append` may reopen (and repair) it."""
        scan = self._scans[name] = scan_file(self.path(name))
        return scan

    def _open(self, name: str) -> AppendFile:
        scan = self._scans.get(name)
        path = self.path(name)
        try:
            if scan is None or not scan.exists:
                return AppendFile.create(path)
            return AppendFile.reopen(path, scan.file_id, truncate_to=scan.keep if scan.torn else None)
        except FileExistsError:
            raise StoreError(f"{path} appeared while this run was starting; another process writes into "
                             f"{self.directory}: use another --output-dir") from None
        except UnsafeFileError as exc:
            raise StoreError(str(exc)) from None

    def append(self, name: str, row: dict) -> None:
        """Append one row (keys in :data:`ROW_FIELDS` order first)."""
        ordered = {k: row[k] for k in ROW_FIELDS if k in row} | {k: v for k, v in row.items() if k not in ROW_FIELDS}
        line = (json.dumps(ordered, ensure_ascii=False) + "\n").encode("utf-8")
        with self._lock:
            fh = self._handles.get(name)
            if fh is None:
                fh = self._handles[name] = self._open(name)
            fh.write(line)

    def close(self) -> None:
        """Close every file (fsynced); the first error, if any, is raised after all are closed."""
        with self._lock:
            handles, self._handles = list(self._handles.values()), {}
        error = None
        for fh in handles:
            try:
                fh.close()
            except OSError as exc:
                error = error or exc
        if error is not None:
            raise error

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def adopt_file(directory: Path, target: str, source: str, convert: Callable[[dict], dict] | None = None) -> None:
    """Move this run's own ``source`` file to the name ``target`` (which must not exist): rewritten
    atomically (rows passed through ``convert``, a torn last line dropped, other lines kept verbatim),
    then ``source`` removed. A crash in between leaves both; the caller then finds ``target`` complete."""
    scan = scan_file(directory / source)
    if not scan.exists:
        return
    raw, _ = read_regular(directory / source)
    lines = raw[: scan.keep].split(b"\n")[:-1]
    converted = {number: row for number, row in scan.rows}
    out = []
    for number, line in enumerate(lines, 1):
        row = converted.get(number)
        if row is not None and convert is not None and is_sample_row(row):
            out.append(json.dumps(convert(row), ensure_ascii=False).encode("utf-8"))
        else:
            out.append(line)
    target_path = directory / target
    if target_path.exists() or target_path.is_symlink():
        raise StoreError(f"{target_path} already exists beside {source}; move one of them away")
    from justrl.evaluate.files import atomic_write_bytes

    atomic_write_bytes(target_path, b"".join(x + b"\n" for x in out))
    (directory / source).unlink()


# ----------------------------------------------------------------------------- merge
def _sort_key(key: tuple[str, int]):
    eid, index = key
    return (0, int(eid), "", index) if eid.lstrip("-").isdigit() else (1, 0, eid, index)


@dataclass
class MergeReport:
    """What :func:`merge_runs` did: rows written per output file, duplicates dropped, samples missing per
    benchmark, and the warnings printed (stray and out-of-plan rows left out)."""

    rows: dict[str, int]
    duplicates: int
    missing: dict[str, int]
    warnings: list[str] = field(default_factory=list)


def _target_name(run: dict | None, benchmark: str | None, fallback: str) -> str:
    plan = ((run or {}).get("plan") or {}).get(benchmark or "")
    sampling = (run or {}).get("sampling") or {}
    if isinstance(plan, dict) and plan.get("file"):
        return str(plan["file"])
    try:
        return run_file_name(benchmark, sampling["temperature"], sampling["top_p"], plan["n"], sampling["max_tokens"])
    except (KeyError, TypeError, ValueError, AttributeError):
        return fallback


def merge_runs(shard_dirs: list[str | Path], output_dir: str | Path, *, allow_partial: bool = False) -> MergeReport:
    """Join shard folders into ``output_dir``: rows deduplicated by (benchmark, example_id, sample_index),
    sorted, written atomically per benchmark under JustRL's names; ``run.json`` combined (shards' wall
    time and tokens summed). Shards are only read. A shard that planned nothing (no JSONL, a run.json)
    is fine.

    Completeness: each shard's run.json records its plan (problems and N per benchmark); a merge missing
    planned samples raises :class:`StoreError` unless ``allow_partial``. Two shards that disagree on a
    sample's seed or gold (different runs) raise :class:`StoreError`. Stray and out-of-plan rows are
    reported (one warning line per file) and left out.
    """
    output_dir = Path(output_dir)
    merged: dict[str, dict[tuple[str, int], dict]] = {}
    names: dict[str, str] = {}  # output file -> benchmark
    runs: list[dict] = []
    duplicates = 0
    notes: list[str] = []
    for d in map(Path, shard_dirs):
        if not d.is_dir():
            raise StoreError(f"{d} is not a directory; pass the shard folders (e.g. OUT/shard-0-of-2 ...)")
        try:
            holder = DirLock.holder_of(d)
        except UnsafeFileError as exc:
            raise StoreError(str(exc)) from None
        if holder is not None:
            who = f"pid {holder.get('pid', '?')} on host {holder.get('host', '?')}" if holder else "another process"
            raise StoreError(f"shard folder {d} is still in use by {who}; merge when that run has finished")
        run = read_run_json(d)
        if run is not None:
            runs.append({**run, "_dir": str(d)})
        files = sorted(p for p in d.glob("*.jsonl") if not p.name.startswith("."))
        if not files and run is None:
            raise StoreError(f"no run-store files (*.jsonl) and no run.json in {d}; is it a justrl-eval shard folder?")
        for path in files:
            scan = scan_file(path)
            first = next((r for _, r in scan.rows if is_sample_row(r)), {})
            benchmark = first.get("benchmark")
            plan = ((run or {}).get("plan") or {}).get(benchmark) if benchmark else None
            check = classify_rows(scan.rows, plan if isinstance(plan, dict) else None)
            for message in check.warnings(path, scan.bad_lines):
                warn(message)
                notes.append(message)
            if not check.kept:
                continue
            name = _target_name(run, benchmark, path.name)
            names[name] = str(benchmark)
            table = merged.setdefault(name, {})
            duplicates += check.duplicates
            for key, row in check.kept.items():
                if row.get("benchmark") != benchmark:
                    raise StoreError(f"{path} mixes benchmarks ({benchmark!r} and {row.get('benchmark')!r}); "
                                     f"not a justrl-eval shard")
                old = table.get(key)
                if old is None:
                    table[key] = row
                    continue
                duplicates += 1
                if old.get("seed") != row.get("seed") or str(old.get("answer")) != str(row.get("answer")):
                    raise StoreError(f"{path}: sample {key} differs in seed or gold from another shard; the "
                                     f"folders come from different runs")
    _check_same_run(runs)
    missing = _missing(runs, merged)
    if any(missing.values()) and not allow_partial:
        detail = ", ".join(f"{k}: {v}" for k, v in missing.items() if v)
        raise StoreError(f"merge is incomplete ({detail} samples missing); finish the missing shards (rerun them "
                         f"to resume) or pass --allow-partial")
    try:
        ensure_dir(output_dir)
    except UnsafeFileError as exc:
        raise StoreError(str(exc)) from None
    counts = {}
    lock = _locked(output_dir, ["justrl-eval", "merge", *map(str, shard_dirs)])
    try:
        _check_merge_target(output_dir, set(merged))
        for name, table in merged.items():
            lines = [json.dumps(table[k], ensure_ascii=False) for k in sorted(table, key=_sort_key)]
            atomic_write_text(output_dir / name, "\n".join(lines) + "\n")
            counts[name] = len(lines)
        if runs:
            atomic_write_json(output_dir / RUN_FILE, _merge_run_json(runs))
    except OSError as exc:
        from justrl.evaluate.files import describe_os_error

        raise StoreError(describe_os_error(exc, "write the merge into", output_dir)) from None
    finally:
        lock.release()
    return MergeReport(rows=counts, duplicates=duplicates, missing=missing, warnings=notes)


def _locked(directory: Path, command: list[str]) -> DirLock:
    from justrl.evaluate.files import FolderLocked

    lock = DirLock(directory, command=command)
    try:
        lock.acquire()
    except (FolderLocked, UnsafeFileError) as exc:
        raise StoreError(str(exc)) from None
    return lock


def _check_merge_target(output_dir: Path, names: set[str]) -> None:
    """The merge folder may be empty, hold shard folders, or hold an earlier merge (replaced by name)."""
    previous = read_run_json(output_dir)
    stores = sorted(p.name for p in output_dir.glob("*.jsonl"))
    if previous is not None and "merged_from" not in previous:
        raise StoreError(f"{output_dir} holds a run (run.json) that is not a merge; merge into another --output-dir")
    if previous is None and stores:
        raise StoreError(f"{output_dir} holds files of another run ({', '.join(stores[:3])}); merge into another "
                         f"--output-dir")
    for name in names:
        path = output_dir / name
        if path.is_symlink() or (path.exists() and not path.is_file()):
            raise StoreError(f"{path} is a symbolic link or not a regular file; remove it or use another --output-dir")


_SAME_RUN_FIELDS = ("model", "sampling", "seed", "suffix")


def _check_same_run(runs: list[dict]) -> None:
    for run in runs[1:]:
        for name in _SAME_RUN_FIELDS:
            if run.get(name) != runs[0].get(name):
                raise StoreError(f"shards disagree on {name} ({runs[0].get(name)!r} vs {run.get(name)!r}); "
                                 f"merge only shards of one command")


def _missing(runs: list[dict], merged: dict[str, dict]) -> dict[str, int]:
    """Planned samples absent from the merge, per benchmark (plan from the shards' run.json)."""
    out: dict[str, int] = {}
    plans: dict[str, dict] = {}
    for run in runs:
        for name, plan in (run.get("plan") or {}).items():
            plans.setdefault(name, {"plan": plan, "run": run})
    for name, entry in plans.items():
        plan = entry["plan"]
        target = _target_name(entry["run"], name, legacy_file_name(plan.get("slug", name.lower())))
        present = merged.get(target, {})
        out[name] = sum((str(eid), i) not in present for eid in plan["example_ids"] for i in range(plan["n"]))
    return out


def _merge_run_json(runs: list[dict]) -> dict:
    out = {k: v for k, v in runs[0].items() if k != "_dir"}
    out["shard"] = None
    out["status"] = "complete" if all(r.get("status") == "complete" for r in runs) else "incomplete"
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
