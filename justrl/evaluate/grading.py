"""Grading a run directory: read run stores, verify every sample, compute metrics, write the reports.

``grade_run(OUT)`` reads every ``OUT/*.jsonl`` run store (``justrl-eval``'s ``<slug>.jsonl`` or JustRL's
``<task>_t<T>_p<P>_n<N>-MNT<M>.jsonl``) and ``OUT/run.json`` when present, grades each response
with :func:`justrl.verify.verify_many` (the only grading code), optionally asks an LLM judge about
rule-rejected samples, and writes atomically (results.json also fsynced; the derived views below are
rewritten by regrading, so they skip the fsync):

* ``OUT/results.json``           everything: metrics per benchmark, the average, layers, provenance
* ``OUT/grading_results.json``   JustRL's ``evals/grade.py`` output, same keys and meanings
* ``OUT/report.md``              the JustRL README table with our numbers, published ones, differences
* ``OUT/graded/<slug>.jsonl``    one verdict per sample, to inspect

Rows: ``example_id``, ``answer`` (the gold) and ``response`` are required; ``sample_index``,
``finish_reason``, ``completion_tokens``, ``prompt_tokens``, ``seed``, ``benchmark`` are optional
(JustRL rows lack them: the sample index is then the row's order within its example_id, and
truncation and length metrics are reported as null, never guessed). Duplicate (example_id,
sample_index) rows, as shards can leave, keep the first. Lines that are not valid JSON (a crash can
cut the last one) are skipped and counted.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from justrl.benchmarks import BENCHMARKS, BenchmarkSpec, find_benchmark
from justrl.evaluate import metrics as M
from justrl.evaluate.judge import Judge, JudgeItem
from justrl.evaluate.published import SOURCE, PublishedRow, find_published
from justrl.evaluate.report import print_summary, render_report, write_json_atomic, write_text_atomic

__all__ = ["GradingError", "grade_run", "print_summary", "read_run_dir", "BenchmarkRows", "Sample"]

REQUIRED_FIELDS = ("example_id", "answer", "response")
RESULTS_SCHEMA = "justrl.results/1"
# JustRL's run-file name: "<task>_t<temperature>_p<top_p>_n<N>-MNT<max tokens>.jsonl"
JUSTRL_FILENAME = re.compile(r"_t(?P<temperature>[\d.]+)_p(?P<top_p>[\d.]+)_n(?P<n>\d+)-MNT(?P<max_tokens>\d+)")


class GradingError(Exception):
    """A run directory cannot be graded. The message is one line: what is wrong, what to do."""


@dataclass
class Sample:
    """One stored generation. Fields absent from JustRL-format rows are None."""

    example_id: str
    sample_index: int
    prompt: str
    gold: str
    response: str
    seed: int | None = None
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


@dataclass
class BenchmarkRows:
    """All samples of one benchmark, grouped by problem, with what reading them found."""

    name: str
    spec: BenchmarkSpec | None
    files: list[str] = field(default_factory=list)
    problems: dict[str, list[Sample]] = field(default_factory=dict)
    duplicates: int = 0
    skipped_lines: int = 0

    @property
    def slug(self) -> str:
        return self.spec.slug if self.spec else self.name.lower()

    def ordered(self) -> list[tuple[str, list[Sample]]]:
        """Problems in id order (numeric when every id is an integer), samples by sample_index."""
        ids = list(self.problems)
        numeric = all(i.lstrip("-").isdigit() for i in ids)
        ids.sort(key=(lambda i: (int(i), i)) if numeric else str)
        return [(i, sorted(self.problems[i], key=lambda s: s.sample_index)) for i in ids]


def _benchmark_name(path: Path, first_row: dict) -> str:
    name = first_row.get("benchmark")
    if not name:
        # JustRL: "<task>_t0.7_p0.9_n32-MNT31744.jsonl"; shards: "<slug>.shard-0-of-2.jsonl"
        name = path.stem.split("_")[0].split(".")[0]
    spec = find_benchmark(str(name))
    return spec.name if spec else str(name)


def _int_or_none(value) -> int | None:
    return None if value is None else int(value)


def _read_file(path: Path) -> tuple[list[dict], int]:
    rows, skipped = [], 0
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                skipped += 1
                continue
            if isinstance(row, dict):
                rows.append(row)
            else:
                skipped += 1
    return rows, skipped


def read_run_dir(out_dir: Path) -> tuple[list[BenchmarkRows], list[str]]:
    """Every run store in ``out_dir`` grouped by benchmark (registry order, then others by name), and the
    ``*.jsonl`` files ignored because they are not run stores (no example_id/response fields at all)."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise GradingError(f"{out_dir} is not a directory; pass the --output-dir of a justrl-eval run")
    files = sorted(out_dir.glob("*.jsonl"))
    if not files:
        raise GradingError(f"no run-store files (*.jsonl) in {out_dir}; generate with justrl-eval first, or "
                           f"point at a folder of JustRL outputs")
    groups: dict[str, BenchmarkRows] = {}
    ignored: list[str] = []
    for path in files:
        rows, skipped = _read_file(path)
        if rows and not any(k in rows[0] for k in ("example_id", "response")):
            ignored.append(path.name)
            continue
        name = _benchmark_name(path, rows[0] if rows else {})
        group = groups.setdefault(name, BenchmarkRows(name, find_benchmark(name)))
        group.files.append(path.name)
        group.skipped_lines += skipped
        _add_rows(group, rows, path)
    groups = {k: g for k, g in groups.items() if g.problems}
    if not groups:
        raise GradingError(f"the run-store files in {out_dir} hold no samples; nothing to grade")
    order = {name: i for i, name in enumerate(BENCHMARKS)}
    return sorted(groups.values(), key=lambda g: (order.get(g.name, len(order)), g.name)), ignored


