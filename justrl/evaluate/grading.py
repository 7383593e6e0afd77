"""Grading a run directory: read run stores, grade every sample under every grader, metrics, reports.

``grade_run(OUT)`` reads every ``OUT/*.jsonl`` run store — JustRL's ``<task>_t<T>_p<P>_n<N>-MNT<M>.jsonl``
(written by ``justrl-eval`` and by JustRL's ``evals/gen_vllm.py``) and justrl's older ``<slug>.jsonl`` —
and ``OUT/run.json`` when present. Each file name's sampling setting is its own group: two runs of one
benchmark with different settings are graded and reported separately, never merged.

Every sample is graded by the three rule graders of :mod:`justrl.evaluate.graders` (lenient, strict and
the JustRL paper's rule), so every report compares them; one of them is the *primary* grader whose
verdicts give the headline metrics (``grader``: "lenient" by default, "strict", or "justrl" for the
paper's stack). An optional LLM judge is a layer on top of the primary rule (with ``grader="justrl"``
in JustRL's own protocol: every rule failure, CompassVerifier's prompt, reply "A"). The difference
from a published number is computed against the paper's grader (JustRL rule + judge; with the rule
alone it is flagged as not like for like).

Rows: ``example_id``, ``answer`` (the gold) and ``response`` make a sample; ``sample_index`` (its order
within the example_id when absent, as in JustRL's rows), ``finish_reason``, ``completion_tokens``,
``prompt_tokens``, ``seed``, ``benchmark``, ``prompt`` are optional. Rows that are valid JSON but not
samples (stray rows) and rows outside run.json's plan are skipped, counted and reported (one warning
line per file and kind), never graded and never fatal. Lines that are not JSON are skipped and counted.

Outputs (names chosen by :mod:`justrl.evaluate.grading_outputs`, which never replaces a file justrl did
not write; ``output_dir`` puts them elsewhere, e.g. for a read-only run folder): results.json,
grading_results.json (JustRL's format), report.md, graded/<file stem>.jsonl and, with ``compare``,
graded/disagreements.jsonl.
"""

from __future__ import annotations

import json
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from justrl.benchmarks import BENCHMARKS, BenchmarkSpec, find_benchmark
from justrl.evaluate import metrics as M
from justrl.evaluate.judge import Judge, JudgeItem
from justrl.evaluate.published import SOURCE, PublishedRow, find_published
from justrl.evaluate.report import print_summary, render_report

__all__ = ["GradingError", "grade_run", "print_summary", "read_run_dir", "BenchmarkRows", "Sample",
           "GRADER_CHOICES", "RULE_GRADERS"]

REQUIRED_FIELDS = ("example_id", "answer", "response")
RESULTS_SCHEMA = "justrl.results/2"
# JustRL's run-file name: "<task>_t<temperature>_p<top_p>_n<N>-MNT<max tokens>.jsonl"
JUSTRL_FILENAME = re.compile(r"_t(?P<temperature>[\d.]+)_p(?P<top_p>[\d.]+)_n(?P<n>\d+)-MNT(?P<max_tokens>\d+)")
GRADER_CHOICES = ("lenient", "strict", "justrl")  # the primary grader (justrl = the paper's stack)
RULE_GRADERS = ("lenient", "strict", "justrl-rule")  # every report shows all three
PRIMARY_RULE = {"lenient": "lenient", "strict": "strict", "justrl": "justrl-rule"}
PAPER_RULE = "justrl-rule"


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
    """All samples of one benchmark and sampling setting, grouped by problem, with what reading found.

    ``name`` is the benchmark; ``key`` the name results use (the benchmark name, or with the setting
    appended when the folder holds several settings of that benchmark); ``settings`` the file name's
    ``{"temperature", "top_p", "n", "max_tokens"}`` (None for legacy ``<slug>.jsonl`` files).
    """

    name: str
    spec: BenchmarkSpec | None
    settings: dict | None = None
    key: str = ""
    files: list[str] = field(default_factory=list)
    problems: dict[str, list[Sample]] = field(default_factory=dict)
    duplicates: int = 0
    skipped_lines: int = 0
    stray_rows: int = 0
    out_of_plan: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def slug(self) -> str:
        return self.spec.slug if self.spec else self.name.lower()

    @property
    def stem(self) -> str:
        """The per-sample verdict file's name: the first run file's stem."""
        return Path(self.files[0]).stem if self.files else self.slug

    def ordered(self) -> list[tuple[str, list[Sample]]]:
        """Problems in id order (numeric when every id is an integer), samples by sample_index."""
        ids = list(self.problems)
        numeric = all(i.lstrip("-").isdigit() for i in ids)
        ids.sort(key=(lambda i: (int(i), i)) if numeric else str)
        return [(i, sorted(self.problems[i], key=lambda s: s.sample_index)) for i in ids]


