"""Read veRL's logged metrics into justrl's ``RUN/metrics.jsonl`` (one row per step, veRL metric names).

Two veRL formats are read (both are what ``verl.utils.tracking`` writes, veRL 0.4 to 0.9):

* the console logger (``trainer.logger`` contains ``console``): one line per step,
  ``step:12 - critic/score/mean:0.123 - actor/entropy:np.float64(0.61) - ...``, possibly behind a Ray
  prefix such as ``(TaskRunner pid=123)`` and colour codes, mixed with any other output;
* the file logger (``file``): JSONL rows ``{"step": 12, "data": {"critic/score/mean": 0.123, ...}}``.
  Flat rows ``{"step": 12, "critic/score/mean": ...}`` (justrl's own format) are accepted too.

Several lines for one step are merged (veRL logs the pre-training validation as its own line); a step
logged again after a resume replaces the earlier values key by key. Every numeric metric is kept under
its veRL name, and justrl's names are added where veRL's differ:

* ``val-core/<BENCH>/acc/mean@<k>`` -> ``val/<BENCH>/avg@<k>`` (accuracy over k samples per problem;
  the exported validation data uses the benchmark name as ``data_source``);
* ``perf/tokens_per_s_per_gpu`` = veRL's ``perf/throughput`` (``total_num_tokens / (time * n_gpus)``,
  ``verl/trainer/ppo/metric_utils.py`` ``compute_throughout_metrics``), the figure the native trainer logs
  under the same name; ``perf/tokens_per_s_total`` = ``perf/total_num_tokens / perf/time_per_step`` (the
  whole cluster).

Non-finite values (nan, inf) are written as null.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from justrl.train.config import TrainError

METRICS_FILE = "metrics.jsonl"

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_STEP = re.compile(r"(?:^|[\s)\]])step:(\d+)(?= - |\s*$)")
_NUMBER = r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|nan|inf)"
# veRL prints numbers.Number values with pprint.pformat: 0.5, 3, True, nan, or np.float64(0.5) under numpy 2
_VALUE = re.compile(rf"(?:[A-Za-z_][\w.]*\(\s*)?({_NUMBER}|True|False)\s*\)?")
_VAL_CORE = re.compile(r"val-core/(.+)/acc/mean@(\d+)")


class VerlLogError(TrainError):
    """Logs cannot be read or hold no metrics. The message is one line: what is wrong, what to do."""


def _number(text: str) -> float | None:
    match = _VALUE.fullmatch(text.strip())
    if match is None:
        return None
    token = match.group(1)
    if token in ("True", "False"):
        return 1.0 if token == "True" else 0.0
    return float(token)


def parse_console_line(line: str) -> tuple[int, dict[str, float]] | None:
    """``(step, metrics)`` from one veRL console-logger line, or None for any other line."""
    line = _ANSI.sub("", line).rstrip("\r\n")
    match = _STEP.search(line)
    if match is None:
        return None
    metrics: dict[str, float] = {}
    rest = line[match.end():]
    for item in rest.split(" - ")[1:] if rest.startswith(" - ") else []:
        key, sep, raw = item.rpartition(":")
        value = _number(raw) if sep else None
        if key and value is not None:
            metrics[key.strip()] = value
    return int(match.group(1)), metrics


def parse_jsonl_row(row: object) -> tuple[int, dict[str, float]] | None:
    """``(step, metrics)`` from a veRL file-logger row (or a flat justrl row); None if it has no step."""
    if not isinstance(row, dict) or not isinstance(row.get("step"), (int, float)):
        return None
    data = row["data"] if isinstance(row.get("data"), dict) else {k: v for k, v in row.items() if k != "step"}
    metrics = {str(k): float(v) for k, v in data.items() if isinstance(v, (int, float))}  # bools count as 0/1
    return int(row["step"]), metrics


def read_log(path: Path) -> list[tuple[int, dict[str, float]]]:
    """All ``(step, metrics)`` records of one log file, in file order; the format is detected per line."""
    records = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            stripped = line.strip()
            parsed = None
            if stripped.startswith("{"):
                try:
                    parsed = parse_jsonl_row(json.loads(stripped))
                except json.JSONDecodeError:
                    parsed = None
            if parsed is None:
                parsed = parse_console_line(line)
            if parsed is not None and parsed[1]:
                records.append(parsed)
    return records


def justrl_row(step: int, metrics: dict[str, float]) -> dict:
    """One metrics.jsonl row: veRL names kept, justrl aliases added, non-finite values as null."""
    row: dict[str, float | int | None] = {"step": step}
    for key, value in metrics.items():
        row[key] = value if math.isfinite(value) else None
    for key in metrics:
        match = _VAL_CORE.fullmatch(key)
        if match:
            row[f"val/{match.group(1)}/avg@{match.group(2)}"] = row[key]
    if "perf/throughput" in metrics:
        row["perf/tokens_per_s_per_gpu"] = row["perf/throughput"]
    tokens, seconds = metrics.get("perf/total_num_tokens"), metrics.get("perf/time_per_step")
    if tokens is not None and seconds and math.isfinite(seconds):
        row["perf/tokens_per_s_total"] = tokens / seconds
    return row


def merge(records: Iterable[tuple[int, dict[str, float]]]) -> list[dict]:
    """Rows sorted by step; later records for a step update earlier ones key by key."""
    by_step: dict[int, dict[str, float]] = {}
    for step, metrics in records:
        by_step.setdefault(step, {}).update(metrics)
    return [justrl_row(step, by_step[step]) for step in sorted(by_step)]


def log_files(source: Path) -> list[Path]:
    """``source`` itself, or every ``*.log``/``*.txt``/``*.jsonl``/``*.out`` file below a directory, sorted."""
    if source.is_file():
        return [source]
    if source.is_dir():
        found = [p for p in sorted(source.rglob("*")) if p.is_file()
                 and p.suffix in (".log", ".txt", ".jsonl", ".out") and p.name != METRICS_FILE]
        if found:
            return found
        raise VerlLogError(f"{source} holds no .log/.txt/.jsonl/.out files; pass the veRL log file itself")
    raise VerlLogError(f"{source} does not exist; pass veRL's console log or its file-logger JSONL")


def write_jsonl(rows: list[dict], path: Path) -> None:
    """Write all rows at once, atomically (temp file beside ``path``, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, allow_nan=False) + "\n")
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a metrics file is not
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def import_logs(source: str | Path | Iterable[str | Path], run_dir: str | Path) -> Path:
    """Read veRL logs (a file, a directory of logs, or several paths) into ``run_dir/metrics.jsonl``."""
    sources = [Path(source)] if isinstance(source, (str, Path)) else [Path(s) for s in source]
    records = []
    for src in sources:
        for path in log_files(src):
            records.extend(read_log(path))
    if not records:
        names = ", ".join(str(s) for s in sources)
        raise VerlLogError(f"no veRL metrics found in {names}: expected console lines 'step:N - key:value - ...' "
                           "or file-logger JSONL rows {\"step\": N, \"data\": {...}}")
    out = Path(run_dir) / METRICS_FILE
    write_jsonl(merge(records), out)
    return out


def main(argv: list[str] | None = None) -> int:
    """``justrl-train import-verl LOGS... --output-dir RUN``."""
    parser = argparse.ArgumentParser(prog="justrl-train import-verl",
                                     description="Convert veRL console/JSONL metric logs into RUN/metrics.jsonl.")
    parser.add_argument("logs", nargs="+", help="veRL console log(s), file-logger JSONL, or a folder of them")
    parser.add_argument("--output-dir", required=True, help="run folder to write metrics.jsonl into")
    args = parser.parse_args(argv)
    try:
        path = import_logs(args.logs, args.output_dir)
    except VerlLogError as exc:
        print(f"justrl-train import-verl: {exc}", file=sys.stderr)
        return 2
    with open(path, encoding="utf-8") as fh:
        steps = [json.loads(line)["step"] for line in fh]
    print(f"imported {len(steps)} steps ({steps[0]}..{steps[-1]}) into {path}")
    return 0