def _add_rows(group: BenchmarkRows, rows: list[dict], path: Path) -> None:
    seen_index: dict[str, int] = {}
    for line_no, row in enumerate(rows, 1):
        missing = [k for k in REQUIRED_FIELDS if k not in row]
        if missing:
            raise GradingError(f"{path.name} record {line_no} lacks {', '.join(missing)}; run-store rows need "
                               f"example_id, answer and response")
        eid = str(row["example_id"])
        order = seen_index.get(eid, 0)
        seen_index[eid] = order + 1
        try:
            index = int(row["sample_index"]) if row.get("sample_index") is not None else order
            sample = Sample(example_id=eid, sample_index=index, prompt=str(row.get("prompt") or ""),
                            gold=str(row["answer"]), response="" if row["response"] is None else str(row["response"]),
                            seed=_int_or_none(row.get("seed")), finish_reason=row.get("finish_reason"),
                            prompt_tokens=_int_or_none(row.get("prompt_tokens")),
                            completion_tokens=_int_or_none(row.get("completion_tokens")))
        except (TypeError, ValueError) as exc:
            raise GradingError(f"{path.name} record {line_no}: bad field value ({exc})") from None
        bucket = group.problems.setdefault(eid, [])
        if bucket and bucket[0].gold != sample.gold:
            raise GradingError(f"{path.name} record {line_no}: example_id {eid} has gold {sample.gold!r} but earlier "
                               f"rows say {bucket[0].gold!r}; are two different runs mixed in one folder?")
        if any(s.sample_index == index for s in bucket):
            group.duplicates += 1
            continue
        bucket.append(sample)


def _load_provenance(out_dir: Path) -> dict | None:
    path = out_dir / "run.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise GradingError(f"{path} is not valid JSON ({exc}); repair or delete it") from None
    return data if isinstance(data, dict) else None


def _model_id(provenance: dict | None) -> str | None:
    if not provenance:
        return None
    model = provenance.get("model")
    if isinstance(model, dict):
        model = model.get("id") or model.get("name") or model.get("path")
    return str(model) if model else None


def _dataset_sha(provenance: dict | None, name: str) -> str | None:
    if not provenance:
        return None
    for key in ("datasets", "dataset_checksums", "data"):
        table = provenance.get(key)
        if isinstance(table, dict):
            entry = table.get(name) or table.get(name.lower())
            if isinstance(entry, dict):
                entry = entry.get("sha256")
            if isinstance(entry, str):
                return entry
    return None


