"""Output files and displays for graded runs: atomic writers, report.md, and the terminal summary.

Everything here reads the ``results`` dict that :func:`justrl.evaluate.grading.grade_run` builds;
nothing is recomputed.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from justrl.benchmarks import BENCHMARKS

PARTIAL_NOTE = ("* not comparable: the run covers fewer problems than the benchmark, or problems have "
                "unequal sample counts")


def write_text_atomic(path: str | Path, text: str, *, durable: bool = True) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same folder and ``os.replace``.

    Readers never see a partial file. ``durable`` also fsyncs the data before the rename (survives power
    loss, ~10 ms per file); derived views that ``justrl-eval grade`` regenerates from the run store
    (graded/*.jsonl, grading_results.json, report.md) skip it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; results are for everyone on a shared cluster
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_json_atomic(path: str | Path, data, *, durable: bool = True) -> None:
    """Write ``data`` as indented UTF-8 JSON, atomically (see :func:`write_text_atomic`)."""
    write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n", durable=durable)


def _f(x: float | None, digits: int = 2) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def _columns(results: dict) -> list[str]:
    """The nine in the README's order, then any other benchmark graded (in results order)."""
    present = list(results["benchmarks"])
    return list(BENCHMARKS) + [b for b in present if b not in BENCHMARKS]


def _header(results: dict, name: str) -> str:
    bench = results["benchmarks"].get(name)
    spec = BENCHMARKS.get(name)
    n = bench["n"] if bench else (spec.default_samples if spec else None)
    label = spec.label if spec else name
    return f"{label} (@{n})" if n else label


def _pct_cell(x: float | None) -> str:
    return "—" if x is None else f"{x:.1f}%"


def _diff_cell(cmp: dict | None) -> str:
    if cmp is None:
        return "—"
    lo, hi = cmp["diff_ci95"]
    star = "" if cmp["comparable"] else "*"
    return f"{cmp['diff']:+.2f} [{lo:+.2f}, {hi:+.2f}]{star}"


def _main_table(results: dict) -> list[str]:
    cols = _columns(results)
    benches, avg = results["benchmarks"], results.get("average")
    model = results.get("model") or "this run"
    lines = ["| Model | " + " | ".join(_header(results, c) for c in cols) + " | Avg |",
             "| --- |" + " --- |" * (len(cols) + 1)]
    ours = [f"{_f(benches[c]['avg_at_n'])} ± {_f(benches[c]['avg_at_n'] - benches[c]['ci95'][0])}"
            if c in benches else "—" for c in cols]
    avg_cell = "—" if avg is None else f"{_f(avg['avg_at_n'])} ± {_f(avg['avg_at_n'] - avg['ci95'][0])}"
    if avg is not None and not avg["complete"]:
        avg_cell += f" ({len(avg['benchmarks'])}/9)"
    lines.append(f"| {model} (ours) | " + " | ".join(ours) + f" | {avg_cell} |")
    source = results.get("published_source")
    if source:
        cells = [_f(source["avg_at_n"].get(c)) for c in cols]
        lines.append(f"| {source['model']} (published) | " + " | ".join(cells) + f" | {_f(source['average'])} |")
        diffs = [_diff_cell(benches[c].get("published")) if c in benches else "—" for c in cols]
        lines.append("| difference [95% CI] | " + " | ".join(diffs) +
                     f" | {_diff_cell(avg.get('published') if avg else None)} |")
    return lines


def _detail_table(results: dict) -> list[str]:
    lines = ["| Benchmark | problems | N | avg@N | 95% CI | pass@k | maj@N | best-of-N | solve none / all "
             "| format errors | truncated | tokens mean (correct / incorrect) | distinct-4 |",
             "| --- |" + " --- |" * 12]
    for name, b in results["benchmarks"].items():
        passk = ", ".join(f"@{k} {_f(v, 1)}" for k, v in b["pass_at_k"].items())
        maj = b["maj_at_k"].get(str(b["n_min"]))
        tok = b["response_tokens"]
        tokens = "—" if tok is None else (f"{_f(tok['all']['mean'], 0)} ({_f((tok['correct'] or {}).get('mean'), 0)} "
                                          f"/ {_f((tok['incorrect'] or {}).get('mean'), 0)})")
        problems = f"{b['problems']}" + (f"/{b['expected_problems']}" if b["expected_problems"] else "")
        n = str(b["n"]) if b["n"] == b["n_min"] else f"{b['n_min']}–{b['n']}"
        lines.append(f"| {name} | {problems} | {n} | {_f(b['avg_at_n'])} | {_f(b['ci95'][0])} – {_f(b['ci95'][1])} "
                     f"| {passk} | {_f(maj)} | {_f(b['best_of_n'])} | {b['solve_none']} / {b['solve_all']} "
                     f"| {b['format_errors']} ({_pct_cell(b['format_error_rate'])}) | {_pct_cell(b['truncation_rate'])} "
                     f"| {tokens} | {_f(b['distinct_4gram'], 3)} |")
    return lines


def _layer_table(results: dict) -> list[str]:
    lines = ["| Benchmark | rule-only | judge-added | final | judge asked | unparsed replies |",
             "| --- | --- | --- | --- | --- | --- |"]
    for name, b in results["benchmarks"].items():
        layer = b["layers"]
        lines.append(f"| {name} | {_f(layer['rule']['avg_at_n'])} | {layer['judge_added']['avg_at_n']:+.2f} "
                     f"| {_f(layer['final']['avg_at_n'])} | {layer['judge_added']['asked']} "
                     f"| {layer['judge_added']['unparsed']} |")
    return lines