# -------------------------------------------------------------------------------------------- reading

def _setting_label(settings: dict) -> str:
    return f"t{settings['temperature']:g} p{settings['top_p']:g} n{settings['n']} MNT{settings['max_tokens']}"


def _file_identity(path: Path, first_row: dict) -> tuple[str, dict | None]:
    """(benchmark name, sampling setting from a JustRL-style file name or None)."""
    match = JUSTRL_FILENAME.search(path.name)
    settings = None
    if match:
        settings = {"temperature": float(match["temperature"]), "top_p": float(match["top_p"]),
                    "n": int(match["n"]), "max_tokens": int(match["max_tokens"])}
    name = first_row.get("benchmark") if isinstance(first_row.get("benchmark"), str) else None
    if not name:
        # JustRL: "<task>_t0.7_p0.9_n32-MNT31744.jsonl"; legacy shards: "<slug>.shard-0-of-2.jsonl"
        name = path.stem.split("_")[0].split(".")[0]
    spec = find_benchmark(str(name))
    return (spec.name if spec else str(name)), settings


def _int_or_none(value) -> int | None:
    return None if value is None else int(value)


def _read_file(path: Path) -> tuple[list[tuple[int, dict]], int]:
    rows, skipped = [], 0
    with path.open(encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                skipped += 1
                continue
            if isinstance(row, dict):
                rows.append((number, row))
            else:
                skipped += 1
    return rows, skipped


def _plan_entry(provenance: dict | None, group: BenchmarkRows, path: Path) -> dict | None:
    """run.json's plan for this file (``plan[NAME]``; when it names a ``file``, only for that file)."""
    plans = (provenance or {}).get("plan") or {}
    plan = (plans.get(group.name) or plans.get(group.slug)) if isinstance(plans, dict) else None
    if not isinstance(plan, dict) or "example_ids" not in plan or "n" not in plan:
        return None
    if plan.get("file") and plan["file"] != path.name and not path.name.startswith(group.slug + "."):
        return None
    return plan


def read_run_dir(out_dir: Path, provenance: dict | None = None) -> tuple[list[BenchmarkRows], list[str]]:
    """Every run store in ``out_dir`` grouped by benchmark and sampling setting (registry order, then
    others by name), and the ``*.jsonl`` files ignored because they are not run stores (no
    example_id/response fields in any row). ``provenance`` (run.json) supplies the plan rows are
    checked against."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise GradingError(f"{out_dir} is not a directory; pass the --output-dir of a justrl-eval run")
    files = sorted(out_dir.glob("*.jsonl"))
    if not files:
        raise GradingError(f"no run-store files (*.jsonl) in {out_dir}; generate with justrl-eval first, or "
                           f"point at a folder of JustRL outputs")
    groups: dict[tuple, BenchmarkRows] = {}
    ignored: list[str] = []
    for path in files:
        try:
            rows, skipped = _read_file(path)
        except OSError as exc:
            raise GradingError(f"cannot read {path} ({exc.strerror or exc}); check its permissions") from None
        if rows and not any(("example_id" in r or "response" in r) for _, r in rows):
            ignored.append(path.name)
            continue
        name, settings = _file_identity(path, rows[0][1] if rows else {})
        gkey = (name, None if settings is None else tuple(sorted(settings.items())))
        group = groups.setdefault(gkey, BenchmarkRows(name, find_benchmark(name), settings))
        group.files.append(path.name)
        group.skipped_lines += skipped
        _add_rows(group, rows, path, _plan_entry(provenance, group, path))
        if skipped:
            group.warnings.append(f"{path.name}: {skipped} lines that are not JSON objects skipped")
    kept = [g for g in groups.values() if g.problems]
    if not kept:
        raise GradingError(f"the run-store files in {out_dir} hold no samples; nothing to grade")
    per_name: dict[str, int] = {}
    for g in kept:
        per_name[g.name] = per_name.get(g.name, 0) + 1
    for g in kept:
        g.key = g.name if per_name[g.name] == 1 or g.settings is None else f"{g.name} [{_setting_label(g.settings)}]"
    order = {name: i for i, name in enumerate(BENCHMARKS)}
    kept.sort(key=lambda g: (order.get(g.name, len(order)), g.name, g.key))
    return kept, ignored


def _add_rows(group: BenchmarkRows, rows: list[tuple[int, dict]], path: Path, plan: dict | None) -> None:
    """Sort a file's rows with the run store's own rule (:func:`justrl.evaluate.store.classify_rows`: samples,
    stray rows, rows outside the plan, duplicates) and add the samples. JustRL's rows have no
    ``sample_index``: it is their order within their example_id."""
    from justrl.evaluate.store import classify_rows

    seen_index: dict[str, int] = {}
    numbered = []
    for line_no, row in rows:
        if "sample_index" not in row and "example_id" in row:
            eid = str(row["example_id"])
            row = {**row, "sample_index": seen_index.get(eid, 0)}
            seen_index[eid] = row["sample_index"] + 1
        numbered.append((line_no, row))
    check = classify_rows(numbered, plan)
    stray = list(check.stray)
    for (eid, index), row in check.kept.items():
        line_no = check.lines[(eid, index)]
        try:
            sample = Sample(example_id=eid, sample_index=index, prompt=str(row.get("prompt") or ""),
                            gold=str(row["answer"]), response=row["response"], seed=_int_or_none(row.get("seed")),
                            finish_reason=row.get("finish_reason"),
                            prompt_tokens=_int_or_none(row.get("prompt_tokens")),
                            completion_tokens=_int_or_none(row.get("completion_tokens")))
        except (TypeError, ValueError):
            stray.append(line_no)
            continue
        bucket = group.problems.setdefault(eid, [])
        if bucket and bucket[0].gold != sample.gold:
            raise GradingError(f"{path.name} record {line_no}: example_id {eid} has gold {sample.gold!r} but earlier "
                               f"rows say {bucket[0].gold!r}; are two different runs mixed in one folder?")
        if any(s.sample_index == index for s in bucket):
            group.duplicates += 1  # the same sample in another file of this group (a shard)
            continue
        bucket.append(sample)
    stray.sort()
    group.duplicates += check.duplicates
    group.stray_rows += len(stray)
    group.out_of_plan += len(check.out_of_plan)
    for lines, what in ((stray, "rows that are not samples (missing or malformed example_id/answer/response/"
                                "sample_index)"),
                        (check.out_of_plan, "rows outside the run's plan (unknown example_id or sample_index >= N)")):
        if lines:
            where = ", ".join(map(str, lines[:5])) + (", ..." if len(lines) > 5 else "")
            group.warnings.append(f"{path.name}: {len(lines)} {what} skipped (lines {where}); they are not graded")


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


def short_model_name(model: str | None, limit: int = 40) -> str | None:
    """A model name for tables: a hub id (``org/name``) as is when short, else the last path component."""
    if not model:
        return model
    text = str(model).rstrip("/")
    is_hub_id = text.count("/") == 1 and not text.startswith((".", "/", "~"))
    if is_hub_id and len(text) <= limit:
        return text
    return text.rsplit("/", 1)[-1] or text


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


# -------------------------------------------------------------------------------------------- metrics

def _pct(x: float | None) -> float | None:
    return None if x is None else 100.0 * x


def _interval(matrix: list[list[bool]]) -> tuple[float, float]:
    """95% Wilson interval of avg@N over the problems, in percent."""
    lo, hi = M.wilson_interval(M.avg_at_n(matrix), len(matrix))
    return 100.0 * lo, 100.0 * hi


def _score(matrix: list[list[bool]] | None) -> dict | None:
    if matrix is None:
        return None
    lo, hi = _interval(matrix)
    return {"avg_at_n": _pct(M.avg_at_n(matrix)), "ci95": [lo, hi], "correct": sum(map(sum, matrix))}


def _benchmark_metrics(group: BenchmarkRows, verdicts: dict[tuple[str, int], dict], published: PublishedRow | None,
                       provenance: dict | None, setup: dict) -> dict:
    problems = group.ordered()
    cells = [[verdicts[(eid, s.sample_index)] for s in samples] for eid, samples in problems]
    final = [[v["correct"] for v in row] for row in cells]
    rule = [[v["rule_correct"] for v in row] for row in cells]
    keys = [[M.answer_key(v["extracted"]) for v in row] for row in cells]
    flat = [(s, verdicts[(eid, s.sample_index)]) for eid, samples in problems for s in samples]
    ns = [len(samples) for _, samples in problems]
    n, n_min = max(ns), min(ns)
    spec = group.spec
    complete = n == n_min and (spec is None or len(problems) == spec.problems)
    mean, se = M.avg_at_n(final), M.standard_error(final)
    lengths = [s.completion_tokens for s, _ in flat]
    reasons: dict[str, int] = {}
    for _, v in flat:
        reasons[v["reason"]] = reasons.get(v["reason"], 0) + 1
    asked = sum(v["judge"] is not None for _, v in flat)
    added = sum(v["correct"] and not v["rule_correct"] for _, v in flat)
    comparison = _grader_comparison(cells, setup)
    out = {
        "benchmark": group.name, "key": group.key, "slug": group.slug, "known": group.name in BENCHMARKS,
        "files": group.files, "settings": group.settings,
        "problems": len(problems), "expected_problems": spec.problems if spec else None,
        "samples": len(flat), "n": n, "n_min": n_min, "default_n": spec.default_samples if spec else None,
        "complete": complete, "grader": setup["label"],
        "avg_at_n": _pct(mean), "se": _pct(se), "ci95": list(_interval(final)),
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
            "rule": {"grader": setup["primary_rule"], "avg_at_n": _pct(M.avg_at_n(rule)), "correct": sum(map(sum, rule))},
            "judge_added": {"avg_at_n": _pct(mean - M.avg_at_n(rule)), "correct": added, "asked": asked,
                            "unparsed": sum(v["judge"] == "unparsed" for _, v in flat)},
            "final": {"avg_at_n": _pct(mean), "correct": sum(map(sum, final))},
        },
        "graders": comparison["scores"], "disagreements": comparison["disagreements"],
        "duplicates_dropped": group.duplicates, "skipped_lines": group.skipped_lines,
        "stray_rows": group.stray_rows, "out_of_plan_rows": group.out_of_plan,
        "seeds_recorded": all(s.seed is not None for s, _ in flat),
    }
    out.update(_plan_check(provenance, group))
    recorded = _dataset_sha(provenance, group.name)
    out["dataset"] = {"sha256": recorded, "pinned_sha256": spec.sha256 if spec else None,
                      "matches_pinned": None if recorded is None or spec is None else recorded == spec.sha256}
    paper = comparison["paper"]
    out["published"] = _compare(published, group.name, paper, complete, setup)
    return out


def _grader_comparison(cells: list[list[dict]], setup: dict) -> dict:
    """Scores under each rule grader (and rule + judge) and the samples on which they disagree."""
    flat = [v for row in cells for v in row]
    scores: dict[str, dict | None] = {}
    for name in RULE_GRADERS:
        available = all(v["graders"].get(name) is not None for v in flat)
        scores[name] = _score([[v["graders"][name]["correct"] for v in row] for row in cells]) if available else None
    judged = setup["judged"]
    if judged:
        scores[setup["primary_rule"] + "+judge"] = _score([[v["correct"] for v in row] for row in cells])

    def verdict_set(v: dict) -> dict[str, bool]:
        got = {name: v["graders"][name]["correct"] for name in RULE_GRADERS if v["graders"].get(name) is not None}
        if judged:
            got[setup["primary_rule"] + "+judge"] = v["correct"]
        return got

    def count(a: str, b: str) -> int | None:
        if scores.get(a) is None or scores.get(b) is None:
            return None
        return sum(verdict_set(v)[a] != verdict_set(v)[b] for v in flat)

    lenient_only = None
    if scores["lenient"] is not None and scores["strict"] is not None:
        lenient_only = sum(v["graders"]["lenient"]["correct"] and not v["graders"]["strict"]["correct"] for v in flat)
    disagreements = {
        "any": sum(len(set(verdict_set(v).values())) > 1 for v in flat),
        "lenient_vs_strict": count("lenient", "strict"),
        "lenient_vs_justrl_rule": count("lenient", "justrl-rule"),
        "strict_vs_justrl_rule": count("strict", "justrl-rule"),
        "strict_rejects_lenient_accepts": lenient_only,
    }
    paper_name, like = PAPER_RULE, False
    paper_matrix = None
    if judged and setup["judge_protocol"] == "justrl" and setup["primary_rule"] == PAPER_RULE:
        paper_name, like = PAPER_RULE + "+judge", setup["judge_question"] == "empty"
        paper_matrix = [[v["correct"] for v in row] for row in cells]
    elif scores[PAPER_RULE] is not None:
        paper_matrix = [[v["graders"][PAPER_RULE]["correct"] for v in row] for row in cells]
    paper = None if paper_matrix is None else {"grader": paper_name, "like_for_like": like, "matrix": paper_matrix}
    return {"scores": scores, "disagreements": disagreements, "paper": paper}


def _plan_check(provenance: dict | None, group: BenchmarkRows) -> dict:
    """Samples run.json planned for this benchmark (``plan: {NAME: {"example_ids", "n"}}``) and how many
    of them the run stores lack; both None without a plan."""
    plans = (provenance or {}).get("plan") or {}
    plan = (plans.get(group.name) or plans.get(group.slug)) if isinstance(plans, dict) else None
    if not isinstance(plan, dict) or "example_ids" not in plan or "n" not in plan:
        return {"planned_samples": None, "missing_samples": None}
    if plan.get("file") and plan["file"] not in group.files and group.settings is not None:
        return {"planned_samples": None, "missing_samples": None}
    have = {(eid, s.sample_index) for eid, samples in group.problems.items() for s in samples}
    wanted = [(str(eid), i) for eid in plan["example_ids"] for i in range(int(plan["n"]))]
    return {"planned_samples": len(wanted), "missing_samples": sum(key not in have for key in wanted)}


def _paper_note(grader: str, like: bool, question: str | None) -> str:
    if like:
        return "JustRL's grader (rule + CompassVerifier judge, empty question), like for like"
    if grader.endswith("+judge"):
        return f"JustRL's rule + judge but with the {question} question; not like for like (the paper sent none)"
    return "JustRL's rule only; not like for like (the paper added a CompassVerifier-3B judge on every rule failure)"


def _compare(published: PublishedRow | None, name: str, paper: dict | None, complete: bool, setup: dict) -> dict | None:
    """Ours under the paper's grader minus the published avg@N, in points; the interval is ours (Wilson)
    shifted (the published number is taken as exact)."""
    if published is None or name not in published.scores or paper is None:
        return None
    value = published.scores[name]
    ours = 100.0 * M.avg_at_n(paper["matrix"])
    lo, hi = _interval(paper["matrix"])
    return {"model": published.model, "avg_at_n": value, "grader": paper["grader"], "our_avg_at_n": ours,
            "our_ci95": [lo, hi], "diff": ours - value, "diff_ci95": [lo - value, hi - value],
            "comparable": complete, "like_for_like": paper["like_for_like"],
            "note": _paper_note(paper["grader"], paper["like_for_like"], setup.get("judge_question"))}


def _average(per_bench: list[dict], published: PublishedRow | None) -> dict | None:
    """Unweighted mean of avg@N over the JustRL benchmarks present (each once, in one setting); the
    interval combines the Wilson half-widths in quadrature. The published difference only when all
    nine ran."""
    nine = [b for b in per_bench if b["known"]]
    if not nine:
        return None
    names = [b["benchmark"] for b in nine]
    if len(set(names)) != len(names):
        return {"avg_at_n": None, "ci95": None, "benchmarks": sorted(set(names)), "count": len(set(names)),
                "of": len(BENCHMARKS), "complete": False, "published": None,
                "note": "several sampling settings of one benchmark in this folder; no average"}
    count = len(nine)
    means = [b["avg_at_n"] / 100.0 for b in nine]
    lo, hi = M.combine_intervals(means, [(b["ci95"][0] / 100.0, b["ci95"][1] / 100.0) for b in nine])
    mean = 100.0 * sum(means) / count
    se = sum(b["se"] ** 2 for b in nine) ** 0.5 / count
    all_nine = count == len(BENCHMARKS)
    complete = all_nine and all(b["complete"] for b in nine)
    out = {"avg_at_n": mean, "se": se, "ci95": [100.0 * lo, 100.0 * hi], "benchmarks": names, "count": count,
           "of": len(BENCHMARKS), "complete": complete, "published": None,
           "note": None if all_nine else f"{count} of {len(BENCHMARKS)} benchmarks; no published average to "
                                         f"compare with"}
    cmps = [b.get("published") for b in nine]
    if all_nine and published is not None and published.average is not None and all(cmps):
        ours = sum(c["our_avg_at_n"] for c in cmps) / count
        plo, phi = M.combine_intervals([c["our_avg_at_n"] / 100.0 for c in cmps],
                                       [(c["our_ci95"][0] / 100.0, c["our_ci95"][1] / 100.0) for c in cmps])
        like = all(c["like_for_like"] for c in cmps)
        out["published"] = {"model": published.model, "avg_at_n": published.average, "grader": cmps[0]["grader"],
                            "our_avg_at_n": ours, "diff": ours - published.average,
                            "diff_ci95": [100.0 * plo - published.average, 100.0 * phi - published.average],
                            "comparable": complete, "like_for_like": like, "note": cmps[0]["note"]}
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


# -------------------------------------------------------------------------------------------- grading

def _rule_verdicts(name: str, pairs: list[tuple[str, str]], workers: int | None, bar) -> tuple[list | None, str | None]:
    """One rule grader's verdicts as dicts, or (None, why) when it cannot run (justrl-rule without pylatexenc)."""
    update = bar.start(f"grading ({name})", len(pairs))
    try:
        if name == "justrl-rule":
            from justrl.evaluate import justrl_rule

            try:
                justrl_rule.require_pylatexenc()
            except justrl_rule.RuleGraderUnavailable as exc:
                return None, str(exc)
            got = justrl_rule.grade_many(pairs, workers=workers, progress=update)
        else:
            from justrl import verify

            got = verify.verify_many(pairs, mode=name, workers=workers, progress=update)
    finally:
        bar.stop()
    return [{"correct": bool(v.correct), "extracted": v.extracted, "reason": v.reason} for v in got], None


def _grade_samples(groups: list[BenchmarkRows], setup: dict, workers: int | None, judge: Judge | None,
                   progress: bool) -> tuple[dict[str, dict[tuple[str, int], dict]], dict[str, str]]:
    from justrl.evaluate.progress import StepProgress

    flat = [(g, s) for g in groups for _, samples in g.ordered() for s in samples]
    pairs = [(s.response, s.gold) for _, s in flat]
    primary = setup["primary_rule"]
    by_grader: dict[str, list | None] = {}
    unavailable: dict[str, str] = {}
    with StepProgress(progress) as bar:
        for name in [primary] + [g for g in RULE_GRADERS if g != primary]:
            by_grader[name], why = _rule_verdicts(name, pairs, workers, bar)
            if why:
                if name == primary:
                    raise GradingError(why)
                unavailable[name] = why
        table: dict[str, dict[tuple[str, int], dict]] = {g.key: {} for g in groups}
        asks: list[tuple[dict, JudgeItem]] = []
        for i, (g, s) in enumerate(flat):
            mine = by_grader[primary][i]
            entry = {"correct": mine["correct"], "rule_correct": mine["correct"], "extracted": mine["extracted"],
                     "reason": mine["reason"], "judge": None, "judge_reply": None,
                     "graders": {name: (None if got is None else got[i]) for name, got in by_grader.items()}}
            table[g.key][(s.example_id, s.sample_index)] = entry
            if judge is not None and judge.wants(mine["correct"], mine["extracted"]):
                asks.append((entry, JudgeItem(question=s.prompt, gold=s.gold, response=s.response)))
        if asks:
            update = bar.start("judging rule failures", len(asks))
            for (entry, _), jv in zip(asks, judge.judge([item for _, item in asks], progress=update), strict=True):
                entry["judge"], entry["judge_reply"] = jv.label, jv.raw
                entry["correct"] = jv.correct
            bar.stop()
    return table, unavailable


def _graded_lines(group: BenchmarkRows, verdicts: dict[tuple[str, int], dict]) -> str:
    lines = []
    for eid, samples in group.ordered():
        for s in samples:
            v = verdicts[(eid, s.sample_index)]
            lines.append(json.dumps({
                "example_id": eid, "sample_index": s.sample_index, "correct": v["correct"],
                "rule_correct": v["rule_correct"], "judge": v["judge"], "extracted": v["extracted"],
                "reason": v["reason"], "gold": s.gold, "finish_reason": s.finish_reason,
                "completion_tokens": s.completion_tokens,
                "graders": {k: (None if g is None else g["correct"]) for k, g in v["graders"].items()},
            }, ensure_ascii=False))
    return "\n".join(lines) + "\n"


def _disagreement_lines(groups: list[BenchmarkRows], verdicts: dict[str, dict], setup: dict) -> tuple[str, int]:
    """JSONL of the samples on which the graders (and rule + judge) do not all agree."""
    lines = []
    for group in groups:
        for eid, samples in group.ordered():
            for s in samples:
                v = verdicts[group.key][(eid, s.sample_index)]
                got = {k: g["correct"] for k, g in v["graders"].items() if g is not None}
                if setup["judged"]:
                    got[setup["primary_rule"] + "+judge"] = v["correct"]
                if len(set(got.values())) < 2:
                    continue
                lines.append(json.dumps({
                    "benchmark": group.name, "key": group.key, "file": group.files[0], "example_id": eid,
                    "sample_index": s.sample_index, "gold": s.gold, "verdicts": got,
                    "extracted": {k: g["extracted"] for k, g in v["graders"].items() if g is not None},
                    "reasons": {k: g["reason"] for k, g in v["graders"].items() if g is not None},
                    "judge_reply": v["judge_reply"], "response_tail": s.response[-300:],
                }, ensure_ascii=False))
    return "".join(line + "\n" for line in lines), len(lines)


def _verifier_version() -> str:
    import justrl
    import justrl.verify

    return str(getattr(justrl.verify, "__version__", justrl.__version__))


def _resolve_grader(grader: str | None, mode: str | None) -> str:
    chosen = str(grader if grader is not None else (mode if mode is not None else "lenient")).strip().lower()
    chosen = {"justrl-rule": "justrl", "justrl_rule": "justrl"}.get(chosen, chosen)
    if chosen not in GRADER_CHOICES:
        raise GradingError(f"unknown grading mode {(grader if grader is not None else mode)!r}; choose "
                           f"{', '.join(GRADER_CHOICES)}")
    return chosen


def grade_run(out_dir: Path, *, mode: str | None = None, grader: str | None = None, judge: Judge | None = None,
              judge_question: str = "empty", workers: int | None = None, progress: bool = True,
              published_model: str | None = None, output_dir: Path | None = None, compare: bool = False) -> dict:
    """Grade every run store in ``out_dir`` and write the outputs (see the module docstring and
    docs/evaluate-grading.md); return the results dict.

    ``grader`` (or its older name ``mode``): "lenient" (default), "strict" or "justrl" (the paper's
    rule, and with ``judge`` the paper's judge protocol with ``judge_question`` "empty" or "real").
    ``published_model`` picks the published row (default: the model named in run.json).
    ``output_dir`` writes the outputs there instead of ``out_dir``; ``compare`` also writes
    graded/disagreements.jsonl.
    """
    from justrl.evaluate import grading_outputs as O

    chosen = _resolve_grader(grader, mode)
    if judge_question not in ("empty", "real"):
        raise GradingError(f"unknown judge question mode {judge_question!r}; choose empty or real")
    if judge is not None and chosen == "justrl":
        judge = judge.with_protocol("justrl", judge_question)
    out_dir = Path(out_dir)
    started = time.perf_counter()
    provenance = _load_provenance(out_dir) if out_dir.is_dir() else None
    groups, ignored = read_run_dir(out_dir, provenance)
    warnings = [w for g in groups for w in g.warnings]
    model = published_model or _model_id(provenance)
    published = find_published(model)
    setup = {"grader": chosen, "primary_rule": PRIMARY_RULE[chosen], "judged": judge is not None,
             "judge_protocol": judge.protocol if judge else None,
             "judge_question": (judge.question if judge.protocol == "justrl" else "real") if judge else None,
             "label": O.output_label(chosen, judge is not None)}
    target = Path(output_dir) if output_dir is not None else out_dir
    try:
        target.mkdir(parents=True, exist_ok=True)
        plan = O.plan_outputs(target, setup["label"])
    except O.OutputConflict as exc:
        raise GradingError(str(exc)) from None
    except OSError as exc:
        raise GradingError(f"cannot create {target} ({exc.strerror or exc}); pass --output-dir DIR") from None
    verdicts, unavailable = _grade_samples(groups, setup, workers, judge, progress)
    per_bench = [_benchmark_metrics(g, verdicts[g.key], published, provenance, setup) for g in groups]
    results = {
        "schema": RESULTS_SCHEMA,
        "units": "accuracies, rates and their intervals in percent; distinct_4gram a fraction in [0, 1]; "
                 "lengths in tokens",
        "model": model, "model_short": short_model_name(model),
        "grading": {"mode": chosen, "grader": chosen, "label": setup["label"], "primary_rule": setup["primary_rule"],
                    "verifier": "justrl.verify" if chosen != "justrl" else "justrl.evaluate.justrl_rule",
                    "verifier_version": _verifier_version(),
                    "judge": judge.describe() if judge else None,
                    "graders_compared": [g for g in RULE_GRADERS if g not in unavailable],
                    "graders_unavailable": unavailable,
                    "interval": "95% Wilson score interval of avg@N over the problems (each problem's mean one "
                                "unit); average: half-widths combined in quadrature",
                    "seconds": None},
        "benchmarks": {b["key"]: b for b in per_bench},
        "average": _average(per_bench, published),
        "published_source": None if published is None else
        {"model": published.model, "table": published.table, "source": SOURCE, "avg_at_n": published.scores,
         "average": published.average},
        "ignored_files": ignored,
        "warnings": warnings,
        "outputs": {},
        "kept_foreign_files": plan.kept,
        "foreign_grading_results": _foreign_scores(target, plan.kept),
        "provenance": provenance,
    }
    try:
        _write_outputs(plan, groups, verdicts, results, provenance, setup, compare, started)
    except OSError as exc:
        from justrl.evaluate.files import describe_os_error

        raise GradingError(describe_os_error(exc, "write the grading results in", target)
                           + "; pass --output-dir DIR to write them elsewhere (nothing was lost)") from None
    return results


def _foreign_scores(folder: Path, kept: list[str]) -> dict | None:
    """avg@N (%) per task from a kept foreign ``grading_results.json`` (JustRL's own grading, judge
    included), so the report can show it beside ours; None when absent or not in JustRL's format."""
    if "grading_results.json" not in kept:
        return None
    try:
        data = json.loads((folder / "grading_results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    scores = {}
    for entry in data if isinstance(data, list) else []:
        hyper = entry.get("hyperparameters") if isinstance(entry, dict) else None
        task = hyper.get("task_name") if isinstance(hyper, dict) else None
        score = entry.get("mean_score") if isinstance(entry, dict) else None
        if isinstance(task, str) and isinstance(score, (int, float)) and not isinstance(score, bool):
            spec = find_benchmark(task)
            label = spec.name if spec else task
            setting = {k: hyper.get(k) for k in ("temperature", "top_p", "n", "max_tokens") if hyper.get(k)}
            key = label if not setting else f"{label} [{' '.join(f'{k}={v}' for k, v in setting.items())}]"
            scores[key] = 100.0 * float(score)
    return scores or None


def _write_outputs(plan, groups: list[BenchmarkRows], verdicts: dict, results: dict, provenance: dict | None,
                   setup: dict, compare: bool, started: float) -> None:
    from justrl.evaluate import grading_outputs as O
    from justrl.evaluate.files import atomic_write_json, atomic_write_text, ensure_dir

    ensure_dir(plan.path("graded"))
    for group in groups:
        rel = plan.graded_file(group.stem)
        atomic_write_text(plan.folder / rel, _graded_lines(group, verdicts[group.key]), durable=False)
        O.record(plan, rel)
    if compare:
        text, count = _disagreement_lines(groups, verdicts, setup)
        rel = f"{plan.names['graded']}/disagreements.jsonl"
        atomic_write_text(plan.folder / rel, text, durable=False)
        O.record(plan, rel)
        results["outputs"]["disagreements"] = str(plan.folder / rel)
        results["disagreements_written"] = count
    entries = sorted(((g.files[0], _justrl_entry(g, results["benchmarks"][g.key], provenance)) for g in groups),
                     key=lambda t: t[0])
    for role in ("results", "report", "grading_results"):
        results["outputs"][role] = str(plan.path(role))
    results["outputs"]["graded"] = str(plan.path("graded"))
    results["grading"]["seconds"] = round(time.perf_counter() - started, 3)
    atomic_write_json(plan.path("grading_results"), [entry for _, entry in entries], durable=False)
    O.record(plan, plan.names["grading_results"])
    atomic_write_json(plan.path("results"), results)
    O.record(plan, plan.names["results"])
    atomic_write_text(plan.path("report"), render_report(results), durable=False)
    O.record(plan, plan.names["report"])
    O.write_manifest(plan)


def print_warnings(results: dict, stream=None) -> None:
    """The reading warnings (stray / out-of-plan rows, unreadable lines) and kept foreign files, one line each."""
    stream = stream or sys.stderr
    for line in results.get("warnings") or []:
        print(f"justrl-eval: warning: {line}", file=stream)
    for name in results.get("kept_foreign_files") or []:
        print(f"justrl-eval: note: kept {name} (not written by justrl grading); results written to "
              f"{results['outputs'].get('results')}", file=stream)