def _pct(x: float | None) -> float | None:
    return None if x is None else 100.0 * x


def _benchmark_metrics(group: BenchmarkRows, verdicts: dict[tuple[str, int], dict],
                       published: PublishedRow | None, provenance: dict | None) -> dict:
    problems = group.ordered()
    final = [[verdicts[(eid, s.sample_index)]["correct"] for s in samples] for eid, samples in problems]
    rule = [[verdicts[(eid, s.sample_index)]["rule_correct"] for s in samples] for eid, samples in problems]
    keys = [[M.answer_key(verdicts[(eid, s.sample_index)]["extracted"]) for s in samples] for eid, samples in problems]
    flat = [(s, verdicts[(eid, s.sample_index)]) for eid, samples in problems for s in samples]
    ns = [len(samples) for _, samples in problems]
    n, n_min = max(ns), min(ns)
    spec = group.spec
    complete = n == n_min and (spec is None or len(problems) == spec.problems)
    mean, se = M.avg_at_n(final), M.standard_error(final)
    lo, hi = M.confidence_interval(mean, se)
    lengths = [s.completion_tokens for s, _ in flat]
    reasons: dict[str, int] = {}
    for _, v in flat:
        reasons[v["reason"]] = reasons.get(v["reason"], 0) + 1
    asked = sum(v["judge"] is not None for _, v in flat)
    added = sum(v["correct"] and not v["rule_correct"] for _, v in flat)
    out = {
        "benchmark": group.name, "slug": group.slug, "known": spec is not None, "files": group.files,
        "problems": len(problems), "expected_problems": spec.problems if spec else None,
        "samples": len(flat), "n": n, "n_min": n_min, "default_n": spec.default_samples if spec else None,
        "complete": complete,
        "avg_at_n": _pct(mean), "se": _pct(se), "ci95": [_pct(lo), _pct(hi)],
        "pass_at_k": {str(k): _pct(M.pass_at_k(final, k)) for k in M.k_values(n_min)},
        "maj_at_k": {str(k): _pct(M.maj_at_k(final, keys, k)) for k in M.k_values(n_min)},
        "best_of_n": _pct(M.best_of_n(final)),
        "solve_none": M.solve_counts(final)[0], "solve_all": M.solve_counts(final)[1],
        "format_errors": sum(v["extracted"] is None for _, v in flat),
        "format_error_rate": _pct(M.rate([v["extracted"] is None for _, v in flat])),
        "no_boxed": sum("boxed" not in s.response for s, _ in flat),
        "truncation_rate": _pct(M.rate([None if s.finish_reason is None else s.finish_reason == "length"
                                        for s, _ in flat])),
        "response_tokens": None if M.length_stats(lengths) is None else {
            "all": M.length_stats(lengths),
            "correct": M.length_stats([s.completion_tokens for s, v in flat if v["correct"]]),
            "incorrect": M.length_stats([s.completion_tokens for s, v in flat if not v["correct"]]),
        },
        "distinct_4gram": M.mean_distinct_ngrams([[s.response for s in samples] for _, samples in problems]),
        "reasons": dict(sorted(reasons.items())),
        "layers": {
            "rule": {"avg_at_n": _pct(M.avg_at_n(rule)), "correct": sum(map(sum, rule))},
            "judge_added": {"avg_at_n": _pct(mean - M.avg_at_n(rule)), "correct": added, "asked": asked,
                            "unparsed": sum(v["judge"] == "unparsed" for _, v in flat)},
            "final": {"avg_at_n": _pct(mean), "correct": sum(map(sum, final))},
        },
        "duplicates_dropped": group.duplicates, "skipped_lines": group.skipped_lines,
        "seeds_recorded": all(s.seed is not None for s, _ in flat),
    }
    out.update(_plan_check(provenance, group))
    recorded = _dataset_sha(provenance, group.name)
    out["dataset"] = {"sha256": recorded, "pinned_sha256": spec.sha256 if spec else None,
                      "matches_pinned": None if recorded is None or spec is None else recorded == spec.sha256}
    out["published"] = _compare(published, group.name, mean, se, complete)
    return out


