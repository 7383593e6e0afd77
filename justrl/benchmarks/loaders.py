"""Reading a benchmark parquet file into :class:`Problem` objects.

Two schemas (see ``thunlp/JustRL`` ``data/``):

* ``verl`` (AIME24, AIME25, AMC23, MATH-500, Minerva, Olympiad-Bench): ``prompt`` is a list of chat
  messages whose first ``content`` is the problem; the gold is ``reward_model["ground_truth"]``;
  ``extra_info["index"]`` is the dataset's own id (MATH-500 also has ``id``, the MATH file path).
* ``matharena`` (HMMT25, BRUMO25, CMIMC25): ``problem``, ``answer``, ``problem_idx``, ``problem_type``.

Question and gold are ``.strip()``-ed, exactly as JustRL's ``evals/gen_vllm.py`` does. ``Problem.id``
is JustRL's ``example_id``: the row's position in the file, as a string ("0", "1", ...), so run
stores line up with JustRL's outputs; the dataset's own id is kept in ``meta["source_id"]``. Golds are
kept raw: AIME24 stores them wrapped (``\\boxed{204}``); verification unwraps them, and
``meta["gold_wrapped"]`` says so.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

from justrl.benchmarks.errors import BenchmarkError
from justrl.benchmarks.fetch import benchmark_file
from justrl.benchmarks.registry import BenchmarkSpec, get_benchmark

# Longest in the nine JustRL sets: a few thousand characters. Anything this long is a damaged or hostile
# file, and would make a backend allocate for millions of prompt tokens before any context check.
MAX_QUESTION_CHARS = 100_000
MAX_GOLD_CHARS = 10_000

REQUIRED_COLUMNS = {
    "verl": ("prompt", "reward_model"),
    "matharena": ("problem", "answer"),
}


@dataclass(frozen=True)
class Problem:
    """One evaluation problem. ``id`` is JustRL's example_id (row position); ``gold`` is the raw answer."""

    id: str
    question: str
    gold: str
    meta: dict = field(default_factory=dict, hash=False)


def load_benchmark(name: str, *, data_dir: str | Path | None = None, cache_dir: str | Path | None = None,
                   offline: bool = False, progress: bool = True) -> list[Problem]:
    """The benchmark's problems in file order (see :func:`benchmark_file` for where the file comes from)."""
    return load_benchmark_file(name, data_dir=data_dir, cache_dir=cache_dir, offline=offline,
                               progress=progress)[0]


def load_benchmark_file(name: str, *, data_dir: str | Path | None = None, cache_dir: str | Path | None = None,
                        offline: bool = False, progress: bool = True) -> tuple[list[Problem], Path]:
    """(problems, the file they came from). Warnings about the file (a local copy that differs from the
    pinned one) are shown only once it has parsed: a malformed file gives its one-line error alone."""
    spec = get_benchmark(name)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = benchmark_file(spec.name, data_dir=data_dir, cache_dir=cache_dir, offline=offline,
                              progress=progress)
    problems = read_problems(path, spec)
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return problems, path


def read_problems(path: str | Path, spec: BenchmarkSpec) -> list[Problem]:
    """Parse ``path`` with ``spec.schema``; unreadable files or missing fields raise :class:`BenchmarkError`."""
    if spec.builtin:
        return _read_builtin(Path(path), spec)
    # pyarrow's ParquetFile, not pandas.read_parquet or pq.read_table: those import pandas (and
    # pyarrow.dataset), ~0.5 s, far more than reading all nine files
    import pyarrow.parquet as pq

    try:
        with pq.ParquetFile(path) as source:
            table = source.read()
        records = table.to_pylist()
    except Exception as exc:  # pyarrow raises several unrelated types for damaged files
        raise BenchmarkError(f"{path} is not a readable parquet file ({type(exc).__name__}); "
                             f"delete it or fetch {spec.url} again") from None
    missing = [c for c in REQUIRED_COLUMNS[spec.schema] if c not in table.column_names]
    if missing:
        raise BenchmarkError(f"{path} lacks column(s) {', '.join(missing)} required by the {spec.schema} schema "
                             f"of {spec.name}; is it the right file?")
    parse = _verl_row if spec.schema == "verl" else _matharena_row
    problems = []
    for row_number, row in enumerate(records):
        try:
            question, gold, meta = parse(row)
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            raise BenchmarkError(f"{path} row {row_number}: malformed {spec.schema} record ({type(exc).__name__}: "
                                 f"{exc})") from None
        if not question or not gold:
            raise BenchmarkError(f"{path} row {row_number}: empty {'question' if not question else 'gold answer'}")
        for what, text, limit in (("question", question, MAX_QUESTION_CHARS), ("gold answer", gold, MAX_GOLD_CHARS)):
            if len(text) > limit:
                raise BenchmarkError(f"{path} row {row_number}: the {what} is {len(text):,} characters (limit "
                                     f"{limit:,}); this is not a benchmark file: fix or replace it")
        meta = {"benchmark": spec.name, "row": row_number, **meta,
                "gold_wrapped": gold.startswith("\\boxed{") or (gold.startswith("$") and gold.endswith("$"))}
        problems.append(Problem(id=str(row_number), question=question, gold=gold, meta=meta))
    if not problems:
        raise BenchmarkError(f"{path} has no rows")
    return problems


def _read_builtin(path: Path, spec: BenchmarkSpec) -> list[Problem]:
    """A built-in set: JSONL records ``{"id", "question", "answer"}`` shipped in the package."""
    import json

    problems = []
    for row_number, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        record = json.loads(line)
        problems.append(Problem(id=str(record["id"]), question=record["question"].strip(),
                                gold=record["answer"].strip(),
                                meta={"benchmark": spec.name, "row": row_number, "gold_wrapped": False}))
    return problems


def _text(value) -> str:
    if value is None:
        raise TypeError("missing value")
    return str(value).strip()


def _verl_row(row: dict) -> tuple[str, str, dict]:
    messages = row["prompt"]
    question = _text(messages[0]["content"])
    gold = _text(row["reward_model"]["ground_truth"])
    extra = row.get("extra_info") or {}
    meta = {"source_id": str(extra.get("index", "")), "data_source": row.get("data_source")}
    if row.get("id") is not None:  # MATH-500: the MATH test-file path ("test/precalculus/807.json")
        meta["unique_id"] = str(row["id"])
    return question, gold, meta


def _matharena_row(row: dict) -> tuple[str, str, dict]:
    meta = {"source_id": str(row.get("problem_idx", "")),
            "problem_type": [str(t) for t in row["problem_type"]] if row.get("problem_type") is not None else []}
    return _text(row["problem"]), _text(row["answer"]), meta