def _notes(results: dict) -> list[str]:
    notes = []
    for name, b in results["benchmarks"].items():
        if b["dataset"]["matches_pinned"] is False:
            notes.append(f"- {name}: the data file differs from the pinned JustRL file "
                         f"(sha256 {b['dataset']['sha256'][:12]}...).")
        if b.get("missing_samples"):
            notes.append(f"- {name}: {b['missing_samples']} of {b['planned_samples']} planned samples are missing "
                         f"(rerun the same command to resume).")
        if b["duplicates_dropped"] or b["skipped_lines"]:
            notes.append(f"- {name}: {b['duplicates_dropped']} duplicate rows dropped, "
                         f"{b['skipped_lines']} unreadable lines skipped.")
        if not b["known"]:
            notes.append(f"- {name}: not one of the nine JustRL benchmarks; left out of the average.")
    if results.get("ignored_files"):
        notes.append(f"- Ignored (not run stores): {', '.join(results['ignored_files'])}.")
    return notes


PROVENANCE_SKIP = ("plan", "merged_from")  # long lists; results.json keeps them


def _shorten(value, limit: int = 400):
    """Long strings (e.g. the first rendered prompt) cut to ``limit`` characters for the report."""
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + f"... [{len(value) - limit} more characters]"
    if isinstance(value, dict):
        return {k: _shorten(v, limit) for k, v in value.items()}
    return value


def render_report(results: dict) -> str:
    """report.md: the JustRL README table (benchmarks as columns) with our avg@N ± 95% half-width, the
    published row for the same model and the difference with its 95% interval; then details."""
    grading = results["grading"]
    judge = grading.get("judge")
    prov = results.get("provenance") or {}
    head = [
        "# Evaluation report", "",
        f"Model: `{results.get('model') or 'unknown'}` · grading: {grading['mode']} "
        f"({grading['verifier']} {grading['verifier_version']})"
        + (f" + LLM judge `{judge.get('model') or 'judge'}`" if judge else "") + ".", "",
        "## avg@N (%)", "",
    ]
    body = _main_table(results)
    body += ["", "Ours: avg@N ± half-width of the 95% interval (" + grading["interval"] + ")."]
    if results.get("published_source"):
        body += [f"Published: {results['published_source']['source']}. The difference's interval treats the "
                 "published number as exact."]
    if any(not b["complete"] for b in results["benchmarks"].values()):
        body += ["", PARTIAL_NOTE]
    body += ["", "## Details", ""] + _detail_table(results)
    body += ["", "pass@k: unbiased estimator (Chen et al. 2021). maj@N: majority vote over extracted answers. "
             "Format errors: samples without a final answer. Truncated: finish_reason \"length\" (— when the "
             "run store does not record it)."]
    if judge:
        body += ["", "## Grading layers (avg@N, %)", ""] + _layer_table(results)
    notes = _notes(results)
    if notes:
        body += ["", "## Notes", ""] + notes
    if prov:
        keep = {k: _shorten(v) for k, v in prov.items() if k not in PROVENANCE_SKIP}
        body += ["", "## Provenance (from run.json; complete in results.json)", "", "```json",
                 json.dumps(keep, indent=2, ensure_ascii=False), "```"]
    return "\n".join(head + body) + "\n"


def print_summary(results: dict, console=None) -> None:
    """The final table in the terminal: one row per benchmark plus the average (accuracies in %)."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    table = Table(title=f"{results.get('model') or 'run'} · {results['grading']['mode']} grading",
                  title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False,
                  show_edge=False, collapse_padding=True)
    table.add_column("benchmark", no_wrap=True)
    for col in ("P×N", "avg@N", "±95%", "pass@N", "maj@N", "publ.", "Δ", "no ans", "trunc"):
        table.add_column(col, justify="right", no_wrap=True)
    for name, b in results["benchmarks"].items():
        cmp = b.get("published")
        table.add_row(name, f"{b['problems']}×{b['n']}", _f(b["avg_at_n"]), _f(b["avg_at_n"] - b["ci95"][0]),
                      _f(b["best_of_n"]), _f(b["maj_at_k"].get(str(b["n_min"]))),
                      _f(cmp["avg_at_n"]) if cmp else "—",
                      (f"{cmp['diff']:+.2f}" + ("" if cmp["comparable"] else "*")) if cmp else "—",
                      _pct_cell(b["format_error_rate"]), _pct_cell(b["truncation_rate"]))
    avg = results.get("average")
    if avg:
        cmp = avg.get("published")
        table.add_row(f"avg ({len(avg['benchmarks'])}/9)", "", _f(avg["avg_at_n"]),
                      _f(avg["avg_at_n"] - avg["ci95"][0]), "", "", _f(cmp["avg_at_n"]) if cmp else "—",
                      (f"{cmp['diff']:+.2f}" + ("" if cmp["comparable"] else "*")) if cmp else "—", "", "",
                      style="bold")
    console.print(table)
    if any(not b["complete"] for b in results["benchmarks"].values()):
        console.print(PARTIAL_NOTE)