def _plan_check(provenance: dict | None, group: BenchmarkRows) -> dict:
    """Samples run.json planned for this benchmark (``plan: {NAME: {"example_ids", "n"}}``) and how many
    of them the run stores lack; both None without a plan."""
    plans = (provenance or {}).get("plan") or {}
    plan = (plans.get(group.name) or plans.get(group.slug)) if isinstance(plans, dict) else None
    if not isinstance(plan, dict) or "example_ids" not in plan or "n" not in plan:
        return {"planned_samples": None, "missing_samples": None}
    have = {(eid, s.sample_index) for eid, samples in group.problems.items() for s in samples}
    wanted = [(str(eid), i) for eid in plan["example_ids"] for i in range(int(plan["n"]))]
    return {"planned_samples": len(wanted), "missing_samples": sum(key not in have for key in wanted)}


def _compare(published: PublishedRow | None, name: str, mean: float, se: float, complete: bool) -> dict | None:
    """Our avg@N minus the published one, in points; the interval is ours shifted (published taken as exact)."""
    if published is None or name not in published.scores:
        return None
    value = published.scores[name]
    diff = 100.0 * mean - value
    half = M.Z95 * 100.0 * se
    return {"model": published.model, "avg_at_n": value, "diff": diff, "diff_ci95": [diff - half, diff + half],
            "comparable": complete}


def _average(per_bench: list[dict], published: PublishedRow | None) -> dict | None:
    """Unweighted mean of avg@N over the nine JustRL benchmarks present; SE = sqrt(sum SE_b^2) / B."""
    nine = [b for b in per_bench if b["known"]]
    if not nine:
        return None
    count = len(nine)
    mean = sum(b["avg_at_n"] for b in nine) / count
    se = sum(b["se"] ** 2 for b in nine) ** 0.5 / count
    complete = count == len(BENCHMARKS) and all(b["complete"] for b in nine)
    out = {"avg_at_n": mean, "se": se, "ci95": [mean - M.Z95 * se, mean + M.Z95 * se],
           "benchmarks": [b["benchmark"] for b in nine], "complete": complete, "published": None}
    if published is not None and published.average is not None:
        diff = mean - published.average
        out["published"] = {"model": published.model, "avg_at_n": published.average, "diff": diff,
                            "diff_ci95": [diff - M.Z95 * se, diff + M.Z95 * se], "comparable": complete}
    return out


def _justrl_entry(group: BenchmarkRows, bench: dict, provenance: dict | None) -> dict:
    """One element of JustRL's grading_results.json (keys and meanings of its evals/grade.py)."""
    sampling = (provenance or {}).get("sampling") or {}
    first = group.files[0]
    hyper = {}
    match = JUSTRL_FILENAME.search(first)
    if match:
        hyper = match.groupdict()
    else:
        for key in ("temperature", "top_p", "max_tokens"):
            if sampling.get(key) is not None:
                hyper[key] = str(sampling[key])
        hyper["n"] = str(bench["n"])
    hyper["task_name"] = first.split("_")[0] if match else group.slug
    tokens = bench["response_tokens"]
    return {
        "hyperparameters": hyper,
        "mean_score": bench["avg_at_n"] / 100.0,
        "distinct_4gram": bench["distinct_4gram"],
        "best_score": bench["best_of_n"] / 100.0,
        "solve_none": bench["solve_none"],
        "solve_all": bench["solve_all"],
        "avg_output_length": tokens["all"]["mean"] if tokens else None,
        "format_error_rollouts": bench["no_boxed"],
    }


def _grade_samples(groups: list[BenchmarkRows], mode: str, workers: int | None, judge: Judge | None,
                   progress: bool) -> dict[str, dict[tuple[str, int], dict]]:
    from justrl.evaluate.progress import StepProgress
    from justrl.verify import verify_many

    flat = [(g, s) for g in groups for _, samples in g.ordered() for s in samples]
    with StepProgress(progress) as bar:
        update = bar.start(f"grading ({mode})", len(flat))
        verdicts = verify_many(((s.response, s.gold) for _, s in flat), mode=mode, workers=workers, progress=update)
        bar.stop()
        table: dict[str, dict[tuple[str, int], dict]] = {g.name: {} for g in groups}
        asks: list[tuple[dict, JudgeItem]] = []
        for (g, s), v in zip(flat, verdicts, strict=True):
            entry = {"correct": v.correct, "rule_correct": v.correct, "extracted": v.extracted, "reason": v.reason,
                     "judge": None}
            table[g.name][(s.example_id, s.sample_index)] = entry
            if judge is not None and not v.correct and v.extracted is not None:
                asks.append((entry, JudgeItem(question=s.prompt, gold=s.gold, response=s.response)))
        if asks:
            update = bar.start("judging rule-rejected answers", len(asks))
            for (entry, _), jv in zip(asks, judge.judge([item for _, item in asks], progress=update), strict=True):
                entry["judge"] = jv.label
                entry["correct"] = jv.correct
            bar.stop()
    return table


def _write_graded(out_dir: Path, group: BenchmarkRows, verdicts: dict[tuple[str, int], dict]) -> None:
    lines = []
    for eid, samples in group.ordered():
        for s in samples:
            v = verdicts[(eid, s.sample_index)]
            lines.append(json.dumps({"example_id": eid, "sample_index": s.sample_index, "correct": v["correct"],
                                     "rule_correct": v["rule_correct"], "judge": v["judge"],
                                     "extracted": v["extracted"], "reason": v["reason"], "gold": s.gold,
                                     "finish_reason": s.finish_reason, "completion_tokens": s.completion_tokens},
                                    ensure_ascii=False))
    write_text_atomic(out_dir / "graded" / f"{group.slug}.jsonl", "\n".join(lines) + "\n", durable=False)


def _verifier_version() -> str:
    import justrl
    import justrl.verify

    return str(getattr(justrl.verify, "__version__", justrl.__version__))


def grade_run(out_dir: Path, *, mode: str = "lenient", judge: Judge | None = None, workers: int | None = None,
              progress: bool = True, published_model: str | None = None) -> dict:
    """Grade every run store in ``out_dir``; write results.json, grading_results.json, report.md and
    graded/<slug>.jsonl atomically; return the results dict (see docs/evaluate-grading.md).

    ``published_model`` picks the published row to compare with (default: the model named in run.json).
    """
    from justrl.verify import MODES

    if mode not in MODES:
        raise GradingError(f"unknown grading mode {mode!r}; choose {' or '.join(MODES)}")
    out_dir = Path(out_dir)
    started = time.perf_counter()
    groups, ignored = read_run_dir(out_dir)
    provenance = _load_provenance(out_dir)
    model = published_model or _model_id(provenance)
    published = find_published(model)
    verdicts = _grade_samples(groups, mode, workers, judge, progress)
    per_bench = [_benchmark_metrics(g, verdicts[g.name], published, provenance) for g in groups]
    results = {
        "schema": RESULTS_SCHEMA,
        "units": "accuracies, rates and their intervals in percent; distinct_4gram a fraction in [0, 1]; "
                 "lengths in tokens",
        "model": model,
        "grading": {"mode": mode, "verifier": "justrl.verify", "verifier_version": _verifier_version(),
                    "judge": judge.describe() if judge else None,
                    "interval": "95% normal interval, avg@N +- 1.96 SE; SE = sd of per-problem accuracies / "
                                "sqrt(problems); average: SE = sqrt(sum SE_b^2) / B",
                    "seconds": None},
        "benchmarks": {b["benchmark"]: b for b in per_bench},
        "average": _average(per_bench, published),
        "published_source": None if published is None else
        {"model": published.model, "table": published.table, "source": SOURCE, "avg_at_n": published.scores,
         "average": published.average},
        "ignored_files": ignored,
        "provenance": provenance,
    }
    for group in groups:
        _write_graded(out_dir, group, verdicts[group.name])
    justrl_entries = sorted(((g.files[0], _justrl_entry(g, results["benchmarks"][g.name], provenance))
                             for g in groups), key=lambda t: t[0])
    results["grading"]["seconds"] = round(time.perf_counter() - started, 3)
    write_json_atomic(out_dir / "grading_results.json", [entry for _, entry in justrl_entries], durable=False)
    write_json_atomic(out_dir / "results.json", results)
    write_text_atomic(out_dir / "report.md", render_report(results), durable=False)
    return results

